/*
 * test_score.c - the scorer under simulated time (seconds from T0).
 *
 * A "storm source" sends one null-sender transaction a second to a random
 * local part in a protected domain, which our server rejects 550 5.1.1; a
 * "legit MTA" sends the same rate of ordinary mail, or occasional real
 * bounces to existing users.  Default config unless a test says otherwise.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "score.h"

#define T0		100000ull	/* seconds; any clock will do */
#define NS(t)		((uint64_t)(t) * 1000000000ull)
#define NDEC		64

static const uint8_t seed[16] = "0123456789abcdef";

static void
v4(uint8_t a[16], uint32_t ip)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(ip >> 24);
	a[13] = (uint8_t)(ip >> 16);
	a[14] = (uint8_t)(ip >> 8);
	a[15] = (uint8_t)ip;
}

static struct score *
mk(const struct score_config *cfg, uint32_t capacity)
{
	struct score_config def;
	struct score *sc;

	if (!cfg) {
		score_config_defaults(&def);
		cfg = &def;
	}
	sc = score_new(capacity, seed, cfg);
	assert_non_null(sc);
	return sc;
}

/* One inbound transaction from ip at second t, every recipient answered;
 * unverified < 0: not checked against BATV or the ledger, else that many
 * of its recipients unexplained (all of them checked). */
static void
tx(struct score *sc, double t, uint32_t ip, uint8_t sender, uint32_t rcpts,
   uint32_t unknown, int32_t unverified)
{
	struct score_tx e = {
		.ts_ns = (uint64_t)(t * 1e9),
		.sender = sender,
		.rcpts = rcpts,
		.rcpt_replied = rcpts,
		.rcpt_5xx = unknown,
		.rcpt_unknown = unknown,
		.rcpt_checked = unverified >= 0 ? rcpts : 0,
		.rcpt_unverified = unverified >= 0 ? (uint32_t)unverified : 0,
	};

	v4(e.client, ip);
	assert_true(score_tx(sc, &e) >= 0);
}

static void
storm_tx(struct score *sc, double t, uint32_t ip)
{
	tx(sc, t, ip, SCORE_SENDER_NULL, 1, 1, -1);
}

static double
score_of(struct score *sc, double t, uint32_t ip)
{
	struct score_view v;
	uint8_t a[16];

	v4(a, ip);
	if (score_lookup(sc, a, (uint64_t)(t * 1e9), &v) < 0)
		return 0;
	return v.score;
}

/* Index of ip in the decisions, or -1. */
static int
find_dec(const struct score_decision *d, size_t n, uint32_t ip)
{
	uint8_t a[16];

	v4(a, ip);
	for (size_t i = 0; i < n; i++)
		if (memcmp(d[i].prefix.addr, a, 16) == 0)
			return (int)i;
	return -1;
}

static void
check_sum(const struct score_view *v)
{
	double sum = 0;

	for (int i = 0; i < SIG_COUNT; i++) {
		assert_non_null(v->sig[i].name);
		assert_true(v->sig[i].points >= 0);
		sum += v->sig[i].points;
	}
	assert_true(fabs(sum - v->score) < 1e-9);
}

/*
 * The scorer itself says when a decision is due: an input returns 1 the
 * moment its source's score calls for more than the decision in force
 * (and only then), and the decision carries that input's time as its
 * trigger.  Storm onset: thresholds tighten for everyone, a decision is
 * due, and a source pushed over only by the tightening reports the onset.
 */
static void
input_reports_crossing_and_trigger(void **state)
{
	struct score *sc;
	struct score_config cfg;
	struct score_decision d[8];
	struct score_tx e = {
		.sender = SCORE_SENDER_NULL, .rcpts = 1, .rcpt_replied = 1, .rcpt_5xx = 1,
		.rcpt_unknown = 1,
	};
	int first = -1, r;
	size_t n;

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;	/* no storm in this part */
	sc = mk(&cfg, 64);
	v4(e.client, 0x0a000001);
	for (int i = 0; i < 20; i++) {
		e.ts_ns = NS(T0 + i);
		r = score_tx(sc, &e);
		assert_true(r == 0 || r == 1);
		if (r == 1) {
			first = i;
			break;
		}
	}
	/* 10 bounces to unknown users (conn_min_bounces) cross the throttle
	 * threshold: 50 + 3 x 10. */
	assert_int_equal(first, 9);
	n = score_decide(sc, NS(T0 + 9.5), d, 8);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].action, SCORE_THROTTLE);
	assert_int_equal(d[0].trigger_ns, NS(T0 + 9));
	/* Throttled now: more of the same is due again only at the block. */
	e.ts_ns = NS(T0 + 10);
	assert_int_equal(score_tx(sc, &e), 0);
	for (int i = 11; i < 30; i++) {
		e.ts_ns = NS(T0 + i);
		if (score_tx(sc, &e) == 1) {
			first = i;
			break;
		}
	}
	n = score_decide(sc, NS(T0 + first), d, 8);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].action, SCORE_BLOCK);
	assert_int_equal(d[0].trigger_ns, NS(T0 + first));
	/* An ordinary message from a clean source is never due. */
	e.sender = SCORE_SENDER_NORMAL;
	v4(e.client, 0x0a000002);
	e.ts_ns = NS(T0 + 40);
	assert_int_equal(score_tx(sc, &e), 0);
	score_free(sc);
}

/* ------------------------------------------------------------------ */

#define NSTORM	5

