/*
 * pcap_decode.h - one captured frame to one TCP segment for the flow table.
 *
 * Link types: Ethernet (with up to PCAP_VLAN_MAX 802.1Q/802.1ad tags),
 * Linux cooked v1 and v2, raw IP, and BSD loopback (DLT_NULL/DLT_LOOP).
 * Network: IPv4 (first fragments only: later ones carry no TCP header)
 * and IPv6 with up to PCAP_IPV6_EXT_MAX extension headers.  Addresses come
 * out in the 16-byte form (IPv4 mapped, ::ffff:a.b.c.d).
 *
 * Lengths come from the IP header, not the capture: Ethernet padding is
 * not payload, and a frame cut by the snaplen gives seg->len < wire_len.
 * Checksums are not verified (captures with offload have bad ones).
 *
 * Pure: no I/O, no allocation; seg->payload points into the frame.
 */
#ifndef BW_PCAP_DECODE_H
#define BW_PCAP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "flow_table.h"

#define PCAP_VLAN_MAX		2
#define PCAP_IPV6_EXT_MAX	8

/* Why a frame gave no segment. */
enum pcap_decode_result {
	PCAP_DEC_OK = 0,
	PCAP_DEC_NOT_IP,	/* ARP, LLDP, ... */
	PCAP_DEC_NOT_TCP,	/* UDP, ICMP, ... */
	PCAP_DEC_FRAGMENT,	/* a non-first IPv4/IPv6 fragment */
	PCAP_DEC_SHORT,		/* cut before the end of the TCP header */
	PCAP_DEC_BAD,		/* impossible lengths or versions */
	PCAP_DEC_LINKTYPE,	/* a link type we do not decode */
	PCAP_DEC__MAX,
};

/* Is `linktype` (a DLT_ value, pcap_datalink()) one we decode? */
int pcap_decode_supported(int linktype);

/* Decode frame (caplen octets captured) into *seg.  Returns a
 * enum pcap_decode_result; *seg is valid only for PCAP_DEC_OK. */
int pcap_decode(int linktype, const uint8_t *frame, size_t caplen,
		struct flow_seg *seg);

const char *pcap_decode_result_name(int r);

#endif
