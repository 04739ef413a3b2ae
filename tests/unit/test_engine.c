/*
 * test_engine.c - the engine's whole-flow sampling under overload.
 *
 * Which new flows are followed while sampling must depend on a key the
 * agent draws at start: with an unkeyed hash of addresses and ports, a
 * sender that picks its source ports picks which of its connections the
 * sampler sees (and can keep its bounces out of sight).  So: the same key
 * admits the same flows, another key another set, and about the configured
 * share either way; a flow's later segments follow its SYN, and no flow is
 * ever picked up half-way while sampling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "engine.h"

#define NFLOWS	1024
#define SEC	1000000000ULL
#define T0	(1000 * SEC)

enum { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

/* A raw IPv4 frame, 10.1.x.y:sport -> 10.0.0.1:25, TCP with flags and
 * `len` payload octets.  Returns the frame's length. */
static size_t
frame(uint8_t *f, uint32_t client, uint16_t sport, uint8_t flags, uint32_t seq,
      const char *payload)
{
	size_t len = payload ? strlen(payload) : 0, total = 20 + 20 + len;

	memset(f, 0, 40);
	f[0] = 0x45;
	f[2] = (uint8_t)(total >> 8);
	f[3] = (uint8_t)total;
	f[8] = 64;
	f[9] = 6;
	f[12] = 10; f[13] = 1; f[14] = (uint8_t)(client >> 8); f[15] = (uint8_t)client;
	f[16] = 10; f[17] = 0; f[18] = 0; f[19] = 1;
	f[20] = (uint8_t)(sport >> 8);
	f[21] = (uint8_t)sport;
	f[23] = 25;
	f[24] = (uint8_t)(seq >> 24); f[25] = (uint8_t)(seq >> 16);
	f[26] = (uint8_t)(seq >> 8); f[27] = (uint8_t)seq;
	f[32] = 5 << 4;
	f[33] = flags;
	f[34] = 0xff;
	if (len)
		memcpy(f + 40, payload, len);
	return total;
}

static void
engine_up(struct engine *e, struct bw_settings *s, uint64_t k0, uint64_t k1)
{
	struct engine_limits lim = {
		.max_flows = 2 * NFLOWS,
		.max_sources = 1024,
		.seed = { k0, k1 },
	};

	settings_defaults(s);
	assert_int_equal(engine_init(e, s, &lim), 0);
}

/* Which of NFLOWS new connections (one client, source ports 20000 up) the
 * engine keyed with (k0, k1) admits at sample_keep/ENGINE_SAMPLE_ONE. */
static unsigned int
admitted(uint64_t k0, uint64_t k1, uint32_t keep, uint8_t in[NFLOWS])
{
	struct bw_settings s;
	struct engine e;
	uint8_t f[64];
	unsigned int n = 0;

	engine_up(&e, &s, k0, k1);
	e.sample_keep = keep;
	for (unsigned int i = 0; i < NFLOWS; i++) {
		size_t len = frame(f, 7, (uint16_t)(20000 + i), SYN, 1000 + i, NULL);

		in[i] = (uint8_t)engine_frame(&e, DLT_RAW, f, len, T0 + i);
		n += in[i];
	}
	engine_free(&e);
	return n;
}

static void
same_key_same_flows(void **state)
{
	uint8_t a[NFLOWS], b[NFLOWS];

	admitted(0x0123456789abcdefULL, 0xfedcba9876543210ULL, ENGINE_SAMPLE_ONE / 2, a);
	admitted(0x0123456789abcdefULL, 0xfedcba9876543210ULL, ENGINE_SAMPLE_ONE / 2, b);
	assert_memory_equal(a, b, NFLOWS);
}

