/*
 * engine.c - frame -> segment -> flow -> SMTP -> score (engine.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "batv.h"
#include "bounce_check.h"
#include "engine.h"
#include "siphash.h"

void
engine_score_config(const struct bw_settings *s, struct score_config *cfg)
{
	score_config_defaults(cfg);
	cfg->null_rate = s->null_rate;
	cfg->score_throttle = s->score_throttle;
	cfg->score_block = s->score_block;
	cfg->block_ttl = s->block_ttl;
	cfg->block_ttl_max = s->block_ttl_max;
	cfg->storm_factor = s->storm_factor;
	cfg->prefix_v4 = s->prefix_v4;
	cfg->prefix_v6 = s->prefix_v6;
	cfg->batv = s->n_batv_keys > 0;
}

static bool
is_local(const struct engine *e, const uint8_t addr[16])
{
	for (unsigned int i = 0; i < e->n_local; i++)
		if (memcmp(e->local[i], addr, 16) == 0)
			return true;
	return false;
}

/* Scale a count over the kept recipients up to all of them: the parser
 * keeps the first SMTP_TXN_RCPT_MAX addresses, counts every reply. */
static uint32_t
extrapolate(uint32_t hits, uint32_t kept, uint32_t total)
{
	if (kept == 0 || kept >= total)
		return hits;
	return (uint32_t)(((uint64_t)hits * total + kept / 2) / kept);
}

bool
engine_is_relay(const struct engine *e, const uint8_t addr[16])
{
	struct bw_cidr host;

	memcpy(host.addr, addr, 16);
	host.plen = 128;
	for (unsigned int i = 0; i < e->settings->n_relays; i++)
		if (addr_cidr_contains(&e->settings->our_relays[i], &host))
			return true;
	return false;
}

/* A send of ours: learnt unless its sender carries a BATV tag (the batv
 * socketmap that signed it learnt it already). */
static void
learn_send(struct engine *e, const char *sender, uint64_t now_ns)
{
	if (batv_original(sender))
		return;
	if (bounce_domain_protected(e->settings, sender) &&
	    ledger_send(e->ledger, sender, now_ns / 1000000000ULL) == 0)
		e->sends_learned++;
}

/* Can a bounce to rcpt be explained?  BATV when keys are set, else the
 * ledger once it has learnt anything (never "nothing explains it" for
 * everyone just because no send was ever seen).  -1: not checked. */
int
engine_bounce_unverified(const struct engine *e, const char *rcpt, uint64_t now_ns)
{
	const struct bw_settings *s = e->settings;
	struct ledger_stats ls;
	struct bounce_judgement j;
	struct bounce_input in = { .sender = "", .rcpt = rcpt, .now = now_ns / 1000000000ULL };

	if (!bounce_domain_protected(s, rcpt))
		return -1;
	if (!s->n_batv_keys) {
		ledger_get_stats(e->ledger, &ls);
		if (!ls.addresses)
			return -1;
	}
	bounce_judge(s, e->ledger, &in, &j);
	return j.verdict == BOUNCE_UNVERIFIABLE;
}

/* A null-sender transaction whose recipients were all accepted and that
 * never sent DATA: someone checked an address of ours exists (a sender
 * verification callout), nobody bounced anything. */
static bool
is_callout(const struct smtp_txn *t)
{
	return t->sender_null && !t->data_started && t->n_rcpt &&
	       t->n_rcpt_accepted == t->n_rcpt && t->end != SMTP_TXN_END_OPAQUE;
}

