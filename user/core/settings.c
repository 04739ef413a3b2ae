/*
 * settings.c - bouncewall's settings: one table of keys, one writer.
 *
 * Every way a setting changes (the config file, a command-line flag,
 * `threshold set`) goes through settings_set(), which parses into locals and
 * stores only when the whole value is good, so a rejected value never leaves
 * a half-written list behind.  The file's text is conf_parse.c's; this file
 * knows keys and values only.
 *
 * Functions return 0 or a negative errno; messages go to the caller's err.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "addr.h"
#include "settings.h"
#include "names.h"
#include "text.h"

#define U32_MAX_VALUE		1000000
#define FACTOR_MAX		1000.0
#define NUMBER_TEXT_MAX		32
#define DNS_NAME_MAX		253
#define DNS_LABEL_MAX		63
#define VALUE_SPACE		" \t\r\n"

enum setting_kind {
	K_IFACES,
	K_PORTS,
	K_MODE,
	K_U32,
	K_DURATION,
	K_FACTOR,
	K_DOMAINS,
	K_SECRET,
	K_LISTEN,
	K_SOCKET,
	K_DIR,
};

enum setting_id {
	S_INTERFACE,
	S_SMTP_PORTS,
	S_MODE,
	S_SYN_RATE,
	S_SYN_BURST,
	S_THROTTLE_RATE,
	S_NULL_RATE,
	S_SCORE_THROTTLE,
	S_SCORE_BLOCK,
	S_BLOCK_TTL,
	S_BLOCK_TTL_MAX,
	S_STORM_FACTOR,
	S_PREFIX_V4,
	S_PREFIX_V6,
	S_PROTECTED_DOMAINS,
	S_BATV_SECRET,
	S_METRICS_LISTEN,
	S_CONTROL_SOCKET,
	S_STATE_DIR,
	S_MAX_SOURCES,
	S_MAX_FLOWS,
	S_COUNT
};

_Static_assert(S_COUNT <= SETTINGS_MAX, "SETTINGS_MAX");

static const struct setting_desc table[S_COUNT] = {
	[S_INTERFACE] = { "interface", "",
			  "interfaces to protect (space- or comma-separated)", false },
	[S_SMTP_PORTS] = { "smtp_ports", "25,465,587",
			   "TCP ports treated as SMTP (at most 8)", false },
	[S_MODE] = { "mode", "enforce",
		     "enforce, or monitor: count what would be dropped, drop nothing", true },
	[S_SYN_RATE] = { "syn_rate", "20",
			 "new SMTP connections/s admitted per source prefix (0 = off)", true },
	[S_SYN_BURST] = { "syn_burst", "40",
			  "connections a source prefix may open at once above syn_rate", true },
	[S_THROTTLE_RATE] = { "throttle_rate", "1",
			      "new SMTP connections/s admitted from a throttled source", true },
	[S_NULL_RATE] = { "null_rate", "30",
			  "null-sender transactions/min from one source that count as suspicious",
			  true },
	[S_SCORE_THROTTLE] = { "score_throttle", "50",
			       "score at which a source is throttled", true },
	[S_SCORE_BLOCK] = { "score_block", "100",
			    "score at which a source is blocked", true },
	[S_BLOCK_TTL] = { "block_ttl", "10m",
			  "length of a first block; doubled for each repeat", true },
	[S_BLOCK_TTL_MAX] = { "block_ttl_max", "24h",
			      "cap on the length of a repeated block", true },
	[S_STORM_FACTOR] = { "storm_factor", "5",
			     "null-sender rate / its baseline that declares a storm", true },
	[S_PREFIX_V4] = { "prefix_v4", "32",
			  "IPv4 prefix length sources are scored and blocked as (8..32)", false },
	[S_PREFIX_V6] = { "prefix_v6", "64",
			  "IPv6 prefix length sources are scored and blocked as (16..128)", false },
	[S_PROTECTED_DOMAINS] = { "protected_domains", "",
				  "our domains: bounces to them are what we count", true },
	[S_BATV_SECRET] = { "batv_secret", "",
			    "BATV prvs= key; bounces without a valid tag score high", true },
	[S_METRICS_LISTEN] = { "metrics_listen", "127.0.0.1:9025",
			       "Prometheus endpoint HOST:PORT, or off", false },
	[S_CONTROL_SOCKET] = { "control_socket", "/run/bouncewall/bouncewall.sock",
			       "path of the CLI's control socket", false },
	[S_STATE_DIR] = { "state_dir", "/var/lib/bouncewall",
			  "where blocks and counters survive restarts", false },
	[S_MAX_SOURCES] = { "max_sources", "65536",
			    "source prefixes scored at once; the least recent is evicted (1024..4194304)",
			    false },
	[S_MAX_FLOWS] = { "max_flows", "16384",
			  "SMTP connections followed at once; the oldest is evicted (256..1048576)",
			  false },
};

/* How each key is parsed and where it lives; numbers only for K_U32 and
 * K_DURATION, the other kinds each have one field. */