/* Five sources, one bounce a second each: the storm detector fires, and
 * each source is blocked as soon as it has sent conn_min_bounces (10): by
 * then it is past the storm's block threshold (50 + 3 x 10 = 80). */
static void
storm_sources_throttled_then_blocked(void **state)
{
	struct score *sc = mk(NULL, 1024);
	struct score_decision d[NDEC];
	struct score_stats st;
	int t_thr[NSTORM], t_blk[NSTORM];

	for (int i = 0; i < NSTORM; i++)
		t_thr[i] = t_blk[i] = -1;
	for (int s = 0; s < 30; s++) {
		size_t n;

		for (int i = 0; i < NSTORM; i++)
			storm_tx(sc, T0 + s + 0.1 * i, 0x0a000001 + i);
		n = score_decide(sc, NS(T0 + s + 1) - 1, d, NDEC);
		for (int i = 0; i < NSTORM; i++) {
			int k = find_dec(d, n, 0x0a000001 + i);

			if (k < 0)
				continue;
			if (d[k].action == SCORE_THROTTLE && t_thr[i] < 0)
				t_thr[i] = s + 1;
			if (d[k].action == SCORE_BLOCK && t_blk[i] < 0) {
				t_blk[i] = s + 1;
				assert_int_equal(d[k].ttl, 600);
				assert_int_equal(d[k].offences, 1);
				assert_non_null(strstr(d[k].reason,
						       "unknown_share=100%"));
			}
		}
	}
	score_get_stats(sc, NS(T0 + 30), &st);
	assert_true(st.storm_active);
	for (int i = 0; i < NSTORM; i++) {
		assert_int_equal(t_thr[i], -1);	/* straight to block */
		assert_int_equal(t_blk[i], 10);
	}
	score_free(sc);
}

/* One source alone, storm detector out of the way: throttle at 10 s (80),
 * block at 17 s with the normal thresholds 50/100 (50 + 3 x 17); with its
 * bounces unverifiable by BATV (+50), blocked at the 10th. */
static void
storm_source_untightened(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score *sc;
	int t_thr = -1, t_blk = -1;

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	for (int s = 0; s < 30; s++) {
		size_t n;

		storm_tx(sc, T0 + s, 0x0a000001);
		n = score_decide(sc, NS(T0 + s) + 1, d, NDEC);
		for (size_t k = 0; k < n; k++) {
			if (d[k].action == SCORE_THROTTLE && t_thr < 0)
				t_thr = s + 1;
			if (d[k].action == SCORE_BLOCK && t_blk < 0)
				t_blk = s + 1;
		}
	}
	assert_int_equal(t_thr, 10);
	assert_int_equal(t_blk, 17);
	score_free(sc);

	cfg.batv = true;
	sc = mk(&cfg, 64);
	t_thr = t_blk = -1;
	for (int s = 0; s < 20 && t_blk < 0; s++) {
		size_t n;

		tx(sc, T0 + s, 0x0a000001, SCORE_SENDER_NULL, 1, 1, 1);
		n = score_decide(sc, NS(T0 + s) + 1, d, NDEC);
		for (size_t k = 0; k < n; k++)
			if (d[k].action == SCORE_BLOCK)
				t_blk = s + 1;
	}
	assert_int_equal(t_blk, 10);
	score_free(sc);
}

/* Ordinary mail at the storm's rate, even with rejected recipients and a
 * storm raging elsewhere: never a decision. */
static void
legit_mta_same_rate_not_punished(void **state)
{
	struct score *sc = mk(NULL, 1024);
	struct score_decision d[NDEC];
	struct score_stats st;
	uint32_t legit = 0xc0000201;

	for (int s = 0; s < 600; s++) {
		size_t n;

		tx(sc, T0 + s, legit, SCORE_SENDER_NORMAL, 3, s % 2, 3);
		if (s < 120)
			for (int i = 0; i < NSTORM; i++)
				storm_tx(sc, T0 + s + 0.5, 0x0a000001 + i);
		n = score_decide(sc, NS(T0 + s + 1), d, NDEC);
		assert_int_equal(find_dec(d, n, legit), -1);
		assert_true(score_of(sc, T0 + s + 1, legit) < 1);
		if (s == 60) {
			score_get_stats(sc, NS(T0 + s), &st);
			assert_true(st.storm_active);
		}
	}
	score_free(sc);
}

/* One bounce (or two) never scores, however bad it looks: 50 unknown
 * recipients, all untagged, during a storm. */
static void
single_bounce_never_punished(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score_tx e = {
		.sender = SCORE_SENDER_NULL,
		.rcpts = 50,
		.rcpt_replied = 50,
		.rcpt_5xx = 50,
		.rcpt_unknown = 50,
		.rcpt_checked = 50,
		.rcpt_unverified = 50,
	};
	struct score *sc;
	struct score_view v;

	score_config_defaults(&cfg);
	cfg.batv = true;
	sc = mk(&cfg, 64);
	/* A storm elsewhere tightens the thresholds. */
	for (int s = 0; s < 10; s++)
		for (int i = 0; i < NSTORM; i++)
			storm_tx(sc, T0 + s, 0x0a000001 + i);
	for (int k = 0; k < 2; k++) {
		e.ts_ns = NS(T0 + 10 + k);
		v4(e.client, 0xc0000299);
		assert_true(score_tx(sc, &e) >= 0);
		size_t n = score_decide(sc, NS(T0 + 10 + k), d, NDEC);
		assert_int_equal(find_dec(d, n, 0xc0000299), -1);
		assert_int_equal(score_lookup(sc, e.client, NS(T0 + 11), &v), 0);
		check_sum(&v);
		assert_true(v.score <= 2.0 + 1e-9);	/* bounce_rate only */
		assert_int_equal(v.verdict, SCORE_NONE);
	}
	score_free(sc);
}

