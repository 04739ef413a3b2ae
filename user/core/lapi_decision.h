/*
 * lapi_decision.h - a CrowdSec Local API decision as bouncewall enforces
 * it: the fields the LAPI sends (strings, already taken out of the JSON)
 * mapped to a CIDR, a remaining time and a verdict; Go durations
 * ("3h59m58.123s") and RFC 3339 times, which is how the LAPI writes
 * time.  Pure.
 */
#ifndef BW_LAPI_DECISION_H
#define BW_LAPI_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define LAPI_ORIGIN_MAX		32
#define LAPI_SCENARIO_MAX	63
/* Ranges wider than these are never enforced: one mistaken decision
 * would stop SMTP from a quarter of the address space.  They match the
 * narrowest scoring prefixes the settings accept. */
#define LAPI_MIN_PLEN_V4	8
#define LAPI_MIN_PLEN_V6	16

enum lapi_verdict {
	LAPI_OK = 0,		/* a ban of an address or a range */
	LAPI_SKIP_TYPE,		/* captcha, throttle, ...: not a ban */
	LAPI_SKIP_SCOPE,	/* Country, AS, Username, ...: not addresses */
	LAPI_SKIP_WIDE,		/* a range wider than the floor above */
	LAPI_SKIP_EXPIRED,	/* a new decision with no time left */
	LAPI_INVALID,		/* a field missing or malformed */
	LAPI_VERDICT_MAX
};

/* What the LAPI sent for one decision; NULL when a field was absent or
 * not a string (id: has_id false when absent or not an integer). */
struct lapi_fields {
	const char *type;
	const char *scope;
	const char *value;
	const char *duration;
	const char *origin;
	const char *scenario;
	int64_t id;
	bool has_id;
};

struct lapi_decision {
	struct bw_cidr cidr;
	int64_t id;			/* the LAPI's, 0 when it sent none */
	int64_t remaining_ms;		/* from the pull; <= 0 once expired */
	/* Safe to show and to use as a metric label: [A-Za-z0-9._:/-],
	 * anything else (or empty) becomes "other". */
	char origin[LAPI_ORIGIN_MAX + 1];
	/* Escaped for a log line (core/text.h), cut. */
	char scenario[LAPI_SCENARIO_MAX + 1];
};

/*
 * Map one decision.  A `deleted` one needs only type, scope and value
 * (its duration is whatever was left, often negative); a new one also
 * needs a duration with time left.  *out is filled for every verdict but
 * LAPI_INVALID (so skips can still be counted by origin).
 */
enum lapi_verdict lapi_decision_map(const struct lapi_fields *f, bool deleted,
				    struct lapi_decision *out);

/* "ok", "type", "scope", "too_wide", "expired", "invalid". */
const char *lapi_verdict_name(enum lapi_verdict v);

/*
 * A Go time.Duration as time.Duration.String() and time.ParseDuration()
 * write it: an optional sign, then one or more decimal numbers with a
 * unit each (ns, us, µs, ms, s, m, h), "0" alone, e.g. "1h2m3.5s",
 * "-117.29ms".  Into nanoseconds.  0 or -EINVAL (garbage, overflow
 * past about 292 years).
 */
int lapi_duration_parse(const char *s, int64_t *ns);

/*
 * A decision's value as the LAPI compares it: an address (scope "Ip") or
 * ADDR/LEN ("Range"), IPv4 or IPv6; host bits past the prefix are
 * masked off, as Go's net.ParseCIDR does (CrowdSec accepts
 * "10.0.0.9/24").  A length after IPv6 notation counts on 128 bits, as
 * everywhere in bouncewall.  0 or -EINVAL.
 */
int lapi_value_cidr(const char *value, struct bw_cidr *out);

/* RFC 3339 ("2026-11-30T23:11:10Z", "...T23:11:10.5+01:00") into unix
 * seconds (fractions dropped).  0 or -EINVAL. */
int lapi_time_parse(const char *s, int64_t *unix_s);

/* Unix seconds as "2026-11-30T23:11:10Z" (buf at least 21 bytes, 0001..9999).
 * Returns buf. */
char *lapi_time_format(int64_t unix_s, char *buf, size_t len);

#endif
