/*
 * test_flow_table.c - the flow table's reassembly and life cycle, and
 * pcap_decode on crafted frames: retransmissions parsed once, out-of-order
 * segments held, holes given up on without misreading, mid-stream pick-up,
 * FIN/RST, idle expiry, eviction when full, port reuse, sequence wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "flow_table.h"
#include "pcap_decode.h"

#define SEC	1000000000ULL

struct rec {
	unsigned int starts, ends, txns;
	struct smtp_txn last;
};

static void
on_start(void *arg, const struct smtp_session *s)
{
	((struct rec *)arg)->starts++;
}

static void
on_end(void *arg, const struct smtp_session *s)
{
	((struct rec *)arg)->ends++;
}

static void
on_txn(void *arg, struct smtp_txn *t)
{
	struct rec *r = arg;

	r->txns++;
	r->last = *t;
}

static const struct smtp_hooks hooks = {
	.session_start = on_start,
	.session_end = on_end,
	.txn = on_txn,
};

struct fx {
	struct smtp_ctx ctx;
	struct rec rec;
	struct flow_table *ft;
	uint64_t now;
};

static void
fx_init(struct fx *f, uint32_t max_flows, uint32_t hold_slots)
{
	struct flow_config c;

	memset(f, 0, sizeof(*f));
	memset(&c, 0, sizeof(c));
	c.ports[0] = 25;
	c.ports[1] = 587;
	c.n_ports = 2;
	c.max_flows = max_flows;
	c.hold_slots = hold_slots;
	c.idle_timeout_ns = 60 * SEC;
	f->ctx.hooks = &hooks;
	f->ctx.arg = &f->rec;
	f->now = SEC;
	assert_int_equal(flow_table_new(&f->ft, &c, &f->ctx), 0);
}

static void
fx_done(struct fx *f)
{
	flow_table_free(f->ft, f->now);
}

/* Client 10.0.0.<host>:<cport> ↔ server 192.0.2.1:25. */
static int
seg(struct fx *f, bool from_client, uint8_t host, uint16_t cport,
    uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	struct flow_seg s;
	uint8_t c[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, host };
	uint8_t srv[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 };

	memset(&s, 0, sizeof(s));
	memcpy(from_client ? s.src : s.dst, c, 16);
	memcpy(from_client ? s.dst : s.src, srv, 16);
	s.sport = from_client ? cport : 25;
	s.dport = from_client ? 25 : cport;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.payload = (const uint8_t *)data;
	s.len = s.wire_len = data ? (uint32_t)strlen(data) : 0;
	f->now += 1000;
	return flow_table_input(f->ft, &s, f->now);
}

#define C(f, seq, fl, d)	seg((f), true, 1, 40000, (seq), 0, (fl), (d))
#define S(f, seq, fl, d)	seg((f), false, 1, 40000, (seq), 0, (fl), (d))
#define ACK	FLOW_TCP_ACK
#define SYN	FLOW_TCP_SYN
#define FIN	FLOW_TCP_FIN
#define RST	FLOW_TCP_RST

/* Client ISN 1000, server ISN 5000. */
static void
handshake(struct fx *f)
{
	C(f, 1000, SYN, NULL);
	S(f, 5000, SYN | ACK, NULL);
	C(f, 1001, ACK, NULL);
}

static void
whole_session(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	handshake(&f);
	S(&f, 5001, ACK, "220 mx\r\n");
	C(&f, 1001, ACK, "MAIL FROM:<>\r\n");			/* 14 */
	S(&f, 5009, ACK, "250 ok\r\n");
	C(&f, 1015, ACK, "RCPT TO:<a@b.c>\r\n");		/* 17 */
	S(&f, 5017, ACK, "550 5.1.1 unknown\r\n");
	C(&f, 1032, ACK | FIN, "QUIT\r\n");
	S(&f, 5036, ACK | FIN, "221 bye\r\n");
	assert_int_equal(f.rec.starts, 1);
	assert_int_equal(f.rec.ends, 1);
	assert_int_equal(f.rec.txns, 1);
	assert_true(f.rec.last.sender_null);
	assert_int_equal(f.rec.last.n_rcpt_unknown, 1);
	assert_int_equal(f.rec.last.end, SMTP_TXN_END_QUIT);
	assert_int_equal(f.rec.last.peer.client[15], 1);
	assert_int_equal(f.rec.last.peer.server_port, 25);
	/* late ACK after the close: no new session */
	C(&f, 1039, ACK, NULL);
	assert_int_equal(f.rec.starts, 1);
	assert_int_equal(f.ctx.stats.sessions, 1);
	fx_done(&f);
}