struct setting_rule {
	enum setting_kind kind;
	size_t off;
	uint32_t min, max;
};

#define U32(field, lo, hi)	{ K_U32, offsetof(struct bw_settings, field), lo, hi }
#define DUR(field)		{ K_DURATION, offsetof(struct bw_settings, field), 0, 0 }

static const struct setting_rule rules[S_COUNT] = {
	[S_INTERFACE] = { K_IFACES, 0, 0, 0 },
	[S_SMTP_PORTS] = { K_PORTS, 0, 0, 0 },
	[S_MODE] = { K_MODE, 0, 0, 0 },
	[S_SYN_RATE] = U32(syn_rate, 0, U32_MAX_VALUE),
	[S_SYN_BURST] = U32(syn_burst, 1, U32_MAX_VALUE),
	[S_THROTTLE_RATE] = U32(throttle_rate, 0, U32_MAX_VALUE),
	[S_NULL_RATE] = U32(null_rate, 1, U32_MAX_VALUE),
	[S_SCORE_THROTTLE] = U32(score_throttle, 1, U32_MAX_VALUE),
	[S_SCORE_BLOCK] = U32(score_block, 1, U32_MAX_VALUE),
	[S_BLOCK_TTL] = DUR(block_ttl),
	[S_BLOCK_TTL_MAX] = DUR(block_ttl_max),
	[S_STORM_FACTOR] = { K_FACTOR, 0, 0, 0 },
	[S_PREFIX_V4] = U32(prefix_v4, 8, 32),
	[S_PREFIX_V6] = U32(prefix_v6, 16, 128),
	[S_PROTECTED_DOMAINS] = { K_DOMAINS, 0, 0, 0 },
	[S_BATV_SECRET] = { K_SECRET, 0, 0, 0 },
	[S_METRICS_LISTEN] = { K_LISTEN, 0, 0, 0 },
	[S_CONTROL_SOCKET] = { K_SOCKET, 0, 0, 0 },
	[S_STATE_DIR] = { K_DIR, 0, 0, 0 },
	[S_MAX_SOURCES] = U32(max_sources, 1024, 4194304),
	[S_MAX_FLOWS] = U32(max_flows, 256, 1048576),
};

/* The number a K_U32 or K_DURATION rule points at. */
static void *
field(struct bw_settings *s, const struct setting_rule *r)
{
	return (char *)s + r->off;
}

static const void *
cfield(const struct bw_settings *s, const struct setting_rule *r)
{
	return (const char *)s + r->off;
}

const struct setting_desc *
settings_table(size_t *n)
{
	*n = S_COUNT;
	return table;
}

static int
find_id(const char *name)
{
	for (int i = 0; i < S_COUNT; i++)
		if (strcmp(table[i].name, name) == 0)
			return i;
	return -1;
}

const struct setting_desc *
settings_find(const char *name)
{
	int id = find_id(name);

	return id < 0 ? NULL : &table[id];
}

