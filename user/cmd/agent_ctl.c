/*
 * agent_ctl.c - the agent's answers to control requests.
 *
 * Each handler validates against the agent's current state, changes rules
 * only through enforce.c (so a refused change changes nothing), and writes
 * either text or one JSON document.  Exit codes are decided here and
 * nowhere below.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_postfix.h"
#include "enforce.h"
#include "fleet.h"
#include "json.h"
#include "log.h"
#include "names.h"

static const char *const counter_names[BW_CNT_MAX] = {
	[BW_CNT_PACKETS] = "packets",
	[BW_CNT_PASS_UNPARSED] = "pass_unparsed",
	[BW_CNT_PASS_NOT_TCP] = "pass_not_tcp",
	[BW_CNT_PASS_NOT_SMTP] = "pass_not_smtp",
	[BW_CNT_SMTP] = "smtp_packets",
	[BW_CNT_SMTP_SYN] = "smtp_syn",
	[BW_CNT_PASS_ALLOW] = "pass_allow",
	[BW_CNT_DROP_BLOCK] = "drop_block",
	[BW_CNT_DROP_RATELIMIT] = "drop_ratelimit",
	[BW_CNT_DROP_THROTTLE] = "drop_throttle",
	[BW_CNT_WOULD_DROP_BLOCK] = "would_drop_block",
	[BW_CNT_WOULD_DROP_RATELIMIT] = "would_drop_ratelimit",
	[BW_CNT_WOULD_DROP_THROTTLE] = "would_drop_throttle",
	[BW_CNT_EVENTS] = "events",
	[BW_CNT_EVENTS_LOST] = "events_lost",
	[BW_CNT_RATE_MAP_FULL] = "rate_map_full",
	[BW_CNT_NO_CONFIG] = "no_config",
};

static void
status_sampler_json(struct agent *a, FILE *out)
{
	const struct smtp_stats *ss = &a->engine.smtp.stats;
	const struct flow_stats *fs;
	struct score_stats st;

	if (!a->engine_up)
		return;
	fs = flow_table_stats(a->engine.flows);
	score_get_stats(a->engine.score, a->engine.now, &st);
	fprintf(out, ",\"sampler\":{\"frames\":%" PRIu64 ",\"capture_drops\":%" PRIu64
		",\"sampling\":%s,\"flows_kept_per_1024\":%u,\"flows_not_sampled\":%" PRIu64
		",\"flows_active\":%" PRIu64 ",\"sessions\":%" PRIu64
		",\"opaque_sessions\":%" PRIu64 ",\"transactions\":%" PRIu64
		",\"null_sender\":%" PRIu64 ",\"rcpt_total\":%" PRIu64
		",\"rcpt_rejected\":%" PRIu64 ",\"malformed_lines\":%" PRIu64 ",\"stream_gaps\":%" PRIu64 "}",
		a->engine.frames, a->capture_drops,
		a->engine.sample_keep < ENGINE_SAMPLE_ONE ? "true" : "false", a->engine.sample_keep,
		fs->not_admitted, fs->flows_active, ss->sessions, ss->opaque_sessions,
		ss->transactions, ss->null_sender, ss->rcpt_total, ss->rcpt_rejected,
		ss->malformed_lines, fs->gaps);
	fprintf(out, ",\"scorer\":{\"tracked_sources\":%u,\"capacity\":%u,\"evictions\":%" PRIu64
		",\"callouts\":%" PRIu64
		",\"storm_active\":%s,\"storms\":%" PRIu64 ",\"null_rate_per_min\":%.1f"
		",\"null_baseline_per_min\":%.1f,\"storm_on_at_per_min\":%.1f"
		",\"throttle_threshold\":%.1f,\"block_threshold\":%.1f}",
		st.tracked, st.capacity, st.evictions, st.callouts, st.storm_active ? "true" : "false",
		st.storms, st.null_rate_short, st.null_baseline, st.storm_on_at, st.eff_throttle,
		st.eff_block);
}

static void
status_sampler_text(struct agent *a, FILE *out)
{
	const struct smtp_stats *ss = &a->engine.smtp.stats;
	struct score_stats st;

	if (!a->engine_up)
		return;
	score_get_stats(a->engine.score, a->engine.now, &st);
	fprintf(out, "sampler   frames=%" PRIu64 " capture_drops=%" PRIu64 " flows=%u/%u%s\n",
		a->engine.frames, a->capture_drops, a->engine.sample_keep, ENGINE_SAMPLE_ONE,
		a->engine.sample_keep < ENGINE_SAMPLE_ONE ? " (SAMPLING: load exceeds the parser)" : "");
	fprintf(out, "smtp      sessions=%" PRIu64 " opaque=%" PRIu64 " transactions=%" PRIu64
		" null_sender=%" PRIu64 " rcpt=%" PRIu64 " rcpt_rejected=%" PRIu64 "\n",
		ss->sessions, ss->opaque_sessions, ss->transactions, ss->null_sender,
		ss->rcpt_total, ss->rcpt_rejected);
	fprintf(out, "scorer    sources=%u callouts=%" PRIu64 " storm=%s null_rate=%.1f/min baseline=%.1f/min "
		"thresholds=%.0f/%.0f decisions: throttle=%" PRIu64 " block=%" PRIu64
		" unblock=%" PRIu64 " suppressed=%" PRIu64 "\n",
		st.tracked, st.callouts, st.storm_active ? "ACTIVE" : "no", st.null_rate_short,
		st.null_baseline,
		st.eff_throttle, st.eff_block, a->decisions[AGENT_DEC_THROTTLE],
		a->decisions[AGENT_DEC_BLOCK], a->decisions[AGENT_DEC_UNBLOCK],
		a->decisions_suppressed);
}

static int
do_status(struct agent *a, const struct request *r, FILE *out)
{
	uint64_t c[BW_CNT_MAX], now = kern_now_real();
	size_t throttles = rules_count_action(&a->rules.block, BW_ACT_THROTTLE);
	size_t blocks = a->rules.block.n - throttles;
	const char *mode = names_mode(a->settings.mode);

	if (kern_read_stats(&a->kern, c) < 0)
		memset(c, 0, sizeof(c));
	if (r->json) {
		fprintf(out, "{\"version\":\"%s\",\"mode\":\"%s\",\"uptime_seconds\":%" PRIu64
			",\"pinned_maps_adopted\":%s,\"interfaces\":[",
			BW_VERSION, mode, now - a->started,
			a->kern.maps_adopted ? "true" : "false");
		for (unsigned int i = 0; i < a->kern.n_ifaces; i++) {
			const struct kern_iface *f = &a->kern.ifaces[i];

			fprintf(out, "%s{\"name\":", i ? "," : "");
			json_str(out, f->name);
			fprintf(out, ",\"xdp_mode\":\"%s\",\"attach\":\"%s\",\"adopted\":%s}",
				f->mode, kern_attach_name(f->attach), f->adopted ? "true" : "false");
		}
		fputs("],\"kernel\":{", out);
		for (int i = 0; i < BW_CNT_MAX; i++)
			fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", counter_names[i], c[i]);
		fprintf(out, "},\"rules\":{\"blocked\":%zu,\"throttled\":%zu,\"allowed\":%zu}"
			",\"decisions\":{\"throttle\":%" PRIu64 ",\"block\":%" PRIu64
			",\"unblock\":%" PRIu64 ",\"suppressed\":%" PRIu64 "},\"kernel_events\":%" PRIu64,
			blocks, throttles, a->rules.allow.n, a->decisions[AGENT_DEC_THROTTLE],
			a->decisions[AGENT_DEC_BLOCK], a->decisions[AGENT_DEC_UNBLOCK],
			a->decisions_suppressed, a->kernel_events);
		status_sampler_json(a, out);
		postfix_status(out, a, true);
		fputs("}\n", out);
		return 0;
	}
	fprintf(out, "bouncewall %s  mode=%s  uptime=%" PRIu64 "s  maps=%s\n", BW_VERSION,
		mode, now - a->started, a->kern.maps_adopted ? "adopted" : "new");
	for (unsigned int i = 0; i < a->kern.n_ifaces; i++)
		fprintf(out, "interface %-12s xdp=%s attach=%s%s\n", a->kern.ifaces[i].name,
			a->kern.ifaces[i].mode, kern_attach_name(a->kern.ifaces[i].attach),
			a->kern.ifaces[i].adopted ? " (adopted)" : "");
	fprintf(out, "rules     blocked=%zu throttled=%zu allowed=%zu\n", blocks, throttles,
		a->rules.allow.n);
	status_sampler_text(a, out);
	postfix_status(out, a, false);
	fprintf(out, "kernel   ");
	for (int i = 0; i < BW_CNT_MAX; i++)
		fprintf(out, "%s%s=%" PRIu64, i && i % 5 == 0 ? "\n          " : " ",
			counter_names[i], c[i]);
	fputc('\n', out);
	return 0;
}

static void
format_left(uint64_t expires, uint64_t now, char *buf, size_t len)
{
	if (!expires)
		snprintf(buf, len, "never");
	else if (expires <= now)
		snprintf(buf, len, "expired");
	else
		duration_format(expires - now, buf, len);
}

static int
do_list(struct agent *a, const struct request *r, bool allow, FILE *out)
{
	const struct rule_set *s = allow ? &a->rules.allow : &a->rules.block;
	uint64_t now = kern_now_real();
	char cidr[ADDR_CIDR_STRLEN], left[32];

	if (r->json) {
		fprintf(out, "{\"%s\":[", allow ? "allows" : "blocks");
		for (size_t i = 0; i < s->n; i++) {
			const struct rule_entry *e = &s->v[i];

			fputs(i ? ",{\"cidr\":" : "{\"cidr\":", out);
			json_str(out, addr_format_cidr(&e->cidr, cidr, sizeof(cidr)));
			if (allow) {
				fputs(",\"comment\":", out);
				json_str(out, e->text);
				fprintf(out, ",\"added\":%" PRIu64 "}", e->added);
				continue;
			}
			fprintf(out, ",\"action\":\"%s\",\"origin\":\"%s\",\"added\":%" PRIu64,
				names_action(e->action), names_origin(e->origin), e->added);
			if (e->expires)
				fprintf(out, ",\"expires\":%" PRIu64 ",\"ttl_seconds\":%" PRIu64,
					e->expires, e->expires > now ? e->expires - now : 0);
			else
				fputs(",\"expires\":null,\"ttl_seconds\":null", out);
			fprintf(out, ",\"offences\":%u,\"reason\":", e->offences);
			json_str(out, e->text);
			fputc('}', out);
		}
		fputs("]}\n", out);
		return 0;
	}
	if (allow)
		fprintf(out, "%-43s %s\n", "CIDR", "COMMENT");
	else
		fprintf(out, "%-43s %-8s %-9s %-8s %s\n", "CIDR", "ACTION", "EXPIRES", "ORIGIN",
			"REASON");
	for (size_t i = 0; i < s->n; i++) {
		const struct rule_entry *e = &s->v[i];

		addr_format_cidr(&e->cidr, cidr, sizeof(cidr));
		if (allow) {
			fprintf(out, "%-43s %s\n", cidr, e->text);
			continue;
		}
		format_left(e->expires, now, left, sizeof(left));
		fprintf(out, "%-43s %-8s %-9s %-8s %s\n", cidr, names_action(e->action), left,
			names_origin(e->origin), e->text);
	}
	return 0;
}

/* The operator's words for what enforce_put()/enforce_del() refused. */
static int
refused(struct agent *a, FILE *out, const char *what, const char *cidr, bool allow,
	const struct bw_cidr *c, int err)
{
	switch (err) {
	case -E2BIG:
		fprintf(out, "cannot %s %s: the %s list already uses %d distinct prefix lengths for %s\n",
			what, cidr, allow ? "allow" : "block", BW_MAX_PLENS,
			addr_is_v4(c->addr) ? "IPv4" : "IPv6");
		return 2;
	case -ENOSPC:
		fprintf(out, "cannot %s %s: the %s list is full (max_rules %zu)\n", what, cidr,
			allow ? "allow" : "block", rules_max(allow ? &a->rules.allow : &a->rules.block));
		return 1;
	default:
		fprintf(out, "cannot %s %s: %s; nothing changed\n", what, cidr, strerror(-err));
		return 1;
	}
}