static void
retransmission_parsed_once(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	handshake(&f);
	C(&f, 1001, ACK, "MAIL FROM:<>\r\n");
	C(&f, 1001, ACK, "MAIL FROM:<>\r\n");		/* retransmitted */
	C(&f, 1001, ACK, "MAIL FROM:<>\r\nRCPT TO:<x@y>\r\n");	/* overlap */
	C(&f, 1010, ACK, "<>\r\nRCPT TO:<x@y>\r\n");	/* all seen */
	assert_int_equal(f.ctx.stats.transactions, 1);
	assert_int_equal(f.ctx.stats.rcpt_total, 1);
	assert_true(flow_table_stats(f.ft)->dup_bytes >= 14 + 14 + 19);
	fx_done(&f);
}

static void
out_of_order_is_held(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	handshake(&f);
	C(&f, 1006, ACK, "FROM:<>\r\n");		/* ahead of a hole */
	C(&f, 1015, ACK, "RCPT TO:<x@y>\r\n");
	assert_int_equal(f.ctx.stats.transactions, 0);
	C(&f, 1001, ACK, "MAIL ");			/* hole filled */
	assert_int_equal(f.ctx.stats.transactions, 1);
	assert_int_equal(f.ctx.stats.null_sender, 1);
	assert_int_equal(f.ctx.stats.rcpt_total, 1);
	assert_int_equal(flow_table_stats(f.ft)->held, 2);
	assert_int_equal(flow_table_stats(f.ft)->gaps, 0);
	fx_done(&f);
}

/* A hole that never fills: the server's ACK says the capture lost it. */
static void
hole_given_up_on_ack(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	handshake(&f);
	C(&f, 1001, ACK, "MAIL FR");
	/* "OM:<x@y>\r\n" (10 octets at 1008) lost */
	C(&f, 1018, ACK, "RCPT TO:<a@b>\r\n");
	assert_int_equal(f.ctx.stats.rcpt_total, 0);
	seg(&f, false, 1, 40000, 5001, 1033, ACK, NULL);
	assert_int_equal(flow_table_stats(f.ft)->gaps, 1);
	/* nothing misread: the broken MAIL is dropped, and so is the line
	 * after the hole (it could have been the tail of another) */
	assert_int_equal(f.ctx.stats.transactions, 0);
	assert_int_equal(f.ctx.stats.rcpt_total, 0);
	assert_int_equal(f.ctx.stats.unknown_commands, 0);
	C(&f, 1033, ACK, "RCPT TO:<c@d>\r\n");
	assert_int_equal(f.ctx.stats.rcpt_total, 1);
	fx_done(&f);
}

/* More segments ahead of a hole than may be held: gap, in order. */
static void
hold_limit(void **state)
{
	struct fx f;
	uint32_t seq = 1001 + 100;	/* 100 octets lost */

	fx_init(&f, 16, 64);
	handshake(&f);
	for (int i = 0; i <= FLOW_HOLD_PER_DIR; i++) {
		C(&f, seq, ACK, "RSET\r\n");
		seq += 6;
	}
	assert_int_equal(flow_table_stats(f.ft)->gaps, 1);
	assert_int_equal(flow_table_stats(f.ft)->hold_full, 1);
	/* the first line after the hole is dropped (it may be a tail) */
	assert_int_equal(f.ctx.stats.commands, FLOW_HOLD_PER_DIR);
	fx_done(&f);
}

/* The hold slots are one pool for all flows: when it is empty a flow
 * cannot hold (and says so), and slots a flow released serve the next. */
