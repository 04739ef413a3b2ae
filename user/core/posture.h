/*
 * posture.h - how forgeable a protected domain is: its SPF, DMARC and DKIM
 * records, graded pass / warn / fail, each problem a finding that says
 * what to change.
 *
 * Pure.  The checks are state machines that never touch the network: the
 * caller asks what to look up next (posture_want), does the lookup however
 * it likes (io/dns.c: c-ares on the agent's event loop) and feeds the
 * answer back (posture_feed).  So the grading is the same in `bouncewall
 * posture`, in the agent and in the unit tests and fuzz targets, which feed
 * answers of their own making.
 *
 * Everything is bounded: records are cut at POSTURE_TXT_MAX bytes, an
 * answer's TXT records at POSTURE_RR_MAX (and 64 KiB), findings at POSTURE_FINDINGS_MAX a
 * check, the SPF walk at SPF_NODES_MAX lookups (spf.h).
 */
#ifndef BW_POSTURE_H
#define BW_POSTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "settings.h"

#define POSTURE_NAME_MAX	253	/* a DNS name, no trailing dot */
#define POSTURE_TXT_MAX		4096	/* bytes of one TXT record kept */
#define POSTURE_RR_MAX		64	/* TXT records of one answer kept */
#define POSTURE_RECORD_SHOWN	1024	/* bytes of a record in the result */
#define POSTURE_FINDINGS_MAX	8
#define POSTURE_FINDING_MAX	320	/* bytes of one finding's text */
#define POSTURE_QUERIES_MAX	(2 + BW_MAX_SELECTORS)	/* in flight, one domain */

/* Grades, in the order of bouncewall_domain_posture's values. */
enum posture_grade {
	POSTURE_FAIL = 0,
	POSTURE_WARN = 1,
	POSTURE_PASS = 2,	/* as a finding's severity: for information */
};

enum posture_check_id {
	POSTURE_SPF = 0,
	POSTURE_DMARC,
	POSTURE_DKIM,
	POSTURE_CHECKS
};

/* DNS record types, as numbered on the wire. */
enum posture_qtype {
	POSTURE_Q_A = 1,
	POSTURE_Q_MX = 15,
	POSTURE_Q_TXT = 16,
	POSTURE_Q_AAAA = 28,
};

/* What a lookup came back with. */
enum posture_status {
	POSTURE_ANS_OK = 0,	/* records of the type asked for */
	POSTURE_ANS_NODATA,	/* the name exists, no such records */
	POSTURE_ANS_NXDOMAIN,	/* no such name */
	POSTURE_ANS_ERROR,	/* timeout, SERVFAIL, refused: nothing known */
};

struct posture_rr {
	const char *text;	/* a TXT record's strings joined, not NUL-ended */
	size_t len;		/* <= POSTURE_TXT_MAX */
	bool cut;		/* the record was longer than POSTURE_TXT_MAX */
};

struct posture_answer {
	enum posture_status status;
	const char *error;	/* POSTURE_ANS_ERROR: why, static text */
	unsigned int total;	/* records of the type asked for in the answer */
	unsigned int n;		/* TXT: records in rr[] (<= POSTURE_RR_MAX); fewer
				 * than total when the answer held too many */
	struct posture_rr rr[POSTURE_RR_MAX];
};

struct posture_query {
	char name[POSTURE_NAME_MAX + 1];
	enum posture_qtype type;
	uint32_t token;		/* hand it back with the answer; the low
				 * 28 bits only, the rest is the caller's */
};

struct posture_finding {
	uint8_t grade;		/* enum posture_grade; PASS = information */
	char text[POSTURE_FINDING_MAX];
};

/* One check of one domain (SPF, DMARC, or one DKIM selector). */
struct posture_check {
	bool done;
	bool checked;		/* false: not run (DKIM without selectors) */
	bool dns_error;		/* a lookup failed: the grade is not the domain's */
	uint8_t verdict;	/* enum posture_grade, once done */
	bool has_record;
	char record[POSTURE_RECORD_SHOWN + 4];	/* "..." when cut */
	struct posture_finding findings[POSTURE_FINDINGS_MAX];
	unsigned int n_findings;
	unsigned int dropped;	/* findings past POSTURE_FINDINGS_MAX */
	uint8_t dropped_grade;	/* the worst of those */
	/* SPF */
	unsigned int lookups;	/* DNS-querying terms, the whole tree */
	unsigned int voids;	/* lookups that found nothing */
	bool lookups_partial;	/* not every include was followed */
	/* DKIM */
	char selector[BW_SELECTOR_MAX + 1];
	const char *key_type;	/* "rsa", "ed25519", or NULL */
	unsigned int key_bits;
};

