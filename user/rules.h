/*
 * rules.h - the agent's own record of allow and block rules.
 *
 * The kernel maps hold only what the fast path needs (key, expiry, action);
 * this mirror adds what operators read (reason, comment, who added it,
 * repeat offences) and is what `state_dir` persists.  Times are wall-clock
 * seconds (CLOCK_REALTIME), passed in; the kernel's CLOCK_BOOTTIME form is
 * derived when a rule is written to a map.  Pure except rules_save/load.
 */
#ifndef BW_RULES_H
#define BW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "bouncewall.h"

#define RULE_TEXT_MAX	200
#define RULES_FILE	"rules.state"

struct rule_entry {
	struct bw_cidr cidr;
	uint32_t action;	/* BW_ACT_BLOCK or BW_ACT_THROTTLE; 0 for allow */
	uint32_t origin;	/* enum bw_origin */
	uint64_t added;		/* unix seconds */
	uint64_t expires;	/* unix seconds, 0 = never */
	uint32_t offences;	/* blocks so far (scorer TTL doubling) */
	char text[RULE_TEXT_MAX + 1];	/* reason (block) or comment (allow) */
};

struct rule_set {
	struct rule_entry *v;
	size_t n;
	size_t cap;
};

struct rules {
	struct rule_set allow;
	struct rule_set block;
};

void rules_free(struct rules *r);

struct rule_entry *rules_find(const struct rule_set *s, const struct bw_cidr *c);

/* Insert, or replace the entry with the same CIDR.  Returns 0 (new),
 * 1 (replaced), -ENOSPC past BW_RULES_MAX, -E2BIG when the rule would need
 * a (BW_MAX_PLENS + 1)-th distinct prefix length in its address family
 * (hosts count as one), -ENOMEM. */
int rules_put(struct rule_set *s, const struct rule_entry *e);

/* 0, or -ENOENT. */
int rules_del(struct rule_set *s, const struct bw_cidr *c);

/* The distinct prefix lengths (128-bit form) in use by rules of one
 * address family (v4: IPv4-mapped addresses; the family is the address's,
 * never the length's), longest first, as the kernel's config wants them.
 * Returns how many (never more than BW_MAX_PLENS). */
unsigned int rules_plens(const struct rule_set *s, bool v4, __u8 out[BW_MAX_PLENS]);

/* The longest rule covering addr that has not expired at `now`, or NULL. */
const struct rule_entry *rules_match(const struct rule_set *s, const __u8 addr[16],
				     uint64_t now);

/* Remove entries expired at `now`, copying each removed one to out (up to
 * max) so the caller can delete it from the kernel and log it.  Returns the
 * number removed (all of them, even past max). */
size_t rules_expire(struct rule_set *s, uint64_t now, struct rule_entry *out,
		    size_t max);

/*
 * State file `DIR/rules.state`, one rule a line:
 *   allow CIDR ADDED 0 - operator 0 TEXT
 *   block CIDR ADDED EXPIRES block|throttle operator|scorer OFFENCES TEXT
 * Written to a temporary file, fsynced and renamed: a crash leaves the old
 * or the new file, never half of one.  rules_load skips (and reports in
 * err, counting) malformed lines rather than losing the rest; entries
 * already expired at `now` are dropped.  Both return 0 or -errno;
 * rules_load returns the number of bad lines through *bad.
 */
int rules_save(const struct rules *r, const char *dir, char *err, size_t errlen);
int rules_load(struct rules *r, const char *dir, uint64_t now, unsigned int *bad,
	       char *err, size_t errlen);

#endif