static void
hold_pool_shared_and_reused(void **state)
{
	struct fx f;

	fx_init(&f, 16, 2);
	handshake(&f);
	seg(&f, true, 2, 40001, 1000, 0, SYN, NULL);
	seg(&f, false, 2, 40001, 5000, 1001, SYN | ACK, NULL);
	seg(&f, true, 2, 40001, 1001, 5001, ACK, NULL);

	C(&f, 1006, ACK, "FROM:<>\r\n");		/* both slots */
	C(&f, 1015, ACK, "RCPT TO:<x@y>\r\n");
	assert_int_equal(flow_table_stats(f.ft)->held, 2);
	seg(&f, true, 2, 40001, 1006, 5001, ACK, "FROM:<>\r\n");
	assert_int_equal(flow_table_stats(f.ft)->held, 2);	/* none left */
	assert_int_equal(flow_table_stats(f.ft)->hold_full, 1);

	C(&f, 1001, ACK, "MAIL ");			/* releases both */
	assert_int_equal(f.ctx.stats.transactions, 1);
	seg(&f, true, 2, 40001, 1030, 5001, ACK, "RSET\r\n");
	seg(&f, true, 2, 40001, 1040, 5001, ACK, "RSET\r\n");
	assert_int_equal(flow_table_stats(f.ft)->held, 4);	/* reused */
	fx_done(&f);
}

/* No SYN seen: start at the first segment. */
static void
midstream_pickup(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	seg(&f, false, 1, 40000, 77, 900, ACK, "250 ok\r\n");
	seg(&f, true, 1, 40000, 900, 85, ACK, "MAIL FROM:<a@b.c>\r\n");
	seg(&f, false, 1, 40000, 85, 919, ACK, "250 ok\r\n");
	assert_int_equal(f.ctx.stats.sessions, 1);
	assert_int_equal(f.ctx.stats.transactions, 1);
	assert_int_equal(f.ctx.stats.replies_unsolicited, 1);
	fx_done(&f);
	assert_int_equal(f.rec.ends, 1);
	assert_int_equal(f.rec.last.mail_reply.code, 250);
}

static void
rst_ends_and_stray_ignored(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	C(&f, 1, ACK | RST, NULL);		/* nothing to start a flow */
	S(&f, 1, ACK | FIN, NULL);
	assert_int_equal(f.ctx.stats.sessions, 0);
	assert_int_equal(flow_table_stats(f.ft)->stray, 2);
	handshake(&f);
	C(&f, 1001, ACK, "MAIL FROM:<>\r\n");
	S(&f, 5001, RST, NULL);
	assert_int_equal(f.rec.ends, 1);
	assert_int_equal(f.rec.txns, 1);
	assert_int_equal(f.rec.last.end, SMTP_TXN_END_SESSION);
	fx_done(&f);
}

static void
not_smtp_ignored(void **state)
{
	struct fx f;
	struct flow_seg s;

	fx_init(&f, 16, 8);
	memset(&s, 0, sizeof(s));
	s.sport = 40000;
	s.dport = 80;
	s.flags = SYN;
	assert_int_equal(flow_table_input(f.ft, &s, 1), 0);
	assert_int_equal(flow_table_stats(f.ft)->not_smtp, 1);
	assert_int_equal(f.ctx.stats.sessions, 0);
	fx_done(&f);
}

static void
eviction_when_full(void **state)
{
	struct fx f;

	fx_init(&f, 4, 8);
	for (uint8_t h = 1; h <= 6; h++)
		seg(&f, true, h, 40000, 1000, 0, SYN, NULL);
	assert_int_equal(f.rec.starts, 6);
	assert_int_equal(f.ctx.stats.sessions, 0);	/* no data: half-open */
	assert_int_equal(flow_table_stats(f.ft)->flows_evicted, 2);
	assert_int_equal(flow_table_stats(f.ft)->flows_active, 4);
	assert_int_equal(f.rec.ends, 2);
	/* the oldest went: host 1 is new again, host 6 is still known */
	seg(&f, true, 6, 40000, 1001, 0, ACK, "NOOP\r\n");
	assert_int_equal(f.rec.starts, 6);
	seg(&f, true, 1, 40000, 1001, 0, ACK, "NOOP\r\n");
	assert_int_equal(f.rec.starts, 7);
	assert_int_equal(f.ctx.stats.sessions, 2);
	fx_done(&f);
	assert_int_equal(f.rec.ends, 7);
	assert_int_equal(f.ctx.stats.sessions_ended, 2);
}

static void
idle_expiry(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	handshake(&f);
	C(&f, 1001, ACK, "MAIL FROM:<>\r\n");
	f.now += 61 * SEC;
	flow_table_expire(f.ft, f.now);
	assert_int_equal(flow_table_stats(f.ft)->flows_expired, 1);
	assert_int_equal(flow_table_stats(f.ft)->flows_active, 0);
	assert_int_equal(f.rec.ends, 1);
	assert_int_equal(f.rec.txns, 1);
	fx_done(&f);
}