/* A real MTA returning a bounce every 10 s to existing users, with no
 * sends of ours to explain them: well under the throttle, for an hour. */
static void
legit_occasional_bounces_below_throttle(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score *sc;
	double max = 0;

	score_config_defaults(&cfg);
	cfg.batv = true;
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	for (int s = 0; s < 3600; s += 10) {
		/* Tagged correctly (none unverified), accepted. */
		tx(sc, T0 + s, 0xc0000202, SCORE_SENDER_NULL, 1, 0, 0);
		assert_int_equal(score_decide(sc, NS(T0 + s), d, NDEC), 0);
		double x = score_of(sc, T0 + s, 0xc0000202);
		if (x > max)
			max = x;
	}
	/* 6/min: bounce_rate 6 + null_share 10 */
	assert_true(fabs(max - 16) < 1e-9);
	score_free(sc);
}

/* With batv_secret, forged bounces to real users (accepted, no 5.1.1) are
 * still caught by the missing tag. */
static void
batv_catches_forged_bounces_to_real_users(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score *sc;
	int t_thr = -1;

	score_config_defaults(&cfg);
	cfg.batv = true;
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	for (int s = 0; s < 20 && t_thr < 0; s++) {
		tx(sc, T0 + s, 0x0a000009, SCORE_SENDER_NULL, 1, 0, 1);
		size_t n = score_decide(sc, NS(T0 + s), d, NDEC);
		if (n) {
			assert_int_equal(d[0].action, SCORE_THROTTLE);
			assert_non_null(strstr(d[0].reason,
					       "unverified=100% +50"));
			t_thr = s + 1;
		}
	}
	assert_int_equal(t_thr, 10);	/* 70 at conn_min_bounces */
	score_free(sc);

	/* On the sent ledger alone it weighs half: a bounce a second to
	 * real users who sent nothing still gets there, later (35 + n). */
	cfg.batv = false;
	sc = mk(&cfg, 64);
	t_thr = -1;
	for (int s = 0; s < 30 && t_thr < 0; s++) {
		tx(sc, T0 + s, 0x0a000009, SCORE_SENDER_NULL, 1, 0, 1);
		if (score_decide(sc, NS(T0 + s), d, NDEC)) {
			assert_non_null(strstr(d[0].reason, "unverified=100% +25"));
			t_thr = s + 1;
		}
	}
	assert_int_equal(t_thr, 15);
	score_free(sc);
}

/* Block, silence past the TTL, offend again: 10m, 20m, 40m, then the cap. */
static void
repeat_offender_ttl_doubles_and_caps(void **state)
{
	static const uint64_t want[] = { 600, 1200, 2400, 3600, 3600 };
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score *sc;
	uint64_t t = T0;

	score_config_defaults(&cfg);
	cfg.block_ttl_max = 3600;
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	for (size_t round = 0; round < sizeof(want) / sizeof(want[0]); round++) {
		uint64_t ttl = 0;

		for (int s = 0; s < 60 && !ttl; s++, t++) {
			storm_tx(sc, (double)t, 0x0a000001);
			size_t n = score_decide(sc, NS(t), d, NDEC);
			for (size_t k = 0; k < n; k++)
				if (d[k].action == SCORE_BLOCK) {
					assert_false(d[k].renewal);
					ttl = d[k].ttl;
				}
		}
		assert_int_equal(ttl, want[round]);
		/* Blocked: nothing arrives; after expiry the source is
		 * released and the window long empty. */
		t += ttl + 1;
		assert_int_equal(score_decide(sc, NS(t), d, NDEC), 0);
		assert_true(score_of(sc, (double)t, 0x0a000001) == 0);
		{
			struct score_view v;
			uint8_t a[16];

			v4(a, 0x0a000001);
			assert_int_equal(score_lookup(sc, a, NS(t), &v), 0);
			assert_int_equal(v.verdict, SCORE_NONE);
			assert_int_equal(v.offences, round + 1);
		}
	}
	score_free(sc);
}

/* Many sources each sending a few bounces: no source scores, but the total
 * turns the storm on; it ends only after the rate stays low for the hold. */
