/*
 * score.c - the backscatter scorer's rules: inputs, signals, decisions
 * (API in score.h; the source table is score_table.c, queries score_top.c,
 * the storm detector storm.c).
 *
 * An input is O(1) plus one score computation (to tell the caller when a
 * decision is due); score_decide() is O(sources touched since the last
 * call).
 *
 * Default weights (points; score_throttle 50, score_block 100), and why:
 *
 *   bounce_rate    30 at null_rate, capped at 60: null_rate is where bounces
 *                  "start to count as suspicious"; rate alone throttles
 *                  only at 1.7 x null_rate.
 *   null_share     10: a source that sends nothing but bounces.  Weak: some
 *                  MTAs are dedicated bounce relays.
 *   unknown_share  40: bounces to local parts that do not exist (our server
 *                  said 5.1.x) are the fingerprint of backscatter; real
 *                  bounces return to the addresses we sent from.  Only
 *                  recipients whose answer was seen count (not over TLS).
 *   unknown_rate   60 at null_rate, capped at 60: makes a storm escalate from
 *                  throttle to block within seconds, as evidence piles up.
 *   unverified     50 with BATV, 25 on the sent ledger alone: the share of its
 *                  bounces to our domains that no tag and no recent send of
 *                  the recipient explains ("bounces exceed sent", per
 *                  source).  A valid tag is near-proof; the ledger misses
 *                  mail sent by routes it does not see, so it weighs less.
 *                  Nothing is checked (0 points) before the ledger has
 *                  learned a single send: never a constant for everyone.
 *   multi_rcpt     15: Haraka/VBounce's shape hint: a real DSN has one
 *                  recipient.
 *   syn            10 per kernel over-rate event, capped at 25: never enough
 *                  alone to throttle; the kernel already rate-limits.
 *   opaque          0: most real MTAs use STARTTLS; counted and shown, never
 *                  scored by default (no content guess).
 *   callout         0: a verification callout (null sender, recipients
 *                  accepted, no DATA) is not a bounce; shown, never scored.
 *
 *   min_bounces     3: no share or unknown-recipient signal counts before a
 *                  source has sent 3 bounces in the window, so one or two
 *                  bounces score at most a couple of points.
 *
 * The connection-level rule (mixed): a throttle or block in XDP costs a
 * source all of its mail, so only a source whose traffic is overwhelmingly
 * bounces gets one.  More than mixed_share (20%) of ordinary mail among at
 * least mixed_min_tx (3) transactions vetoes both, whatever the score,
 * unless the kernel saw the source flood SYNs (syn_flood_events, 2, in the
 * window).  20% because the generated provider pool (20 messages + 8
 * auto-replies a minute: 71% ordinary) and list servers sit far above it,
 * while every storm source in the lab and the generator sends bounces only
 * (0%); such a source's bad bounces are refused per message by the policy
 * service instead.
 *
 * A source with fewer than conn_min_bounces (10) bounces in the window is
 * never throttled nor blocked either: the realistic storm is thousands of
 * innocent MTAs sending one to five bounces each, and a connection-level
 * drop only makes them queue and retry for days, where a 550 5.7.1 per
 * message ends it at once.  Ten a minute is a third of null_rate: a loud
 * source reaches it in seconds.
 *
 * A storm source (one bounce a second to random unknown users, no sends):
 * 50 + 3 x n points after n seconds: throttled at 10 s (80), blocked at
 * 17 s; during a storm (thresholds x 0.8: 40/80) blocked at 10 s.  With its
 * bounces unverifiable by BATV (+50), blocked at 10 s anyway.  A real MTA
 * bouncing 6 mails a minute to existing users who sent nothing: 6 + 10 + 25,
 * and too few bounces to be blocked.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncewall.h"
#include "score_int.h"

static const char *const sig_name[SIG_COUNT] = {
	[SIG_BOUNCE_RATE] = "bounce_rate",
	[SIG_NULL_SHARE] = "null_share",
	[SIG_UNKNOWN_SHARE] = "unknown_share",
	[SIG_UNKNOWN_RATE] = "unknown_rate",
	[SIG_UNVERIFIED] = "unverified",
	[SIG_MULTI_RCPT] = "multi_rcpt",
	[SIG_SYN] = "syn_over_rate",
	[SIG_OPAQUE] = "opaque_sessions",
	[SIG_CALLOUT] = "callouts",
	[SIG_MIXED] = "mixed",
};

const char *
score_signal_name(enum score_signal_id id)
{
	return (unsigned int)id < SIG_COUNT ? sig_name[id] : "unknown";
}

static const char *const sig_unit[SIG_COUNT] = {
	[SIG_BOUNCE_RATE] = "/min",
	[SIG_NULL_SHARE] = "share",
	[SIG_UNKNOWN_SHARE] = "share",
	[SIG_UNKNOWN_RATE] = "/min",
	[SIG_UNVERIFIED] = "share",
	[SIG_MULTI_RCPT] = "share",
	[SIG_SYN] = "events",
	[SIG_OPAQUE] = "sessions",
	[SIG_CALLOUT] = "/min",
	[SIG_MIXED] = "share",
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
		.unverified = 50,
		.unverified_ledger = 25,
		.multi_rcpt = 15,
		.syn_event = 10,
		.syn_cap = 25,
		.opaque = 0,
		.opaque_cap = 0,
		.min_bounces = 3,
		.mixed_share = 0.2,
		.mixed_min_tx = 3,
		.syn_flood_events = 2,
		.conn_min_bounces = 10,
		.storm_tighten = 0.8,
		/* 10 bounces/min from everyone is "quiet"; x5 = 50/min. */
		.storm_floor = 10,
		.storm_off_ratio = 0.5,
		.storm_hold_s = 60,
		.baseline_tau_s = 1800,
		.storm_age_s = 86400,
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
		 !weight_ok(w->unverified) || !weight_ok(w->unverified_ledger) ||
		 !weight_ok(w->multi_rcpt) ||
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
	else if (w->baseline_tau_s < STORM_PERIOD_S || w->baseline_tau_s > 30 * 86400)
		bad = "baseline_tau_s must be 10s..30 days";
	else if (!isfinite(w->mixed_share) || w->mixed_share < 0 || w->mixed_share > 1)
		bad = "mixed_share must be in [0, 1]";
	else if (w->conn_min_bounces > CNT_MAX)
		bad = "conn_min_bounces must be <= 65535";
	else if (w->storm_age_s < 60)
		bad = "storm_age_s must be >= 60";
	else if (w->throttle_ttl > 10u * 365 * 86400)
		bad = "throttle_ttl must be <= 10 years";
	if (!bad)
		return 0;
	if (err && errlen)
		snprintf(err, errlen, "%s", bad);
	return -EINVAL;
}

