/*
 * score.c - the backscatter scorer: per-prefix windows, the global storm
 * detector, explainable scores, throttle/block decisions (API in score.h).
 *
 * Memory is one array of fixed-size entries, a hash index and a dirty list,
 * all allocated by score_new(); an event is O(1) (hash lookup, LRU move,
 * counter bump), score_decide() is O(sources touched since the last call).
 * When the table is full the least recently seen source is evicted (and
 * counted): memory never grows with what an attacker sends.
 *
 * Default weights (points; score_throttle 50, score_block 100), and why:
 *
 *   bounce_rate    30 at null_rate, capped at 60: the SPEC's "starts to count
 *                  as suspicious"; rate alone throttles only at 1.7 x null_rate.
 *   null_share     10: a source that sends nothing but bounces.  Weak: some
 *                  MTAs are dedicated bounce relays.
 *   unknown_share  40: bounces to local parts that do not exist (our server
 *                  said 5.1.x) are the fingerprint of backscatter; real
 *                  bounces return to the addresses we sent from.
 *   unknown_rate   60 at null_rate, capped at 60: makes a storm escalate from
 *                  throttle to block within seconds, as evidence piles up.
 *   unsent         15: the share of bounces to protected domains, all sources
 *                  together, that our outbound sends (last minute, or the
 *                  last hour's average, whichever is larger) cannot explain.
 *                  Modest, because we do not see mail sent by other routes.
 *   batv           50: with batv_secret every real bounce carries our tag; an
 *                  untagged one is forged mail's backscatter.  Near-proof.
 *   multi_rcpt     15, foreign_dsn 20: Haraka/VBounce shape hints; cheap,
 *                  often unseen (the rejection comes before DATA).
 *   syn            10 per kernel over-rate event, capped at 25: never enough
 *                  alone to throttle; the kernel already rate-limits.
 *   opaque          0: most real MTAs use STARTTLS; counted and shown, never
 *                  scored by default (SPEC: no content guess).
 *
 *   min_bounces     3: no share or unknown-recipient signal counts before a
 *                  source has sent 3 bounces in the window, so one or two
 *                  bounces score at most a couple of points.
 *
 * A storm source (one bounce a second to random unknown users, no sends):
 * 65 + 3 x n points after n seconds once n >= 3: throttled at 3 s, blocked at
 * 12 s; during a storm thresholds x 0.8 (40/80): blocked at 5 s.  A real MTA
 * bouncing 6 mails a minute to existing users with no sends to match: 36.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncewall.h"
#include "score.h"

#define NS_PER_S		1000000000ull
#define BUCKET_NS		((uint64_t)SCORE_BUCKET_S * NS_PER_S)
#define NIL			UINT32_MAX
#define CNT_MAX			UINT16_MAX

/* Global rings. */
#define RING_MAX		12
#define STORM_BUCKET_S		1	/* short window: 10 x 1 s */
#define STORM_NBUCKETS		10
#define PERIOD_S		10	/* baseline learns once per period */
#define SENDS_H_BUCKET_S	300	/* sends: 12 x 5 min = 1 h */
#define SENDS_H_NBUCKETS	12
#define BASELINE_CATCHUP_MAX	1000	/* periods replayed after a gap */

/* Per-source window counters. */
enum {
	C_TX,		/* inbound transactions */
	C_BOUNCE,	/* of which bounces (null or postmaster/mailer-daemon) */
	C_BRCPT,	/* recipients of bounces */
	C_BUNKNOWN,	/* of which 5.1.x */
	C_BPROT,	/* bounces with a recipient in a protected domain */
	C_BATV_SEEN,	/* bounce recipients checked for a tag */
	C_BATV_BAD,	/* of which without a valid tag */
	C_MULTI,	/* bounces with > 1 recipient */
	C_DSN_SEEN,	/* bounces whose DSN content was seen */
	C_DSN_FOREIGN,	/* of which not about our mail */
	C_SYN,		/* kernel over-rate events */
	C_OPAQUE,	/* STARTTLS sessions */
	C_COUNT
};

#define F_USED		0x01
#define F_DIRTY		0x02

/*
 * One tracked source: 184 bytes, which with its hash head and dirty slot
 * keeps a source under 200 bytes (issue #6).  Hence the narrow fields: the
 * prefix length in a byte, the bucket number in 32 bits (the ns clock ends
 * at bucket 1.8e9), and one deadline in whole seconds, rounded up, that
 * means "decision in force until" while in_force is set and "suppressed,
 * decide nothing until" once it is not; an expired decision reads as a
 * suppression that is already over.  Seconds saturate at UINT32_MAX (year
 * 2106): a later clock sees every deadline as past.
 */
struct score_src {
	uint8_t addr[16];		/* the prefix, masked to plen */
	uint32_t hnext;			/* hash chain */
	uint32_t lru_prev, lru_next;	/* prev = more recent */
	uint32_t epoch;			/* bucket number of the newest bucket */
	uint32_t until_s;		/* see above */
	uint8_t plen;			/* 128-bit form */
	uint8_t in_force;		/* enum score_verdict */
	uint8_t offences;
	uint8_t flags;
	uint16_t c[C_COUNT][SCORE_NBUCKETS];
};
_Static_assert(sizeof(struct score_src) + 3 * sizeof(uint32_t) < 200,
	       "a tracked source (entry, 2 hash heads, dirty slot) under 200 bytes");

