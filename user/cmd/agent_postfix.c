/*
 * agent_postfix.c - the policy service and the BATV socketmap (agent_postfix.h).
 *
 * Every RCPT request is judged (core/bounce_check.c) and answered at once;
 * what Postfix learns nothing from (an error of ours) is DUNNO, never OK.
 * Recipients of sessions that went STARTTLS are fed to the scorer from
 * here: the wire shows the sampler nothing of them.  Cleartext sessions
 * are scored from the wire (which also sees our server's answers), so no
 * transaction is counted twice.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <time.h>

#include "agent_postfix.h"
#include "batv.h"
#include "bounce_check.h"
#include "json.h"
#include "ledger_state.h"
#include "log.h"
#include "names.h"
#include "netstring.h"
#include "policy_req.h"
#include "text.h"

#define LAT_BUCKETS		12
#define LEDGER_SAVE_MS		60000
#define DOMAIN_REFRESH_MS	10000

/* Upper bounds of the answer-time histogram, seconds. */
static const double lat_le[LAT_BUCKETS] = {
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
};

enum pf_error {
	PFE_MALFORMED,		/* a request we could not parse */
	PFE_OVERSIZED,		/* longer than POLICY_REQUEST_MAX */
	PFE_UNKNOWN_ATTR,	/* attributes we do not know (ignored) */
	PFE_BAD_CLIENT,		/* client_address not an address */
	PFE_SOCKETMAP,		/* a socketmap query we could not parse */
	PFE_MAX
};

static const char *const pf_error_name[PFE_MAX] = {
	"malformed", "oversized", "unknown_attribute", "bad_client_address", "socketmap",
};

enum sm_result { SM_OK, SM_NOTFOUND, SM_PERM, SM_MAX };

struct postfix_svc {
	struct conn_server *policy;
	struct conn_server *socketmap;
	uint64_t actions[POLICY_ACTION_MAX];
	uint64_t bounces[BOUNCE_VERDICT_MAX];
	uint64_t errors[PFE_MAX];
	unsigned int logged;		/* error causes already logged */
	uint64_t lat[LAT_BUCKETS + 1];
	uint64_t lat_count;
	double lat_sum;
	uint64_t sm[2][SM_MAX];		/* [batv, unbatv][result] */
	uint64_t signed_total;
	uint64_t sasl_sends;
	uint64_t tls_fed;		/* recipients fed to the scorer */
	uint64_t dom_bounces[BW_MAX_DOMAINS];	/* every bounce seen, by domain */
	uint64_t dom_refused[BW_MAX_DOMAINS];
	/* per domain, within sent_window, from the ledger (refreshed) */
	uint64_t dom_sent_win[BW_MAX_DOMAINS], dom_bounced_win[BW_MAX_DOMAINS];
	uint64_t dom_refresh_ms;
	uint64_t ledger_mark;		/* sends + bounces at the last save */
	uint64_t ledger_saved_ms;
};

