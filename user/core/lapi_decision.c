/*
 * lapi_decision.c - one LAPI decision into a CIDR and a remaining time;
 * Go durations and RFC 3339 times (lapi_decision.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lapi_decision.h"
#include "text.h"

#define NS_PER_MS	1000000LL
#define NS_PER_S	1000000000ULL
#define DUR_LIMIT	(1ULL << 63)	/* |int64| as Go bounds it */

static const char *const verdict_names[LAPI_VERDICT_MAX] = {
	[LAPI_OK] = "ok",
	[LAPI_SKIP_TYPE] = "type",
	[LAPI_SKIP_SCOPE] = "scope",
	[LAPI_SKIP_WIDE] = "too_wide",
	[LAPI_SKIP_EXPIRED] = "expired",
	[LAPI_INVALID] = "invalid",
};

const char *
lapi_verdict_name(enum lapi_verdict v)
{
	return (unsigned int)v < LAPI_VERDICT_MAX ? verdict_names[v] : "invalid";
}

/* ---- Go durations ---- */

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },		/* U+00B5 micro sign, as Go writes it */
	{ "\xce\xbcs", 1000 },		/* U+03BC Greek mu */
	{ "ms", 1000000 },
	{ "s", NS_PER_S },
	{ "m", 60 * NS_PER_S },
	{ "h", 3600 * NS_PER_S },
};

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The unit at *s (up to the next digit, '.' or the end); advances *s. */
static uint64_t
parse_unit(const char **s)
{
	const char *p = *s;
	size_t n = 0;

	while (p[n] && !is_digit(p[n]) && p[n] != '.')
		n++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == n && memcmp(units[i].name, p, n) == 0) {
			*s = p + n;
			return units[i].ns;
		}
	}
	return 0;
}

