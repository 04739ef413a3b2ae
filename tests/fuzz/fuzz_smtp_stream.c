/*
 * fuzz_smtp_stream.c - libFuzzer target: a byte stream read as a sequence
 * of TCP segments between a few clients and one SMTP server, fed through
 * the flow table and the SMTP parser; the same bytes also go through
 * pcap_decode as a frame.
 *
 * Record format (tests/fuzz/smtp_stream_seeds.py writes seeds from the
 * captures in tests/pcaps):
 *
 *	u8  flags	bit 0 server→client, 1 SYN, 2 FIN, 3 RST, 4 ACK,
 *			5 a seq delta follows, 6 the clock jumps 10 min,
 *			7 a flow index follows
 *	[u8 flow]	0..7: client 10.0.0.<n+1>:<40000+n> (IPv6 when n >= 4)
 *	[be16 delta]	signed: this segment starts delta octets from the
 *			sender's next sequence number (retransmission,
 *			overlap, hole)
 *	be16 len	payload length (clipped to what is left)
 *	len octets	payload
 *
 * A small table (FUZZ_FLOWS entries, FUZZ_HOLDS hold slots) so eviction
 * and hold exhaustion are reached quickly.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <pcap/dlt.h>

#include "flow_table.h"
#include "pcap_decode.h"
#include "smtp_parse.h"

#define FUZZ_FLOWS	4
#define FUZZ_HOLDS	6
#define FUZZ_IDX_MAX	8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_sender {
	uint32_t next;
};

static void
count_txn(void *arg, struct smtp_txn *t)
{
	/* touch what a consumer reads */
	uint64_t *n = arg;

	*n += t->n_rcpt + t->sender_null + strlen(t->sender) +
	      strlen(smtp_addr_domain(t->sender));
	for (uint32_t i = 0; i < t->n_rcpt_kept; i++)
		*n += strlen(t->rcpt[i].addr) + t->rcpt[i].reply.code;
}

static const struct smtp_hooks fuzz_hooks = { .txn = count_txn };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_sender snd[FUZZ_IDX_MAX][2];
	struct flow_table *ft;
	struct flow_config cfg;
	struct smtp_ctx ctx;
	struct flow_seg seg;
	uint64_t now = 1000000000ULL, sink = 0;
	unsigned int flow = 0;
	size_t i = 0;

	pcap_decode(DLT_EN10MB, data, size, &seg);
	pcap_decode(DLT_RAW, data, size, &seg);
	pcap_decode(DLT_LINUX_SLL2, data, size, &seg);

	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	cfg.ports[0] = 25;
	cfg.ports[1] = 587;
	cfg.ports[2] = 1224;
	cfg.n_ports = 3;
	cfg.max_flows = FUZZ_FLOWS;
	cfg.hold_slots = FUZZ_HOLDS;
	cfg.idle_timeout_ns = 300ULL * 1000000000ULL;
	ctx.hooks = &fuzz_hooks;
	ctx.arg = &sink;
	if (flow_table_new(&ft, &cfg, &ctx) < 0)
		return 0;
	for (unsigned int k = 0; k < FUZZ_IDX_MAX; k++) {
		snd[k][0].next = 1000u * (k + 1);
		snd[k][1].next = 0xfffff000u + k;	/* wraps soon */
	}

	while (i + 3 <= size) {
		uint8_t fl = data[i++];
		bool server = fl & 0x01;
		int32_t delta = 0;
		uint32_t len;
		struct fuzz_sender *s;

		if (fl & 0x80) {
			flow = data[i++] % FUZZ_IDX_MAX;
			if (i + 2 > size)
				break;
		}
		if (fl & 0x20) {
			if (i + 4 > size)
				break;
			delta = (int16_t)(data[i] << 8 | data[i + 1]);
			i += 2;
		}
		len = (uint32_t)(data[i] << 8 | data[i + 1]);
		i += 2;
		if (len > size - i)
			len = (uint32_t)(size - i);
		if (fl & 0x40)
			now += 600ULL * 1000000000ULL;
		now += 1000;

		memset(&seg, 0, sizeof(seg));
		{
			uint8_t c[16] = { 0 }, srv[16] = { 0 };

			if (flow < 4) {
				c[10] = c[11] = srv[10] = srv[11] = 0xff;
				c[12] = 10;
				c[15] = (uint8_t)(flow + 1);
				srv[12] = 192;
				srv[15] = 1;
			} else {
				c[0] = 0x20;
				c[1] = 0x01;
				c[15] = (uint8_t)flow;
				srv[0] = 0x20;
				srv[1] = 0x01;
				srv[15] = 0xee;
			}
			memcpy(server ? seg.src : seg.dst, c, 16);
			memcpy(server ? seg.dst : seg.src, srv, 16);
		}
		seg.sport = server ? (flow & 1 ? 587 : 25) : (uint16_t)(40000 + flow);
		seg.dport = server ? (uint16_t)(40000 + flow) : (flow & 1 ? 587 : 25);
		s = &snd[flow][server];
		seg.seq = s->next + (uint32_t)delta;
		seg.ack = snd[flow][!server].next;
		seg.flags = (uint8_t)(((fl & 0x02) ? FLOW_TCP_SYN : 0) |
				      ((fl & 0x04) ? FLOW_TCP_FIN : 0) |
				      ((fl & 0x08) ? FLOW_TCP_RST : 0) |
				      ((fl & 0x10) ? FLOW_TCP_ACK : 0));
		seg.payload = data + i;
		seg.len = seg.wire_len = len;
		/* an odd delta also simulates a snaplen cut */
		if ((delta & 1) && len > 1)
			seg.len = len / 2;
		flow_table_input(ft, &seg, now);
		{
			uint32_t end = seg.seq + len + !!(fl & 0x02) + !!(fl & 0x04);

			if ((int32_t)(end - s->next) > 0)
				s->next = end;
		}
		i += len;
	}
	flow_table_free(ft, now);
	return (int)(sink & 0);
}