/* One policy connection: the transaction its last request belonged to. */
struct policy_client {
	char instance[64];
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
count_error(struct postfix_svc *pf, enum pf_error e, const char *detail)
{
	char shown[TEXT_SHOWN_BUF];

	pf->errors[e]++;
	if (pf->logged & (1u << e))
		return;
	pf->logged |= 1u << e;
	log_warn("postfix cause=%s detail=\"%s\" msg=\"%s; logged once\"", pf_error_name[e],
		 text_shown(shown, detail, strlen(detail)),
		 e == PFE_UNKNOWN_ATTR ? "ignored, the request judged without it" :
		 e == PFE_BAD_CLIENT ? "judged without the client" :
		 e == PFE_SOCKETMAP ? "answered PERM or hung up" : "answered DUNNO");
}

static int
domain_index(const struct bw_settings *s, const char *addr)
{
	const char *at = strrchr(addr, '@');

	for (unsigned int i = 0; at && i < s->n_domains; i++)
		if (strcasecmp(at + 1, s->protected_domains[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- the policy service ---- */

/* Recipients of a STARTTLS session: the scorer's only view of them. */
static void
feed_scorer(struct agent *a, struct policy_client *pc, const struct policy_req *r,
	    const uint8_t client[16], const struct bounce_judgement *j, uint64_t now_ns)
{
	struct score_tx tx = { 0 };
	int unverified = -1;

	tx.ts_ns = now_ns;
	memcpy(tx.client, client, 16);
	tx.sender = r->sender[0] == '\0' ? SCORE_SENDER_NULL :
		    bounce_sender(r->sender) ? SCORE_SENDER_BOUNCE_LOCAL : SCORE_SENDER_NORMAL;
	tx.continued = r->instance[0] && strcmp(pc->instance, r->instance) == 0;
	tx.rcpts = 1;
	if (j->verdict != BOUNCE_NOT)
		unverified = engine_bounce_unverified(&a->engine, r->recipient, now_ns);
	tx.rcpt_checked = unverified >= 0;
	tx.rcpt_unverified = unverified > 0;
	engine_tx(&a->engine, &tx);
	a->pf->tls_fed++;
}

/* Judge one parsed RCPT request; returns the action taken. */
static enum policy_action
judge(struct agent *a, struct policy_client *pc, const struct policy_req *r, char *text,
      size_t len)
{
	struct postfix_svc *pf = a->pf;
	const struct bw_settings *s = &a->settings;
	uint64_t now_ns = real_ns(), now = now_ns / 1000000000ULL;
	struct bounce_judgement j;
	struct bounce_input in = { .sender = r->sender, .rcpt = r->recipient, .now = now };
	uint8_t client[16];
	bool have_client = addr_parse(r->client_address, client) == 0;
	int d;

	if (!have_client)
		count_error(pf, PFE_BAD_CLIENT, r->client_address);
	in.storm = score_storm_active(a->engine.score);
	in.throttled = have_client && rules_match(&a->rules.block, client, now);
	bounce_judge(s, a->engine.ledger, &in, &j);
	bounce_record(a->engine.ledger, &j, now);
	if (j.verdict != BOUNCE_NOT) {
		pf->bounces[j.verdict]++;
		d = domain_index(s, j.original);
		if (d >= 0) {
			pf->dom_bounces[d]++;
			pf->dom_refused[d] += j.action == POLICY_REJECT;
		}
	} else if (r->sasl_username[0] && !s->n_batv_keys &&
		   bounce_domain_protected(s, r->sender) &&
		   ledger_send(a->engine.ledger, r->sender, now) == 0) {
		/* An authenticated submission is a send (with BATV keys the
		 * signing socketmap counts it instead: never twice). */
		pf->sasl_sends++;
	}
	if (have_client && r->encryption_protocol[0] && !engine_is_relay(&a->engine, client))
		feed_scorer(a, pc, r, client, &j, now_ns);
	snprintf(pc->instance, sizeof(pc->instance), "%s", r->instance);
	bounce_action_text(&j, r->recipient, text, len);
	if (j.action == POLICY_REJECT)
		log_debug("policy reject client=%s rcpt_domain=%s why=\"%s\"", r->client_address,
			  j.original ? strrchr(j.original, '@') + 1 : "-", bounce_why_name(j.why));
	return j.action;
}

static void
observe_latency(struct postfix_svc *pf, uint64_t t0)
{
	double secs = (double)(mono_ns() - t0) / 1e9;
	int b = 0;

	while (b < LAT_BUCKETS && secs > lat_le[b])
		b++;
	pf->lat[b]++;
	pf->lat_count++;
	pf->lat_sum += secs;
}

static void
policy_answer(struct conn *c, const char *action)
{
	char out[600];
	int n = snprintf(out, sizeof(out), "action=%s\n\n", action);

	if (n < 0 || (size_t)n >= sizeof(out))
		n = snprintf(out, sizeof(out), "action=DUNNO\n\n");
	conn_write(c, out, (size_t)n);
}

static int
policy_input(struct conn *c, void *arg)
{
	struct agent *a = arg;
	struct postfix_svc *pf = a->pf;
	struct policy_client *pc = conn_get_user(c);
	struct policy_req *r;
	enum policy_action act = POLICY_ERROR;
	char text[512] = "DUNNO";
	const char *why, *in;
	size_t len, n;
	uint64_t t0 = mono_ns();

	in = conn_in(c, &len);
	n = policy_request_len(in, len);
	if (!n)
		return 0;
	if (!pc) {
		pc = calloc(1, sizeof(*pc));
		if (!pc)
			return -1;
		conn_set_user(c, pc);
	}
	r = malloc(sizeof(*r));
	if (!r) {
		act = POLICY_ERROR;
	} else if (policy_parse(in, n, r, &why) < 0) {
		count_error(pf, PFE_MALFORMED, why);
	} else {
		if (r->unknown)
			count_error(pf, PFE_UNKNOWN_ATTR, r->first_unknown);
		act = strcmp(r->protocol_state, "RCPT") == 0 ?
		      judge(a, pc, r, text, sizeof(text)) : POLICY_DUNNO;
	}
	free(r);
	policy_answer(c, act == POLICY_ERROR ? "DUNNO" : text);
	conn_consume(c, n);
	pf->actions[act]++;
	observe_latency(pf, t0);
	return 0;
}

/* A request longer than POLICY_REQUEST_MAX: answer DUNNO and hang up
 * (Postfix reconnects); we cannot tell where it ends. */
static int
policy_overflow(struct conn *c, void *arg)
{
	struct agent *a = arg;
	size_t len;

	conn_in(c, &len);
	conn_consume(c, len);
	count_error(a->pf, PFE_OVERSIZED, "request over the size limit");
	a->pf->actions[POLICY_ERROR]++;
	policy_answer(c, "DUNNO");
	conn_close_after_write(c);
	return 0;
}

static void
policy_closed(struct conn *c, void *arg)
{
	free(conn_get_user(c));
	conn_set_user(c, NULL);
}

static const struct conn_proto policy_proto = {
	.name = "policy",
	.in_max = POLICY_REQUEST_MAX,
	.out_max = 64 * 1024,
	.request_ms = POLICY_REQUEST_MS,
	.idle_ms = POLICY_IDLE_MS,
	.write_ms = POLICY_WRITE_MS,
	.max_clients = POLICY_CLIENTS_MAX,
	.input = policy_input,
	.overflow = policy_overflow,
	.closed = policy_closed,
};

/* ---- the socketmap ---- */

/* `batv KEY`: sign an envelope sender of ours; the signing is the send. */
static enum sm_result
sm_batv(struct agent *a, const char *key, char *val, size_t vlen)
{
	const struct bw_settings *s = &a->settings;
	const struct bw_batv_key *k = &s->batv_keys[0];
	uint64_t now = real_ns() / 1000000000ULL;

	if (!s->n_batv_keys || !key[0] || bounce_sender(key) || batv_original(key) ||
	    !bounce_domain_protected(s, key))
		return SM_NOTFOUND;
	if (batv_sign(k->secret, strlen(k->secret), k->digit, key, batv_day(now), val, vlen) < 0)
		return SM_NOTFOUND;
	ledger_send(a->engine.ledger, key, now);
	a->pf->signed_total++;
	return SM_OK;
}

/* `unbatv KEY`: a validly tagged recipient of ours, without its tag. */
static enum sm_result
sm_unbatv(struct agent *a, const char *key, char *val, size_t vlen)
{
	const struct bw_settings *s = &a->settings;
	struct bounce_judgement j;
	struct bounce_input in = { .sender = "", .rcpt = key,
				   .now = real_ns() / 1000000000ULL };

	if (!s->n_batv_keys)
		return SM_NOTFOUND;
	bounce_judge(s, a->engine.ledger, &in, &j);
	if (j.verdict != BOUNCE_TAGGED || !j.original)
		return SM_NOTFOUND;
	snprintf(val, vlen, "%s", j.original);
	return SM_OK;
}

static int
socketmap_input(struct conn *c, void *arg)
{
	struct agent *a = arg;
	char query[SOCKETMAP_QUERY_MAX + 1], val[BATV_SIGNED_MAX + 8], reply[BATV_SIGNED_MAX + 32];
	char framed[BATV_SIGNED_MAX + 48];
	const char *in, *data, *sp;
	size_t len, dlen;
	enum sm_result res = SM_PERM;
	int table = 0;
	long n;

	in = conn_in(c, &len);
	n = netstring_parse(in, len, SOCKETMAP_QUERY_MAX, &data, &dlen);
	if (n == 0)
		return 0;
	if (n < 0) {
		count_error(a->pf, PFE_SOCKETMAP, n == -E2BIG ? "query too long" : "not a netstring");
		return -1;	/* the framing is lost: hang up */
	}
	memcpy(query, data, dlen);
	query[dlen] = '\0';
	conn_consume(c, (size_t)n);
	sp = strchr(query, ' ');
	val[0] = '\0';
	if (sp && sp - query == 4 && memcmp(query, "batv", 4) == 0) {
		res = sm_batv(a, sp + 1, val, sizeof(val));
	} else if (sp && sp - query == 6 && memcmp(query, "unbatv", 6) == 0) {
		table = 1;
		res = sm_unbatv(a, sp + 1, val, sizeof(val));
	} else {
		count_error(a->pf, PFE_SOCKETMAP, "unknown table");
	}
	a->pf->sm[table][res]++;
	snprintf(reply, sizeof(reply), "%s", res == SM_OK ? "OK " : res == SM_NOTFOUND ?
		 "NOTFOUND " : "PERM unknown table");
	if (res == SM_OK)
		strncat(reply, val, sizeof(reply) - strlen(reply) - 1);
	n = netstring_format(framed, sizeof(framed), reply, strlen(reply));
	if (n > 0)
		conn_write(c, framed, (size_t)n);
	return 0;
}

static const struct conn_proto socketmap_proto = {
	.name = "socketmap",
	.in_max = SOCKETMAP_QUERY_MAX + 16,
	.out_max = 64 * 1024,
	.request_ms = POLICY_REQUEST_MS,
	.idle_ms = POLICY_IDLE_MS,
	.write_ms = POLICY_WRITE_MS,
	.max_clients = POLICY_CLIENTS_MAX,
	.input = socketmap_input,
};

/* ---- life cycle ---- */

static int
serve(struct agent *a, const char *spec, const struct conn_proto *p, struct conn_server **out)
{
	int fd, ret;

	if (strcmp(spec, "off") == 0)
		return 0;
	fd = conn_listen(spec, 0660);
	if (fd < 0) {
		log_err("%s listen=%s err=\"%s\"", p->name, spec, strerror(-fd));
		return fd;
	}
	ret = conn_serve(out, a->loop, fd, p, a);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	log_info("%s listen=%s", p->name, spec);
	return 0;
}

static void
load_ledger(struct agent *a)
{
	char err[BW_ERR_MAX];
	unsigned int bad;
	struct ledger_stats st;

	if (ledger_load(a->engine.ledger, a->settings.state_dir, real_ns() / 1000000000ULL, &bad,
			err, sizeof(err)) < 0) {
		log_warn("ledger load failed err=\"%s\" msg=\"starting with an empty ledger\"", err);
		return;
	}
	ledger_get_stats(a->engine.ledger, &st);
	if (bad)
		log_warn("ledger lines skipped=%u path=%s/%s", bad, a->settings.state_dir,
			 LEDGER_FILE);
	if (st.addresses)
		log_info("ledger restored addresses=%u", st.addresses);
}

int
postfix_start(struct agent *a)
{
	int ret;

	a->pf = calloc(1, sizeof(*a->pf));
	if (!a->pf)
		return -ENOMEM;
	load_ledger(a);
	a->pf->ledger_saved_ms = evloop_now_ms();
	ret = serve(a, a->settings.policy_listen, &policy_proto, &a->pf->policy);
	if (ret == 0)
		ret = serve(a, a->settings.socketmap_listen, &socketmap_proto, &a->pf->socketmap);
	return ret;
}

void
postfix_stop(struct agent *a)
{
	if (!a->pf)
		return;
	conn_server_free(a->pf->policy);
	conn_server_free(a->pf->socketmap);
	free(a->pf);
	a->pf = NULL;
}

void
postfix_save_ledger(struct agent *a, bool force)
{
	struct ledger_stats st;
	char err[BW_ERR_MAX];
	uint64_t mark, now_ms = evloop_now_ms();

	if (!a->pf || !a->engine_up)
		return;
	ledger_get_stats(a->engine.ledger, &st);
	mark = st.sends_total + st.bounces_total + st.evictions;
	if (mark == a->pf->ledger_mark || (!force && now_ms - a->pf->ledger_saved_ms < LEDGER_SAVE_MS))
		return;
	a->pf->ledger_saved_ms = now_ms;
	if (ledger_save(a->engine.ledger, a->settings.state_dir, real_ns() / 1000000000ULL, err,
			sizeof(err)) < 0) {
		log_err("ledger save failed err=\"%s\"", err);
		return;
	}
	a->pf->ledger_mark = mark;
}

/* ---- what the operator reads ---- */

const struct conn_stats *
postfix_policy_stats(const struct agent *a)
{
	return a->pf && a->pf->policy ? conn_server_stats(a->pf->policy) : NULL;
}

const struct conn_stats *
postfix_socketmap_stats(const struct agent *a)
{
	return a->pf && a->pf->socketmap ? conn_server_stats(a->pf->socketmap) : NULL;
}

struct domain_sum {
	const struct bw_settings *s;
	struct postfix_svc *pf;
};

static void
sum_domain(void *arg, const char *addr, const struct ledger_view *v)
{
	struct domain_sum *x = arg;
	int d = domain_index(x->s, addr);

	if (d < 0)
		return;
	x->pf->dom_sent_win[d] += v->sends;
	x->pf->dom_bounced_win[d] += v->bounces;
}

/* Per protected domain, sends and accepted bounces within the window:
 * a walk of the ledger, so at most every DOMAIN_REFRESH_MS. */
static void
refresh_domains(const struct agent *a)
{
	struct postfix_svc *pf = a->pf;
	struct domain_sum x = { &a->settings, pf };
	uint64_t now_ms = evloop_now_ms();

	if (pf->dom_refresh_ms && now_ms - pf->dom_refresh_ms < DOMAIN_REFRESH_MS)
		return;
	pf->dom_refresh_ms = now_ms;
	memset(pf->dom_sent_win, 0, sizeof(pf->dom_sent_win));
	memset(pf->dom_bounced_win, 0, sizeof(pf->dom_bounced_win));
	ledger_walk(a->engine.ledger, real_ns() / 1000000000ULL, sum_domain, &x);
}

void
postfix_metrics(FILE *f, const struct agent *a)
{
	const struct postfix_svc *pf = a->pf;
	static const char *const sm_result_name[SM_MAX] = { "ok", "notfound", "perm" };
	static const char *const sm_table[2] = { "batv", "unbatv" };
	struct ledger_stats ls;
	uint64_t cum = 0;

	if (!pf || !a->engine_up)
		return;
	refresh_domains(a);
	fputs("# HELP bouncewall_policy_requests_total Policy requests answered, by action.\n"
	      "# TYPE bouncewall_policy_requests_total counter\n", f);
	for (int i = 0; i < POLICY_ACTION_MAX; i++)
		fprintf(f, "bouncewall_policy_requests_total{action=\"%s\"} %" PRIu64 "\n",
			policy_action_name(i), pf->actions[i]);
	fputs("# HELP bouncewall_policy_request_duration_seconds Time to answer Postfix, from the request's last byte.\n"
	      "# TYPE bouncewall_policy_request_duration_seconds histogram\n", f);
	for (int i = 0; i < LAT_BUCKETS; i++) {
		cum += pf->lat[i];
		fprintf(f, "bouncewall_policy_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			lat_le[i], cum);
	}
	fprintf(f, "bouncewall_policy_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		"bouncewall_policy_request_duration_seconds_sum %.9f\n"
		"bouncewall_policy_request_duration_seconds_count %" PRIu64 "\n",
		pf->lat_count, pf->lat_sum, pf->lat_count);
	fputs("# HELP bouncewall_policy_errors_total Requests answered DUNNO for want of sense, by cause.\n"
	      "# TYPE bouncewall_policy_errors_total counter\n", f);
	for (int i = 0; i < PFE_MAX; i++)
		fprintf(f, "bouncewall_policy_errors_total{cause=\"%s\"} %" PRIu64 "\n",
			pf_error_name[i], pf->errors[i]);
	fputs("# HELP bouncewall_bounces_total Bounces to protected domains the policy service judged.\n"
	      "# TYPE bouncewall_bounces_total counter\n", f);
	for (int v = BOUNCE_TAGGED; v < BOUNCE_VERDICT_MAX; v++)
		fprintf(f, "bouncewall_bounces_total{verdict=\"%s\"} %" PRIu64 "\n",
			bounce_verdict_name(v), pf->bounces[v]);
	fprintf(f, "# HELP bouncewall_outbound_signed_total Envelope senders signed (sends learned).\n"
		"# TYPE bouncewall_outbound_signed_total counter\n"
		"bouncewall_outbound_signed_total %" PRIu64 "\n", pf->signed_total);
	fputs("# HELP bouncewall_socketmap_requests_total Socketmap queries, by table and result.\n"
	      "# TYPE bouncewall_socketmap_requests_total counter\n", f);
	for (int t = 0; t < 2; t++)
		for (int r = 0; r < SM_MAX; r++)
			fprintf(f, "bouncewall_socketmap_requests_total{table=\"%s\",result=\"%s\"} %" PRIu64 "\n",
				sm_table[t], sm_result_name[r], pf->sm[t][r]);
	ledger_get_stats(a->engine.ledger, &ls);
	fprintf(f, "# HELP bouncewall_ledger_addresses Local addresses the sent ledger tracks.\n"
		"# TYPE bouncewall_ledger_addresses gauge\nbouncewall_ledger_addresses %u\n"
		"# HELP bouncewall_ledger_evictions_total Addresses evicted from the full ledger.\n"
		"# TYPE bouncewall_ledger_evictions_total counter\nbouncewall_ledger_evictions_total %" PRIu64 "\n"
		"# HELP bouncewall_ledger_sends_total Sends the ledger learned.\n"
		"# TYPE bouncewall_ledger_sends_total counter\nbouncewall_ledger_sends_total %" PRIu64 "\n",
		ls.addresses, ls.evictions, ls.sends_total);
	if (!a->settings.n_domains)
		return;
	fputs("# HELP bouncewall_domain_sent Messages a protected domain sent within sent_window (ledger).\n"
	      "# TYPE bouncewall_domain_sent gauge\n", f);
	for (unsigned int d = 0; d < a->settings.n_domains; d++)
		fprintf(f, "bouncewall_domain_sent{domain=\"%s\"} %" PRIu64 "\n",
			a->settings.protected_domains[d], pf->dom_sent_win[d]);
	fputs("# HELP bouncewall_domain_bounces_total Bounces to a protected domain the policy service saw.\n"
	      "# TYPE bouncewall_domain_bounces_total counter\n", f);
	for (unsigned int d = 0; d < a->settings.n_domains; d++)
		fprintf(f, "bouncewall_domain_bounces_total{domain=\"%s\"} %" PRIu64 "\n",
			a->settings.protected_domains[d], pf->dom_bounces[d]);
	fputs("# HELP bouncewall_domain_bounces_refused_total Of those, refused per message.\n"
	      "# TYPE bouncewall_domain_bounces_refused_total counter\n", f);
	for (unsigned int d = 0; d < a->settings.n_domains; d++)
		fprintf(f, "bouncewall_domain_bounces_refused_total{domain=\"%s\"} %" PRIu64 "\n",
			a->settings.protected_domains[d], pf->dom_refused[d]);
}

void
postfix_status(FILE *out, const struct agent *a, bool json)
{
	const struct postfix_svc *pf = a->pf;
	const struct bw_settings *s = &a->settings;
	struct ledger_stats ls;

	if (!pf || !a->engine_up)
		return;
	refresh_domains(a);
	ledger_get_stats(a->engine.ledger, &ls);
	if (!json) {
		fprintf(out, "policy    listen=%s requests: dunno=%" PRIu64 " reject=%" PRIu64
			" defer=%" PRIu64 " error=%" PRIu64 " bounces: tagged=%" PRIu64
			" plausible=%" PRIu64 " unverifiable=%" PRIu64 " policy=%s\n",
			s->policy_listen, pf->actions[POLICY_DUNNO], pf->actions[POLICY_REJECT],
			pf->actions[POLICY_DEFER], pf->actions[POLICY_ERROR],
			pf->bounces[BOUNCE_TAGGED], pf->bounces[BOUNCE_PLAUSIBLE],
			pf->bounces[BOUNCE_UNVERIFIABLE], names_bounce_policy(s->bounce_policy));
		fprintf(out, "ledger    addresses=%u/%u evictions=%" PRIu64 " signed=%" PRIu64
			" socketmap=%s\n", ls.addresses, ls.capacity, ls.evictions,
			pf->signed_total, s->socketmap_listen);
		for (unsigned int d = 0; d < s->n_domains; d++)
			fprintf(out, "domain    %s sent=%" PRIu64 " bounces=%" PRIu64
				" refused=%" PRIu64 "%s\n", s->protected_domains[d],
				pf->dom_sent_win[d], pf->dom_bounces[d], pf->dom_refused[d],
				pf->dom_bounces[d] > pf->dom_sent_win[d] ?
				"  (bounces exceed sent)" : "");
		return;
	}
	fprintf(out, ",\"policy\":{\"listen\":");
	json_str(out, s->policy_listen);
	fprintf(out, ",\"bounce_policy\":\"%s\",\"requests\":{", names_bounce_policy(s->bounce_policy));
	for (int i = 0; i < POLICY_ACTION_MAX; i++)
		fprintf(out, "%s\"%s\":%" PRIu64, i ? "," : "", policy_action_name(i), pf->actions[i]);
	fputs("},\"bounces\":{", out);
	for (int v = BOUNCE_TAGGED; v < BOUNCE_VERDICT_MAX; v++)
		fprintf(out, "%s\"%s\":%" PRIu64, v > BOUNCE_TAGGED ? "," : "",
			bounce_verdict_name(v), pf->bounces[v]);
	fprintf(out, "}},\"ledger\":{\"addresses\":%u,\"capacity\":%u,\"evictions\":%" PRIu64
		",\"signed\":%" PRIu64 ",\"domains\":[", ls.addresses, ls.capacity, ls.evictions,
		pf->signed_total);
	for (unsigned int d = 0; d < s->n_domains; d++) {
		fprintf(out, "%s{\"domain\":", d ? "," : "");
		json_str(out, s->protected_domains[d]);
		fprintf(out, ",\"sent\":%" PRIu64 ",\"bounces\":%" PRIu64 ",\"refused\":%" PRIu64
			",\"bounces_exceed_sent\":%s}", pf->dom_sent_win[d], pf->dom_bounces[d],
			pf->dom_refused[d], pf->dom_bounces[d] > pf->dom_sent_win[d] ? "true" : "false");
	}
	fputs("]}", out);
}

int
postfix_ledger_show(FILE *out, const struct agent *a, const char *addr, bool json)
{
	const struct bw_settings *s = &a->settings;
	uint64_t now = real_ns() / 1000000000ULL;
	struct ledger_view v;
	enum ledger_verdict verdict;
	bool found;

	if (!a->engine_up)
		return 1;
	found = ledger_lookup(a->engine.ledger, addr, now, &v) == 0;
	verdict = ledger_check(a->engine.ledger, addr, now, s->bounce_budget);
	if (json) {
		fputs("{\"address\":", out);
		json_str(out, addr);
		fprintf(out, ",\"tracked\":%s,\"sent\":%u,\"bounces\":%u,\"last_send\":%" PRIu64
			",\"last_bounce\":%" PRIu64 ",\"bounce_now\":\"%s\",\"window_seconds\":%" PRIu64
			",\"budget\":%u}\n", found ? "true" : "false", v.sends, v.bounces,
			v.last_send, v.last_bounce, ledger_verdict_name(verdict), s->sent_window,
			s->bounce_budget);
		return 0;
	}
	if (!found) {
		fprintf(out, "%s: nothing sent or bounced within the window\n", addr);
		return 1;
	}
	fprintf(out, "%s sent=%u bounces=%u last_send=%" PRIu64 " last_bounce=%" PRIu64
		" budget=%u/send a bounce now: %s%s\n", addr, v.sends, v.bounces, v.last_send,
		v.last_bounce, s->bounce_budget, ledger_verdict_name(verdict),
		s->n_batv_keys ? " (BATV keys set: tags decide, not the ledger)" : "");
	return 0;
}
