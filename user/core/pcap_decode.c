/*
 * pcap_decode.c - frame → TCP segment (pcap_decode.h).
 *
 * A cursor walks the frame: each step checks that the header it reads lies
 * inside the captured octets before touching it, and returns the next
 * protocol or a enum pcap_decode_result.  Multi-octet fields are read with
 * rd16()/rd32(), which return host order.
 */
#include <string.h>

#include <pcap/dlt.h>

#include "pcap_decode.h"

#define ETH_HLEN		14
#define ETH_P_IP		0x0800
#define ETH_P_IPV6		0x86dd
#define ETH_P_8021Q		0x8100
#define ETH_P_8021AD		0x88a8
#define SLL_HLEN		16
#define SLL2_HLEN		20
#define NULL_HLEN		4
#define IPV4_HLEN_MIN		20
#define IPV6_HLEN		40
#define TCP_HLEN_MIN		20
#define IPPROTO_TCP_		6
#define IP6_HOPOPTS		0
#define IP6_ROUTING		43
#define IP6_FRAGMENT		44
#define IP6_DSTOPTS		60
#define IP6_AH			51

/* BSD loopback address families (host order of the capturing machine). */
#define BSD_AF_INET		2
#define BSD_AF_INET6_A		10	/* Linux */
#define BSD_AF_INET6_B		24	/* NetBSD, OpenBSD */
#define BSD_AF_INET6_C		28	/* FreeBSD */
#define BSD_AF_INET6_D		30	/* macOS */

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static const char *const result_names[PCAP_DEC__MAX] = {
	[PCAP_DEC_OK] = "ok",
	[PCAP_DEC_NOT_IP] = "not_ip",
	[PCAP_DEC_NOT_TCP] = "not_tcp",
	[PCAP_DEC_FRAGMENT] = "fragment",
	[PCAP_DEC_SHORT] = "short",
	[PCAP_DEC_BAD] = "bad",
	[PCAP_DEC_LINKTYPE] = "linktype",
};

const char *
pcap_decode_result_name(int r)
{
	if (r < 0 || r >= PCAP_DEC__MAX)
		return "?";
	return result_names[r];
}

int
pcap_decode_supported(int linktype)
{
	switch (linktype) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	default:
		return 0;
	}
}

/* TCP header at p (len octets from it to the end of the IP payload,
 * `cap` of them captured). */
static int
decode_tcp(const uint8_t *p, size_t len, size_t cap, struct flow_seg *seg)
{
	size_t hl;

	if (cap < TCP_HLEN_MIN)
		return PCAP_DEC_SHORT;
	hl = (size_t)(p[12] >> 4) * 4;
	if (hl < TCP_HLEN_MIN || hl > len)
		return PCAP_DEC_BAD;
	if (cap < hl)
		return PCAP_DEC_SHORT;
	seg->sport = rd16(p);
	seg->dport = rd16(p + 2);
	seg->seq = rd32(p + 4);
	seg->ack = rd32(p + 8);
	seg->flags = p[13] & (FLOW_TCP_FIN | FLOW_TCP_SYN | FLOW_TCP_RST |
			      FLOW_TCP_ACK | 0x08);
	seg->payload = p + hl;
	seg->wire_len = (uint32_t)(len - hl);
	seg->len = (uint32_t)((cap < len ? cap : len) - hl);
	return PCAP_DEC_OK;
}

static int
decode_ipv4(const uint8_t *p, size_t cap, struct flow_seg *seg)
{
	size_t hl, tot;
	uint16_t frag;

	if (cap < IPV4_HLEN_MIN)
		return PCAP_DEC_SHORT;
	if ((p[0] >> 4) != 4)
		return PCAP_DEC_BAD;
	hl = (size_t)(p[0] & 0x0f) * 4;
	tot = rd16(p + 2);
	if (hl < IPV4_HLEN_MIN)
		return PCAP_DEC_BAD;
	/* TSO captures may say 0: trust the capture then. */
	if (tot == 0)
		tot = cap;
	if (tot < hl)
		return PCAP_DEC_BAD;
	if (cap < hl)
		return PCAP_DEC_SHORT;
	if (p[9] != IPPROTO_TCP_)
		return PCAP_DEC_NOT_TCP;
	frag = rd16(p + 6);
	if ((frag & 0x1fff) || (frag & 0x2000))
		return PCAP_DEC_FRAGMENT;	/* reassembling IP: not ours */
	memset(seg->src, 0, 10);
	seg->src[10] = seg->src[11] = 0xff;
	memcpy(seg->src + 12, p + 12, 4);
	memset(seg->dst, 0, 10);
	seg->dst[10] = seg->dst[11] = 0xff;
	memcpy(seg->dst + 12, p + 16, 4);
	return decode_tcp(p + hl, tot - hl, cap < tot ? cap - hl : tot - hl, seg);
}