/* ------------------------------------------------------------ prefixes */

void
score_prefix_of(const struct score *sc, const uint8_t addr[16],
		struct bw_cidr *out)
{
	memcpy(out->addr, addr, 16);
	out->plen = addr_is_v4(addr) ? BW_V4_PLEN_BASE + sc->cfg.prefix_v4
				     : sc->cfg.prefix_v6;
	addr_mask(out->addr, out->plen);
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

void
score_storm_config(const struct score *sc, struct storm_config *out)
{
	out->factor = sc->cfg.storm_factor;
	out->floor = sc->cfg.w.storm_floor;
	out->off_ratio = sc->cfg.w.storm_off_ratio;
	out->hold_s = sc->cfg.w.storm_hold_s;
	out->tau_s = sc->cfg.w.baseline_tau_s;
	out->age_s = sc->cfg.w.storm_age_s;
}

/* Move the storm detector to now.  An onset tightens every threshold:
 * everyone is looked at again, and a decision is due. */
static bool
storm_step(struct score *sc)
{
	struct storm_config cfg;

	score_storm_config(sc, &cfg);
	if (!storm_update(&sc->storm, &cfg, sc->now))
		return false;
	sc->rescan = true;
	if (!sc->storm_onset_ts)
		sc->storm_onset_ts = sc->now;
	return true;
}

/*
 * After an input to s: does its score now call for more than the decision
 * in force?  Then remember when (the first such input only: that is the
 * trigger its decision reports) and tell the caller to decide.  One score
 * computation per transaction or kernel event, never per packet.
 */
static bool
crossed(struct score *sc, const struct score_src *s)
{
	struct score_ctx x;
	struct score_view v;
	struct bw_cidr p = score_src_prefix(s);

	score_ctx_init(sc, sc->now, &x);
	score_src_view(sc, s, &x, &v);
	if (v.verdict <= v.in_force)
		return false;
	for (unsigned int i = 0; i < sc->n_trig; i++)
		if (addr_cidr_equal(&sc->trig[i].prefix, &p))
			return true;
	if (sc->n_trig < SCORE_TRIGGERS_MAX)
		sc->trig[sc->n_trig++] = (struct score_trigger){ p, sc->now };
	return true;
}

/* The source an inbound input is about, rolled to now. */
static struct score_src *
source_at_now(struct score *sc, const uint8_t addr[16])
{
	struct bw_cidr p;
	struct score_src *s;

	score_prefix_of(sc, addr, &p);
	s = score_table_get(sc, &p);
	score_src_roll(s, (uint32_t)(sc->now / BUCKET_NS));
	return s;
}

/* Count a transaction's facts into s.  A continued one adds recipients
 * to the transaction counted before. */
static void
add_tx(struct score *sc, struct score_src *s, const struct score_tx *tx, uint32_t rcpts,
       uint32_t replied, uint32_t unk, uint32_t checked, uint32_t unverified)
{
	bool bounce = tx->sender == SCORE_SENDER_NULL || tx->sender == SCORE_SENDER_BOUNCE_LOCAL;

	if (tx->sender == SCORE_SENDER_CALLOUT) {
		sc->st.callouts++;
		score_src_add(s, C_CALLOUT, 1);
		return;
	}
	if (!tx->continued) {
		score_src_add(s, C_TX, 1);
		sc->st.tx_in++;
	}
	if (!bounce)
		return;
	if (!tx->continued) {
		sc->st.tx_in_null++;
		score_src_add(s, C_BOUNCE, 1);
		s->flags &= (uint8_t)~F_TX_MULTI;
		if (!tx->no_storm)
			storm_add(&sc->storm, sc->now, 1);
	}
	/* More than one recipient makes it a multi-recipient bounce, once. */
	if ((rcpts > 1 || (tx->continued && rcpts)) && !(s->flags & F_TX_MULTI)) {
		score_src_add(s, C_MULTI, 1);
		s->flags |= F_TX_MULTI;
	}
	score_src_add(s, C_BRCPT, rcpts);
	score_src_add(s, C_BREPLIED, replied);
	score_src_add(s, C_BUNKNOWN, unk);
	score_src_add(s, C_CHECKED, checked);
	score_src_add(s, C_UNVERIFIED, unverified);
}

int
score_tx(struct score *sc, const struct score_tx *tx)
{
	struct score_src *s;
	uint32_t rcpts, replied, rej, unk, checked, unver;
	bool due;

	if (tx->sender > SCORE_SENDER_CALLOUT)
		return -EINVAL;
	clock_to(sc, tx->ts_ns);

	if (tx->outbound) {
		if (tx->sender_protected)
			sc->st.tx_out_sent++;
		return storm_step(sc);
	}

	rcpts = clamp16(tx->rcpts);
	replied = tx->rcpt_replied < rcpts ? tx->rcpt_replied : rcpts;
	rej = tx->rcpt_5xx < replied ? tx->rcpt_5xx : replied;
	unk = tx->rcpt_unknown < rej ? tx->rcpt_unknown : rej;
	checked = tx->rcpt_checked < rcpts ? tx->rcpt_checked : rcpts;
	unver = tx->rcpt_unverified < checked ? tx->rcpt_unverified : checked;
	if (replied != tx->rcpt_replied || rej != tx->rcpt_5xx || unk != tx->rcpt_unknown ||
	    checked != tx->rcpt_checked || unver != tx->rcpt_unverified || rcpts != tx->rcpts)
		sc->st.inputs_clamped++;

	s = source_at_now(sc, tx->client);
	add_tx(sc, s, tx, rcpts, replied, unk, checked, unver);
	due = storm_step(sc);
	return crossed(sc, s) || due;
}

int
score_syn(struct score *sc, const struct score_syn *ev)
{
	struct score_src *s;
	bool due;

	clock_to(sc, ev->ts_ns);
	s = source_at_now(sc, ev->addr);
	score_src_add(s, C_SYN, 1);
	sc->st.syn_events++;
	due = storm_step(sc);
	return crossed(sc, s) || due;
}

int
score_opaque(struct score *sc, uint64_t ts_ns, const uint8_t addr[16])
{
	struct score_src *s;
	bool due;

	clock_to(sc, ts_ns);
	s = source_at_now(sc, addr);
	score_src_add(s, C_OPAQUE, 1);
	sc->st.opaque++;
	due = storm_step(sc);
	return crossed(sc, s) || due;
}

/* ------------------------------------------------------------ scoring */

void
score_ctx_init(const struct score *sc, uint64_t now, struct score_ctx *x)
{
	x->now = now;
	x->epoch = (uint32_t)(now / BUCKET_NS);
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

static void
sig_init(struct score_signal sig[SIG_COUNT])
{
	for (int i = 0; i < SIG_COUNT; i++) {
		sig[i].name = sig_name[i];
		sig[i].unit = sig_unit[i];
		sig[i].value = 0;
		sig[i].points = 0;
	}
}

/* The share and gated signals: none counts before min_bounces. */
static void
bounce_signals(const struct score *sc, const uint32_t c[C_COUNT],
	       struct score_signal sig[SIG_COUNT])
{
	const struct score_weights *w = &sc->cfg.w;
	double nr = sc->cfg.null_rate;
	double wv = sc->cfg.batv ? w->unverified : w->unverified_ledger;

	sig[SIG_NULL_SHARE].value = share(c[C_BOUNCE], c[C_TX]);
	sig[SIG_UNKNOWN_SHARE].value = share(c[C_BUNKNOWN], c[C_BREPLIED]);
	sig[SIG_UNKNOWN_RATE].value = c[C_BUNKNOWN];
	sig[SIG_UNVERIFIED].value = share(c[C_UNVERIFIED], c[C_CHECKED]);
	sig[SIG_MULTI_RCPT].value = share(c[C_MULTI], c[C_BOUNCE]);
	if (c[C_BOUNCE] < w->min_bounces)
		return;
	sig[SIG_NULL_SHARE].points = w->null_share * sig[SIG_NULL_SHARE].value;
	sig[SIG_UNKNOWN_SHARE].points = w->unknown_share * sig[SIG_UNKNOWN_SHARE].value;
	sig[SIG_UNKNOWN_RATE].points = capped(w->unknown_rate * c[C_BUNKNOWN] / nr,
					      w->unknown_rate_cap);
	sig[SIG_UNVERIFIED].points = wv * sig[SIG_UNVERIFIED].value;
	sig[SIG_MULTI_RCPT].points = w->multi_rcpt * sig[SIG_MULTI_RCPT].value;
}

/*
 * Fill sig[] for s and return the score: the sum of the points, in order.
 * *veto: why no connection-level decision comes of it, whatever the
 * score: mostly ordinary mail, or too few bounces, and no SYN flood.
 */
static double
src_score(const struct score *sc, const struct score_src *s, const struct score_ctx *x,
	  struct score_signal sig[SIG_COUNT], uint8_t *veto)
{
	const struct score_weights *w = &sc->cfg.w;
	double score = 0;
	uint32_t c[C_COUNT];

	for (int i = 0; i < C_COUNT; i++)
		c[i] = score_src_sum(s, i, x->epoch);
	sig_init(sig);
	sig[SIG_BOUNCE_RATE].value = c[C_BOUNCE];
	sig[SIG_BOUNCE_RATE].points = capped(w->bounce_rate * c[C_BOUNCE] / sc->cfg.null_rate,
					     w->bounce_rate_cap);
	bounce_signals(sc, c, sig);
	sig[SIG_SYN].value = c[C_SYN];
	sig[SIG_SYN].points = capped(w->syn_event * c[C_SYN], w->syn_cap);
	sig[SIG_OPAQUE].value = c[C_OPAQUE];
	sig[SIG_OPAQUE].points = capped(w->opaque * c[C_OPAQUE], w->opaque_cap);
	sig[SIG_CALLOUT].value = c[C_CALLOUT];
	sig[SIG_MIXED].value = c[C_TX] ? 1.0 - share(c[C_BOUNCE], c[C_TX]) : 0.0;
	if (c[C_SYN] >= w->syn_flood_events)
		*veto = SCORE_VETO_NONE;
	else if (c[C_TX] >= w->mixed_min_tx && sig[SIG_MIXED].value > w->mixed_share)
		*veto = SCORE_VETO_MIXED;
	else if (c[C_BOUNCE] < w->conn_min_bounces)
		*veto = SCORE_VETO_FEW;
	else
		*veto = SCORE_VETO_NONE;
	for (int i = 0; i < SIG_COUNT; i++)
		score += sig[i].points;
	return score;
}

void
score_eff_thresholds(const struct score *sc, double *thr, double *blk)
{
	double f = sc->storm.active ? sc->cfg.w.storm_tighten : 1.0;

	*thr = sc->cfg.score_throttle * f;
	*blk = sc->cfg.score_block * f;
}

/* The decision in force at now (expired ones read as none). */
static uint8_t
in_force_at(const struct score_src *s, uint64_t now)
{
	return s->in_force != SCORE_NONE && now < score_src_until_ns(s) ? s->in_force
								  : SCORE_NONE;
}

void
score_src_view(const struct score *sc, const struct score_src *s,
	 const struct score_ctx *x, struct score_view *v)
{
	double thr, blk;

	v->prefix = score_src_prefix(s);
	v->score = src_score(sc, s, x, v->sig, &v->veto);
	v->in_force = in_force_at(s, x->now);
	v->expires_ns = v->in_force ? score_src_until_ns(s) : 0;
	v->offences = s->offences;
	score_eff_thresholds(sc, &thr, &blk);
	v->verdict = v->veto ? SCORE_NONE : v->score >= blk ? SCORE_BLOCK :
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

	score_src_view(sc, s, x, &v);
	cur = v.in_force;
	if (cur == SCORE_NONE) {
		s->in_force = SCORE_NONE;
		if (score_src_until_ns(s) > x->now)
			return false;	/* suppressed */
	}
	score_eff_thresholds(sc, &thr, &blk);
	if (v.veto) {
		if (v.score >= thr)
			sc->st.vetoes++;
		return false;	/* per message only */
	}

	if (v.score >= blk) {
		act = SCORE_BLOCK;
		if (cur == SCORE_BLOCK) {
			ttl = block_ttl_for(&sc->cfg, s->offences ?
					    s->offences - 1u : 0);
			if (score_src_until_ns(s) - x->now > ttl * NS_PER_S / 4)
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
			if (score_src_until_ns(s) - x->now > ttl * NS_PER_S / 4)
				return false;
			renewal = true;
		}
	} else {
		return false;
	}

	s->in_force = act;
	score_src_set_until(s, deadline(x->now, ttl));
	memset(d, 0, sizeof(*d));
	d->prefix = score_src_prefix(s);
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

/* When d's source crossed: its own trigger, else the onset of the storm
 * that tightened the thresholds (0 for a renewal, or when unknown). */
static uint64_t
take_trigger(struct score *sc, const struct score_decision *d)
{
	for (unsigned int i = 0; i < sc->n_trig; i++) {
		if (addr_cidr_equal(&sc->trig[i].prefix, &d->prefix)) {
			uint64_t ts = sc->trig[i].ts;

			sc->trig[i] = sc->trig[--sc->n_trig];
			return ts;
		}
	}
	return d->renewal ? 0 : sc->storm_onset_ts;
}

size_t
score_decide(struct score *sc, uint64_t now_ns, struct score_decision *out,
	     size_t max)
{
	struct score_ctx x;
	size_t n = 0;

	clock_to(sc, now_ns);
	storm_step(sc);
	if (sc->rescan) {
		for (uint32_t i = 0; i < sc->used; i++)
			score_mark_dirty(sc, i);
		sc->rescan = false;
	}
	score_ctx_init(sc, sc->now, &x);
	while (sc->ndirty && n < max) {
		uint32_t i = sc->dirty[--sc->ndirty];
		struct score_src *s = &sc->src[i];

		s->flags &= (uint8_t)~F_DIRTY;
		if (src_decide(sc, s, &x, &out[n])) {
			out[n].trigger_ns = take_trigger(sc, &out[n]);
			n++;
		}
	}
	if (!sc->ndirty) {
		/* Crossings nothing came of (a suppressed source): the next
		 * input notes them again. */
		sc->n_trig = 0;
		sc->storm_onset_ts = 0;
	}
	return n;
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

int
score_suppressed(struct score *sc, const struct score_decision *d,
		 uint64_t now_ns)
{
	uint32_t i = score_table_find(sc, &d->prefix);
	struct score_src *s;

	if (i == NIL)
		return -ENOENT;
	clock_to(sc, now_ns);
	s = &sc->src[i];
	if (d->action == SCORE_BLOCK && !d->renewal && s->offences &&
	    s->offences < UINT8_MAX)
		s->offences--;
	s->in_force = SCORE_NONE;
	score_src_set_until(s, deadline(sc->now, d->ttl));
	sc->st.suppressed++;
	return 0;
}

int
score_release(struct score *sc, const struct bw_cidr *prefix)
{
	uint32_t i = score_table_find(sc, prefix);

	if (i == NIL)
		return -ENOENT;
	sc->src[i].in_force = SCORE_NONE;
	sc->src[i].until_s = 0;
	return 0;
}