static void
storm_detector_hysteresis(void **state)
{
	struct score *sc = mk(NULL, 1 << 16);
	struct score_decision d[NDEC];
	struct score_stats st;
	uint32_t ip = 0x0b000000;
	double base_before;
	int on_at = -1, off_at = -1;
	uint64_t t = T0;

	/* Quiet hour: 6 bounces a minute from ever-new sources. */
	for (int s = 0; s < 3600; s++, t++) {
		if (s % 10 == 0)
			tx(sc, (double)t, ip++, SCORE_SENDER_NULL, 1, 0, -1);
		score_decide(sc, NS(t), d, NDEC);
	}
	score_get_stats(sc, NS(t), &st);
	assert_false(st.storm_active);
	assert_true(st.null_baseline > 4 && st.null_baseline < 7);
	/* The floor (10/min) rules: storm above 50/min. */
	assert_true(fabs(st.storm_on_at - 50) < 1e-9);

	/* Two bounces in a second is not a storm. */
	tx(sc, (double)t, ip++, SCORE_SENDER_NULL, 1, 0, -1);
	score_decide(sc, NS(t), d, NDEC);
	score_get_stats(sc, NS(t), &st);
	assert_false(st.storm_active);
	base_before = st.null_baseline;

	/* Surge: 2 a second (120/min) for 5 minutes. */
	for (int s = 0; s < 300; s++, t++) {
		tx(sc, (double)t, ip++, SCORE_SENDER_NULL, 1, 0, -1);
		tx(sc, t + 0.5, ip++, SCORE_SENDER_NULL, 1, 0, -1);
		score_decide(sc, NS(t) + 1, d, NDEC);
		score_get_stats(sc, NS(t) + 1, &st);
		if (st.storm_active && on_at < 0)
			on_at = s;
	}
	assert_true(on_at >= 0 && on_at <= 5);
	/* Frozen while the storm lasts. */
	score_get_stats(sc, NS(t), &st);
	assert_true(fabs(st.null_baseline - base_before) < 1.0);
	assert_int_equal(st.storms, 1);

	/* 36/min: under the on level (50), over the off level (25). */
	for (int s = 0; s < 300; s++, t++) {
		if (s % 10 < 6)
			tx(sc, (double)t, ip++, SCORE_SENDER_NULL, 1, 0, -1);
		score_decide(sc, NS(t), d, NDEC);
		score_get_stats(sc, NS(t), &st);
		assert_true(st.storm_active);
	}
	/* Back to quiet: off once under 25/min for 60 s. */
	for (int s = 0; s < 300; s++, t++) {
		if (s % 10 == 0)
			tx(sc, (double)t, ip++, SCORE_SENDER_NULL, 1, 0, -1);
		score_decide(sc, NS(t), d, NDEC);
		score_get_stats(sc, NS(t), &st);
		if (!st.storm_active && off_at < 0)
			off_at = s;
	}
	/* The 10 s window must drain, then 60 s of hold. */
	print_message("storm on after %d s of surge, off %d s after it ended\n",
		      on_at, off_at);
	assert_true(off_at >= 60 && off_at <= 75);
	assert_int_equal(st.storms, 1);
	score_free(sc);
}

/* A million distinct sources through a 4096-entry table. */
static void
table_bounded_under_million_sources(void **state)
{
	struct score *sc = mk(NULL, 4096);
	struct score_decision d[NDEC];
	struct score_stats st;
	struct score_tx e = {
		.sender = SCORE_SENDER_NULL,
		.rcpts = 1,
		.rcpt_replied = 1,
		.rcpt_5xx = 1,
		.rcpt_unknown = 1,
	};

	for (uint32_t i = 0; i < 1000000; i++) {
		/* IPv6 sources in distinct /64s */
		memset(e.client, 0, 16);
		e.client[0] = 0x20;
		e.client[1] = 0x01;
		memcpy(e.client + 4, &i, 4);
		e.client[15] = 1;
		e.ts_ns = NS(T0) + i * 1000ull;
		assert_true(score_tx(sc, &e) >= 0);
		if (i % 100000 == 0)
			while (score_decide(sc, e.ts_ns, d, NDEC) == NDEC)
				;
	}
	score_get_stats(sc, e.ts_ns, &st);
	assert_int_equal(st.tracked, 4096);
	assert_int_equal(st.capacity, 4096);
	assert_int_equal(st.evictions, 1000000 - 4096);
	while (score_decide(sc, e.ts_ns, d, NDEC) == NDEC)
		;
	/* The newest source is still there, an old one is gone. */
	{
		struct score_view v;
		uint32_t old = 5;

		assert_int_equal(score_lookup(sc, e.client, e.ts_ns, &v), 0);
		assert_int_equal(v.prefix.plen, 64);
		memcpy(e.client + 4, &old, 4);
		assert_int_equal(score_lookup(sc, e.client, e.ts_ns, &v),
				 -ENOENT);
	}
	print_message("score entry: %zu bytes per source\n",
		      score_entry_bytes());
	score_free(sc);
}

/* Lower score_block while a source is throttled: it is blocked at the next
 * decide, with its window intact. */
static void
live_config_change_keeps_state(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score *sc;
	double before;
	size_t n;

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	for (int s = 0; s < 10; s++)
		storm_tx(sc, T0 + s, 0x0a000001);
	n = score_decide(sc, NS(T0 + 10), d, NDEC);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].action, SCORE_THROTTLE);
	before = score_of(sc, T0 + 10, 0x0a000001);
	assert_true(fabs(before - 80) < 1e-9);	/* 50 + 3 x 10 */

	cfg.score_block = 75;
	assert_int_equal(score_set_config(sc, &cfg), 0);
	assert_true(fabs(score_of(sc, T0 + 10, 0x0a000001) - before) < 1e-9);
	n = score_decide(sc, NS(T0 + 10), d, NDEC);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].action, SCORE_BLOCK);
	assert_true(fabs(d[0].threshold - 75) < 1e-9);

	/* A bad config changes nothing. */
	cfg.score_block = 10;	/* < score_throttle */
	assert_int_equal(score_set_config(sc, &cfg), -EINVAL);
	score_get_config(sc, &cfg);
	assert_int_equal(cfg.score_block, 75);

	/* Raising the weights live raises the score at once. */
	cfg.w.null_share = 20;
	assert_int_equal(score_set_config(sc, &cfg), 0);
	assert_true(fabs(score_of(sc, T0 + 10, 0x0a000001) - (before + 10)) <
		    1e-9);
	score_free(sc);
}

