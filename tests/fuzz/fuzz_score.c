/*
 * fuzz_score.c - libFuzzer target: bytes become a sequence of scorer inputs
 * (transactions, kernel events, opaque sessions), config changes (any bit
 * pattern, NaN and infinities included), decisions, suppressions and
 * queries, on a small table so eviction runs constantly.
 *
 * Must never crash; checked on the way: the table stays within capacity,
 * every score is exactly the sum of its signals' points, top is sorted.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"

#define FUZZ_CAPACITY	32
#define FUZZ_DEC	8
#define FUZZ_TOP	16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cursor {
	const uint8_t *p;
	size_t left;
};

static uint64_t
take(struct cursor *c, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		v <<= 8;
		if (c->left) {
			v |= *c->p++;
			c->left--;
		}
	}
	return v;
}

/* A small address space, so sources repeat and prefixes collide: IPv4 in
 * 10.0.x.y, IPv6 in fd00:x::y. */
static void
take_addr(struct cursor *c, uint8_t a[16])
{
	uint8_t sel = (uint8_t)take(c, 1);

	memset(a, 0, 16);
	if (sel & 0x80) {
		a[0] = 0xfd;
		a[3] = sel & 0x0f;
		a[8] = (uint8_t)(sel >> 4);
		a[15] = (uint8_t)take(c, 1);
	} else {
		a[10] = a[11] = 0xff;
		a[12] = 10;
		a[14] = sel & 0x07;
		a[15] = (uint8_t)take(c, 1);
	}
}

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
check_view(const struct score_view *v)
{
	double sum = 0;

	for (int i = 0; i < SIG_COUNT; i++) {
		check(v->sig[i].name != NULL);
		check(v->sig[i].points >= 0);
		sum += v->sig[i].points;
	}
	/* Same additions in the same order: exactly equal. */
	check(sum == v->score);
	check(v->verdict <= SCORE_BLOCK && v->in_force <= SCORE_BLOCK);
	/* Mostly ordinary mail: nothing beyond what is already in force. */
	check(!v->veto || v->verdict == v->in_force);
}

static void
change_config(struct score *sc, struct cursor *c)
{
	struct score_config cfg;
	uint8_t field = (uint8_t)take(c, 1);
	uint64_t v = take(c, 8);
	double d;

	memcpy(&d, &v, sizeof(d));
	score_get_config(sc, &cfg);
	switch (field % 16) {
	case 0: cfg.null_rate = (uint32_t)v; break;
	case 1: cfg.score_throttle = (uint32_t)v; break;
	case 2: cfg.score_block = (uint32_t)v; break;
	case 3: cfg.block_ttl = v; break;
	case 4: cfg.block_ttl_max = v; break;
	case 5: cfg.storm_factor = d; break;
	case 6: cfg.prefix_v4 = (uint32_t)v; break;
	case 7: cfg.prefix_v6 = (uint32_t)v; break;
	case 8: cfg.batv = v & 1; break;
	case 9: cfg.w.min_bounces = (uint32_t)v; break;
	case 10: cfg.w.storm_tighten = d; break;
	case 11: cfg.w.unknown_share = d; break;
	case 12: cfg.w.storm_hold_s = (uint32_t)v; break;
	case 13: cfg.w.baseline_tau_s = (uint32_t)v; break;
	case 14: cfg.w.throttle_ttl = (uint32_t)v; break;
	default:
		/* Small sane values, so decisions actually happen. */
		cfg.score_throttle = (uint32_t)(v % 20) + 1;
		cfg.score_block = cfg.score_throttle + (uint32_t)(v >> 8) % 20;
		cfg.w.min_bounces = 1;
		break;
	}
	score_set_config(sc, &cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[16] = "fuzz-score-seed!";
	struct cursor c = { data, size };
	struct score_decision dec[FUZZ_DEC];
	struct score_view top[FUZZ_TOP], one;
	struct score_config cfg;
	struct score_stats st;
	struct score *sc;
	uint64_t now = 1000000000ull * 100000;

	score_config_defaults(&cfg);
	sc = score_new(FUZZ_CAPACITY, seed, &cfg);
	if (!sc)
		return 0;

	while (c.left) {
		uint8_t op = (uint8_t)take(&c, 1);

		/* Time: mostly small steps, sometimes backwards (an old
		 * timestamp), sometimes a jump of hours. */
		switch (op >> 5) {
		case 0: now += take(&c, 1) * 10000000ull; break;
		case 1: now -= take(&c, 1) * 1000000000ull; break;
		case 2: now += take(&c, 2) * 1000000000ull; break;
		default: break;
		}

		switch (op & 0x07) {
		case 0:
		case 1: {
			struct score_tx tx = { .ts_ns = now };

			take_addr(&c, tx.client);
			tx.outbound = (op & 0x07) == 1;
			tx.sender = (uint8_t)(take(&c, 1) % 5);	/* 4: invalid */
			tx.sender_protected = take(&c, 1) & 1;
			tx.continued = take(&c, 1) & 1;
			tx.no_storm = take(&c, 1) & 1;
			tx.rcpts = (uint32_t)take(&c, 3);
			tx.rcpt_replied = (uint32_t)take(&c, 1);
			tx.rcpt_5xx = (uint32_t)take(&c, 1);
			tx.rcpt_unknown = (uint32_t)take(&c, 1);
			tx.rcpt_checked = (uint32_t)take(&c, 1);
			tx.rcpt_unverified = (uint32_t)take(&c, 1);
			score_tx(sc, &tx);
			break;
		}
		case 2: {
			struct score_syn ev = { .ts_ns = now };

			take_addr(&c, ev.addr);
			ev.syns = take(&c, 4);
			ev.over = take(&c, 4);
			score_syn(sc, &ev);
			break;
		}
		case 3: {
			uint8_t a[16];

			take_addr(&c, a);
			score_opaque(sc, now, a);
			break;
		}
		case 4:
			change_config(sc, &c);
			break;
		case 5: {
			size_t max = take(&c, 1) % FUZZ_DEC + 1;
			uint8_t how = (uint8_t)take(&c, 1);
			size_t n = score_decide(sc, now, dec, max);

			check(n <= max);
			for (size_t i = 0; i < n; i++) {
				check(dec[i].action == SCORE_THROTTLE ||
				      dec[i].action == SCORE_BLOCK);
				check(dec[i].ttl > 0);
				check(memchr(dec[i].reason, '\0',
					     sizeof(dec[i].reason)) != NULL);
				if (how & 1)
					score_suppressed(sc, &dec[i], now);
				else if (how & 2)
					score_release(sc, &dec[i].prefix);
			}
			break;
		}
		case 6: {
			size_t want = take(&c, 1) % FUZZ_TOP + 1;
			size_t n = score_top(sc, now, top, want);
			char reason[SCORE_REASON_MAX];

			check(n <= want);
			for (size_t i = 0; i < n; i++) {
				check_view(&top[i]);
				if (i)
					check(top[i - 1].score >= top[i].score);
				score_reason(&top[i], reason, sizeof(reason));
			}
			break;
		}
		default: {
			uint8_t a[16];

			take_addr(&c, a);
			if (score_lookup(sc, a, now, &one) == 0)
				check_view(&one);
			break;
		}
		}
		score_get_stats(sc, now, &st);
		check(st.tracked <= FUZZ_CAPACITY);
	}
	score_free(sc);
	return 0;
}
