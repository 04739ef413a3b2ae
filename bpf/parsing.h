/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * parsing.h - bounds-checked packet header parsers for the XDP program.
 *
 * Every parser takes a cursor that points at the header it is to read,
 * checks that the whole header lies before data_end before touching it,
 * and on success moves the cursor past the header.  Return values are the
 * next protocol in HOST byte order (EtherType or IP protocol number), or
 * -1 when the header is truncated or malformed; the caller passes such a
 * packet (fail open).  Every loop is bounded by a named constant.
 */
#ifndef BW_PARSING_H
#define BW_PARSING_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define VLAN_MAX_DEPTH	2	/* 802.1Q inside 802.1ad (QinQ) */
#define IPV6_EXT_MAX	8	/* extension headers walked before giving up */

/* IPv4 frag_off bits (host order); the kernel keeps these out of UAPI. */
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff

/* Not in the UAPI headers: the 4 bytes a VLAN tag adds after the MACs. */
struct bw_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* The IPv6 extension header layout shared by hop-by-hop, routing,
 * destination options and AH: next header, then a length byte whose unit
 * depends on the header (see ipv6_ext_len()). */
struct bw_ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct cursor {
	void *pos;
};

static __always_inline bool
proto_is_vlan(__u16 h_proto)
{
	return h_proto == ETH_P_8021Q || h_proto == ETH_P_8021AD;
}

/*
 * Ethernet header plus up to VLAN_MAX_DEPTH VLAN tags.  Returns the inner
 * EtherType in host byte order, or -1 if truncated or if more tags follow
 * than we walk (a third tag is not something a mail gateway sees; passing
 * it is the safe answer).
 */
static __always_inline int
parse_eth(struct cursor *c, void *data_end)
{
	struct ethhdr *eth = c->pos;
	struct bw_vlan_hdr *vlh;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return -1;
	/* struct ethhdr is packed: through it clang reads h_proto a byte at
	 * a time.  The field is 2-byte aligned in the frame; say so. */
	proto = bpf_ntohs(*(__be16 *)((void *)eth + offsetof(struct ethhdr, h_proto)));
	vlh = (void *)(eth + 1);

#pragma unroll
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (!proto_is_vlan(proto))
			break;
		if ((void *)(vlh + 1) > data_end)
			return -1;
		proto = bpf_ntohs(vlh->encap_proto);
		vlh++;
	}
	if (proto_is_vlan(proto))
		return -1;

	c->pos = vlh;
	return proto;
}

/*
 * IPv4 header, options included.  *iph is set to the header.  Returns the
 * IP protocol (host order), IPPROTO_FRAGMENT for any fragment (first one
 * included: its TCP header may be cut short, and later ones have none), so
 * both families report fragments the same way, or -1 if truncated or the
 * header length is impossible (ihl < 5).
 */
static __always_inline int
parse_ipv4(struct cursor *c, void *data_end, struct iphdr **iph)
{
	struct iphdr *ip = c->pos;
	int hdrsize;

	if ((void *)(ip + 1) > data_end)
		return -1;
	hdrsize = ip->ihl * 4;
	if (hdrsize < (int)sizeof(*ip))
		return -1;
	if (c->pos + hdrsize > data_end)
		return -1;

	c->pos += hdrsize;
	*iph = ip;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return IPPROTO_FRAGMENT;
	return ip->protocol;
}

/* Length in bytes of the extension header at ext whose type is nexthdr.
 * AH counts 4-byte words minus 2 (RFC 4302); the others 8-byte words
 * minus 1 (RFC 8200). */
static __always_inline int
ipv6_ext_len(__u8 nexthdr, const struct bw_ipv6_ext *ext)
{
	if (nexthdr == IPPROTO_AH)
		return (ext->hdrlen + 2) * 4;
	return (ext->hdrlen + 1) * 8;
}

/*
 * IPv6 header, then a walk of at most IPV6_EXT_MAX extension headers
 * (hop-by-hop, routing, destination options, AH).  *ip6h is set to the
 * fixed header.  Returns the upper-layer protocol (host order), or
 * IPPROTO_FRAGMENT when a fragment header is met (we do not reassemble),
 * or -1 if truncated or if the chain is longer than we walk.  Any other
 * next header (ESP, no-next-header, ...) is returned as is: not TCP.
 */
static __always_inline int
parse_ipv6(struct cursor *c, void *data_end, struct ipv6hdr **ip6h)
{
	struct ipv6hdr *ip6 = c->pos;
	struct bw_ipv6_ext *ext;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > data_end)
		return -1;
	*ip6h = ip6;
	nexthdr = ip6->nexthdr;
	c->pos = ip6 + 1;

	for (i = 0; i < IPV6_EXT_MAX; i++) {
		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			break;
		default:
			/* Upper layer, fragment header or something we do
			 * not look into: the caller decides. */
			return nexthdr;
		}
		ext = c->pos;
		if ((void *)(ext + 1) > data_end)
			return -1;
		c->pos += ipv6_ext_len(nexthdr, ext);
		nexthdr = ext->nexthdr;
	}
	/* Out of budget: only passes if it is not yet another extension. */
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
		return -1;
	}
	return nexthdr;
}

/*
 * TCP header, options included (doff >= 5 and all of it present).  *tcph
 * is set to it.  Returns 0, or -1 if truncated or doff is impossible.
 */
static __always_inline int
parse_tcp(struct cursor *c, void *data_end, struct tcphdr **tcph)
{
	struct tcphdr *tcp = c->pos;
	int hdrsize;

	if ((void *)(tcp + 1) > data_end)
		return -1;
	hdrsize = tcp->doff * 4;
	if (hdrsize < (int)sizeof(*tcp))
		return -1;
	if (c->pos + hdrsize > data_end)
		return -1;

	c->pos += hdrsize;
	*tcph = tcp;
	return 0;
}

#endif /* BW_PARSING_H */