/* Every signal on: the points add up to the score, the reason names the
 * biggest ones. */
static void
signals_explain_score(void **state)
{
	struct score_config cfg;
	struct score *sc;
	struct score_view v, top[4];
	struct score_syn syn = { 0 };
	char reason[SCORE_REASON_MAX];
	uint8_t a[16];

	score_config_defaults(&cfg);
	cfg.batv = true;
	cfg.w.opaque = 1;
	cfg.w.opaque_cap = 5;
	sc = mk(&cfg, 64);
	v4(a, 0x0a000001);
	for (int s = 0; s < 6; s++) {
		struct score_tx e = {
			.ts_ns = NS(T0 + s),
			.sender = s % 2 ? SCORE_SENDER_NULL
					: SCORE_SENDER_BOUNCE_LOCAL,
			.rcpts = 2,
			.rcpt_replied = 2,
			.rcpt_5xx = 1,
			.rcpt_unknown = 1,
			.rcpt_checked = 2,
			.rcpt_unverified = 1,
		};

		memcpy(e.client, a, 16);
		assert_true(score_tx(sc, &e) >= 0);
		tx(sc, T0 + s, 0x0a000001, SCORE_SENDER_NORMAL, 1, 0, -1);
	}
	syn.ts_ns = NS(T0 + 5);
	memcpy(syn.addr, a, 16);
	assert_true(score_syn(sc, &syn) >= 0);
	assert_true(score_syn(sc, &syn) >= 0);
	assert_true(score_opaque(sc, NS(T0 + 5), a) >= 0);

	assert_int_equal(score_lookup(sc, a, NS(T0 + 6), &v), 0);
	check_sum(&v);
	assert_string_equal(v.sig[SIG_NULL_SHARE].name, "null_share");
	assert_true(fabs(v.sig[SIG_NULL_SHARE].value - 0.5) < 1e-9);
	assert_true(fabs(v.sig[SIG_UNKNOWN_SHARE].value - 0.5) < 1e-9);
	assert_true(fabs(v.sig[SIG_UNKNOWN_RATE].value - 6) < 1e-9);
	assert_true(fabs(v.sig[SIG_UNVERIFIED].value - 0.5) < 1e-9);
	assert_true(fabs(v.sig[SIG_MULTI_RCPT].value - 1) < 1e-9);
	assert_true(fabs(v.sig[SIG_SYN].points - 20) < 1e-9);
	assert_true(fabs(v.sig[SIG_OPAQUE].points - 1) < 1e-9);
	/* Half ordinary mail, but the kernel saw it flood twice: no veto. */
	assert_true(fabs(v.sig[SIG_MIXED].value - 0.5) < 1e-9);
	assert_int_equal(v.veto, SCORE_VETO_NONE);
	/* 6 + 5 + 20 + 12 + 25 + 15 + 20 + 1 */
	assert_true(fabs(v.score - 104) < 1e-9);
	score_reason(&v, reason, sizeof(reason));
	assert_string_equal(reason, "unverified=50% +25, unknown_share=50% "
			    "+20, syn_over_rate=2 +20");

	assert_int_equal(score_top(sc, NS(T0 + 6), top, 4), 1);
	check_sum(&top[0]);
	assert_true(fabs(top[0].score - v.score) < 1e-9);
	score_free(sc);
}

/* top: highest first, limited to n, decayed sources drop out. */
static void
top_sorted_and_decays(void **state)
{
	struct score_config cfg;
	struct score *sc;
	struct score_view v[8];
	size_t n;

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	/* source i sends i+1 bounces */
	for (int i = 0; i < 6; i++)
		for (int k = 0; k <= i; k++)
			storm_tx(sc, T0 + k, 0x0a000001 + i);
	n = score_top(sc, NS(T0 + 6), v, 4);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		check_sum(&v[i]);
		if (i)
			assert_true(v[i - 1].score >= v[i].score);
	}
	assert_int_equal(v[0].prefix.addr[15], 6);
	assert_int_equal(v[0].prefix.plen, 128);
	n = score_top(sc, NS(T0 + 6), v, 8);
	assert_int_equal(n, 6);
	/* Windows slide: a minute of silence later nobody scores. */
	assert_int_equal(score_top(sc, NS(T0 + 70), v, 8), 0);
	score_free(sc);
}

/* The agent allowlisted it: no re-emission for the TTL, offence undone. */
static void
suppressed_decision_is_not_repeated(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score *sc;
	struct score_view v;
	uint8_t a[16];
	int blocks = 0;

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	v4(a, 0x0a000001);
	for (int s = 0; s < 120; s++) {
		storm_tx(sc, T0 + s, 0x0a000001);
		size_t n = score_decide(sc, NS(T0 + s), d, NDEC);
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(score_suppressed(sc, &d[k],
							  NS(T0 + s)), 0);
			if (d[k].action == SCORE_BLOCK)
				blocks++;
		}
	}
	assert_int_equal(blocks, 0);	/* the throttle was suppressed for
					 * 10 min: nothing else comes out */
	assert_int_equal(score_lookup(sc, a, NS(T0 + 120), &v), 0);
	assert_int_equal(v.offences, 0);
	assert_int_equal(v.in_force, SCORE_NONE);
	assert_int_equal(v.verdict, SCORE_BLOCK);	/* by score */
	score_free(sc);
}

