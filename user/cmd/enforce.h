/*
 * enforce.h - the one way a rule changes: the kernel first, then the
 * mirror, then the state file; a refused step undoes the earlier ones, so
 * a rejected change changes nothing.  Operators (control requests), the
 * scorer (decisions), the fleet (fleet.c) and expiry all come through
 * here; every block put is shown to the fleet, which pushes ours.
 *
 * Functions return 0 or -errno:
 *   -E2BIG   the list already uses BW_MAX_PLENS prefix lengths
 *   -ENOSPC  the list is full
 *   -EIO ... the kernel refused, or the state file could not be written
 */
#ifndef BW_ENFORCE_H
#define BW_ENFORCE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"

enum enforce_persist {
	ENFORCE_SAVE_NOW,	/* an operator's change: saved, or undone */
	ENFORCE_SAVE_LATER,	/* a decision: enforced now, saved at the
				 * end of the pass (retried on failure) */
};

/* Put e into the allow or block list. */
int enforce_put(struct agent *a, bool allow, const struct rule_entry *e,
		enum enforce_persist p);

/* Delete c from the allow or block list; -ENOENT when absent. */
int enforce_del(struct agent *a, bool allow, const struct bw_cidr *c);

/* The same, saved now or (ENFORCE_SAVE_LATER: the fleet lifting many
 * decisions) at the end of the pass. */
int enforce_del_persist(struct agent *a, bool allow, const struct bw_cidr *c,
			enum enforce_persist p);

/* The settings changed: write the kernel's config. */
int enforce_config(struct agent *a);

/* Apply the scorer's decisions due at now_ns (CLOCK_REALTIME). */
void enforce_decisions(struct agent *a, uint64_t now_ns);

/* Remove the rules expired at now (unix seconds); how many. */
size_t enforce_expire(struct agent *a, uint64_t now);

/* Write the state file if it changed.  Failures are logged once and then
 * retried with a growing delay, not every second.  0 or -errno. */
int enforce_save(struct agent *a);

#endif