/* Same port pair, new SYN with another ISN after a close: new session. */
static void
port_reuse(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	handshake(&f);
	C(&f, 1001, ACK | FIN, NULL);
	S(&f, 5001, ACK | FIN, NULL);
	assert_int_equal(f.rec.ends, 1);
	C(&f, 1000, SYN, NULL);			/* retransmitted old SYN */
	assert_int_equal(f.rec.starts, 1);
	C(&f, 90000, SYN, NULL);
	assert_int_equal(f.rec.starts, 2);
	assert_int_equal(f.ctx.stats.sessions, 0);	/* neither carried data */
	C(&f, 90001, ACK, "MAIL FROM:<>\r\n");
	assert_int_equal(f.ctx.stats.null_sender, 1);
	assert_int_equal(f.ctx.stats.sessions, 1);
	fx_done(&f);
}

static void
sequence_wraps(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	C(&f, 0xfffffff8u, SYN, NULL);
	C(&f, 0xfffffff9u, ACK, "MAIL FR");		/* crosses 2^32 */
	C(&f, 0x00000000u, ACK, "OM:<>\r\n");
	C(&f, 0xfffffff9u, ACK, "MAIL FR");		/* old, dropped */
	assert_int_equal(f.ctx.stats.null_sender, 1);
	assert_int_equal(f.ctx.stats.transactions, 1);
	fx_done(&f);
}

/* A segment exactly half the sequence space behind: old (a duplicate),
 * and no arithmetic on it may overflow (UBSan in unit-test-san). */
static void
sequence_half_the_space_behind(void **state)
{
	struct fx f;

	fx_init(&f, 16, 8);
	C(&f, 1000, SYN, NULL);
	C(&f, 1001, ACK, "MAIL FR");
	C(&f, 1008 + 0x80000000u, ACK, "MAIL FROM:<x@y>\r\n");	/* 2^31 behind */
	C(&f, 1008, ACK, "OM:<>\r\n");
	assert_int_equal(f.ctx.stats.null_sender, 1);
	assert_int_equal(f.ctx.stats.transactions, 1);
	fx_done(&f);
}

/* ----- pcap_decode ------------------------------------------------------ */

static size_t
tcp_hdr(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags)
{
	memset(p, 0, 20);
	p[0] = (uint8_t)(sport >> 8);
	p[1] = (uint8_t)sport;
	p[2] = (uint8_t)(dport >> 8);
	p[3] = (uint8_t)dport;
	p[4] = (uint8_t)(seq >> 24);
	p[5] = (uint8_t)(seq >> 16);
	p[6] = (uint8_t)(seq >> 8);
	p[7] = (uint8_t)seq;
	p[12] = 5 << 4;
	p[13] = flags;
	return 20;
}

static void
decode_ethernet_vlan_ipv4(void **state)
{
	uint8_t f[128];
	struct flow_seg s;
	size_t o = 12;

	memset(f, 0, sizeof(f));
	f[o++] = 0x81; f[o++] = 0x00; f[o++] = 0x00; f[o++] = 0x05;	/* VLAN 5 */
	f[o++] = 0x08; f[o++] = 0x00;
	f[o] = 0x45;
	f[o + 3] = 20 + 20 + 6;		/* total length */
	f[o + 9] = 6;
	f[o + 12] = 198; f[o + 13] = 51; f[o + 14] = 100; f[o + 15] = 7;
	f[o + 16] = 192; f[o + 17] = 0; f[o + 18] = 2; f[o + 19] = 1;
	tcp_hdr(f + o + 20, 40000, 25, 42, ACK);
	memcpy(f + o + 40, "QUIT\r\n", 6);
	/* 64-octet frame: Ethernet padding must not become payload */
	assert_int_equal(pcap_decode(DLT_EN10MB, f, 64 + 4, &s), PCAP_DEC_OK);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.dport, 25);
	assert_int_equal(s.seq, 42);
	assert_int_equal(s.len, 6);
	assert_int_equal(s.wire_len, 6);
	assert_memory_equal(s.payload, "QUIT\r\n", 6);
	assert_int_equal(s.src[10], 0xff);
	assert_int_equal(s.src[12], 198);
	assert_int_equal(s.dst[15], 1);
	/* cut by the snaplen inside the payload */
	assert_int_equal(pcap_decode(DLT_EN10MB, f, o + 43, &s), PCAP_DEC_OK);
	assert_int_equal(s.len, 3);
	assert_int_equal(s.wire_len, 6);
	/* cut inside the TCP header */
	assert_int_equal(pcap_decode(DLT_EN10MB, f, o + 30, &s), PCAP_DEC_SHORT);
	/* a later fragment */
	f[o + 6] = 0x00; f[o + 7] = 0x10;
	assert_int_equal(pcap_decode(DLT_EN10MB, f, 68, &s), PCAP_DEC_FRAGMENT);
	/* ARP */
	f[16] = 0x08; f[17] = 0x06;
	assert_int_equal(pcap_decode(DLT_EN10MB, f, 68, &s), PCAP_DEC_NOT_IP);
}