static int
bad_value(char *err, size_t errlen, int id, const char *v, size_t n, const char *expected)
{
	char b[TEXT_SHOWN_BUF];

	snprintf(err, errlen, "%s: invalid value '%s' (expected %s)", table[id].name,
		 text_shown(b, v, n), expected);
	return -EINVAL;
}

static bool
is_digits(const char *v, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

/* Decimal digits only (strtoul alone would take "+5", " 5" and "-5"). */
static int
parse_ulong(const char *v, size_t n, unsigned long min, unsigned long max,
	    unsigned long *out)
{
	char text[NUMBER_TEXT_MAX];
	unsigned long x;
	char *end;

	if (!is_digits(v, n) || n >= sizeof(text))
		return -EINVAL;
	memcpy(text, v, n);
	text[n] = '\0';
	errno = 0;
	x = strtoul(text, &end, 10);
	if (errno || *end != '\0' || x < min || x > max)
		return -EINVAL;
	*out = x;
	return 0;
}

/* "5", "2.5": digits with at most one '.', above 1 and at most 1000.  No
 * sign, exponent, hex, inf or nan, which strtod() would all accept. */
static int
parse_factor(const char *v, size_t n, double *out)
{
	char text[NUMBER_TEXT_MAX];
	unsigned int dots = 0, digits = 0;
	double x;
	char *end;

	if (n == 0 || n >= sizeof(text))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '.')
			dots++;
		else if (v[i] >= '0' && v[i] <= '9')
			digits++;
		else
			return -EINVAL;
	}
	if (dots > 1 || digits == 0)
		return -EINVAL;
	memcpy(text, v, n);
	text[n] = '\0';
	errno = 0;
	x = strtod(text, &end);
	if (errno || *end != '\0' || !(x > 1.0 && x <= FACTOR_MAX))
		return -EINVAL;
	*out = x;
	return 0;
}

/* Shortest plain decimal (no exponent: 1..1000 never needs one) that
 * reads back as exactly x. */
