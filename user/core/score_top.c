/*
 * score_top.c - asking the scorer: one source, the top N, its counters, and
 * the reasons in words (score.h).  Read-only: nothing here advances the
 * clock or changes a source.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "score_int.h"

static void
fmt_signal(const struct score_signal *g, char *buf, size_t len)
{
	if (strcmp(g->unit, "share") == 0)
		snprintf(buf, len, "%s=%.0f%% +%.0f", g->name, g->value * 100,
			 g->points);
	else if (strcmp(g->unit, "/min") == 0)
		snprintf(buf, len, "%s=%.0f/min +%.0f", g->name, g->value,
			 g->points);
	else
		snprintf(buf, len, "%s=%.0f +%.0f", g->name, g->value,
			 g->points);
}

char *
score_reason(const struct score_view *v, char *buf, size_t len)
{
	bool used[SIG_COUNT] = { false };
	size_t off = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (int k = 0; k < 3; k++) {
		int best = -1;
		char one[80];
		int n;

		for (int i = 0; i < SIG_COUNT; i++)
			if (!used[i] && v->sig[i].points > 0 &&
			    (best < 0 || v->sig[i].points > v->sig[best].points))
				best = i;
		if (best < 0)
			break;
		used[best] = true;
		fmt_signal(&v->sig[best], one, sizeof(one));
		n = snprintf(buf + off, len - off, "%s%s", k ? ", " : "", one);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

int
score_lookup(const struct score *sc, const uint8_t addr[16], uint64_t now_ns,
	     struct score_view *out)
{
	struct score_ctx x;
	struct bw_cidr p;
	uint32_t i;

	score_prefix_of(sc, addr, &p);
	i = score_table_find(sc, &p);
	if (i == NIL)
		return -ENOENT;
	score_ctx_init(sc, now_ns > sc->now ? now_ns : sc->now, &x);
	score_src_view(sc, &sc->src[i], &x, out);
	return 0;
}

static void
view_swap(struct score_view *a, struct score_view *b)
{
	struct score_view t = *a;

	*a = *b;
	*b = t;
}

/* Min-heap on score, so the weakest of the best n is at the root. */
static void
heap_down(struct score_view *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < n && h[l].score < h[m].score)
			m = l;
		if (r < n && h[r].score < h[m].score)
			m = r;
		if (m == i)
			return;
		view_swap(&h[i], &h[m]);
		i = m;
	}
}

static void
heap_up(struct score_view *h, size_t i)
{
	while (i > 0 && h[(i - 1) / 2].score > h[i].score) {
		view_swap(&h[(i - 1) / 2], &h[i]);
		i = (i - 1) / 2;
	}
}

size_t
score_top(const struct score *sc, uint64_t now_ns, struct score_view *out,
	  size_t n)
{
	struct score_ctx x;
	struct score_view v;
	size_t k = 0;

	if (n == 0)
		return 0;
	score_ctx_init(sc, now_ns > sc->now ? now_ns : sc->now, &x);
	for (uint32_t i = sc->lru.head; i != NIL; i = sc->src[i].lru.next) {
		score_src_view(sc, &sc->src[i], &x, &v);
		if (v.score <= 0 && v.in_force == SCORE_NONE)
			continue;
		if (k < n) {
			out[k] = v;
			heap_up(out, k++);
		} else if (v.score > out[0].score) {
			out[0] = v;
			heap_down(out, n, 0);
		}
	}
	/* Heap sort: the minimum goes to the end each round, leaving the
	 * array highest first. */
	for (size_t m = k; m > 1; m--) {
		view_swap(&out[0], &out[m - 1]);
		heap_down(out, m - 1, 0);
	}
	return k;
}

void
score_get_stats(const struct score *sc, uint64_t now_ns, struct score_stats *st)
{
	uint64_t now = now_ns > sc->now ? now_ns : sc->now;
	struct storm_config scfg;

	score_storm_config(sc, &scfg);
	*st = sc->st;
	st->capacity = sc->capacity;
	st->tracked = sc->used;
	st->storm_active = sc->storm.active;
	st->storm_since_ns = sc->storm.active ? sc->storm.since : 0;
	st->storms = sc->storm.onsets;
	st->null_rate_short = storm_rate(&sc->storm, now);
	st->null_baseline = sc->storm.baseline;
	st->storm_on_at = storm_on_at(&sc->storm, &scfg);
	score_eff_thresholds(sc, &st->eff_throttle, &st->eff_block);
}

bool
score_storm_active(const struct score *sc)
{
	return sc->storm.active;
}

const char *
score_veto_name(uint8_t v)
{
	switch (v) {
	case SCORE_VETO_MIXED:
		return "mixed";
	case SCORE_VETO_FEW:
		return "few_bounces";
	default:
		return "none";
	}
}

const char *
score_verdict_name(uint8_t v)
{
	switch (v) {
	case SCORE_THROTTLE:
		return "throttle";
	case SCORE_BLOCK:
		return "block";
	default:
		return "none";
	}
}