/* The parser's transaction, in the scorer's terms. */
static void
on_txn(void *arg, struct smtp_txn *t)
{
	struct engine *e = arg;
	struct score_tx tx = { 0 };
	uint32_t checked = 0, unverified = 0;
	uint64_t ts = t->ts_end ? t->ts_end : t->ts_start;

	t->outbound = is_local(e, t->peer.client);
	if (e->observer && e->observer->txn)
		e->observer->txn(e->observer_arg, t);
	if (engine_is_relay(e, t->peer.client) || t->outbound) {
		/* Ours: what it sends is mail we sent; never scored. */
		if (!smtp_txn_is_bounce(t) && t->sender[0])
			learn_send(e, t->sender, ts);
		if (t->outbound)
			e->txn_outbound_sent++;
		return;
	}
	tx.ts_ns = ts;
	memcpy(tx.client, t->peer.client, 16);
	tx.no_storm = e->allowlisted && e->allowlisted(e->allow_arg, t->peer.client);
	tx.sender = is_callout(t) ? SCORE_SENDER_CALLOUT :
		    t->sender_null ? SCORE_SENDER_NULL :
		    t->sender_bounce ? SCORE_SENDER_BOUNCE_LOCAL : SCORE_SENDER_NORMAL;
	tx.rcpts = t->n_rcpt;
	tx.rcpt_replied = t->n_rcpt_accepted + t->n_rcpt_tempfail + t->n_rcpt_rejected;
	tx.rcpt_5xx = t->n_rcpt_rejected;
	tx.rcpt_unknown = t->n_rcpt_unknown;
	if (smtp_txn_is_bounce(t)) {
		for (uint32_t i = 0; i < t->n_rcpt_kept; i++) {
			int u = engine_bounce_unverified(e, t->rcpt[i].addr, ts);

			checked += u >= 0;
			unverified += u > 0;
		}
	}
	tx.rcpt_checked = extrapolate(checked, t->n_rcpt_kept, t->n_rcpt);
	tx.rcpt_unverified = extrapolate(unverified, t->n_rcpt_kept, t->n_rcpt);
	if (score_tx(e->score, &tx) > 0)
		e->decide_due = true;
}

int
engine_tx(struct engine *e, struct score_tx *tx)
{
	int ret;

	if (engine_is_relay(e, tx->client))
		return 0;
	if (tx->ts_ns < e->now)
		tx->ts_ns = e->now;
	e->now = tx->ts_ns;
	tx->no_storm = e->allowlisted && e->allowlisted(e->allow_arg, tx->client);
	ret = score_tx(e->score, tx);
	if (ret > 0)
		e->decide_due = true;
	return ret;
}

static void
on_opaque(void *arg, const struct smtp_session *ss)
{
	struct engine *e = arg;

	if (score_opaque(e->score, ss->ts_last, ss->peer.client) > 0)
		e->decide_due = true;
	if (e->observer && e->observer->session_opaque)
		e->observer->session_opaque(e->observer_arg, ss);
}

static void
on_start(void *arg, const struct smtp_session *ss)
{
	struct engine *e = arg;

	if (e->observer && e->observer->session_start)
		e->observer->session_start(e->observer_arg, ss);
}

static void
on_end(void *arg, const struct smtp_session *ss)
{
	struct engine *e = arg;

	if (e->observer && e->observer->session_end)
		e->observer->session_end(e->observer_arg, ss);
}

static const struct smtp_hooks engine_hooks = {
	.session_start = on_start,
	.session_opaque = on_opaque,
	.session_end = on_end,
	.txn = on_txn,
};

static bool admit_flow(void *arg, const struct flow_seg *seg);

int
engine_init(struct engine *e, const struct bw_settings *s, const struct engine_limits *lim)
{
	struct flow_config fc = { 0 };
	struct score_config sc;
	uint8_t seed[16];
	int ret;

	memset(e, 0, sizeof(*e));
	e->settings = s;
	e->sample_keep = ENGINE_SAMPLE_ONE;
	e->smtp.hooks = &engine_hooks;
	e->smtp.arg = e;
	for (unsigned int i = 0; i < s->n_ports && i < FLOW_PORTS_MAX; i++)
		fc.ports[fc.n_ports++] = s->smtp_ports[i];
	fc.max_flows = lim->max_flows;
	fc.hold_slots = lim->hold_slots;
	fc.hash_seed = lim->seed[0];
	fc.admit = admit_flow;
	fc.admit_arg = e;
	ret = flow_table_new(&e->flows, &fc, &e->smtp);
	if (ret < 0)
		return ret;
	engine_score_config(s, &sc);
	memcpy(seed, lim->seed, sizeof(seed));
	memcpy(e->sample_key, lim->seed, sizeof(e->sample_key));
	e->sample_key[0] ^= 0x5a;	/* not the scorer's key */
	e->score = score_new(lim->max_sources, seed, &sc);
	seed[1] ^= 0xa5;		/* nor the ledger's */
	e->ledger = e->score ? ledger_new(s->ledger_max, seed) : NULL;
	if (!e->score || !e->ledger) {
		ret = errno ? -errno : -ENOMEM;
		engine_free(e);
		return ret;
	}
	ledger_set_window(e->ledger, s->sent_window);
	return 0;
}