static int
decode_ipv6(const uint8_t *p, size_t cap, struct flow_seg *seg)
{
	size_t off = IPV6_HLEN, end;
	uint8_t nh;

	if (cap < IPV6_HLEN)
		return PCAP_DEC_SHORT;
	if ((p[0] >> 4) != 6)
		return PCAP_DEC_BAD;
	end = IPV6_HLEN + (size_t)rd16(p + 4);
	if (rd16(p + 4) == 0)	/* jumbogram or TSO: trust the capture */
		end = cap;
	nh = p[6];
	memcpy(seg->src, p + 8, 16);
	memcpy(seg->dst, p + 24, 16);
	for (int i = 0; i <= PCAP_IPV6_EXT_MAX; i++) {
		size_t hl;

		switch (nh) {
		case IPPROTO_TCP_:
			if (off > end)
				return PCAP_DEC_BAD;
			return decode_tcp(p + off, end - off,
					  (cap < end ? cap : end) > off ?
					  (cap < end ? cap : end) - off : 0, seg);
		case IP6_HOPOPTS:
		case IP6_ROUTING:
		case IP6_DSTOPTS:
		case IP6_AH:
		case IP6_FRAGMENT:
			if (off + 8 > cap)
				return PCAP_DEC_SHORT;
			if (nh == IP6_FRAGMENT) {
				/* offset or more-fragments: not a whole one */
				if (rd16(p + off + 2) & 0xfff9)
					return PCAP_DEC_FRAGMENT;
				hl = 8;
			} else if (nh == IP6_AH) {
				hl = ((size_t)p[off + 1] + 2) * 4;
			} else {
				hl = ((size_t)p[off + 1] + 1) * 8;
			}
			nh = p[off];
			off += hl;
			if (off > end)
				return PCAP_DEC_BAD;
			break;
		default:
			return PCAP_DEC_NOT_TCP;
		}
	}
	return PCAP_DEC_NOT_TCP;	/* too many extension headers */
}

static int
decode_ethertype(uint16_t type, const uint8_t *p, size_t cap,
		 struct flow_seg *seg)
{
	if (type == ETH_P_IP)
		return decode_ipv4(p, cap, seg);
	if (type == ETH_P_IPV6)
		return decode_ipv6(p, cap, seg);
	return PCAP_DEC_NOT_IP;
}

static int
decode_raw_ip(const uint8_t *p, size_t cap, struct flow_seg *seg)
{
	if (cap < 1)
		return PCAP_DEC_SHORT;
	switch (p[0] >> 4) {
	case 4:
		return decode_ipv4(p, cap, seg);
	case 6:
		return decode_ipv6(p, cap, seg);
	default:
		return PCAP_DEC_NOT_IP;
	}
}

int
pcap_decode(int linktype, const uint8_t *f, size_t cap, struct flow_seg *seg)
{
	memset(seg, 0, sizeof(*seg));
	switch (linktype) {
	case DLT_EN10MB: {
		size_t off = ETH_HLEN;
		uint16_t type;

		if (cap < ETH_HLEN)
			return PCAP_DEC_SHORT;
		type = rd16(f + 12);
		for (int i = 0; i < PCAP_VLAN_MAX &&
		     (type == ETH_P_8021Q || type == ETH_P_8021AD); i++) {
			if (cap < off + 4)
				return PCAP_DEC_SHORT;
			type = rd16(f + off + 2);
			off += 4;
		}
		return decode_ethertype(type, f + off, cap - off, seg);
	}
	case DLT_LINUX_SLL:
		if (cap < SLL_HLEN)
			return PCAP_DEC_SHORT;
		return decode_ethertype(rd16(f + 14), f + SLL_HLEN,
					cap - SLL_HLEN, seg);
	case DLT_LINUX_SLL2:
		if (cap < SLL2_HLEN)
			return PCAP_DEC_SHORT;
		return decode_ethertype(rd16(f), f + SLL2_HLEN,
					cap - SLL2_HLEN, seg);
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return decode_raw_ip(f, cap, seg);
	case DLT_NULL:
	case DLT_LOOP: {
		uint32_t af;

		if (cap < NULL_HLEN)
			return PCAP_DEC_SHORT;
		/* DLT_NULL is in the capturing host's order, DLT_LOOP in
		 * network order: look at both. */
		af = rd32(f);
		if (af > 0xffff)
			af = (uint32_t)f[0] | (uint32_t)f[1] << 8;
		switch (af) {
		case BSD_AF_INET:
		case BSD_AF_INET6_A:
		case BSD_AF_INET6_B:
		case BSD_AF_INET6_C:
		case BSD_AF_INET6_D:
			return decode_raw_ip(f + NULL_HLEN, cap - NULL_HLEN, seg);
		default:
			return PCAP_DEC_NOT_IP;
		}
	}
	default:
		return PCAP_DEC_LINKTYPE;
	}
}
