/*
 * enforce.c - rules into the kernel, the mirror and the state file
 * (enforce.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "enforce.h"
#include "fleet.h"
#include "log.h"
#include "names.h"
#include "rules_state.h"

#define DECISION_BATCH		64
#define SAVE_RETRY_MAX_MS	60000

static struct rule_set *
list(struct agent *a, bool allow)
{
	return allow ? &a->rules.allow : &a->rules.block;
}

int
enforce_config(struct agent *a)
{
	return kern_write_config(&a->kern, &a->settings, &a->rules);
}

/* Write the state file now.  Logged here, once a failure streak and once
 * when it ends. */
static int
save_now(struct agent *a)
{
	char err[BW_ERR_MAX];
	uint64_t delay;
	int ret;

	ret = rules_save(&a->rules, a->settings.state_dir, err, sizeof(err));
	if (ret == 0) {
		if (a->save_failures)
			log_info("state saved after failures=%u", a->save_failures);
		a->save_failures = 0;
		a->save_retry_ms = 0;
		a->rules_dirty = false;
		return 0;
	}
	if (a->save_failures++ == 0)
		log_err("state save failed err=\"%s\" msg=\"kernel rules stay in force; retrying\"",
			err);
	delay = 1000ULL << (a->save_failures < 7 ? a->save_failures : 7);
	a->save_retry_ms = evloop_now_ms() + (delay < SAVE_RETRY_MAX_MS ? delay : SAVE_RETRY_MAX_MS);
	return ret;
}

int
enforce_save(struct agent *a)
{
	if (!a->rules_dirty)
		return 0;
	if (a->save_retry_ms && evloop_now_ms() < a->save_retry_ms)
		return -EAGAIN;
	return save_now(a);
}

/* Put back what `allow`'s entry for c was before a failed change. */
static void
undo(struct agent *a, bool allow, const struct bw_cidr *c, const struct rule_entry *was,
     uint64_t now)
{
	if (was) {
		rules_put(list(a, allow), was);
		kern_put_rule(&a->kern, allow, was, now);
	} else {
		rules_del(list(a, allow), c);
		kern_del_rule(&a->kern, allow, c);
	}
	enforce_config(a);
}

int
enforce_put(struct agent *a, bool allow, const struct rule_entry *e, enum enforce_persist p)
{
	struct rule_set *s = list(a, allow);
	struct rule_entry *old = rules_find(s, &e->cidr), saved;
	uint64_t now = kern_now_real();
	bool was_dirty = a->rules_dirty;
	int ret;

	if (old)
		saved = *old;
	ret = rules_put(s, e);
	if (ret < 0)
		return ret;
	/* The entry first, then the config that lists its prefix length:
	 * the kernel never probes a length whose entry is not there yet. */
	ret = kern_put_rule(&a->kern, allow, e, now);
	if (ret == 0)
		ret = enforce_config(a);
	if (ret == 0) {
		a->rules_dirty = true;
		if (p == ENFORCE_SAVE_NOW)
			ret = save_now(a);
	}
	if (ret < 0) {
		undo(a, allow, &e->cidr, old ? &saved : NULL, now);
		a->rules_dirty = was_dirty;
	} else if (!allow) {
		fleet_block_put(a, e);
	}
	return ret;
}

int
enforce_del(struct agent *a, bool allow, const struct bw_cidr *c)
{
	return enforce_del_persist(a, allow, c, ENFORCE_SAVE_NOW);
}

int
enforce_del_persist(struct agent *a, bool allow, const struct bw_cidr *c,
		    enum enforce_persist p)
{
	struct rule_set *s = list(a, allow);
	struct rule_entry *old = rules_find(s, c), saved;
	uint64_t now = kern_now_real();
	bool was_dirty = a->rules_dirty;
	int ret;

	if (!old)
		return -ENOENT;
	saved = *old;
	ret = kern_del_rule(&a->kern, allow, c);
	if (ret < 0)
		return ret;
	rules_del(s, c);
	enforce_config(a);
	a->rules_dirty = true;
	ret = p == ENFORCE_SAVE_NOW ? save_now(a) : 0;
	if (ret < 0) {
		rules_put(s, &saved);
		kern_put_rule(&a->kern, allow, &saved, now);
		enforce_config(a);
		a->rules_dirty = was_dirty;
		return ret;
	}
	if (!allow) {
		a->decisions[AGENT_DEC_UNBLOCK]++;
		if (a->engine_up)
			score_release(a->engine.score, c);
	}
	return 0;
}

struct expiry {
	struct agent *a;
	bool allow;
};

