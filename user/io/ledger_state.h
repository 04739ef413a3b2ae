/*
 * ledger_state.h - the sent ledger in state_dir (DIR/ledger.state), so a
 * restart does not forget who sent mail last week.  Format: core/ledger.h.
 */
#ifndef BW_LEDGER_STATE_H
#define BW_LEDGER_STATE_H

#include <stdint.h>

#include "ledger.h"

#define LEDGER_FILE		"ledger.state"
#define LEDGER_STATE_LINES_MAX	(1u << 24)

/* Write l atomically.  0 or -errno, err naming the path. */
int ledger_save(const struct ledger *l, const char *dir, uint64_t now, char *err,
		size_t errlen);

/* Add DIR/ledger.state's addresses to l.  A missing file is nothing to
 * load.  *bad counts the lines skipped.  0, or -errno (a FIFO, a
 * directory...) with err set. */
int ledger_load(struct ledger *l, const char *dir, uint64_t now, unsigned int *bad,
		char *err, size_t errlen);

#endif
