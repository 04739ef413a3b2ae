/*
 * fuzz_pcap_decode.c - libFuzzer target: any bytes as a captured frame,
 * decoded as each link type pcap_decode() supports (Ethernet with VLAN
 * tags, Linux cooked v1 and v2, raw IP, IPv4, IPv6, BSD loopback in both
 * byte orders), and as one it does not.
 *
 * Must never crash nor read past the frame; a result is one of the enum's;
 * a decoded segment's payload lies inside the frame and is no longer than
 * its length on the wire.  Then each segment goes into a small flow table
 * (a fresh one each input, so that a crash reproduces from its input
 * alone): what the decoder lets through is what the reassembly sees.
 */
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow_table.h"
#include "pcap_decode.h"
#include "smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
	DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP,
};


static void
check(int r, const uint8_t *frame, size_t size, const struct flow_seg *s)
{
	if (r < 0 || r >= PCAP_DEC__MAX)
		abort();
	if (r != PCAP_DEC_OK)
		return;
	if (s->len > s->wire_len)
		abort();
	if (s->len && (s->payload < frame || s->payload + s->len > frame + size))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flow_config fc = { .ports = { 25, 465, 587 }, .n_ports = 3,
				  .max_flows = 16, .hold_slots = 16, .hash_seed = 1 };
	struct smtp_ctx ctx = { 0 };
	struct flow_table *ft;
	uint64_t now = 1000000000000ull;
	struct flow_seg s;
	uint8_t *frame;
	int r;

	/* An exactly sized copy: a read past the frame is caught. */
	frame = malloc(size ? size : 1);
	if (!frame)
		return 0;
	if (flow_table_new(&ft, &fc, &ctx) < 0)
		abort();
	memcpy(frame, data, size);
	for (size_t i = 0; i < sizeof(linktypes) / sizeof(linktypes[0]); i++) {
		if (!pcap_decode_supported(linktypes[i]))
			abort();
		memset(&s, 0xa5, sizeof(s));
		r = pcap_decode(linktypes[i], frame, size, &s);
		check(r, frame, size, &s);
		if (r == PCAP_DEC_OK)
			flow_table_input(ft, &s, now += 1000000);
	}
	if (pcap_decode_supported(DLT_IEEE802_11) ||
	    pcap_decode(DLT_IEEE802_11, frame, size, &s) != PCAP_DEC_LINKTYPE)
		abort();
	flow_table_free(ft, now);
	free(frame);
	return 0;
}