static void
other_key_other_flows(void **state)
{
	static const uint64_t keys[][2] = {
		{ 1, 2 }, { 2, 1 }, { 0x5a5a5a5a5a5a5a5aULL, 0 }, { 0, 0x5a5a5a5a5a5a5a5aULL },
	};
	uint8_t sets[4][NFLOWS];

	for (unsigned int i = 0; i < 4; i++)
		admitted(keys[i][0], keys[i][1], ENGINE_SAMPLE_ONE / 2, sets[i]);
	/* Any two of 1024 coin flips agreeing everywhere: 2^-1024. */
	for (unsigned int i = 0; i < 4; i++)
		for (unsigned int j = i + 1; j < 4; j++)
			assert_true(memcmp(sets[i], sets[j], NFLOWS) != 0);
}

static void
share_follows_sample_keep(void **state)
{
	uint8_t in[NFLOWS];
	unsigned int n;

	n = admitted(11, 12, ENGINE_SAMPLE_ONE, in);
	assert_int_equal(n, NFLOWS);		/* not sampling: everything */
	/* Binomial(1024, p): +-6 sigma is far outside any honest hash. */
	n = admitted(11, 12, ENGINE_SAMPLE_ONE / 2, in);
	assert_in_range(n, 512 - 96, 512 + 96);
	n = admitted(11, 12, ENGINE_SAMPLE_ONE / 8, in);
	assert_in_range(n, 128 - 64, 128 + 64);
	n = admitted(11, 12, 16, in);		/* the agent's floor, 1/64 */
	assert_in_range(n, 1, 16 + 24);
}

/*
 * What an attacker controls is the source port.  With the sampler's key
 * unknown, no choice of ports does better than chance: the ports a key
 * admits are no guide to what another key admits.
 */
static void
ports_do_not_carry_over(void **state)
{
	uint8_t a[NFLOWS], b[NFLOWS];
	unsigned int both = 0, na;

	na = admitted(0xaaaa, 0xbbbb, ENGINE_SAMPLE_ONE / 8, a);
	admitted(0xcccc, 0xdddd, ENGINE_SAMPLE_ONE / 8, b);
	for (unsigned int i = 0; i < NFLOWS; i++)
		both += a[i] && b[i];
	/* Chosen to pass the first key: about 1/8 pass the second too. */
	assert_true(na > 0);
	assert_in_range(both, 0, na / 8 + 20);
}

/* Sampling admits whole flows: an admitted SYN's later segments are
 * followed; a flow first seen mid-stream is never started while sampling
 * (half a dialogue would be misread). */
static void
whole_flows_only(void **state)
{
	struct bw_settings s;
	struct engine e;
	uint8_t f[128];
	size_t len;
	uint16_t in_port = 0, out_port = 0;

	engine_up(&e, &s, 99, 100);
	e.sample_keep = ENGINE_SAMPLE_ONE / 2;
	for (uint16_t p = 30000; p < 30200 && (!in_port || !out_port); p++) {
		len = frame(f, 9, p, SYN, 5000, NULL);
		if (engine_frame(&e, DLT_RAW, f, len, T0 + p))
			in_port = in_port ? in_port : p;
		else
			out_port = out_port ? out_port : p;
	}
	assert_true(in_port && out_port);
	len = frame(f, 9, in_port, ACK | PSH, 5001, "EHLO x\r\n");
	assert_int_equal(engine_frame(&e, DLT_RAW, f, len, T0 + 40000), 1);
	len = frame(f, 9, out_port, ACK | PSH, 5001, "EHLO x\r\n");
	assert_int_equal(engine_frame(&e, DLT_RAW, f, len, T0 + 40001), 0);
	/* Mid-stream data of a flow never seen: not while sampling... */
	len = frame(f, 10, 40000, ACK | PSH, 777, "MAIL FROM:<>\r\n");
	assert_int_equal(engine_frame(&e, DLT_RAW, f, len, T0 + 40002), 0);
	/* ... but picked up when every flow is followed. */
	e.sample_keep = ENGINE_SAMPLE_ONE;
	assert_int_equal(engine_frame(&e, DLT_RAW, f, len, T0 + 40003), 1);
	engine_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_key_same_flows),
		cmocka_unit_test(other_key_other_flows),
		cmocka_unit_test(share_follows_sample_keep),
		cmocka_unit_test(ports_do_not_carry_over),
		cmocka_unit_test(whole_flows_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