struct ring {
	uint64_t epoch;
	uint64_t bucket_ns;
	uint32_t nb;
	uint32_t c[RING_MAX];
};

struct score {
	struct score_config cfg;
	uint8_t seed[16];
	uint64_t now;

	struct score_src *src;
	uint32_t capacity, used;
	uint32_t *heads;		/* hash buckets */
	uint32_t hmask;
	uint32_t lru_head, lru_tail;	/* head = most recently seen */
	uint32_t *dirty;
	uint32_t ndirty;
	bool rescan;

	/* Global windows. */
	struct ring storm;		/* inbound bounce tx, short window */
	struct ring prot_bounces;	/* inbound bounces to protected, 60 s */
	struct ring sends;		/* outbound protected sends, 60 s */
	struct ring sends_h;		/* the same, 1 h */

	/* Storm detector. */
	uint64_t period;		/* current baseline period number */
	uint32_t period_null;		/* bounce tx in it so far */
	double baseline;		/* per minute */
	bool storm_active;
	bool below;			/* under the off threshold ... */
	uint64_t below_since;		/* ... since */
	uint64_t storm_since;

	struct score_stats st;		/* the plain counters */
};

struct score_ctx {
	uint64_t now;
	uint32_t epoch;			/* now / BUCKET_NS: at most 1.8e9 */
	double unsent;			/* global unexplained bounce share */
};

static const char *const sig_name[SIG_COUNT] = {
	[SIG_BOUNCE_RATE] = "bounce_rate",
	[SIG_NULL_SHARE] = "null_share",
	[SIG_UNKNOWN_SHARE] = "unknown_share",
	[SIG_UNKNOWN_RATE] = "unknown_rate",
	[SIG_UNSENT] = "unsent",
	[SIG_BATV] = "batv_untagged",
	[SIG_MULTI_RCPT] = "multi_rcpt",
	[SIG_FOREIGN_DSN] = "foreign_dsn",
	[SIG_SYN] = "syn_over_rate",
	[SIG_OPAQUE] = "opaque_sessions",
};

static const char *const sig_unit[SIG_COUNT] = {
	[SIG_BOUNCE_RATE] = "/min",
	[SIG_NULL_SHARE] = "share",
	[SIG_UNKNOWN_SHARE] = "share",
	[SIG_UNKNOWN_RATE] = "/min",
	[SIG_UNSENT] = "share",
	[SIG_BATV] = "share",
	[SIG_MULTI_RCPT] = "share",
	[SIG_FOREIGN_DSN] = "share",
	[SIG_SYN] = "events",
	[SIG_OPAQUE] = "sessions",
};

/* ------------------------------------------------------------ config */

void
score_config_defaults(struct score_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->null_rate = 30;
	cfg->score_throttle = 50;
	cfg->score_block = 100;
	cfg->block_ttl = 600;
	cfg->block_ttl_max = 86400;
	cfg->storm_factor = 5.0;
	cfg->prefix_v4 = 32;
	cfg->prefix_v6 = 64;
	cfg->batv = false;
	cfg->w = (struct score_weights){
		.bounce_rate = 30,
		.bounce_rate_cap = 60,
		.null_share = 10,
		.unknown_share = 40,
		.unknown_rate = 60,
		.unknown_rate_cap = 60,
		.unsent = 15,
		.batv = 50,
		.multi_rcpt = 15,
		.foreign_dsn = 20,
		.syn_event = 10,
		.syn_cap = 25,
		.opaque = 0,
		.opaque_cap = 0,
		.min_bounces = 3,
		.storm_tighten = 0.8,
		/* 10 bounces/min from everyone is "quiet"; x5 = 50/min. */
		.storm_floor = 10,
		.storm_off_ratio = 0.5,
		.storm_hold_s = 60,
		.baseline_tau_s = 1800,
		.throttle_ttl = 0,
	};
}

/* A weight: finite, 0..1e6. */
static bool
weight_ok(double w)
{
	return isfinite(w) && w >= 0 && w <= 1e6;
}