/* A throttled source that keeps going is renewed before it runs out, not
 * re-decided every tick; blocks too. */
static void
renewals_only_near_expiry(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score *sc;
	int thr = 0, thr_renew = 0;

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;
	cfg.block_ttl = 100;
	sc = mk(&cfg, 64);
	/* 3 bounces per 10 s, one to an unknown user: a full window holds
	 * 18 bounces, 6 unknown: 18 + 10 + 13.3 + 12 + 15 = 68.3, between
	 * throttle and block. */
	for (int s = 0; s < 400; s++) {
		if (s % 10 < 3)
			tx(sc, T0 + s, 0x0a000001, SCORE_SENDER_NULL, 1,
			   s % 10 == 0, -1);
		size_t n = score_decide(sc, NS(T0 + s), d, NDEC);
		for (size_t k = 0; k < n; k++) {
			assert_int_equal(d[k].action, SCORE_THROTTLE);
			if (d[k].renewal)
				thr_renew++;
			else
				thr++;
		}
	}
	/* One throttle, renewed every ~75 s (at a quarter of 100 s left). */
	print_message("1 throttle, %d renewals in 400 s\n", thr_renew);
	assert_int_equal(thr, 1);
	assert_true(thr_renew >= 4 && thr_renew <= 6);
	score_free(sc);
}

/* Deadlines are kept in whole seconds, rounded up: a decision made
 * mid-second is in force for its whole TTL and ends within a second of it;
 * an operator's suppression likewise. */
static void
deadlines_never_early_at_most_a_second_late(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score_view v;
	struct score *sc;
	uint64_t at = 0, end;
	uint8_t a[16];
	size_t n = 0;

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	v4(a, 0x0a000001);
	for (int s = 0; s < 60 && n == 0; s++) {
		at = NS(T0 + s) + 300000000;	/* x.3 s */
		storm_tx(sc, (double)at / 1e9, 0x0a000001);
		n = score_decide(sc, at, d, NDEC);
	}
	assert_int_equal(n, 1);
	end = at + d[0].ttl * 1000000000ull;
	assert_int_equal(score_lookup(sc, a, end - 1, &v), 0);
	assert_int_equal(v.in_force, d[0].action);
	assert_true(v.expires_ns >= end && v.expires_ns < end + 1000000000ull);
	assert_int_equal(score_lookup(sc, a, end + 1000000000ull, &v), 0);
	assert_int_equal(v.in_force, SCORE_NONE);

	/* Suppressed at x.3 s for the TTL: nothing decided before its end. */
	assert_int_equal(score_suppressed(sc, &d[0], at), 0);
	storm_tx(sc, (double)(end - 1) / 1e9, 0x0a000001);
	assert_int_equal(score_decide(sc, end - 1, d, NDEC), 0);
	score_free(sc);
}

/* Addresses in one /64 are one source; IPv4 prefix length honoured. */
static void
prefixes_aggregate(void **state)
{
	struct score_config cfg;
	struct score *sc;
	struct score_stats st;
	struct score_view v;
	struct score_tx e = {
		.sender = SCORE_SENDER_NULL,
		.rcpts = 1,
	};

	score_config_defaults(&cfg);
	cfg.prefix_v4 = 24;
	sc = mk(&cfg, 64);
	for (int i = 0; i < 4; i++) {
		memset(e.client, 0, 16);
		e.client[0] = 0xfd;
		e.client[15] = (uint8_t)(i + 1);
		e.client[9] = (uint8_t)i;	/* host bits of the /64 */
		e.ts_ns = NS(T0 + i);
		assert_true(score_tx(sc, &e) >= 0);
		v4(e.client, 0xc0a80100 + (uint32_t)i);
		assert_true(score_tx(sc, &e) >= 0);
	}
	score_get_stats(sc, NS(T0 + 4), &st);
	assert_int_equal(st.tracked, 2);
	v4(e.client, 0xc0a801ff);
	assert_int_equal(score_lookup(sc, e.client, NS(T0 + 4), &v), 0);
	assert_int_equal(v.prefix.plen, 96 + 24);
	assert_int_equal(v.prefix.addr[15], 0);
	assert_true(fabs(v.sig[SIG_BOUNCE_RATE].value - 4) < 1e-9);
	score_free(sc);
}

/* Pending decisions come out max at a time; time never runs backwards;
 * bad input is refused or clamped. */
static void
decide_pages_and_odd_input(void **state)
{
	struct score_config cfg;
	struct score_decision d[2];
	struct score *sc;
	struct score_stats st;
	struct score_tx e = { 0 };
	size_t total = 0, n;

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	for (int s = 0; s < 10; s++)
		for (int i = 0; i < 5; i++)
			storm_tx(sc, T0 + s, 0x0a000001 + i);
	while ((n = score_decide(sc, NS(T0 + 10), d, 2)) > 0) {
		assert_true(n <= 2);
		total += n;
	}
	assert_int_equal(total, 5);

	/* An event from the past counts now. */
	storm_tx(sc, T0 - 1000, 0x0a000042);
	assert_true(score_of(sc, T0 + 10, 0x0a000042) > 0);

	e.sender = 7;
	assert_int_equal(score_tx(sc, &e), -EINVAL);
	e.sender = SCORE_SENDER_NULL;
	e.ts_ns = NS(T0 + 10);
	e.rcpts = 1;
	e.rcpt_replied = 3;
	e.rcpt_5xx = 5;
	e.rcpt_unknown = 9;
	e.rcpt_unverified = 4;
	assert_true(score_tx(sc, &e) >= 0);
	score_get_stats(sc, NS(T0 + 10), &st);
	assert_true(st.inputs_clamped >= 1);

	assert_null(score_new(3, seed, &cfg));
	cfg.prefix_v4 = 33;
	assert_null(score_new(64, seed, &cfg));
	{
		char err[128];

		assert_int_equal(score_config_check(&cfg, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "prefix_v4"));
	}
	score_free(sc);
}

