/*
 * spf.h - SPF records (RFC 7208): the parser, and the walk that follows
 * include:, redirect=, a and mx through DNS to count what a receiver would
 * look up and grade the result.
 *
 * The parser is strict where receivers are (an unknown mechanism, a bad
 * address, a second redirect= is a permerror everywhere) and lenient where
 * the RFC is (unknown modifiers are ignored).  Pure; the walk asks its
 * caller for every lookup (posture.h).
 */
#ifndef BW_SPF_H
#define BW_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "posture.h"

#define SPF_TERMS_MAX		128	/* terms of one record */
#define SPF_LOOKUP_LIMIT	10	/* RFC 7208 §4.6.4: DNS-querying terms */
#define SPF_VOID_LIMIT		2	/* RFC 7208 §4.6.4: lookups finding nothing */
#define SPF_MX_LIMIT		10	/* MX records one mx term may have */
#define SPF_NODES_MAX		24	/* lookups one walk makes, at most */

enum spf_qual {
	SPF_Q_PASS = 0,		/* + (the default) */
	SPF_Q_FAIL,		/* - */
	SPF_Q_SOFTFAIL,		/* ~ */
	SPF_Q_NEUTRAL,		/* ? */
};

enum spf_kind {
	SPF_ALL = 0,
	SPF_INCLUDE,
	SPF_A,
	SPF_MX,
	SPF_PTR,
	SPF_IP4,
	SPF_IP6,
	SPF_EXISTS,
	SPF_REDIRECT,
	SPF_EXP,
	SPF_MODIFIER,		/* unknown modifier: ignored */
};

struct spf_term {
	uint8_t kind;		/* enum spf_kind */
	uint8_t qual;		/* enum spf_qual */
	bool macro;		/* the target holds a %{...} macro */
	uint8_t cidr4;		/* ip4, a, mx: prefix length (32 when absent) */
	uint8_t cidr6;		/* ip6, a, mx: 128 when absent */
	uint16_t off;		/* the target (domain-spec or address) in */
	uint16_t len;		/* the record text; len 0 = none */
};

struct spf_record {
	struct spf_term t[SPF_TERMS_MAX];
	unsigned int n;
	int all;		/* index of the first all, or -1 */
	int redirect;		/* index, or -1 */
	bool terms_after_all;	/* mechanisms that can never be reached */
};

/* True when txt is an SPF record: "v=spf1" (any case), then a space or
 * the end (RFC 7208 §4.5). */
bool spf_is_record(const char *txt, size_t len);

/*
 * Parse one SPF record (POSTURE_TXT_MAX bytes at most).  0, or -EINVAL
 * with a one-line reason in err naming the bad term (escaped, cut).
 */
int spf_parse(const char *txt, size_t len, struct spf_record *out, char *err,
	      size_t errlen);

/* "+", "-", "~", "?" */
const char *spf_qual_text(unsigned int q);

/* ---- the walk ---- */

struct spf_walk;

size_t spf_walk_size(void);

/* Start grading domain's SPF into out. */
void spf_walk_init(struct spf_walk *w, const char *domain, struct posture_check *out);

/* The next lookup, or false while one is outstanding or when done. */
bool spf_walk_want(struct spf_walk *w, struct posture_query *q);

/* The answer to the outstanding lookup; token = the query's. */
void spf_walk_feed(struct spf_walk *w, uint32_t token, const struct posture_answer *a);

bool spf_walk_done(const struct spf_walk *w);

/* Give up: the outstanding lookup failed with `why`; finish the grade. */
void spf_walk_abort(struct spf_walk *w, const char *why);

#endif