int
score_config_check(const struct score_config *c, char *err, size_t errlen)
{
	const struct score_weights *w = &c->w;
	const char *bad = NULL;

	if (c->null_rate == 0 || c->null_rate > 1000000)
		bad = "null_rate must be 1..1000000";
	else if (c->score_throttle == 0)
		bad = "score_throttle must be > 0";
	else if (c->score_block < c->score_throttle)
		bad = "score_block must be >= score_throttle";
	else if (c->block_ttl == 0 || c->block_ttl > 10ull * 365 * 86400)
		bad = "block_ttl must be 1s..10 years";
	else if (c->block_ttl_max < c->block_ttl ||
		 c->block_ttl_max > 10ull * 365 * 86400)
		bad = "block_ttl_max must be block_ttl..10 years";
	else if (!isfinite(c->storm_factor) || c->storm_factor < 1 ||
		 c->storm_factor > 1e6)
		bad = "storm_factor must be 1..1000000";
	else if (c->prefix_v4 < 1 || c->prefix_v4 > 32)
		bad = "prefix_v4 must be 1..32";
	else if (c->prefix_v6 < 1 || c->prefix_v6 > 128)
		bad = "prefix_v6 must be 1..128";
	else if (!weight_ok(w->bounce_rate) || !weight_ok(w->bounce_rate_cap) ||
		 !weight_ok(w->null_share) || !weight_ok(w->unknown_share) ||
		 !weight_ok(w->unknown_rate) || !weight_ok(w->unknown_rate_cap) ||
		 !weight_ok(w->unsent) || !weight_ok(w->batv) ||
		 !weight_ok(w->multi_rcpt) || !weight_ok(w->foreign_dsn) ||
		 !weight_ok(w->syn_event) || !weight_ok(w->syn_cap) ||
		 !weight_ok(w->opaque) || !weight_ok(w->opaque_cap) ||
		 !weight_ok(w->storm_floor))
		bad = "weights must be finite, 0..1000000";
	else if (w->min_bounces == 0 || w->min_bounces > CNT_MAX)
		bad = "min_bounces must be 1..65535";
	else if (!isfinite(w->storm_tighten) || w->storm_tighten <= 0 ||
		 w->storm_tighten > 1)
		bad = "storm_tighten must be in (0, 1]";
	else if (!isfinite(w->storm_off_ratio) || w->storm_off_ratio <= 0 ||
		 w->storm_off_ratio > 1)
		bad = "storm_off_ratio must be in (0, 1]";
	else if (w->storm_hold_s > 86400)
		bad = "storm_hold_s must be <= 1 day";
	else if (w->baseline_tau_s < PERIOD_S || w->baseline_tau_s > 30 * 86400)
		bad = "baseline_tau_s must be 10s..30 days";
	else if (w->throttle_ttl > 10u * 365 * 86400)
		bad = "throttle_ttl must be <= 10 years";
	if (!bad)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "%s", bad);
	return -EINVAL;
}

/* ------------------------------------------------------------ rings */

static void
ring_init(struct ring *r, uint32_t bucket_s, uint32_t nb)
{
	memset(r, 0, sizeof(*r));
	r->bucket_ns = (uint64_t)bucket_s * NS_PER_S;
	r->nb = nb;
}

static void
ring_add(struct ring *r, uint64_t now, uint32_t v)
{
	uint64_t e = now / r->bucket_ns;
	uint32_t *slot;

	if (e > r->epoch) {
		uint64_t gap = e - r->epoch;

		if (gap >= r->nb)
			memset(r->c, 0, sizeof(r->c));
		else
			for (uint64_t i = r->epoch + 1; i <= e; i++)
				r->c[i % r->nb] = 0;
		r->epoch = e;
	}
	slot = &r->c[r->epoch % r->nb];
	*slot = (UINT32_MAX - *slot < v) ? UINT32_MAX : *slot + v;
}

/* Sum of the buckets inside the window that ends at now. */
static uint64_t
ring_sum(const struct ring *r, uint64_t now)
{
	uint64_t e = now / r->bucket_ns, lo, sum = 0;

	if (e < r->epoch)
		e = r->epoch;
	lo = e + 1 >= r->nb ? e + 1 - r->nb : 0;
	for (uint64_t i = lo; i <= r->epoch; i++)
		sum += r->c[i % r->nb];
	return sum;
}