/*
 * The connection-level rule.  A provider's outbound pool address: 20
 * ordinary messages a minute plus 8 auto-replies to a noreply@ that does
 * not exist (550 5.1.1): its bounce signals alone would block it, but
 * ordinary mail is 71% of its traffic, so it is never throttled nor
 * blocked (its bounces are for the policy service).  The same address
 * flooding SYNs loses the veto; a pure bounce source never has it.
 */
static void
mixed_traffic_vetoes_connection_decisions(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score_view v;
	struct score *sc;
	struct score_syn syn = { 0 };
	uint8_t a[16];

	score_config_defaults(&cfg);
	cfg.storm_factor = 1000;
	sc = mk(&cfg, 64);
	v4(a, 0xc6336401);
	for (int s = 0; s < 180; s++) {
		for (int k = 0; k < 3; k++)
			tx(sc, T0 + s + k * 0.3, 0xc6336401, SCORE_SENDER_NORMAL, 1, 0, -1);
		if (s % 3 != 2)
			tx(sc, T0 + s + 0.5, 0xc6336401, SCORE_SENDER_NULL, 1, 1, 1);
		assert_int_equal(find_dec(d, score_decide(sc, NS(T0 + s + 1), d, NDEC),
					  0xc6336401), -1);
	}
	assert_int_equal(score_lookup(sc, a, NS(T0 + 180), &v), 0);
	assert_int_equal(v.veto, SCORE_VETO_MIXED);
	assert_true(v.score >= 100);		/* the bounces alone would block */
	assert_int_equal(v.verdict, SCORE_NONE);
	assert_true(v.sig[SIG_MIXED].value > 0.7);
	assert_true(v.sig[SIG_MIXED].points == 0);
	/* ... until it floods SYNs. */
	syn.ts_ns = NS(T0 + 180);
	memcpy(syn.addr, a, 16);
	score_syn(sc, &syn);
	assert_int_equal(score_syn(sc, &syn), 1);
	assert_int_equal(score_decide(sc, NS(T0 + 180), d, NDEC), 1);
	assert_int_equal(d[0].action, SCORE_BLOCK);
	score_free(sc);
}

/* The realistic storm: 3,000 innocent MTAs, one to five bounces each, all
 * unverifiable, during a storm: not one connection-level decision (their
 * bounces are refused per message), while every one is scored and shown. */
static void
distributed_storm_is_answered_per_message(void **state)
{
	struct score_config cfg;
	struct score_decision d[NDEC];
	struct score_stats st;
	struct score_view v;
	struct score *sc;
	size_t total = 0;
	uint8_t a[16];

	score_config_defaults(&cfg);
	cfg.batv = true;
	sc = mk(&cfg, 4096);
	for (uint32_t i = 0; i < 3000; i++)
		for (uint32_t k = 0; k <= i % 5; k++)
			tx(sc, T0 + (i * 5 + k) * 0.01, 0x0b000000 + i, SCORE_SENDER_NULL, 1, 0, 1);
	while (score_decide(sc, NS(T0 + 151), d, NDEC) == NDEC)
		total += NDEC;
	total += score_decide(sc, NS(T0 + 151), d, NDEC);
	assert_int_equal(total, 0);
	score_get_stats(sc, NS(T0 + 151), &st);
	assert_true(st.storm_active);
	v4(a, 0x0b000000 + 2999);	/* its 5 bounces are inside the window */
	assert_int_equal(score_lookup(sc, a, NS(T0 + 151), &v), 0);
	assert_int_equal(v.veto, SCORE_VETO_FEW);
	assert_true(v.score >= 60);	/* 5 + 10 + 50: it would have been throttled */
	score_free(sc);
}

/* A sender-verification callout (null sender, recipients accepted, no
 * DATA) is not a bounce: never scored, counted apart. */
static void
callouts_are_not_bounces(void **state)
{
	struct score *sc = mk(NULL, 64);
	struct score_view v;
	struct score_stats st;
	uint8_t a[16];

	v4(a, 0xc6336402);
	for (int s = 0; s < 60; s++)
		tx(sc, T0 + s, 0xc6336402, SCORE_SENDER_CALLOUT, 1, 0, -1);
	assert_int_equal(score_lookup(sc, a, NS(T0 + 60), &v), 0);
	assert_true(v.score == 0);
	assert_true(v.sig[SIG_CALLOUT].value > 0);
	assert_true(v.sig[SIG_BOUNCE_RATE].value == 0);
	score_get_stats(sc, NS(T0 + 60), &st);
	assert_int_equal(st.callouts, 60);
	assert_int_equal(st.tx_in_null, 0);
	assert_false(st.storm_active);
	score_free(sc);
}

/* The policy service sees one recipient at a time: a continued input adds
 * recipients (and makes the bounce a multi-recipient one) without
 * counting a second transaction. */
