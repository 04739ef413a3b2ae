/*
 * addr.h - addresses, CIDRs and durations as the operator writes them.
 *
 * Every address is held in the 16-byte form of include/bouncewall.h: IPv6 as
 * is, IPv4 mapped (::ffff:a.b.c.d); prefix lengths are on that 128-bit form
 * (IPv4 /24 = 120).  Pure functions, no I/O.
 */
#ifndef BW_ADDR_H
#define BW_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

/* "fd00:1:2:3:4:5:6:7/128" plus NUL, with room to spare. */
#define ADDR_CIDR_STRLEN	64

struct bw_cidr {
	__u8 addr[16];	/* masked to plen */
	__u32 plen;	/* 0..128, 128-bit form */
};

/* True for an IPv4-mapped address (::ffff:0:0/96). */
bool addr_is_v4(const __u8 addr[16]);

/* Zero every bit past plen (128-bit form). */
void addr_mask(__u8 addr[16], __u32 plen);

/*
 * Parse "10.0.0.0/26", "10.0.0.5", "fd00::/64", "fd00::1".  A bare address
 * is a host (/32, /128).  Host bits set past the prefix are an error, as in
 * `ip route` ("10.0.0.5/24").  Returns 0, or -EINVAL with a one-line reason
 * in err (without the input echoed; the caller names it).
 *
 * Strict: no surrounding whitespace, inet_pton() address syntax (no "1.2.3",
 * no zone "%eth0"), the prefix is 0..32 or 0..128 in decimal without sign or
 * leading zero; "/0" is accepted ("0.0.0.0/0", "::/0").  An IPv4-mapped
 * address written in IPv6 notation IS that IPv4 address: "::ffff:1.2.3.4" is
 * 1.2.3.4/32 and formats back as such; a prefix written after IPv6 notation
 * counts on the 128-bit form ("::ffff:10.0.0.0/120" is 10.0.0.0/24).
 */
int addr_parse_cidr(const char *s, struct bw_cidr *out, char *err, size_t errlen);

/* Parse a bare IPv4 or IPv6 address into the 16-byte form. 0 or -EINVAL. */
int addr_parse(const char *s, __u8 addr[16]);

/* "10.0.0.0/26", "fd00::/64", "10.0.0.5/32" (the prefix is always shown, in
 * the address family's own length).  Returns buf. */
char *addr_format_cidr(const struct bw_cidr *c, char *buf, size_t len);

/* The family's own prefix length: 26 for an IPv4 /26 (plen 122). */
__u32 addr_family_plen(const struct bw_cidr *c);

/* True when plen is a whole host (/32 for IPv4, /128 for IPv6). */
bool addr_is_host(const struct bw_cidr *c);

/* True when a and b are the same prefix (both masked, as everywhere). */
bool addr_cidr_equal(const struct bw_cidr *a, const struct bw_cidr *b);

/* True when `inner` lies inside `outer`. */
bool addr_cidr_contains(const struct bw_cidr *outer, const struct bw_cidr *inner);

/*
 * Durations: "90s", "10m", "2h", "1d", a bare number is seconds.  Rejects
 * zero, negative, garbage, trailing junk and overflow (> 10 years).
 * Units are lowercase, one per value ("1h30m" is refused), no whitespace.
 * Returns 0 or -EINVAL.
 */
int duration_parse(const char *s, uint64_t *secs);

/* Shortest exact form: 600 -> "10m", 90 -> "90s", 86400 -> "1d"; 0 -> "0s"
 * (a remaining time can reach zero).  duration_parse() reads back any
 * nonzero one. */
char *duration_format(uint64_t secs, char *buf, size_t len);

#endif