/* ------------------------------------------------------------ hashing */

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND							\
	do {								\
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;			\
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;			\
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 of the prefix (address and length): keyed, so a sender who
 * picks source addresses cannot pile them into one chain. */
static uint32_t
prefix_hash(const uint8_t seed[16], const struct bw_cidr *p)
{
	uint64_t k0, k1, m[3], v0, v1, v2, v3, b;

	memcpy(&k0, seed, 8);
	memcpy(&k1, seed + 8, 8);
	memcpy(&m[0], p->addr, 8);
	memcpy(&m[1], p->addr + 8, 8);
	m[2] = p->plen;
	v0 = k0 ^ 0x736f6d6570736575ull;
	v1 = k1 ^ 0x646f72616e646f6dull;
	v2 = k0 ^ 0x6c7967656e657261ull;
	v3 = k1 ^ 0x7465646279746573ull;
	for (int i = 0; i < 3; i++) {
		v3 ^= m[i];
		SIPROUND;
		SIPROUND;
		v0 ^= m[i];
	}
	b = (uint64_t)24 << 56;
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	b = v0 ^ v1 ^ v2 ^ v3;
	return (uint32_t)(b ^ (b >> 32));
}

/* ------------------------------------------------------------ table */

void
score_prefix_of(const struct score *sc, const uint8_t addr[16],
		struct bw_cidr *out)
{
	memcpy(out->addr, addr, 16);
	out->plen = addr_is_v4(addr) ? BW_V4_PLEN_BASE + sc->cfg.prefix_v4
				     : sc->cfg.prefix_v6;
	addr_mask(out->addr, out->plen);
}

static struct bw_cidr
src_prefix(const struct score_src *s)
{
	struct bw_cidr p;

	memcpy(p.addr, s->addr, sizeof(p.addr));
	p.plen = s->plen;
	return p;
}

static bool
src_is(const struct score_src *s, const struct bw_cidr *p)
{
	return s->plen == p->plen && memcmp(s->addr, p->addr, sizeof(s->addr)) == 0;
}

static uint64_t
src_until_ns(const struct score_src *s)
{
	return (uint64_t)s->until_s * NS_PER_S;
}

static void
src_set_until(struct score_src *s, uint64_t ns)
{
	uint64_t secs = ns / NS_PER_S + (ns % NS_PER_S != 0);

	s->until_s = secs > UINT32_MAX ? UINT32_MAX : (uint32_t)secs;
}

static uint32_t
table_find(const struct score *sc, const struct bw_cidr *p)
{
	uint32_t i = sc->heads[prefix_hash(sc->seed, p) & sc->hmask];

	while (i != NIL && !src_is(&sc->src[i], p))
		i = sc->src[i].hnext;
	return i;
}

static void
lru_unlink(struct score *sc, uint32_t i)
{
	struct score_src *s = &sc->src[i];

	if (s->lru_prev != NIL)
		sc->src[s->lru_prev].lru_next = s->lru_next;
	else
		sc->lru_head = s->lru_next;
	if (s->lru_next != NIL)
		sc->src[s->lru_next].lru_prev = s->lru_prev;
	else
		sc->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NIL;
}

static void
lru_push_head(struct score *sc, uint32_t i)
{
	struct score_src *s = &sc->src[i];

	s->lru_prev = NIL;
	s->lru_next = sc->lru_head;
	if (sc->lru_head != NIL)
		sc->src[sc->lru_head].lru_prev = i;
	sc->lru_head = i;
	if (sc->lru_tail == NIL)
		sc->lru_tail = i;
}

static void
hash_unlink(struct score *sc, uint32_t i)
{
	struct bw_cidr p = src_prefix(&sc->src[i]);
	uint32_t *pp = &sc->heads[prefix_hash(sc->seed, &p) &
				  sc->hmask];

	while (*pp != NIL && *pp != i)
		pp = &sc->src[*pp].hnext;
	if (*pp == i)
		*pp = sc->src[i].hnext;
	sc->src[i].hnext = NIL;
}

static void
mark_dirty(struct score *sc, uint32_t i)
{
	if (sc->src[i].flags & F_DIRTY)
		return;
	sc->src[i].flags |= F_DIRTY;
	sc->dirty[sc->ndirty++] = i;
}

/*
 * The entry for prefix p, created (evicting the least recently seen source
 * when full) if need be, moved to the LRU head and marked dirty.
 */
static struct score_src *
table_get(struct score *sc, const struct bw_cidr *p)
{
	uint32_t i = table_find(sc, p), h;
	struct score_src *s;

	if (i == NIL) {
		if (sc->used < sc->capacity) {
			i = sc->used++;
		} else {
			i = sc->lru_tail;
			hash_unlink(sc, i);
			sc->st.evictions++;
		}
		s = &sc->src[i];
		if (s->flags & F_USED)
			lru_unlink(sc, i);
		/* A reused slot may still sit in the dirty list: keep the flag
		 * so it is not listed twice. */
		h = s->flags & F_DIRTY;
		memset(s, 0, sizeof(*s));
		s->flags = (uint8_t)(F_USED | h);
		memcpy(s->addr, p->addr, sizeof(s->addr));
		s->plen = (uint8_t)p->plen;
		s->lru_prev = s->lru_next = NIL;
		h = prefix_hash(sc->seed, p) & sc->hmask;
		s->hnext = sc->heads[h];
		sc->heads[h] = i;
		lru_push_head(sc, i);
	} else if (sc->lru_head != i) {
		lru_unlink(sc, i);
		lru_push_head(sc, i);
	}
	mark_dirty(sc, i);
	return &sc->src[i];
}

/* Slide the source's window to bucket e (zeroing what fell out). */
static void
src_roll(struct score_src *s, uint32_t e)
{
	if (e <= s->epoch)
		return;
	if (e - s->epoch >= SCORE_NBUCKETS) {
		memset(s->c, 0, sizeof(s->c));
	} else {
		for (uint32_t k = s->epoch + 1; k <= e; k++)
			for (int c = 0; c < C_COUNT; c++)
				s->c[c][k % SCORE_NBUCKETS] = 0;
	}
	s->epoch = e;
}

static void
src_add(struct score_src *s, int c, uint64_t v)
{
	uint16_t *slot = &s->c[c][s->epoch % SCORE_NBUCKETS];

	*slot = ((uint64_t)(CNT_MAX - *slot) < v) ? CNT_MAX
						   : (uint16_t)(*slot + v);
}

/* Window sum of counter c as seen at bucket e (read-only). */
static uint32_t
src_sum(const struct score_src *s, int c, uint32_t e)
{
	uint32_t lo, sum = 0;

	if (e < s->epoch)
		e = s->epoch;
	lo = e + 1 >= SCORE_NBUCKETS ? e + 1 - SCORE_NBUCKETS : 0;
	for (uint32_t k = lo; k <= s->epoch; k++)
		sum += s->c[c][k % SCORE_NBUCKETS];
	return sum;
}

/* ------------------------------------------------------------ life cycle */

size_t
score_entry_bytes(void)
{
	/* entry + hash head (at most 2 per entry) + dirty slot */
	return sizeof(struct score_src) + 2 * sizeof(uint32_t) +
	       sizeof(uint32_t);
}

struct score *
score_new(uint32_t capacity, const uint8_t seed[16],
	  const struct score_config *cfg)
{
	struct score *sc;
	uint32_t nh = 1;

	if (capacity < SCORE_CAPACITY_MIN || capacity > SCORE_CAPACITY_MAX ||
	    score_config_check(cfg, NULL, 0) < 0) {
		errno = EINVAL;
		return NULL;
	}
	while (nh < capacity)
		nh <<= 1;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return NULL;
	sc->src = calloc(capacity, sizeof(*sc->src));
	sc->heads = malloc((size_t)nh * sizeof(*sc->heads));
	sc->dirty = malloc((size_t)capacity * sizeof(*sc->dirty));
	if (!sc->src || !sc->heads || !sc->dirty) {
		score_free(sc);
		errno = ENOMEM;
		return NULL;
	}
	memset(sc->heads, 0xff, (size_t)nh * sizeof(*sc->heads));
	sc->hmask = nh - 1;
	sc->capacity = capacity;
	sc->lru_head = sc->lru_tail = NIL;
	memcpy(sc->seed, seed, 16);
	sc->cfg = *cfg;
	ring_init(&sc->storm, STORM_BUCKET_S, STORM_NBUCKETS);
	ring_init(&sc->prot_bounces, SCORE_BUCKET_S, SCORE_NBUCKETS);
	ring_init(&sc->sends, SCORE_BUCKET_S, SCORE_NBUCKETS);
	ring_init(&sc->sends_h, SENDS_H_BUCKET_S, SENDS_H_NBUCKETS);
	return sc;
}

void
score_free(struct score *sc)
{
	if (!sc)
		return;
	free(sc->src);
	free(sc->heads);
	free(sc->dirty);
	free(sc);
}

int
score_set_config(struct score *sc, const struct score_config *cfg)
{
	if (score_config_check(cfg, NULL, 0) < 0)
		return -EINVAL;
	sc->cfg = *cfg;
	sc->rescan = true;
	return 0;
}

void
score_get_config(const struct score *sc, struct score_config *cfg)
{
	*cfg = sc->cfg;
}

/* ------------------------------------------------------------ storm */

static double
storm_short_rate(const struct score *sc, uint64_t now)
{
	return (double)ring_sum(&sc->storm, now) * 60.0 /
	       (STORM_BUCKET_S * STORM_NBUCKETS);
}

static double
storm_ref(const struct score *sc)
{
	double f = sc->cfg.w.storm_floor;

	return sc->baseline > f ? sc->baseline : f;
}

/*
 * Move the baseline to now, then switch the storm on or off.  The baseline
 * learns once per PERIOD_S from that period's bounce count (as a per-minute
 * rate) with time constant baseline_tau_s, and not at all during a storm:
 * it must not learn the storm as the new normal.
 */
static void
storm_update(struct score *sc)
{
	uint64_t p = sc->now / (PERIOD_S * NS_PER_S);
	double alpha = (double)PERIOD_S / sc->cfg.w.baseline_tau_s;
	double rate, on_at;

	if (p > sc->period) {
		uint64_t n = p - sc->period;

		if (n > BASELINE_CATCHUP_MAX)
			n = BASELINE_CATCHUP_MAX;
		for (uint64_t k = 0; k < n && !sc->storm_active; k++) {
			double r = k == 0 ? sc->period_null * 60.0 / PERIOD_S
					  : 0.0;

			sc->baseline += alpha * (r - sc->baseline);
		}
		sc->period = p;
		sc->period_null = 0;
	}

	rate = storm_short_rate(sc, sc->now);
	on_at = sc->cfg.storm_factor * storm_ref(sc);
	if (!sc->storm_active) {
		if (rate > on_at) {
			sc->storm_active = true;
			sc->storm_since = sc->now;
			sc->below = false;
			sc->st.storms++;
			/* Thresholds just tightened: look at everyone. */
			sc->rescan = true;
		}
		return;
	}
	if (rate >= on_at * sc->cfg.w.storm_off_ratio) {
		sc->below = false;
		return;
	}
	if (!sc->below) {
		sc->below = true;
		sc->below_since = sc->now;
	}
	if (sc->now - sc->below_since >= sc->cfg.w.storm_hold_s * NS_PER_S) {
		sc->storm_active = false;
		sc->below = false;
		sc->storm_since = 0;
	}
}

/* ------------------------------------------------------------ inputs */

static void
clock_to(struct score *sc, uint64_t ts)
{
	if (ts > sc->now)
		sc->now = ts;
}

static uint32_t
clamp16(uint32_t v)
{
	return v > CNT_MAX ? CNT_MAX : v;
}

int
score_tx(struct score *sc, const struct score_tx *tx)
{
	struct bw_cidr p;
	struct score_src *s;
	uint32_t rcpts, rej, unk, prot;
	bool bounce;

	if (tx->sender > SCORE_SENDER_BOUNCE_LOCAL)
		return -EINVAL;
	clock_to(sc, tx->ts_ns);

	if (tx->outbound) {
		/* Mail we sent: only the protected sends matter, and they
		 * are a global figure (bounces come back from anywhere). */
		if (tx->sender_protected) {
			ring_add(&sc->sends, sc->now, 1);
			ring_add(&sc->sends_h, sc->now, 1);
			sc->st.tx_out_sent++;
		}
		storm_update(sc);
		return 0;
	}

	rcpts = clamp16(tx->rcpts);
	rej = tx->rcpt_5xx < rcpts ? tx->rcpt_5xx : rcpts;
	unk = tx->rcpt_unknown < rej ? tx->rcpt_unknown : rej;
	prot = tx->rcpt_protected < rcpts ? tx->rcpt_protected : rcpts;
	if (rej != tx->rcpt_5xx || unk != tx->rcpt_unknown ||
	    prot != tx->rcpt_protected || rcpts != tx->rcpts)
		sc->st.inputs_clamped++;

	score_prefix_of(sc, tx->client, &p);
	s = table_get(sc, &p);
	src_roll(s, (uint32_t)(sc->now / BUCKET_NS));
	src_add(s, C_TX, 1);
	sc->st.tx_in++;

	bounce = tx->sender != SCORE_SENDER_NORMAL;
	if (bounce) {
		sc->st.tx_in_null++;
		src_add(s, C_BOUNCE, 1);
		src_add(s, C_BRCPT, rcpts);
		src_add(s, C_BUNKNOWN, unk);
		if (prot) {
			src_add(s, C_BPROT, 1);
			ring_add(&sc->prot_bounces, sc->now, 1);
		}
		if (tx->rcpt_no_batv >= 0) {
			uint32_t bad = (uint32_t)tx->rcpt_no_batv;

			if (bad > rcpts) {
				bad = rcpts;
				sc->st.inputs_clamped++;
			}
			src_add(s, C_BATV_SEEN, rcpts);
			src_add(s, C_BATV_BAD, bad);
		}
		if (rcpts > 1)
			src_add(s, C_MULTI, 1);
		if (tx->dsn_foreign >= 0) {
			src_add(s, C_DSN_SEEN, 1);
			if (tx->dsn_foreign > 0)
				src_add(s, C_DSN_FOREIGN, 1);
		}
		ring_add(&sc->storm, sc->now, 1);
		sc->period_null++;
	}
	storm_update(sc);
	return 0;
}

int
score_syn(struct score *sc, const struct score_syn *ev)
{
	struct bw_cidr p;
	struct score_src *s;

	clock_to(sc, ev->ts_ns);
	score_prefix_of(sc, ev->addr, &p);
	s = table_get(sc, &p);
	src_roll(s, (uint32_t)(sc->now / BUCKET_NS));
	src_add(s, C_SYN, 1);
	sc->st.syn_events++;
	storm_update(sc);
	return 0;
}

int
score_opaque(struct score *sc, uint64_t ts_ns, const uint8_t addr[16])
{
	struct bw_cidr p;
	struct score_src *s;

	clock_to(sc, ts_ns);
	score_prefix_of(sc, addr, &p);
	s = table_get(sc, &p);
	src_roll(s, (uint32_t)(sc->now / BUCKET_NS));
	src_add(s, C_OPAQUE, 1);
	sc->st.opaque++;
	storm_update(sc);
	return 0;
}

/* ------------------------------------------------------------ scoring */

static void
ctx_init(const struct score *sc, uint64_t now, struct score_ctx *x)
{
	double bp = (double)ring_sum(&sc->prot_bounces, now);
	double s1 = (double)ring_sum(&sc->sends, now);
	double sh = (double)ring_sum(&sc->sends_h, now) / 60.0;
	double sends = s1 > sh ? s1 : sh;

	x->now = now;
	x->epoch = (uint32_t)(now / BUCKET_NS);
	x->unsent = bp > sends ? (bp - sends) / bp : 0.0;
}

/* now + secs, saturating: a clock near the end of time must not wrap an
 * expiry into the past. */
static uint64_t
deadline(uint64_t now, uint64_t secs)
{
	uint64_t ns = secs > UINT64_MAX / NS_PER_S ? UINT64_MAX : secs * NS_PER_S;

	return UINT64_MAX - now < ns ? UINT64_MAX : now + ns;
}

static double
share(uint32_t part, uint32_t whole)
{
	return whole ? (double)part / whole : 0.0;
}

static double
capped(double v, double cap)
{
	return v > cap ? cap : v;
}

/* Fill sig[] for s and return the score: the sum of the points, in order. */
static double
src_score(const struct score *sc, const struct score_src *s,
	  const struct score_ctx *x, struct score_signal sig[SIG_COUNT])
{
	const struct score_weights *w = &sc->cfg.w;
	double nr = sc->cfg.null_rate, score = 0;
	uint32_t c[C_COUNT];
	bool gate;

	for (int i = 0; i < C_COUNT; i++)
		c[i] = src_sum(s, i, x->epoch);
	gate = c[C_BOUNCE] >= w->min_bounces;

	for (int i = 0; i < SIG_COUNT; i++) {
		sig[i].name = sig_name[i];
		sig[i].unit = sig_unit[i];
		sig[i].points = 0;
	}
	sig[SIG_BOUNCE_RATE].value = c[C_BOUNCE];
	sig[SIG_BOUNCE_RATE].points =
		capped(w->bounce_rate * c[C_BOUNCE] / nr, w->bounce_rate_cap);

	sig[SIG_NULL_SHARE].value = share(c[C_BOUNCE], c[C_TX]);
	sig[SIG_UNKNOWN_SHARE].value = share(c[C_BUNKNOWN], c[C_BRCPT]);
	sig[SIG_UNKNOWN_RATE].value = c[C_BUNKNOWN];
	sig[SIG_UNSENT].value = x->unsent * share(c[C_BPROT], c[C_BOUNCE]);
	sig[SIG_BATV].value = sc->cfg.batv ?
		share(c[C_BATV_BAD], c[C_BATV_SEEN]) : 0.0;
	sig[SIG_MULTI_RCPT].value = share(c[C_MULTI], c[C_BOUNCE]);
	sig[SIG_FOREIGN_DSN].value = share(c[C_DSN_FOREIGN], c[C_DSN_SEEN]);
	if (gate) {
		sig[SIG_NULL_SHARE].points =
			w->null_share * sig[SIG_NULL_SHARE].value;
		sig[SIG_UNKNOWN_SHARE].points =
			w->unknown_share * sig[SIG_UNKNOWN_SHARE].value;
		sig[SIG_UNKNOWN_RATE].points =
			capped(w->unknown_rate * c[C_BUNKNOWN] / nr,
			       w->unknown_rate_cap);
		sig[SIG_UNSENT].points = w->unsent * sig[SIG_UNSENT].value;
		sig[SIG_BATV].points = w->batv * sig[SIG_BATV].value;
		sig[SIG_MULTI_RCPT].points =
			w->multi_rcpt * sig[SIG_MULTI_RCPT].value;
		sig[SIG_FOREIGN_DSN].points =
			w->foreign_dsn * sig[SIG_FOREIGN_DSN].value;
	}
	sig[SIG_SYN].value = c[C_SYN];
	sig[SIG_SYN].points = capped(w->syn_event * c[C_SYN], w->syn_cap);
	sig[SIG_OPAQUE].value = c[C_OPAQUE];
	sig[SIG_OPAQUE].points = capped(w->opaque * c[C_OPAQUE], w->opaque_cap);

	for (int i = 0; i < SIG_COUNT; i++)
		score += sig[i].points;
	return score;
}

static void
eff_thresholds(const struct score *sc, double *thr, double *blk)
{
	double f = sc->storm_active ? sc->cfg.w.storm_tighten : 1.0;

	*thr = sc->cfg.score_throttle * f;
	*blk = sc->cfg.score_block * f;
}

/* The decision in force at now (expired ones read as none). */
static uint8_t
in_force_at(const struct score_src *s, uint64_t now)
{
	return s->in_force != SCORE_NONE && now < src_until_ns(s) ? s->in_force
								  : SCORE_NONE;
}

static void
src_view(const struct score *sc, const struct score_src *s,
	 const struct score_ctx *x, struct score_view *v)
{
	double thr, blk;

	v->prefix = src_prefix(s);
	v->score = src_score(sc, s, x, v->sig);
	v->in_force = in_force_at(s, x->now);
	v->expires_ns = v->in_force ? src_until_ns(s) : 0;
	v->offences = s->offences;
	eff_thresholds(sc, &thr, &blk);
	v->verdict = v->score >= blk ? SCORE_BLOCK :
		     v->score >= thr ? SCORE_THROTTLE : SCORE_NONE;
	if (v->in_force > v->verdict)
		v->verdict = v->in_force;
}

/* ------------------------------------------------------------ decisions */

static uint64_t
block_ttl_for(const struct score_config *cfg, unsigned int offences)
{
	uint64_t ttl = cfg->block_ttl;

	for (unsigned int i = 0; i < offences && ttl < cfg->block_ttl_max; i++)
		ttl <<= 1;
	return ttl < cfg->block_ttl_max ? ttl : cfg->block_ttl_max;
}

static uint64_t
throttle_ttl(const struct score_config *cfg)
{
	return cfg->w.throttle_ttl ? cfg->w.throttle_ttl : cfg->block_ttl;
}

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

/*
 * Re-score one source and decide; true when *d was filled.  Only
 * escalations (none -> throttle -> block) and renewals come out.
 */
static bool
src_decide(struct score *sc, struct score_src *s, const struct score_ctx *x,
	   struct score_decision *d)
{
	struct score_view v;
	double thr, blk;
	uint8_t act, cur;
	uint64_t ttl;
	bool renewal = false;

	src_view(sc, s, x, &v);
	cur = v.in_force;
	if (cur == SCORE_NONE) {
		s->in_force = SCORE_NONE;
		if (src_until_ns(s) > x->now)
			return false;	/* suppressed */
	}
	eff_thresholds(sc, &thr, &blk);

	if (v.score >= blk) {
		act = SCORE_BLOCK;
		if (cur == SCORE_BLOCK) {
			ttl = block_ttl_for(&sc->cfg, s->offences ?
					    s->offences - 1u : 0);
			if (src_until_ns(s) - x->now > ttl * NS_PER_S / 4)
				return false;
			renewal = true;
		} else {
			ttl = block_ttl_for(&sc->cfg, s->offences);
			if (s->offences < UINT8_MAX)
				s->offences++;
		}
	} else if (v.score >= thr) {
		act = SCORE_THROTTLE;
		ttl = throttle_ttl(&sc->cfg);
		if (cur == SCORE_BLOCK)
			return false;
		if (cur == SCORE_THROTTLE) {
			if (src_until_ns(s) - x->now > ttl * NS_PER_S / 4)
				return false;
			renewal = true;
		}
	} else {
		return false;
	}

	s->in_force = act;
	src_set_until(s, deadline(x->now, ttl));
	memset(d, 0, sizeof(*d));
	d->prefix = src_prefix(s);
	d->action = act;
	d->renewal = renewal;
	d->ttl = ttl;
	d->score = v.score;
	d->threshold = act == SCORE_BLOCK ? blk : thr;
	d->offences = s->offences;
	score_reason(&v, d->reason, sizeof(d->reason));
	if (act == SCORE_BLOCK)
		sc->st.decisions_block++;
	else
		sc->st.decisions_throttle++;
	return true;
}

size_t
score_decide(struct score *sc, uint64_t now_ns, struct score_decision *out,
	     size_t max)
{
	struct score_ctx x;
	size_t n = 0;

	clock_to(sc, now_ns);
	storm_update(sc);
	if (sc->rescan) {
		for (uint32_t i = 0; i < sc->used; i++)
			mark_dirty(sc, i);
		sc->rescan = false;
	}
	ctx_init(sc, sc->now, &x);
	while (sc->ndirty && n < max) {
		uint32_t i = sc->dirty[--sc->ndirty];
		struct score_src *s = &sc->src[i];

		s->flags &= (uint8_t)~F_DIRTY;
		if (src_decide(sc, s, &x, &out[n]))
			n++;
	}
	return n;
}

int
score_suppressed(struct score *sc, const struct score_decision *d,
		 uint64_t now_ns)
{
	uint32_t i = table_find(sc, &d->prefix);
	struct score_src *s;

	if (i == NIL)
		return -ENOENT;
	clock_to(sc, now_ns);
	s = &sc->src[i];
	if (d->action == SCORE_BLOCK && !d->renewal && s->offences &&
	    s->offences < UINT8_MAX)
		s->offences--;
	s->in_force = SCORE_NONE;
	src_set_until(s, deadline(sc->now, d->ttl));
	sc->st.suppressed++;
	return 0;
}

int
score_release(struct score *sc, const struct bw_cidr *prefix)
{
	uint32_t i = table_find(sc, prefix);

	if (i == NIL)
		return -ENOENT;
	sc->src[i].in_force = SCORE_NONE;
	sc->src[i].until_s = 0;
	return 0;
}

/* ------------------------------------------------------------ queries */

int
score_lookup(const struct score *sc, const uint8_t addr[16], uint64_t now_ns,
	     struct score_view *out)
{
	struct score_ctx x;
	struct bw_cidr p;
	uint32_t i;

	score_prefix_of(sc, addr, &p);
	i = table_find(sc, &p);
	if (i == NIL)
		return -ENOENT;
	ctx_init(sc, now_ns > sc->now ? now_ns : sc->now, &x);
	src_view(sc, &sc->src[i], &x, out);
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
	ctx_init(sc, now_ns > sc->now ? now_ns : sc->now, &x);
	for (uint32_t i = sc->lru_head; i != NIL; i = sc->src[i].lru_next) {
		src_view(sc, &sc->src[i], &x, &v);
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

	*st = sc->st;
	st->capacity = sc->capacity;
	st->tracked = sc->used;
	st->storm_active = sc->storm_active;
	st->storm_since_ns = sc->storm_active ? sc->storm_since : 0;
	st->null_rate_short = storm_short_rate(sc, now);
	st->null_baseline = sc->baseline;
	st->storm_on_at = sc->cfg.storm_factor * storm_ref(sc);
	eff_thresholds(sc, &st->eff_throttle, &st->eff_block);
	{
		double s1 = (double)ring_sum(&sc->sends, now);
		double sh = (double)ring_sum(&sc->sends_h, now) / 60.0;

		st->sends_per_min = s1 > sh ? s1 : sh;
	}
	st->protected_bounces_per_min = (double)ring_sum(&sc->prot_bounces, now);
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