static void
continued_transactions_count_once(void **state)
{
	struct score *sc = mk(NULL, 64);
	struct score_view v;
	struct score_tx e = { .sender = SCORE_SENDER_NULL, .rcpts = 1 };

	for (int s = 0; s < 3; s++) {
		v4(e.client, 0xc6336403);
		e.ts_ns = NS(T0 + s);
		e.continued = false;
		assert_true(score_tx(sc, &e) >= 0);
		e.continued = true;
		assert_true(score_tx(sc, &e) >= 0);
		assert_true(score_tx(sc, &e) >= 0);
	}
	assert_int_equal(score_lookup(sc, e.client, NS(T0 + 3), &v), 0);
	assert_true(fabs(v.sig[SIG_BOUNCE_RATE].value - 3) < 1e-9);
	assert_true(fabs(v.sig[SIG_MULTI_RCPT].value - 1) < 1e-9);
	score_free(sc);
}

/* An allowlisted source's bounce wave stays out of the storm detector. */
static void
no_storm_inputs_stay_out_of_the_baseline(void **state)
{
	struct score *sc = mk(NULL, 64);
	struct score_stats st;
	struct score_tx e = { .sender = SCORE_SENDER_NULL, .rcpts = 1, .no_storm = true };

	for (int s = 0; s < 20; s++) {
		for (int k = 0; k < 20; k++) {
			v4(e.client, 0xc6336404 + (uint32_t)k);
			e.ts_ns = NS(T0 + s) + (uint64_t)k * 1000;
			assert_true(score_tx(sc, &e) >= 0);
		}
	}
	score_get_stats(sc, NS(T0 + 20), &st);
	assert_false(st.storm_active);
	assert_true(st.null_rate_short == 0);
	/* The same wave counted: a storm. */
	e.no_storm = false;
	for (int s = 20; s < 25; s++) {
		for (int k = 0; k < 20; k++) {
			v4(e.client, 0xc6336404 + (uint32_t)k);
			e.ts_ns = NS(T0 + s) + (uint64_t)k * 1000;
			score_tx(sc, &e);
		}
	}
	score_get_stats(sc, NS(T0 + 25), &st);
	assert_true(st.storm_active);
	score_free(sc);
}

/* A storm that lasts more than storm_age_s becomes the new normal: the
 * baseline learns it and the storm ends, instead of keeping every
 * threshold tight for the whole campaign. */
static void
long_storm_ages_into_the_baseline(void **state)
{
	struct score_config cfg;
	struct score *sc;
	struct score_stats st;
	struct score_tx e = { .sender = SCORE_SENDER_NULL, .rcpts = 1 };
	uint64_t end_h = 0;

	score_config_defaults(&cfg);
	cfg.w.storm_age_s = 3600;
	sc = mk(&cfg, 1024);
	/* 120 bounces a minute, from 100 sources, for 5 hours. */
	for (uint64_t t = 0; t < 5 * 3600; t++) {
		for (int k = 0; k < 2; k++) {
			v4(e.client, 0x0a640000 + (uint32_t)((t * 2 + (uint64_t)k) % 100));
			e.ts_ns = NS(T0 + t) + (uint64_t)k * 1000000;
			score_tx(sc, &e);
		}
		if (t % 600 == 0) {
			score_get_stats(sc, NS(T0 + t), &st);
			if (t == 600)
				assert_true(st.storm_active);
			if (!st.storm_active && !end_h && t > 600)
				end_h = t;
		}
	}
	/* Held for the first hour, then learnt (tau 30 min) and over. */
	assert_true(end_h > 3600);
	assert_true(end_h < 4 * 3600);
	score_get_stats(sc, NS(T0 + 5 * 3600), &st);
	assert_false(st.storm_active);
	assert_true(st.null_baseline > 60);
	score_free(sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(input_reports_crossing_and_trigger),
		cmocka_unit_test(storm_sources_throttled_then_blocked),
		cmocka_unit_test(storm_source_untightened),
		cmocka_unit_test(legit_mta_same_rate_not_punished),
		cmocka_unit_test(single_bounce_never_punished),
		cmocka_unit_test(legit_occasional_bounces_below_throttle),
		cmocka_unit_test(batv_catches_forged_bounces_to_real_users),
		cmocka_unit_test(repeat_offender_ttl_doubles_and_caps),
		cmocka_unit_test(storm_detector_hysteresis),
		cmocka_unit_test(table_bounded_under_million_sources),
		cmocka_unit_test(live_config_change_keeps_state),
		cmocka_unit_test(signals_explain_score),
		cmocka_unit_test(top_sorted_and_decays),
		cmocka_unit_test(suppressed_decision_is_not_repeated),
		cmocka_unit_test(renewals_only_near_expiry),
		cmocka_unit_test(deadlines_never_early_at_most_a_second_late),
		cmocka_unit_test(prefixes_aggregate),
		cmocka_unit_test(decide_pages_and_odd_input),
		cmocka_unit_test(mixed_traffic_vetoes_connection_decisions),
		cmocka_unit_test(distributed_storm_is_answered_per_message),
		cmocka_unit_test(callouts_are_not_bounces),
		cmocka_unit_test(continued_transactions_count_once),
		cmocka_unit_test(no_storm_inputs_stay_out_of_the_baseline),
		cmocka_unit_test(long_storm_ages_into_the_baseline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