static int
do_rule_add(struct agent *a, const struct request *r, bool allow, FILE *out)
{
	struct rule_entry e = { 0 };
	char cidr[ADDR_CIDR_STRLEN], ttl[32];
	int ret;

	e.cidr = r->cidr;
	e.added = kern_now_real();
	e.origin = BW_ORIGIN_OPERATOR;
	e.action = allow ? 0 : BW_ACT_BLOCK;
	e.expires = r->ttl ? e.added + r->ttl : 0;
	snprintf(e.text, sizeof(e.text), "%s", r->text);
	addr_format_cidr(&e.cidr, cidr, sizeof(cidr));
	ret = enforce_put(a, allow, &e, ENFORCE_SAVE_NOW);
	if (ret < 0)
		return refused(a, out, "add", cidr, allow, &e.cidr, ret);
	if (allow) {
		log_info("allow add cidr=%s", cidr);
		fprintf(out, "allowed %s\n", cidr);
		return 0;
	}
	if (r->ttl)
		duration_format(r->ttl, ttl, sizeof(ttl));
	log_info("block add cidr=%s ttl=%s origin=operator", cidr, r->ttl ? ttl : "never");
	fprintf(out, "blocked %s%s%s\n", cidr, r->ttl ? " for " : "", r->ttl ? ttl : "");
	if (rules_match(&a->rules.allow, e.cidr.addr, e.added))
		fprintf(out, "note: %s is allowlisted; the allowlist wins\n", cidr);
	return 0;
}

