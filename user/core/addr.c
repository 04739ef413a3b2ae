/*
 * addr.c - addresses, CIDRs and durations as the operator writes them.
 *
 * Everything here is strict on purpose: these strings come from the command
 * line, the control socket and the state file, and a block that covers more
 * than the operator meant is worse than an error.  So no whitespace, no
 * signs, no octal or hex, no "1.2.3" shorthand (inet_pton rules), and a
 * CIDR with host bits set is refused instead of being silently masked.
 *
 * Parsers return 0 or -EINVAL; formatters return the buffer they filled.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "bouncewall.h"

/* Longest text inet_pton could accept: a full IPv6 address with an IPv4
 * tail.  Anything longer is not an address, so we refuse before copying. */
#define ADDR_TEXT_MAX		INET6_ADDRSTRLEN

#define DURATION_MAX		(10ULL * 365 * 86400)	/* "ten years" */

static const __u8 v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

bool
addr_is_v4(const __u8 addr[16])
{
	return memcmp(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

void
addr_mask(__u8 addr[16], __u32 plen)
{
	if (plen >= 128)
		return;
	addr[plen / 8] &= (__u8)(0xff00 >> (plen % 8));
	for (unsigned int i = plen / 8 + 1; i < 16; i++)
		addr[i] = 0;
}

/* Parse `s` (exactly `len` bytes, not NUL-terminated) as an address;
 * *is_v4 says which notation it was written in. */
static int
parse_addr_n(const char *s, size_t len, __u8 addr[16], bool *is_v4)
{
	char text[ADDR_TEXT_MAX];
	struct in_addr a4;

	if (len == 0 || len >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, &a4) == 1) {
		memcpy(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		memcpy(addr + 12, &a4, 4);
		*is_v4 = true;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*is_v4 = false;
		return 0;
	}
	return -EINVAL;
}

int
addr_parse(const char *s, __u8 addr[16])
{
	__u8 tmp[16];
	bool v4;

	if (parse_addr_n(s, strlen(s), tmp, &v4) < 0)
		return -EINVAL;
	memcpy(addr, tmp, 16);
	return 0;
}

/* A prefix length: 1 to 3 decimal digits, no sign, no leading zero. */
static int
parse_plen(const char *s, __u32 *out)
{
	__u32 v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (__u32)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
addr_parse_cidr(const char *s, struct bw_cidr *out, char *err, size_t errlen)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct bw_cidr c, net;
	__u32 plen, max;
	bool v4;

	if (parse_addr_n(s, alen, c.addr, &v4) < 0) {
		snprintf(err, errlen, "not an IPv4 or IPv6 address");
		return -EINVAL;
	}
	/* IPv6 notation (also "::ffff:a.b.c.d") counts bits on the 128-bit
	 * form; dotted IPv4 counts its own 32. */
	max = v4 ? 32 : 128;
	if (!slash) {
		plen = max;
	} else if (parse_plen(slash + 1, &plen) < 0 || plen > max) {
		snprintf(err, errlen, "prefix length must be a number 0..%u", max);
		return -EINVAL;
	}
	c.plen = v4 ? BW_V4_PLEN_BASE + plen : plen;

	net = c;
	addr_mask(net.addr, net.plen);
	if (memcmp(net.addr, c.addr, 16) != 0) {
		char buf[ADDR_CIDR_STRLEN];

		snprintf(err, errlen, "host bits set past the prefix (the network is %s)",
			 addr_format_cidr(&net, buf, sizeof(buf)));
		return -EINVAL;
	}
	*out = c;
	return 0;
}

/* Written as IPv4 when the address is mapped; masking clears the ::ffff
 * marker for any prefix shorter than 96, so that also implies plen >= 96. */
static bool
cidr_is_v4(const struct bw_cidr *c)
{
	return c->plen >= BW_V4_PLEN_BASE && c->plen <= 128 && addr_is_v4(c->addr);
}

char *
addr_format_cidr(const struct bw_cidr *c, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (cidr_is_v4(c))
		inet_ntop(AF_INET, c->addr + 12, text, sizeof(text));
	else
		inet_ntop(AF_INET6, c->addr, text, sizeof(text));
	snprintf(buf, len, "%s/%u", text, addr_family_plen(c));
	return buf;
}

__u32
addr_family_plen(const struct bw_cidr *c)
{
	return cidr_is_v4(c) ? c->plen - BW_V4_PLEN_BASE : c->plen;
}

bool
addr_is_host(const struct bw_cidr *c)
{
	return c->plen >= 128;
}

bool
addr_cidr_equal(const struct bw_cidr *a, const struct bw_cidr *b)
{
	return a->plen == b->plen && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

bool
addr_cidr_contains(const struct bw_cidr *outer, const struct bw_cidr *inner)
{
	__u8 a[16], b[16];
	__u32 plen = outer->plen > 128 ? 128 : outer->plen;

	if (inner->plen < plen)
		return false;
	memcpy(a, outer->addr, 16);
	memcpy(b, inner->addr, 16);
	addr_mask(a, plen);
	addr_mask(b, plen);
	return memcmp(a, b, 16) == 0;
}

int
duration_parse(const char *s, uint64_t *secs)
{
	uint64_t v = 0, unit = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;		/* empty, sign, space */
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > DURATION_MAX)
			return -EINVAL;	/* also stops the overflow */
	}
	switch (*p) {
	case '\0':
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (*p != '\0')
		p++;
	if (*p != '\0' || v == 0 || v > DURATION_MAX / unit)
		return -EINVAL;
	*secs = v * unit;
	return 0;
}

char *
duration_format(uint64_t secs, char *buf, size_t len)
{
	static const struct {
		uint64_t secs;
		char suffix;
	} units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };

	if (len == 0)
		return buf;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs != 0 && secs % units[i].secs == 0) {
			snprintf(buf, len, "%llu%c",
				 (unsigned long long)(secs / units[i].secs), units[i].suffix);
			return buf;
		}
	}
	snprintf(buf, len, "%llus", (unsigned long long)secs);
	return buf;
}