struct posture_result {
	char domain[POSTURE_NAME_MAX + 1];
	struct posture_check spf;
	struct posture_check dmarc;
	struct posture_check dkim[BW_MAX_SELECTORS];
	unsigned int n_dkim;
};

struct spf_walk;

/* The state of one domain's checks while they run. */
struct posture_domain {
	struct posture_result *res;
	struct spf_walk *spf;		/* the caller's storage (posture_walk_size) */
	uint8_t state[1 + BW_MAX_SELECTORS];	/* DMARC, then each selector */
};

/* ---- running the checks ---- */

/* Bytes the SPF walk needs; the caller allocates it (no hidden malloc). */
size_t posture_walk_size(void);

/*
 * Start checking `domain` (validated, lowercase) with the given DKIM
 * selectors into *res.  walk points at posture_walk_size() bytes that live
 * as long as the check.
 */
void posture_begin(struct posture_domain *d, struct posture_result *res, void *walk,
		   const char *domain, const char (*selectors)[BW_SELECTOR_MAX + 1],
		   unsigned int n_selectors);

/*
 * The lookups that are due now (at most max, POSTURE_QUERIES_MAX is always
 * enough), each marked as asked.  0 while waiting for answers, or when done.
 */
size_t posture_want(struct posture_domain *d, struct posture_query *out, size_t max);

/* The answer to a query posture_want() gave.  A token that is not
 * outstanding is ignored. */
void posture_feed(struct posture_domain *d, uint32_t token, const struct posture_answer *a);

bool posture_done(const struct posture_domain *d);

/* Give up on whatever is still outstanding (a deadline passed): those
 * checks fail with `why` as a DNS error, and the domain is done. */
void posture_abort(struct posture_domain *d, const char *why);

/* ---- results ---- */

/* The worst grade of a domain's checks that ran; DKIM is the worst of its
 * selectors, -1 when no selector was checked. */
int posture_check_grade(const struct posture_result *r, enum posture_check_id c);
enum posture_grade posture_domain_grade(const struct posture_result *r);
bool posture_dns_error(const struct posture_result *r, enum posture_check_id c);

/* "pass", "warn", "fail"; "info" for a PASS finding. */
const char *posture_grade_name(unsigned int g);
const char *posture_finding_severity(unsigned int g);
/* "spf", "dmarc", "dkim". */
const char *posture_check_name(enum posture_check_id c);

/* The first finding of the check's own grade (what to change first), or
 * NULL for a pass. */
const struct posture_finding *posture_first_problem(const struct posture_check *c);

/* Readable text, or one JSON document {"domains":[...]} (README). */
void posture_print_text(FILE *f, const struct posture_result *r, size_t n);
void posture_print_json(FILE *f, const struct posture_result *r, size_t n);

/* ---- shared by the checks ---- */

/* Add a finding (printf format, text cut to POSTURE_FINDING_MAX). */
void posture_note(struct posture_check *c, enum posture_grade g, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Keep the record shown in the result (escaped, cut). */
void posture_keep_record(struct posture_check *c, const char *text, size_t len);

/* Grade the check from its findings (the worst severity) and mark it done. */
void posture_finish(struct posture_check *c);

/* Case-insensitive prefix test on a length-delimited text. */
bool posture_has_prefix(const char *s, size_t n, const char *prefix);

/* ---- the resolver address (--resolver, posture_resolver) ---- */

struct posture_resolver {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* 4 or 16 bytes used */
	uint16_t port;		/* host order, 53 when not given */
};

/* "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353".
 * 0 or -EINVAL. */
int posture_resolver_parse(const char *s, size_t n, struct posture_resolver *out);

#endif