/* One "12.5ms" component added to *total.  0 or -EINVAL. */
static int
parse_component(const char **s, uint64_t *total)
{
	const char *p = *s;
	uint64_t v = 0, f = 0, unit;
	double scale = 1;
	bool pre = false, post = false;

	for (; is_digit(*p); p++, pre = true) {
		if (v > (DUR_LIMIT - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		/* Digits past what a uint64 holds add nothing measurable. */
		for (p++; is_digit(*p); p++, post = true) {
			if (f > (DUR_LIMIT - 9) / 10)
				continue;
			f = f * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
	}
	if (!pre && !post)
		return -EINVAL;
	unit = parse_unit(&p);
	if (!unit || v > DUR_LIMIT / unit)
		return -EINVAL;
	v *= unit;
	if (f)
		v += (uint64_t)((double)f * ((double)unit / scale));
	if (v > DUR_LIMIT || *total > DUR_LIMIT - v)
		return -EINVAL;
	*total += v;
	*s = p;
	return 0;
}

int
lapi_duration_parse(const char *s, int64_t *ns)
{
	uint64_t total = 0;
	bool neg = false;

	if (!s)
		return -EINVAL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s)
		if (parse_component(&s, &total) < 0)
			return -EINVAL;
	if (!neg && total > (uint64_t)INT64_MAX)
		return -EINVAL;
	*ns = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}

/* ---- values ---- */

int
lapi_value_cidr(const char *value, struct bw_cidr *out)
{
	char addr[ADDR_CIDR_STRLEN];
	const char *slash;
	size_t n;
	unsigned int plen = 0;

	if (!value)
		return -EINVAL;
	slash = strchr(value, '/');
	n = slash ? (size_t)(slash - value) : strlen(value);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, value, n);
	addr[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (addr_parse(addr, out->addr) < 0)
		return -EINVAL;
	if (!slash) {
		out->plen = 128;
		return 0;
	}
	slash++;
	if (!*slash || strlen(slash) > 3)
		return -EINVAL;
	for (const char *p = slash; *p; p++) {
		if (!is_digit(*p))
			return -EINVAL;
		plen = plen * 10 + (unsigned int)(*p - '0');
	}
	/* IPv4 notation counts its own 32 bits; IPv6 notation (even of an
	 * IPv4-mapped address) the whole 128. */
	if (!strchr(addr, ':')) {
		if (plen > 32)
			return -EINVAL;
		plen += 96;
	} else if (plen > 128) {
		return -EINVAL;
	}
	if (addr_is_v4(out->addr) && plen < 96)
		return -EINVAL;
	out->plen = plen;
	addr_mask(out->addr, out->plen);
	return 0;
}

/* ---- the mapping ---- */

static void
copy_origin(char dst[LAPI_ORIGIN_MAX + 1], const char *o)
{
	size_t n = o ? strlen(o) : 0;
	bool ok = n > 0 && n <= LAPI_ORIGIN_MAX;

	for (size_t i = 0; ok && i < n; i++) {
		char c = o[i];

		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
		     c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
	}
	snprintf(dst, LAPI_ORIGIN_MAX + 1, "%s", ok ? o : "other");
}

static bool
too_wide(const struct bw_cidr *c)
{
	if (addr_is_v4(c->addr))
		return c->plen < 96 + LAPI_MIN_PLEN_V4;
	return c->plen < LAPI_MIN_PLEN_V6;
}

enum lapi_verdict
lapi_decision_map(const struct lapi_fields *f, bool deleted, struct lapi_decision *out)
{
	int64_t ns = 0;

	memset(out, 0, sizeof(*out));
	if (!f->type || !f->scope || !f->value)
		return LAPI_INVALID;
	if (!deleted && (!f->duration || lapi_duration_parse(f->duration, &ns) < 0))
		return LAPI_INVALID;
	out->id = f->has_id ? f->id : 0;
	copy_origin(out->origin, f->origin);
	text_escape(out->scenario, sizeof(out->scenario), f->scenario ? f->scenario : "",
		    f->scenario ? strlen(f->scenario) : 0);
	if (strcasecmp(f->type, "ban") != 0)
		return LAPI_SKIP_TYPE;
	/* The LAPI itself tells an address from a range by the '/', not
	 * by the scope: so do we. */
	if (strcasecmp(f->scope, "ip") != 0 && strcasecmp(f->scope, "range") != 0)
		return LAPI_SKIP_SCOPE;
	if (lapi_value_cidr(f->value, &out->cidr) < 0)
		return LAPI_INVALID;
	if (too_wide(&out->cidr))
		return LAPI_SKIP_WIDE;
	/* Whole milliseconds, rounded up: a decision with 0.4 ms left
	 * still has time left. */
	out->remaining_ms = ns > 0 ? (ns - 1) / NS_PER_MS + 1 : ns / NS_PER_MS;
	if (!deleted && out->remaining_ms <= 0)
		return LAPI_SKIP_EXPIRED;
	return LAPI_OK;
}

/* ---- RFC 3339 ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned int
month_days(int64_t y, unsigned int m)
{
	static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* n digits at s as a number; -1 when they are not all digits. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
lapi_time_parse(const char *s, int64_t *unix_s)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p;

	if (!s || strlen(s) < 20)
		return -EINVAL;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 60 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':' || (unsigned int)d > month_days(y, (unsigned int)mo))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (!is_digit(*++p))
			return -EINVAL;
		while (is_digit(*p))
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		sign = *p == '-' ? -1 : 1;
		oh = digits(p + 1, 2);
		om = digits(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	*unix_s = days_from_civil(y, (unsigned int)mo, (unsigned int)d) * 86400 + h * 3600 +
		  mi * 60 + sec - sign * (oh * 3600 + om * 60);
	return 0;
}

char *
lapi_time_format(int64_t unix_s, char *buf, size_t len)
{
	int64_t z = (unix_s >= 0 ? unix_s : unix_s - 86399) / 86400, secs = unix_s - z * 86400;
	int64_t era, y;
	unsigned int doe, yoe, doy, mp, d, m;

	/* civil_from_days, the inverse of days_from_civil */
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 1)
		y = 1;
	else if (y > 9999)
		y = 9999;
	snprintf(buf, len, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", (long long)y, m, d,
		 (long long)(secs / 3600), (long long)(secs / 60 % 60), (long long)(secs % 60));
	return buf;
}
