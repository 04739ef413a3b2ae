/*
 * rules_state.h - the rules file in state_dir (DIR/rules.state): what
 * survives a reboot.  Format: core/rules_text.h.
 */
#ifndef BW_RULES_STATE_H
#define BW_RULES_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "rules.h"

#define RULES_FILE	"rules.state"
/* Lines read at most: both lists full, plus slack for comments. */
#define RULES_STATE_LINES_MAX	(2u * BW_RULES_MAX + 1024)

struct rules_load_report {
	bool found;		/* the file exists */
	bool header;		/* its first line is our header */
	unsigned int lines;
	unsigned int bad;	/* malformed lines skipped */
	unsigned int first_bad;	/* line number of the first, 0 = none */
	unsigned int expired;	/* rules already past their expiry */
	unsigned int refused;	/* good lines the mirror refused (full) */
};

/* Write r atomically.  0 or -errno, with err naming the path. */
int rules_save(const struct rules *r, const char *dir, char *err, size_t errlen);

/*
 * Add the rules of DIR/rules.state to r, dropping those expired at `now`.
 * A missing file is no rules (rep->found false).  Malformed lines are
 * skipped and counted in *rep rather than losing the rest; the caller
 * decides what to warn about (an empty file, one without our header).
 * Returns 0, or -errno when the file cannot be read (-EISDIR, -EINVAL for
 * a FIFO or device: never read, never waited on), with err set.
 */
int rules_load(struct rules *r, const char *dir, uint64_t now,
	       struct rules_load_report *rep, char *err, size_t errlen);

#endif