static int
do_rule_del(struct agent *a, const struct request *r, bool allow, FILE *out)
{
	char cidr[ADDR_CIDR_STRLEN];
	const struct rule_entry *old = allow ? NULL : rules_find(&a->rules.block, &r->cidr);
	bool ours = old && (old->origin == BW_ORIGIN_SCORER || old->origin == BW_ORIGIN_OPERATOR);
	int ret;

	addr_format_cidr(&r->cidr, cidr, sizeof(cidr));
	ret = enforce_del(a, allow, &r->cidr);
	if (ret == -ENOENT) {
		fprintf(out, "no %s entry for %s\n", allow ? "allow" : "block", cidr);
		return 1;
	}
	if (ret < 0)
		return refused(a, out, "delete", cidr, allow, &r->cidr, ret);
	log_info("%s del cidr=%s", allow ? "allow" : "block", cidr);
	fprintf(out, "deleted %s\n", cidr);
	if (ours)
		fleet_block_retract(a, &r->cidr);	/* the fleet lifts it too */
	return 0;
}

static int
do_threshold(struct agent *a, const struct request *r, FILE *out)
{
	char val[PATH_MAX], err[BW_ERR_MAX];
	struct bw_settings next;
	int ret;
	size_t n;
	const struct setting_desc *t = settings_table(&n);

	switch (r->cmd) {
	case REQ_THRESHOLD_LIST:
		if (r->json)
			fputs("{\"thresholds\":[", out);
		for (size_t i = 0; i < n; i++) {
			settings_get(&a->settings, t[i].name, val, sizeof(val));
			if (!r->json) {
				fprintf(out, "%-18s %-24s %s\n", t[i].name, val,
					t[i].live ? "live" : "restart");
				continue;
			}
			fprintf(out, "%s{\"name\":\"%s\",\"value\":", i ? "," : "", t[i].name);
			json_str(out, val);
			fputs(",\"default\":", out);
			json_str(out, t[i].default_value);
			fprintf(out, ",\"live\":%s,\"help\":", t[i].live ? "true" : "false");
			json_str(out, t[i].help);
			fputc('}', out);
		}
		if (r->json)
			fputs("]}\n", out);
		return 0;
	case REQ_THRESHOLD_GET:
		settings_get(&a->settings, r->name, val, sizeof(val));
		fprintf(out, "%s\n", val);
		return 0;
	default:
		break;
	}
	next = a->settings;
	if (settings_set(&next, r->name, r->value, err, sizeof(err)) < 0 ||
	    settings_validate(&next, err, sizeof(err)) < 0) {
		fprintf(out, "%s\n", err);
		return 2;
	}
	/* The kernel first: when it refuses, nothing changed anywhere. */
	ret = kern_write_config(&a->kern, &next, &a->rules);
	if (ret < 0) {
		fprintf(out, "kernel refused the new config: %s; nothing changed\n", strerror(-ret));
		return 1;
	}
	a->settings = next;
	if (a->engine_up)
		engine_settings_changed(&a->engine);
	settings_get(&a->settings, r->name, val, sizeof(val));
	log_info("threshold set name=%s value=%s", r->name, val);
	fprintf(out, "%s = %s\n", r->name, val);
	return 0;
}