static void
decode_raw_ipv6_ext(void **state)
{
	uint8_t f[128];
	struct flow_seg s;

	memset(f, 0, sizeof(f));
	f[0] = 0x60;
	f[5] = 8 + 20 + 4;		/* payload length */
	f[6] = 0;			/* hop-by-hop options */
	f[8] = 0x20; f[9] = 0x01; f[23] = 0x01;	/* 2001::1 */
	f[24] = 0x20; f[25] = 0x01; f[39] = 0x02;
	f[40] = 6;			/* next: TCP, length 0 (8 octets) */
	tcp_hdr(f + 48, 25, 50000, 7, ACK);
	memcpy(f + 68, "250 ", 4);
	assert_int_equal(pcap_decode(DLT_RAW, f, 72, &s), PCAP_DEC_OK);
	assert_int_equal(s.sport, 25);
	assert_int_equal(s.len, 4);
	assert_int_equal(s.src[0], 0x20);
	assert_int_equal(s.src[15], 1);
	assert_int_equal(pcap_decode(DLT_RAW, f, 45, &s), PCAP_DEC_SHORT);
	f[40] = 17;			/* UDP */
	assert_int_equal(pcap_decode(DLT_RAW, f, 72, &s), PCAP_DEC_NOT_TCP);
	assert_int_equal(pcap_decode(12345, f, 72, &s), PCAP_DEC_LINKTYPE);
}

static void
decode_cooked_and_null(void **state)
{
	uint8_t f[128];
	struct flow_seg s;

	memset(f, 0, sizeof(f));
	f[14] = 0x08;			/* SLL protocol: IPv4 */
	f[16] = 0x45;
	f[19] = 40;
	f[16 + 9] = 6;
	tcp_hdr(f + 36, 1, 587, 9, SYN);
	assert_int_equal(pcap_decode(DLT_LINUX_SLL, f, 56, &s), PCAP_DEC_OK);
	assert_int_equal(s.dport, 587);
	assert_int_equal(s.flags & SYN, SYN);

	memset(f, 0, sizeof(f));
	f[0] = 2;			/* AF_INET, little-endian host */
	f[4] = 0x45;
	f[7] = 40;
	f[4 + 9] = 6;
	tcp_hdr(f + 24, 1, 25, 9, SYN);
	assert_int_equal(pcap_decode(DLT_NULL, f, 44, &s), PCAP_DEC_OK);
	assert_int_equal(s.dport, 25);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_session),
		cmocka_unit_test(retransmission_parsed_once),
		cmocka_unit_test(out_of_order_is_held),
		cmocka_unit_test(hold_pool_shared_and_reused),
		cmocka_unit_test(hole_given_up_on_ack),
		cmocka_unit_test(hold_limit),
		cmocka_unit_test(midstream_pickup),
		cmocka_unit_test(rst_ends_and_stray_ignored),
		cmocka_unit_test(not_smtp_ignored),
		cmocka_unit_test(eviction_when_full),
		cmocka_unit_test(idle_expiry),
		cmocka_unit_test(port_reuse),
		cmocka_unit_test(sequence_wraps),
		cmocka_unit_test(sequence_half_the_space_behind),
		cmocka_unit_test(decode_ethernet_vlan_ipv4),
		cmocka_unit_test(decode_raw_ipv6_ext),
		cmocka_unit_test(decode_cooked_and_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