static void
expired_one(void *arg, const struct rule_entry *e)
{
	struct expiry *x = arg;
	char cidr[ADDR_CIDR_STRLEN];

	kern_del_rule(&x->a->kern, x->allow, &e->cidr);
	addr_format_cidr(&e->cidr, cidr, sizeof(cidr));
	if (x->allow) {
		log_info("allow expired cidr=%s", cidr);
		return;
	}
	x->a->decisions[AGENT_DEC_UNBLOCK]++;
	log_info("unblock cidr=%s reason=expired action=%s origin=%s", cidr,
		 names_action(e->action), names_origin(e->origin));
}

size_t
enforce_expire(struct agent *a, uint64_t now)
{
	struct expiry x = { a, false };
	size_t n;

	n = rules_expire(&a->rules.block, now, expired_one, &x);
	x.allow = true;
	n += rules_expire(&a->rules.allow, now, expired_one, &x);
	if (n) {
		enforce_config(a);
		a->rules_dirty = true;
	}
	return n;
}

static void
format_trigger(uint64_t ns, char *buf, size_t len)
{
	if (!ns)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, ns / 1000000000, ns % 1000000000);
}

/*
 * One scorer decision.  The allowlist wins (the scorer is told, so it
 * neither counts the offence nor asks again for the TTL); an operator's
 * block is never weakened; everything else becomes a kernel rule with an
 * expiry the kernel enforces itself.
 */
static void
apply_decision(struct agent *a, struct score_decision *d, uint64_t now_ns)
{
	uint64_t now = now_ns / 1000000000ULL;
	const struct rule_entry *allow = rules_match(&a->rules.allow, d->prefix.addr, now);
	const struct rule_entry *old = rules_find(&a->rules.block, &d->prefix);
	uint32_t action = d->action == SCORE_BLOCK ? BW_ACT_BLOCK : BW_ACT_THROTTLE;
	struct rule_entry e = { 0 };
	char cidr[ADDR_CIDR_STRLEN], ttl[32], trig[32];
	int ret;

	addr_format_cidr(&d->prefix, cidr, sizeof(cidr));
	if (allow && addr_cidr_contains(&allow->cidr, &d->prefix)) {
		score_suppressed(a->engine.score, d, now_ns);
		a->decisions_suppressed++;
		log_info("decision suppressed action=%s source=%s reason=allowlisted score=%.0f",
			 names_action(action), cidr, d->score);
		return;
	}
	if (old && old->origin != BW_ORIGIN_SCORER &&
	    (old->action == BW_ACT_BLOCK || action == BW_ACT_THROTTLE))
		return;		/* the operator's (or fleet's) rule is at least as strong */
	e.cidr = d->prefix;
	e.action = action;
	e.origin = BW_ORIGIN_SCORER;
	e.added = now;
	e.expires = now + d->ttl;
	e.offences = d->offences;
	snprintf(e.text, sizeof(e.text), "score %.0f: %s", d->score, d->reason);
	ret = enforce_put(a, false, &e, ENFORCE_SAVE_LATER);
	if (ret < 0) {
		log_err("decision failed action=%s source=%s err=\"%s\"", names_action(action),
			cidr, ret == -E2BIG ? "too many prefix lengths" : strerror(-ret));
		return;
	}
	if (!d->renewal)
		a->decisions[action == BW_ACT_BLOCK ? AGENT_DEC_BLOCK : AGENT_DEC_THROTTLE]++;
	duration_format(d->ttl, ttl, sizeof(ttl));
	format_trigger(d->trigger_ns, trig, sizeof(trig));
	log_info("decision action=%s source=%s ttl=%s score=%.0f threshold=%.0f offences=%u "
		 "renewal=%s mode=%s trigger_ts=%s signals=\"%s\"", names_action(action), cidr,
		 ttl, d->score, d->threshold, d->offences, d->renewal ? "yes" : "no",
		 names_mode(a->settings.mode), trig, d->reason);
}

void
enforce_decisions(struct agent *a, uint64_t now_ns)
{
	struct score_decision d[DECISION_BATCH];
	size_t n;

	if (!a->engine_up)
		return;
	/* Every rule reaches the kernel at once; the state file (an fsync)
	 * is written once for the whole pass, so that a storm deciding on
	 * many sources does not wait a disk flush per source. */
	do {
		n = engine_tick(&a->engine, now_ns, d, DECISION_BATCH);
		for (size_t i = 0; i < n; i++)
			apply_decision(a, &d[i], now_ns);
	} while (n == DECISION_BATCH);
	enforce_save(a);
}