/* Sources as the scorer sees them, highest score first, each with the
 * signals that make its score. */
static int
do_top(struct agent *a, const struct request *r, FILE *out)
{
	struct score_view *v = calloc(r->top_n, sizeof(*v));
	uint64_t now = a->engine.now;
	char cidr[ADDR_CIDR_STRLEN], why[SCORE_REASON_MAX];
	size_t n;

	if (!v) {
		fprintf(out, "out of memory\n");
		return 1;
	}
	n = a->engine_up ? score_top(a->engine.score, now, v, r->top_n) : 0;
	if (r->json)
		fputs("{\"sources\":[", out);
	else
		fprintf(out, "%-43s %6s %-8s %-8s %s\n", "SOURCE", "SCORE", "VERDICT", "IN_FORCE",
			"SIGNALS");
	for (size_t i = 0; i < n; i++) {
		addr_format_cidr(&v[i].prefix, cidr, sizeof(cidr));
		if (!r->json) {
			fprintf(out, "%-43s %6.1f %-8s %-8s %s%s\n", cidr, v[i].score,
				score_verdict_name(v[i].verdict), score_verdict_name(v[i].in_force),
				score_reason(&v[i], why, sizeof(why)),
				v[i].veto == SCORE_VETO_MIXED ?
				" [mixed: mostly ordinary mail; per message only]" :
				v[i].veto == SCORE_VETO_FEW && v[i].score >= a->settings.score_throttle ?
				" [few bounces; per message only]" : "");
			continue;
		}
		fprintf(out, "%s{\"source\":\"%s\",\"score\":%.1f,\"verdict\":\"%s\","
			"\"in_force\":\"%s\",\"veto\":\"%s\",\"offences\":%u,\"signals\":{",
			i ? "," : "", cidr, v[i].score, score_verdict_name(v[i].verdict),
			score_verdict_name(v[i].in_force), score_veto_name(v[i].veto),
			v[i].offences);
		for (int k = 0; k < SIG_COUNT; k++)
			fprintf(out, "%s\"%s\":{\"value\":%.3f,\"points\":%.1f}", k ? "," : "",
				v[i].sig[k].name, v[i].sig[k].value, v[i].sig[k].points);
		fputs("}}", out);
	}
	if (r->json)
		fputs("]}\n", out);
	free(v);
	return 0;
}