void
engine_free(struct engine *e)
{
	if (e->flows)
		flow_table_free(e->flows, e->now);
	score_free(e->score);
	ledger_free(e->ledger);
	e->flows = NULL;
	e->score = NULL;
	e->ledger = NULL;
}

int
engine_settings_changed(struct engine *e)
{
	struct score_config sc;

	engine_score_config(e->settings, &sc);
	ledger_set_window(e->ledger, e->settings->sent_window);
	return score_set_config(e->score, &sc);
}

void
engine_add_local(struct engine *e, const uint8_t addr[16])
{
	if (e->n_local < ENGINE_LOCAL_MAX && !is_local(e, addr))
		memcpy(e->local[e->n_local++], addr, 16);
}

/* Same value for both directions of a connection, keyed: whoever picks
 * source ports must not be able to steer which flows are sampled. */
static uint64_t
flow_hash(const struct engine *e, const struct flow_seg *g)
{
	uint8_t key[36];
	int c = memcmp(g->src, g->dst, 16);
	bool src_first = c < 0 || (c == 0 && g->sport <= g->dport);
	const uint8_t *a = src_first ? g->src : g->dst, *b = src_first ? g->dst : g->src;
	uint16_t ap = src_first ? g->sport : g->dport, bp = src_first ? g->dport : g->sport;

	memcpy(key, a, 16);
	memcpy(key + 16, b, 16);
	memcpy(key + 32, &ap, 2);
	memcpy(key + 34, &bp, 2);
	return siphash24(e->sample_key, key, sizeof(key));
}

/*
 * Whole-flow sampling: asked only for segments that would start a flow.
 * While sampling, only a SYN may start one (never pick up half a
 * connection), and only for sample_keep of every ENGINE_SAMPLE_ONE flows.
 */
static bool
admit_flow(void *arg, const struct flow_seg *seg)
{
	struct engine *e = arg;

	if (e->sample_keep >= ENGINE_SAMPLE_ONE)
		return true;
	if (!(seg->flags & FLOW_TCP_SYN))
		return false;
	return flow_hash(e, seg) % ENGINE_SAMPLE_ONE < e->sample_keep;
}

int
engine_frame(struct engine *e, int linktype, const uint8_t *frame, size_t caplen,
	     uint64_t now)
{
	struct flow_seg seg;
	int r;

	if (now < e->now)
		now = e->now;
	e->now = now;
	e->frames++;
	r = pcap_decode(linktype, frame, caplen, &seg);
	if (r != PCAP_DEC_OK) {
		if (r > 0 && r < PCAP_DEC__MAX)
			e->decode_fail[r]++;
		return 0;
	}
	return flow_table_input(e->flows, &seg, now) > 0;
}

void
engine_syn_event(struct engine *e, const uint8_t addr[16], uint64_t syns, uint64_t over,
		 uint64_t now)
{
	struct score_syn ev = { .ts_ns = now, .syns = syns, .over = over };

	memcpy(ev.addr, addr, 16);
	if (score_syn(e->score, &ev) > 0)
		e->decide_due = true;
}

size_t
engine_tick(struct engine *e, uint64_t now, struct score_decision *out, size_t max)
{
	if (now < e->now)
		now = e->now;
	e->now = now;
	flow_table_expire(e->flows, now);
	e->decide_due = false;
	return score_decide(e->score, now, out, max);
}

void
engine_flush(struct engine *e, uint64_t now)
{
	if (now < e->now)
		now = e->now;
	e->now = now;
	flow_table_flush(e->flows, now);
}
