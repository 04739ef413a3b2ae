/*
 * rules.h - the agent's own record of allow and block rules.
 *
 * The kernel maps hold only what the fast path needs (key, expiry, action);
 * this mirror adds what operators read (reason, comment, who added it,
 * repeat offences) and is what `state_dir` persists.  Times are wall-clock
 * seconds (CLOCK_REALTIME), passed in; the kernel's CLOCK_BOOTTIME form is
 * derived when a rule is written to a map.
 *
 * A set is a dense array (for listing and saving) with a hash index by
 * CIDR (keyed: the scorer adds prefixes an attacker picks) and a count of
 * rules per prefix length and family, so that a find, a put, a delete and
 * a longest match cost O(1) or O(distinct lengths) whatever the size: a
 * fleet's 100,000 decisions load in one pass.  Pure.
 */
#ifndef BW_RULES_H
#define BW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "bouncewall.h"

#define RULE_TEXT_MAX	200

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
	struct rule_entry *v;	/* dense, unordered */
	size_t n;
	size_t cap;
	uint32_t *slots;	/* index: 0 empty, else position in v + 1 */
	size_t nslots;		/* a power of two, at least 2 x cap */
	uint32_t plen_count[2][129];	/* [is IPv4][plen]: rules of each length */
	uint8_t seed[16];	/* index hash key; zero unless rules_seed() */
	size_t max;		/* rules it takes; 0 means BW_RULES_MAX */
};

struct rules {
	struct rule_set allow;
	struct rule_set block;
};

/* Key both sets' indexes (before the first put). */
void rules_seed(struct rules *r, const uint8_t seed[16]);

/* How many rules each set takes (the max_rules setting, which also sizes
 * the kernel's maps), at most BW_RULES_MAX. */
void rules_set_max(struct rules *r, size_t max);

/* The limit rules_put() enforces on s. */
size_t rules_max(const struct rule_set *s);

void rules_free(struct rules *r);

struct rule_entry *rules_find(const struct rule_set *s, const struct bw_cidr *c);

/* Insert, or replace the entry with the same CIDR.  Returns 0 (new),
 * 1 (replaced), -ENOSPC past rules_max(), -E2BIG when the rule would need
 * a (BW_MAX_PLENS + 1)-th distinct prefix length in its address family
 * (hosts count as one), -ENOMEM.  Pointers into the set stay valid until
 * the next put or delete. */
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

/* Remove the entries expired at `now`, handing each to gone() (when not
 * NULL) just before it goes.  Returns how many were removed. */
size_t rules_expire(struct rule_set *s, uint64_t now,
		    void (*gone)(void *arg, const struct rule_entry *e), void *arg);

/* How many rules of the set have each action (allow rules: action 0). */
size_t rules_count_action(const struct rule_set *s, uint32_t action);

#endif