int
agent_handle(struct agent *a, const struct request *r, FILE *out)
{
	char err[BW_ERR_MAX];

	switch (r->cmd) {
	case REQ_STATUS:
		return do_status(a, r, out);
	case REQ_TOP:
		return do_top(a, r, out);
	case REQ_BLOCK_ADD:
		return do_rule_add(a, r, false, out);
	case REQ_ALLOW_ADD:
		return do_rule_add(a, r, true, out);
	case REQ_BLOCK_DEL:
		return do_rule_del(a, r, false, out);
	case REQ_ALLOW_DEL:
		return do_rule_del(a, r, true, out);
	case REQ_BLOCK_LIST:
		return do_list(a, r, false, out);
	case REQ_ALLOW_LIST:
		return do_list(a, r, true, out);
	case REQ_THRESHOLD_LIST:
	case REQ_THRESHOLD_GET:
	case REQ_THRESHOLD_SET:
		return do_threshold(a, r, out);
	case REQ_DETACH:
		if (kern_detach(&a->kern, r->ifname) < 0) {
			fprintf(out, "not attached to %s\n", r->ifname);
			return 1;
		}
		fprintf(out, "detached %s\n", r->ifname);
		return 0;
	case REQ_LEDGER:
		return postfix_ledger_show(out, a, r->address, r->json);
	case REQ_RELOAD:
		if (agent_reload(a, err, sizeof(err)) < 0) {
			fprintf(out, "%s\n", err);
			return 2;
		}
		fprintf(out, "reloaded %s\n", a->config_path);
		return 0;
	}
	return 2;
}
