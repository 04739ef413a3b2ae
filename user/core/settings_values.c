/*
 * settings_values.c - the parsers of setting values: numbers, lists,
 * names, endpoints, secrets (settings_int.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "addr.h"
#include "settings_int.h"
#include "text.h"

#define DNS_NAME_MAX		253
#define DNS_LABEL_MAX		63

int
sv_bad_value(char *err, size_t errlen, const char *key, const char *v, size_t n, const char *expected)
{
	char b[TEXT_SHOWN_BUF];

	snprintf(err, errlen, "%s: invalid value '%s' (expected %s)", key,
		 text_shown(b, v, n), expected);
	return -EINVAL;
}

static bool
sv_is_digits(const char *v, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

/* Decimal digits only (strtoul alone would take "+5", " 5" and "-5"). */
int
sv_parse_ulong(const char *v, size_t n, unsigned long min, unsigned long max,
	    unsigned long *out)
{
	char text[NUMBER_TEXT_MAX];
	unsigned long x;
	char *end;

	if (!sv_is_digits(v, n) || n >= sizeof(text))
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
int
sv_parse_factor(const char *v, size_t n, double *out)
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
void
sv_format_factor(double x, char *buf, size_t len)
{
	for (int prec = 0; prec <= 17; prec++) {
		snprintf(buf, len, "%.*f", prec, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

static bool
sv_is_separator(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

/* Next list item in [*pos, end); false when none is left. */
static bool
sv_next_item(const char **pos, const char *end, const char **item, size_t *n)
{
	const char *p = *pos;

	while (p < end && sv_is_separator(*p))
		p++;
	if (p == end)
		return false;
	*item = p;
	while (p < end && !sv_is_separator(*p))
		p++;
	*n = (size_t)(p - *item);
	*pos = p;
	return true;
}

/* A list with an empty item ("25,,587", ",25", "25,") is a typo, not a
 * shorter list: refuse it rather than guess. */
static int
sv_check_list(char *err, size_t errlen, const char *key, const char *v, size_t n)
{
	bool item_since_comma = false, comma_seen = false;
	char b[TEXT_SHOWN_BUF];

	for (size_t i = 0; i < n; i++) {
		if (v[i] == ',') {
			if (!item_since_comma)
				goto bad;
			item_since_comma = false;
			comma_seen = true;
		} else if (!sv_is_separator(v[i])) {
			item_since_comma = true;
		}
	}
	if (!comma_seen || item_since_comma)
		return 0;
bad:
	snprintf(err, errlen, "%s: empty item in '%s'", key,
		 text_shown(b, v, n));
	return -EINVAL;
}

static int
sv_too_many(char *err, size_t errlen, const char *key, const char *v, size_t n, unsigned int max)
{
	char b[TEXT_SHOWN_BUF];

	snprintf(err, errlen, "%s: too many values in '%s' (at most %u)", key,
		 text_shown(b, v, n), max);
	return -EINVAL;
}

static int
sv_duplicate(char *err, size_t errlen, const char *key, const char *v, size_t n)
{
	char b[TEXT_SHOWN_BUF];

	snprintf(err, errlen, "%s: '%s' is listed twice", key,
		 text_shown(b, v, n));
	return -EINVAL;
}

int
sv_set_ports(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	uint16_t ports[BW_MAX_PORTS] = { 0 };
	unsigned int count = 0;
	const char *pos = v, *item;
	unsigned long port;
	size_t len;

	if (sv_check_list(err, errlen, "smtp_ports", v, n) < 0)
		return -EINVAL;
	while (sv_next_item(&pos, v + n, &item, &len)) {
		if (sv_parse_ulong(item, len, 1, 65535, &port) < 0)
			return sv_bad_value(err, errlen, "smtp_ports", item, len,
					 "a port number 1..65535");
		for (unsigned int i = 0; i < count; i++)
			if (ports[i] == port)
				return sv_duplicate(err, errlen, "smtp_ports", item, len);
		if (count == BW_MAX_PORTS)
			return sv_too_many(err, errlen, "smtp_ports", v, n, BW_MAX_PORTS);
		ports[count++] = (uint16_t)port;
	}
	if (count == 0)
		return sv_bad_value(err, errlen, "smtp_ports", v, n, "at least one port number");
	_Static_assert(sizeof(ports) == sizeof(s->smtp_ports), "smtp_ports");
	memcpy(s->smtp_ports, ports, sizeof(ports));
	s->n_ports = count;
	return 0;
}

/* What the kernel's dev_valid_name() takes, less the separators we split
 * on and anything unprintable. */
static bool
sv_valid_ifname(const char *v, size_t n)
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

int
sv_set_ifaces(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	char names[BW_MAX_IFACES][IF_NAMESIZE] = { { 0 } };
	unsigned int count = 0;
	const char *pos = v, *item;
	size_t len;

	if (sv_check_list(err, errlen, "interface", v, n) < 0)
		return -EINVAL;
	while (sv_next_item(&pos, v + n, &item, &len)) {
		if (!sv_valid_ifname(item, len))
			return sv_bad_value(err, errlen, "interface", item, len,
					 "an interface name of 1..15 characters");
		for (unsigned int i = 0; i < count; i++)
			if (strlen(names[i]) == len && memcmp(names[i], item, len) == 0)
				return sv_duplicate(err, errlen, "interface", item, len);
		if (count == BW_MAX_IFACES)
			return sv_too_many(err, errlen, "interface", v, n, BW_MAX_IFACES);
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
sv_valid_dns_name(const char *v, size_t n, char *lower)
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

int
sv_set_domains(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	char names[BW_MAX_DOMAINS][BW_DOMAIN_MAX + 1] = { { 0 } }, lower[BW_DOMAIN_MAX + 1];
	unsigned int count = 0;
	const char *pos = v, *item;
	size_t len;

	if (sv_check_list(err, errlen, "protected_domains", v, n) < 0)
		return -EINVAL;
	while (sv_next_item(&pos, v + n, &item, &len)) {
		if (!sv_valid_dns_name(item, len, lower))
			return sv_bad_value(err, errlen, "protected_domains", item, len,
					 "a domain name of letters, digits, '-' and '.'");
		for (unsigned int i = 0; i < count; i++)
			if (strcmp(names[i], lower) == 0)
				return sv_duplicate(err, errlen, "protected_domains", item, len);
		if (count == BW_MAX_DOMAINS)
			return sv_too_many(err, errlen, "protected_domains", v, n, BW_MAX_DOMAINS);
		memcpy(names[count++], lower, len + 1);
	}
	_Static_assert(sizeof(names) == sizeof(s->protected_domains), "domains");
	memcpy(s->protected_domains, names, sizeof(names));
	s->n_domains = count;
	return 0;
}

/* The whole field is rewritten, so no old bytes linger past the NUL (the
 * secret least of all).  The caller has checked n < size. */
void
sv_store_text(char *dst, size_t size, const char *v, size_t n)
{
	memset(dst, 0, size);
	memcpy(dst, v, n);
}

/* "off", or HOST:PORT with HOST an IPv4 address, a bracketed IPv6 address
 * or a host name (resolved when the endpoint starts). */
bool
sv_valid_listen(const char *v, size_t n)
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
	if (!colon || sv_parse_ulong(colon + 1, (size_t)(v + n - colon - 1), 1, 65535, &port) < 0)
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
	return sv_valid_dns_name(v, hlen, NULL);
}

bool
sv_valid_path(const char *v, size_t n, size_t max, bool dir)
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

/* "HOST:PORT" as for metrics_listen, "unix:/ABSOLUTE/PATH", or "off". */
bool
sv_valid_endpoint(const char *v, size_t n)
{
	if (n > 5 && memcmp(v, "unix:", 5) == 0)
		return sv_valid_path(v + 5, n - 5, BW_SOCKPATH_MAX, false);
	return n < BW_ENDPOINT_MAX && sv_valid_listen(v, n);
}

/* http:// or https://, then a host and the rest: printable, no spaces
 * or quotes (it ends up in log lines and HTTP requests). */
bool
sv_valid_url(const char *v, size_t n)
{
	size_t scheme;

	if (n >= BW_URL_MAX)
		return false;
	if (n > 7 && memcmp(v, "http://", 7) == 0)
		scheme = 7;
	else if (n > 8 && memcmp(v, "https://", 8) == 0)
		scheme = 8;
	else
		return false;
	if (v[scheme] == '/' || v[scheme] == ':')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f || v[i] == '"' ||
		    v[i] == '\\')
			return false;
	return true;
}

int
sv_set_credential(char *dst, size_t size, const char *key, const char *v, size_t n,
		  char *err, size_t errlen)
{
	bool ok = n < size;

	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)v[i] > ' ' && (unsigned char)v[i] < 0x7f;
	if (!ok) {
		snprintf(err, errlen,
			 "%s: invalid value (not shown; expected 1..%zu printable characters without spaces)",
			 key, size - 1);
		return -EINVAL;
	}
	sv_store_text(dst, size, v, n);
	return 0;
}

/* "K:SECRET" items (a lone SECRET is key 0); the first signs. */
int
sv_set_batv_keys(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	struct bw_batv_key keys[BW_BATV_KEYS_MAX];
	unsigned int count = 0;
	const char *pos = v, *item;
	size_t len;

	memset(keys, 0, sizeof(keys));
	while (sv_next_item(&pos, v + n, &item, &len)) {
		struct bw_batv_key *k = &keys[count];
		const char *sec = item;
		size_t slen = len;

		if (count == BW_BATV_KEYS_MAX) {
			snprintf(err, errlen, "batv_secret: more than %d keys (one per digit 0..9)",
				 BW_BATV_KEYS_MAX);
			return -EINVAL;
		}
		if (len > 2 && item[1] == ':' && item[0] >= '0' && item[0] <= '9') {
			k->digit = (uint8_t)(item[0] - '0');
			sec = item + 2;
			slen = len - 2;
		}
		if (sv_set_credential(k->secret, sizeof(k->secret), "batv_secret", sec, slen, err,
				      errlen) < 0 || slen == 0)
			goto bad;
		for (unsigned int i = 0; i < count; i++) {
			if (keys[i].digit == k->digit) {
				snprintf(err, errlen, "batv_secret: key digit %u is given twice",
					 k->digit);
				goto wipe;
			}
		}
		count++;
	}
	memset(s->batv_keys, 0, sizeof(s->batv_keys));
	memcpy(s->batv_keys, keys, sizeof(keys));
	s->n_batv_keys = count;
	memset(keys, 0, sizeof(keys));
	return 0;
bad:
	snprintf(err, errlen,
		 "batv_secret: invalid value (not shown; expected K:SECRET items, K a digit, SECRET 1..%d printable characters)",
		 BW_SECRET_MAX);
wipe:
	memset(keys, 0, sizeof(keys));
	return -EINVAL;
}

int
sv_set_relays(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	struct bw_cidr relays[BW_MAX_RELAYS], c;
	unsigned int count = 0;
	const char *pos = v, *item;
	char text[ADDR_CIDR_STRLEN], why[128], b[TEXT_SHOWN_BUF];
	size_t len;

	if (sv_check_list(err, errlen, "our_relays", v, n) < 0)
		return -EINVAL;
	while (sv_next_item(&pos, v + n, &item, &len)) {
		if (len >= sizeof(text)) {
			snprintf(err, errlen, "our_relays: invalid CIDR '%s'", text_shown(b, item, len));
			return -EINVAL;
		}
		memcpy(text, item, len);
		text[len] = '\0';
		if (addr_parse_cidr(text, &c, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "our_relays: invalid CIDR '%s': %s",
				 text_shown(b, item, len), why);
			return -EINVAL;
		}
		for (unsigned int i = 0; i < count; i++)
			if (addr_cidr_equal(&relays[i], &c))
				return sv_duplicate(err, errlen, "our_relays", item, len);
		if (count == BW_MAX_RELAYS)
			return sv_too_many(err, errlen, "our_relays", v, n, BW_MAX_RELAYS);
		relays[count++] = c;
	}
	memcpy(s->our_relays, relays, count * sizeof(relays[0]));
	s->n_relays = count;
	return 0;
}

/* DKIM selectors: DNS labels (letters, digits, '-', '_', '.'). */
int
sv_set_selectors(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen)
{
	char names[BW_MAX_SELECTORS][BW_SELECTOR_MAX + 1];
	unsigned int count = 0;
	const char *pos = v, *item;
	size_t len;

	memset(names, 0, sizeof(names));
	if (sv_check_list(err, errlen, "dkim_selectors", v, n) < 0)
		return -EINVAL;
	while (sv_next_item(&pos, v + n, &item, &len)) {
		bool ok = len > 0 && len <= BW_SELECTOR_MAX && item[0] != '.' &&
			  item[len - 1] != '.';

		for (size_t i = 0; ok && i < len; i++) {
			char c = item[i];

			ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		}
		if (!ok)
			return sv_bad_value(err, errlen, "dkim_selectors", item, len,
					    "selectors of letters, digits, '-', '_' and '.'");
		for (unsigned int i = 0; i < count; i++)
			if (strlen(names[i]) == len && memcmp(names[i], item, len) == 0)
				return sv_duplicate(err, errlen, "dkim_selectors", item, len);
		if (count == BW_MAX_SELECTORS)
			return sv_too_many(err, errlen, "dkim_selectors", v, n, BW_MAX_SELECTORS);
		memcpy(names[count++], item, len);
	}
	memcpy(s->dkim_selectors, names, sizeof(names));
	s->n_selectors = count;
	return 0;
}