static void
format_factor(double x, char *buf, size_t len)
{
	for (int prec = 0; prec <= 17; prec++) {
		snprintf(buf, len, "%.*f", prec, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

static bool
is_separator(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

/* Next list item in [*pos, end); false when none is left. */
static bool
next_item(const char **pos, const char *end, const char **item, size_t *n)
{
	const char *p = *pos;

	while (p < end && is_separator(*p))
		p++;
	if (p == end)
		return false;
	*item = p;
	while (p < end && !is_separator(*p))
		p++;
	*n = (size_t)(p - *item);
	*pos = p;
	return true;
}

/* A list with an empty item ("25,,587", ",25", "25,") is a typo, not a
 * shorter list: refuse it rather than guess. */
static int
check_list(char *err, size_t errlen, int id, const char *v, size_t n)
{
	bool item_since_comma = false, comma_seen = false;
	char b[TEXT_SHOWN_BUF];

	for (size_t i = 0; i < n; i++) {
		if (v[i] == ',') {
			if (!item_since_comma)
				goto bad;
			item_since_comma = false;
			comma_seen = true;
		} else if (!is_separator(v[i])) {
			item_since_comma = true;
		}
	}
	if (!comma_seen || item_since_comma)
		return 0;
bad:
	snprintf(err, errlen, "%s: empty item in '%s'", table[id].name,
		 text_shown(b, v, n));
	return -EINVAL;
}

static int
too_many(char *err, size_t errlen, int id, const char *v, size_t n, unsigned int max)
{
	char b[TEXT_SHOWN_BUF];

	snprintf(err, errlen, "%s: too many values in '%s' (at most %u)", table[id].name,
		 text_shown(b, v, n), max);
	return -EINVAL;
}

static int
duplicate(char *err, size_t errlen, int id, const char *v, size_t n)
{
	char b[TEXT_SHOWN_BUF];

	snprintf(err, errlen, "%s: '%s' is listed twice", table[id].name,
		 text_shown(b, v, n));
	return -EINVAL;
}

static int
set_ports(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	uint16_t ports[BW_MAX_PORTS] = { 0 };
	unsigned int count = 0;
	const char *pos = v, *item;
	unsigned long port;
	size_t len;

	if (check_list(err, errlen, S_SMTP_PORTS, v, n) < 0)
		return -EINVAL;
	while (next_item(&pos, v + n, &item, &len)) {
		if (parse_ulong(item, len, 1, 65535, &port) < 0)
			return bad_value(err, errlen, S_SMTP_PORTS, item, len,
					 "a port number 1..65535");
		for (unsigned int i = 0; i < count; i++)
			if (ports[i] == port)
				return duplicate(err, errlen, S_SMTP_PORTS, item, len);
		if (count == BW_MAX_PORTS)
			return too_many(err, errlen, S_SMTP_PORTS, v, n, BW_MAX_PORTS);
		ports[count++] = (uint16_t)port;
	}
	if (count == 0)
		return bad_value(err, errlen, S_SMTP_PORTS, v, n, "at least one port number");
	_Static_assert(sizeof(ports) == sizeof(s->smtp_ports), "smtp_ports");
	memcpy(s->smtp_ports, ports, sizeof(ports));
	s->n_ports = count;
	return 0;
}

/* What the kernel's dev_valid_name() takes, less the separators we split
 * on and anything unprintable. */
static bool
valid_ifname(const char *v, size_t n)
{
	if (n == 0 || n >= IF_NAMESIZE)
		return false;
	if ((n == 1 && v[0] == '.') || (n == 2 && v[0] == '.' && v[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f ||
		    v[i] == '/' || v[i] == ':')
			return false;
	return true;
}

static int
set_ifaces(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	char names[BW_MAX_IFACES][IF_NAMESIZE] = { { 0 } };
	unsigned int count = 0;
	const char *pos = v, *item;
	size_t len;

	if (check_list(err, errlen, S_INTERFACE, v, n) < 0)
		return -EINVAL;
	while (next_item(&pos, v + n, &item, &len)) {
		if (!valid_ifname(item, len))
			return bad_value(err, errlen, S_INTERFACE, item, len,
					 "an interface name of 1..15 characters");
		for (unsigned int i = 0; i < count; i++)
			if (strlen(names[i]) == len && memcmp(names[i], item, len) == 0)
				return duplicate(err, errlen, S_INTERFACE, item, len);
		if (count == BW_MAX_IFACES)
			return too_many(err, errlen, S_INTERFACE, v, n, BW_MAX_IFACES);
		memcpy(names[count], item, len);
		names[count++][len] = '\0';
	}
	_Static_assert(sizeof(names) == sizeof(s->interfaces), "interfaces");
	memcpy(s->interfaces, names, sizeof(names));
	s->n_interfaces = count;
	return 0;
}

/* A DNS name in letters, digits, '-' and '.': labels of 1..63, no label
 * starting or ending with '-', 253 in all, no trailing dot.  `lower`, when
 * given, receives it lowercased. */
static bool
valid_dns_name(const char *v, size_t n, char *lower)
{
	size_t label = 0;

	if (n == 0 || n > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0 || v[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
			if (c == '-' && label == 0)
				return false;
			if (++label > DNS_LABEL_MAX)
				return false;
		} else {
			return false;
		}
		if (lower)
			lower[i] = c;
	}
	if (label == 0 || v[n - 1] == '-')
		return false;
	if (lower)
		lower[n] = '\0';
	return true;
}

static int
set_domains(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	char names[BW_MAX_DOMAINS][BW_DOMAIN_MAX + 1] = { { 0 } }, lower[BW_DOMAIN_MAX + 1];
	unsigned int count = 0;
	const char *pos = v, *item;
	size_t len;

	if (check_list(err, errlen, S_PROTECTED_DOMAINS, v, n) < 0)
		return -EINVAL;
	while (next_item(&pos, v + n, &item, &len)) {
		if (!valid_dns_name(item, len, lower))
			return bad_value(err, errlen, S_PROTECTED_DOMAINS, item, len,
					 "a domain name of letters, digits, '-' and '.'");
		for (unsigned int i = 0; i < count; i++)
			if (strcmp(names[i], lower) == 0)
				return duplicate(err, errlen, S_PROTECTED_DOMAINS, item, len);
		if (count == BW_MAX_DOMAINS)
			return too_many(err, errlen, S_PROTECTED_DOMAINS, v, n, BW_MAX_DOMAINS);
		memcpy(names[count++], lower, len + 1);
	}
	_Static_assert(sizeof(names) == sizeof(s->protected_domains), "domains");
	memcpy(s->protected_domains, names, sizeof(names));
	s->n_domains = count;
	return 0;
}

/* The whole field is rewritten, so no old bytes linger past the NUL (the
 * secret least of all).  The caller has checked n < size. */
static void
store_text(char *dst, size_t size, const char *v, size_t n)
{
	memset(dst, 0, size);
	memcpy(dst, v, n);
}

/* Empty clears it; otherwise 1..BW_SECRET_MAX printable, no spaces.  The
 * value is never echoed: it is a key. */
static int
set_secret(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	bool ok = n <= BW_SECRET_MAX;

	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)v[i] > ' ' && (unsigned char)v[i] < 0x7f;
	if (!ok) {
		snprintf(err, errlen,
			 "%s: invalid value (not shown; expected 1..%d printable characters without spaces)",
			 table[S_BATV_SECRET].name, BW_SECRET_MAX);
		return -EINVAL;
	}
	store_text(s->batv_secret, sizeof(s->batv_secret), v, n);
	return 0;
}

/* "off", or HOST:PORT with HOST an IPv4 address, a bracketed IPv6 address
 * or a host name (resolved when the endpoint starts). */
static bool
valid_listen(const char *v, size_t n)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = NULL;
	unsigned long port;
	unsigned char a[16];
	size_t hlen;

	if (n == 3 && memcmp(v, "off", 3) == 0)
		return true;
	if (n >= BW_LISTEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] == ':')
			colon = v + i;
	if (!colon || parse_ulong(colon + 1, (size_t)(v + n - colon - 1), 1, 65535, &port) < 0)
		return false;
	hlen = (size_t)(colon - v);
	if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
		if (hlen - 2 >= sizeof(host))
			return false;
		memcpy(host, v + 1, hlen - 2);
		host[hlen - 2] = '\0';
		return inet_pton(AF_INET6, host, a) == 1;
	}
	/* All digits and dots reads as an IPv4 address, so it must be one:
	 * "999.0.0.1" is a typo, not a host name. */
	if (hlen > 0 && hlen < sizeof(host) && strspn(v, "0123456789.") >= hlen) {
		memcpy(host, v, hlen);
		host[hlen] = '\0';
		return inet_pton(AF_INET, host, a) == 1;
	}
	return valid_dns_name(v, hlen, NULL);
}

static bool
valid_path(const char *v, size_t n, size_t max, bool dir)
{
	if (n == 0 || n >= max || v[0] != '/')
		return false;
	if (!dir && v[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < ' ' || (unsigned char)v[i] == 0x7f)
			return false;
	return true;
}

int
settings_set(struct bw_settings *s, const char *key, const char *value, char *err,
	     size_t errlen)
{
	char b[TEXT_SHOWN_BUF], expected[64], text[NUMBER_TEXT_MAX];
	const struct setting_rule *r;
	const char *v = value;
	unsigned long num;
	uint64_t secs;
	size_t n;
	double f;
	int id = find_id(key);

	if (id < 0) {
		snprintf(err, errlen, "unknown key '%s'", text_shown(b, key, strlen(key)));
		return -ENOENT;
	}
	r = &rules[id];
	n = strlen(v);
	while (n > 0 && strchr(VALUE_SPACE, v[0])) {
		v++;
		n--;
	}
	while (n > 0 && strchr(VALUE_SPACE, v[n - 1]))
		n--;

	switch (r->kind) {
	case K_IFACES:
		return set_ifaces(s, v, n, err, errlen);
	case K_PORTS:
		return set_ports(s, v, n, err, errlen);
	case K_DOMAINS:
		return set_domains(s, v, n, err, errlen);
	case K_SECRET:
		return set_secret(s, v, n, err, errlen);
	case K_MODE:
		if (names_mode_parse(v, n, &s->mode) == 0)
			return 0;
		return bad_value(err, errlen, id, v, n, "enforce or monitor");
	case K_U32:
		if (parse_ulong(v, n, r->min, r->max, &num) < 0) {
			snprintf(expected, sizeof(expected), "an integer %u..%u", r->min, r->max);
			return bad_value(err, errlen, id, v, n, expected);
		}
		*(uint32_t *)field(s, r) = (uint32_t)num;
		return 0;
	case K_DURATION:
		if (n < sizeof(text))
			store_text(text, sizeof(text), v, n);
		if (n >= sizeof(text) || duration_parse(text, &secs) < 0)
			return bad_value(err, errlen, id, v, n,
					 "a duration such as 90s, 10m, 2h or 1d");
		*(uint64_t *)field(s, r) = secs;
		return 0;
	case K_FACTOR:
		if (parse_factor(v, n, &f) < 0)
			return bad_value(err, errlen, id, v, n,
					 "a decimal number above 1 and at most 1000");
		s->storm_factor = f;
		return 0;
	case K_LISTEN:
		if (!valid_listen(v, n))
			return bad_value(err, errlen, id, v, n,
					 "HOST:PORT, [IPv6]:PORT or off");
		store_text(s->metrics_listen, sizeof(s->metrics_listen), v, n);
		return 0;
	case K_SOCKET:
		if (!valid_path(v, n, sizeof(s->control_socket), false)) {
			snprintf(expected, sizeof(expected), "an absolute file path under %zu bytes",
				 sizeof(s->control_socket));
			return bad_value(err, errlen, id, v, n, expected);
		}
		store_text(s->control_socket, sizeof(s->control_socket), v, n);
		return 0;
	case K_DIR:
		if (!valid_path(v, n, sizeof(s->state_dir), true))
			return bad_value(err, errlen, id, v, n, "an absolute directory path");
		store_text(s->state_dir, sizeof(s->state_dir), v, n);
		return 0;
	}
	return -EINVAL;
}

/* Append to a canonical value; false once it no longer fits. */
static bool
put(char *buf, size_t len, size_t *used, const char *sep, const char *text)
{
	int w;

	if (*used >= len)
		return false;
	w = snprintf(buf + *used, len - *used, "%s%s", *used ? sep : "", text);
	if (w < 0 || (size_t)w >= len - *used) {
		*used = len;
		return false;
	}
	*used += (size_t)w;
	return true;
}

int
settings_get(const struct bw_settings *s, const char *key, char *buf, size_t len)
{
	const struct setting_rule *r;
	char text[NUMBER_TEXT_MAX];
	size_t used = 0;
	bool ok = true;
	int id = find_id(key);

	if (id < 0)
		return -ENOENT;
	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	r = &rules[id];
	switch (r->kind) {
	case K_IFACES:
		for (unsigned int i = 0; ok && i < s->n_interfaces; i++)
			ok = put(buf, len, &used, ",", s->interfaces[i]);
		break;
	case K_PORTS:
		for (unsigned int i = 0; ok && i < s->n_ports; i++) {
			snprintf(text, sizeof(text), "%u", s->smtp_ports[i]);
			ok = put(buf, len, &used, ",", text);
		}
		break;
	case K_DOMAINS:
		for (unsigned int i = 0; ok && i < s->n_domains; i++)
			ok = put(buf, len, &used, ",", s->protected_domains[i]);
		break;
	case K_MODE:
		ok = put(buf, len, &used, "",
			 names_mode(s->mode));
		break;
	case K_U32:
		snprintf(text, sizeof(text), "%u", *(const uint32_t *)cfield(s, r));
		ok = put(buf, len, &used, "", text);
		break;
	case K_DURATION:
		duration_format(*(const uint64_t *)cfield(s, r), text, sizeof(text));
		ok = put(buf, len, &used, "", text);
		break;
	case K_FACTOR:
		format_factor(s->storm_factor, text, sizeof(text));
		ok = put(buf, len, &used, "", text);
		break;
	case K_SECRET:
		ok = put(buf, len, &used, "", s->batv_secret[0] ? "(set)" : "");
		break;
	case K_LISTEN:
		ok = put(buf, len, &used, "", s->metrics_listen);
		break;
	case K_SOCKET:
		ok = put(buf, len, &used, "", s->control_socket);
		break;
	case K_DIR:
		ok = put(buf, len, &used, "", s->state_dir);
		break;
	}
	return ok ? 0 : -ENOSPC;
}

void
settings_defaults(struct bw_settings *s)
{
	char err[BW_ERR_MAX];

	/* The table is the one source of defaults; an empty default is the
	 * zeroed field (no interfaces, no domains, no secret). */
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < S_COUNT; i++) {
		if (table[i].default_value[0] == '\0')
			continue;
		if (settings_set(s, table[i].name, table[i].default_value, err, sizeof(err)) < 0)
			abort();	/* a bad table is a build bug */
	}
}

int
settings_validate(const struct bw_settings *s, char *err, size_t errlen)
{
	char a[NUMBER_TEXT_MAX], b[NUMBER_TEXT_MAX];

	/* Fields written directly, not through settings_set(), get their
	 * ranges checked again here. */
	for (int i = 0; i < S_COUNT; i++) {
		const struct setting_rule *r = &rules[i];
		uint32_t v;

		if (r->kind != K_U32)
			continue;
		v = *(const uint32_t *)cfield(s, r);
		if (v < r->min || v > r->max) {
			snprintf(err, errlen, "%s: %u is out of range %u..%u", table[i].name, v,
				 r->min, r->max);
			return -EINVAL;
		}
	}
	if (s->n_ports == 0 || s->n_ports > BW_MAX_PORTS) {
		snprintf(err, errlen, "smtp_ports: between 1 and %d ports are needed",
			 BW_MAX_PORTS);
		return -EINVAL;
	}
	if (s->n_interfaces > BW_MAX_IFACES || s->n_domains > BW_MAX_DOMAINS) {
		snprintf(err, errlen, "too many interfaces or protected_domains");
		return -EINVAL;
	}
	if (strcmp(names_mode(s->mode), "unknown") == 0) {
		snprintf(err, errlen, "mode: unknown mode %u", s->mode);
		return -EINVAL;
	}
	if (!(s->storm_factor > 1.0 && s->storm_factor <= FACTOR_MAX)) {
		snprintf(err, errlen, "storm_factor: must be above 1 and at most 1000");
		return -EINVAL;
	}
	if (s->block_ttl == 0 || s->block_ttl_max == 0) {
		snprintf(err, errlen, "block_ttl and block_ttl_max must be above zero");
		return -EINVAL;
	}

	/* Cross-key rules. */
	if (s->score_throttle >= s->score_block) {
		snprintf(err, errlen, "score_throttle (%u) must be below score_block (%u)",
			 s->score_throttle, s->score_block);
		return -EINVAL;
	}
	if (s->block_ttl > s->block_ttl_max) {
		snprintf(err, errlen, "block_ttl (%s) must not exceed block_ttl_max (%s)",
			 duration_format(s->block_ttl, a, sizeof(a)),
			 duration_format(s->block_ttl_max, b, sizeof(b)));
		return -EINVAL;
	}
	/* A throttled source admitted faster than an ordinary one is not
	 * throttled.  With syn_rate off there is nothing to compare with. */
	if (s->syn_rate != 0 && s->throttle_rate > s->syn_rate) {
		snprintf(err, errlen, "throttle_rate (%u) must not exceed syn_rate (%u)",
			 s->throttle_rate, s->syn_rate);
		return -EINVAL;
	}
	return 0;
}
