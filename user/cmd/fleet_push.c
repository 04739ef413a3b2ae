/*
 * fleet_push.c - the watcher (fleet.h): our blocks go to the LAPI as
 * alerts, each with one ban decision.
 *
 * A block is queued once per CIDR; the ledger records what the LAPI
 * holds, so a block decided again without outlasting that is not pushed
 * twice, and the bouncer recognises the decision when the LAPI streams it
 * back (fleet.c: own_push), which also gives the ledger the decision's
 * id.  A batch leaves the queue only when the LAPI took it: a LAPI that is
 * down delays pushes (with backoff), never loses or repeats them.  The
 * watcher logs in for a JWT and logs in again before it expires or when
 * the LAPI answers 401.
 *
 * A block the operator deletes here is retracted: never pushed when it is
 * still queued, else its decision deleted from the LAPI by its id
 * (DELETE /v1/decisions/ID), which deletes nobody else's decision for the
 * same address.  The id comes from the stream's echo when the bouncer
 * runs and the LAPI streamed it, else from the alert that carried it
 * (GET /v1/alerts/ID, the id the push's answer gave).  One call at a
 * time, on the same token, retried with the push's backoff; the other
 * gateways' bouncers then see it in the stream's deleted list and lift it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_int.h"
#include "log.h"
#include "text.h"

static int retract_run(struct fleet *f, uint64_t now);
static void retract_forget(struct fleet *f, const struct bw_cidr *c);

static uint64_t
poll_ms(const struct fleet *f)
{
	return f->a->settings.crowdsec_poll * 1000;
}

static struct fleet_push_item *
item(struct fleet *f, size_t k)
{
	return &f->queue[(f->q_head + k) % FLEET_PUSH_QUEUE];
}

static uint16_t
slot_of(const struct fleet *f, size_t k)
{
	return (uint16_t)((f->q_head + k) % FLEET_PUSH_QUEUE);
}

/* Is the queue slot part of the batch the LAPI is being sent? */
static bool
in_flight(const struct fleet *f, uint16_t slot)
{
	size_t k = (slot + FLEET_PUSH_QUEUE - f->q_head) % FLEET_PUSH_QUEUE;

	return f->push_call && k < f->in_flight;
}

static void
push_soon(struct fleet *f, uint64_t delay_ms)
{
	evloop_timer_arm(f->a->loop, &f->push_timer, evloop_now_ms() + delay_ms);
}

static void
enqueue(struct fleet *f, const struct rule_entry *r, uint64_t until)
{
	struct fleet_entry *le = fleet_table_find(&f->ledger, &r->cidr), ne = { 0 };
	struct fleet_push_item *it;

	if (le && le->state == FLEET_PUSHED && until <= le->until + FLEET_PUSH_EXTEND_S)
		return;		/* the LAPI already has it, as long */
	if (le && le->state == FLEET_QUEUED && !in_flight(f, le->slot)) {
		it = &f->queue[le->slot];
		if (until > it->until)
			it->until = le->until = until;
		it->origin = r->origin;
		snprintf(it->reason, sizeof(it->reason), "%.*s", LAPI_REASON_MAX, r->text);
		return;
	}
	if (f->q_len >= FLEET_PUSH_QUEUE) {
		f->push_dropped++;
		if (!f->queue_full_logged)
			log_warn("fleet push queue full size=%d msg=\"blocks stay local until the LAPI "
				 "catches up\"", FLEET_PUSH_QUEUE);
		f->queue_full_logged = true;
		return;
	}
	ne.cidr = r->cidr;
	ne.state = FLEET_QUEUED;
	ne.until = until;
	ne.slot = slot_of(f, f->q_len);
	if (fleet_table_put(&f->ledger, &ne, NULL) < 0) {
		f->push_dropped++;
		return;
	}
	it = &f->queue[ne.slot];
	memset(it, 0, sizeof(*it));
	it->cidr = r->cidr;
	it->until = until;
	it->origin = r->origin;
	snprintf(it->reason, sizeof(it->reason), "%.*s", LAPI_REASON_MAX, r->text);
	f->q_len++;
	if (!f->push_call && !f->login_call)
		push_soon(f, 0);
}

void
fleet_block_put(struct agent *a, const struct rule_entry *e)
{
	struct fleet *f = a->fleet;
	uint64_t now, until;

	if (!f || !f->watcher || e->action != BW_ACT_BLOCK)
		return;
	if (e->origin != BW_ORIGIN_SCORER && e->origin != BW_ORIGIN_OPERATOR)
		return;		/* the fleet's own decisions never go back */
	/* A gateway in monitor mode only counts; its scorer must not make
	 * the rest of the fleet drop.  An operator's block is meant. */
	if (e->origin == BW_ORIGIN_SCORER && a->settings.mode == BW_MODE_MONITOR)
		return;
	now = kern_now_real();
	until = e->expires ? e->expires : now + FLEET_PERMANENT_S;
	if (until > now)
		enqueue(f, e, until);
}

/* The queue's head item k is done with: its ledger entry follows, with
 * the id of the alert that carried it (0: unknown).  One the operator
 * deleted meanwhile stays to be retracted, or is forgotten when the LAPI
 * never took it. */
static void
settle(struct fleet *f, size_t k, bool pushed, int64_t alert_id)
{
	struct fleet_push_item *it = item(f, k);
	struct fleet_entry *le = fleet_table_find(&f->ledger, &it->cidr);

	if (!le || le->slot != slot_of(f, k) ||
	    (le->state != FLEET_QUEUED && le->state != FLEET_RETRACTING))
		return;		/* a newer item of the same CIDR is queued */
	if (pushed) {
		if (le->state == FLEET_QUEUED)
			le->state = FLEET_PUSHED;
		le->until = it->until;
		le->alert_id = alert_id;
	} else if (le->state == FLEET_RETRACTING) {
		retract_forget(f, &it->cidr);
	} else {
		fleet_table_del(&f->ledger, &it->cidr);
	}
}

static void
pop(struct fleet *f, size_t n)
{
	f->q_head = (f->q_head + n) % FLEET_PUSH_QUEUE;
	f->q_len -= n;
	if (f->q_len < FLEET_PUSH_QUEUE / 2)
		f->queue_full_logged = false;
}

/* ---- login ---- */

static void
login_done(void *arg, const struct lapi_result *r)
{
	struct fleet *f = arg;
	char shown[TEXT_SHOWN_BUF], at[32];
	const char *why;
	unsigned int n;
	int64_t exp = 0;

	f->login_call = NULL;
	if (r->err == 0 && r->status == 200 &&
	    lapi_login_parse(r->body, r->len, f->token, sizeof(f->token), &exp) == 0) {
		n = fleet_streak_ok(&f->login_errors);
		if (n)
			log_info("fleet login recovered after errors=%u", n);
		f->token_expire = exp;
		log_info("fleet watcher logged in token_expires=%s",
			 lapi_time_format(exp, at, sizeof(at)));
		push_soon(f, 0);
		return;
	}
	explicit_bzero(f->token, sizeof(f->token));
	f->errors[FLEET_OP_LOGIN]++;
	why = r->err ? r->what : r->status == 200 ? "an answer without a token" : "refused";
	if (fleet_streak_fail(&f->login_errors, r->status, why))
		log_err("fleet login failed url=%s status=%ld err=\"%s\" body=\"%s\" errors=%u%s",
			f->shown, r->status, why, text_shown(shown, r->body, strlen(r->body)),
			f->login_errors.n, r->status == 401 || r->status == 403 ?
			" hint=\"check crowdsec_login and crowdsec_password\"" : "");
	push_soon(f, fleet_backoff_ms(f->login_errors.n, 1000, poll_ms(f)));
}

static void
login_start(struct fleet *f)
{
	char url[BW_URL_MAX + 32], *body = NULL;
	size_t len = 0;
	struct lapi_request r = { 0 };
	FILE *m = open_memstream(&body, &len);
	int ret = m ? 0 : -ENOMEM;

	if (m) {
		ret = lapi_login_format(m, f->a->settings.crowdsec_login,
					f->a->settings.crowdsec_password);
		if (fclose(m) != 0 && ret == 0)
			ret = -ENOMEM;
	}
	snprintf(url, sizeof(url), "%s/v1/watchers/login", f->base);
	r.method = "POST";
	r.url = url;
	r.body = body;
	r.body_len = len;
	r.max_body = FLEET_SMALL_BODY_MAX;
	r.timeout_ms = FLEET_CALL_TIMEOUT_MS;
	r.on_done = login_done;
	r.arg = f;
	if (ret == 0)
		ret = lapi_call_start(f->http, &r, &f->login_call);
	if (body) {
		explicit_bzero(body, len);	/* the password; curl has its copy */
		free(body);
	}
	if (ret < 0) {
		struct lapi_result res = { .err = ret, .body = "", .what = strerror(-ret) };

		login_done(f, &res);
	}
}

/* ---- the watcher's calls ---- */

/* An answer no retry would change: a 4xx other than a token refused. */
static bool
refused_for_good(const struct lapi_result *r)
{
	return r->err == 0 && r->status >= 400 && r->status < 500 && r->status != 401 &&
	       r->status != 403;
}

/* A watcher call (push or retraction) that failed but may work later, or
 * could not start (status 0): counted, a refused token dropped so the
 * watcher logs in again, retried with backoff (at once for a token that
 * just expired).  True when the failure is to be logged. */
static bool
watcher_retry(struct fleet *f, long status, const char *why)
{
	bool log;

	f->errors[FLEET_OP_PUSH]++;
	if (status == 401 || status == 403)
		explicit_bzero(f->token, sizeof(f->token));	/* log in again */
	log = fleet_streak_fail(&f->push_errors, status, why);
	push_soon(f, status == 401 && f->push_errors.n == 1 ? 0 :
		  fleet_backoff_ms(f->push_errors.n, 1000, poll_ms(f)));
	return log;
}

/* A watcher call answered: the end of a failure streak, logged. */
static void
watcher_ok(struct fleet *f)
{
	unsigned int failed = fleet_streak_ok(&f->push_errors);

	if (failed)
		log_info("fleet push recovered after errors=%u", failed);
}

/* ---- pushing ---- */

static void
push_done(void *arg, const struct lapi_result *r)
{
	struct fleet *f = arg;
	size_t n = f->in_flight, sent = 0;
	char cidr[ADDR_CIDR_STRLEN], shown[TEXT_SHOWN_BUF];
	const char *why;
	bool ok = r->err == 0 && (r->status == 201 || r->status == 200);
	int64_t ids[FLEET_PUSH_BATCH] = { 0 };
	int nids = ok ? lapi_alerts_parse_ids(r->body, r->len, ids, FLEET_PUSH_BATCH) : 0;

	f->push_call = NULL;
	f->in_flight = 0;
	if (ok || refused_for_good(r)) {
		/* Taken, or refused as malformed: sending it again would not help. */
		for (size_t k = 0; k < n; k++) {
			struct fleet_push_item *it = item(f, k);

			if (it->dead)
				continue;
			/* the answer's ids are in the order of the alerts sent */
			settle(f, k, ok, (int)sent < nids && sent < FLEET_PUSH_BATCH ? ids[sent] : 0);
			sent++;
			if (ok && sent <= FLEET_LOG_DECISIONS)
				log_info("fleet pushed cidr=%s ttl=%" PRIu64 "s scenario=%s",
					 addr_format_cidr(&it->cidr, cidr, sizeof(cidr)),
					 it->until - kern_now_real(), it->origin == BW_ORIGIN_OPERATOR ?
					 LAPI_SCENARIO_OPERATOR : LAPI_SCENARIO_SCORER);
		}
		pop(f, n);
		if (ok) {
			f->pushed += sent;
			watcher_ok(f);
		} else {
			f->push_dropped += sent;
			f->errors[FLEET_OP_PUSH]++;
			log_err("fleet push refused status=%ld alerts=%zu body=\"%s\"", r->status, sent,
				text_shown(shown, r->body, strlen(r->body)));
		}
		if (f->q_len)
			push_soon(f, 0);
		return;
	}
	why = r->err ? r->what : "unexpected HTTP status";
	if (watcher_retry(f, r->status, why))
		log_err("fleet push failed url=%s status=%ld err=\"%s\" queued=%zu errors=%u "
			"msg=\"retrying with backoff\"", f->shown, r->status, why, f->q_len,
			f->push_errors.n);
}

/* The batch at the head of the queue as JSON into *body; how many items
 * it spans (sent or dead) in *span.  0 or -errno; -ENOENT: nothing left
 * to send in it. */
static int
batch_format(struct fleet *f, uint64_t now, char **body, size_t *len, size_t *span)
{
	struct lapi_push *p = calloc(FLEET_PUSH_BATCH, sizeof(*p));
	size_t n = f->q_len < FLEET_PUSH_BATCH ? f->q_len : FLEET_PUSH_BATCH, count = 0;
	FILE *m;
	int ret;

	if (!p)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		struct fleet_push_item *it = item(f, k);

		if (!it->dead && it->until <= now) {
			it->dead = true;	/* expired before the LAPI was reachable */
			f->push_dropped++;
			settle(f, k, false, 0);
		}
		if (it->dead)
			continue;
		p[count].cidr = it->cidr;
		p[count].ttl = it->until - now;
		p[count].origin = it->origin;
		snprintf(p[count].reason, sizeof(p[count].reason), "%s", it->reason);
		count++;
	}
	*span = n;
	ret = count ? 0 : -ENOENT;
	m = ret == 0 ? open_memstream(body, len) : NULL;
	if (ret == 0 && !m)
		ret = -ENOMEM;
	if (m) {
		ret = lapi_alerts_format(m, p, count, (int64_t)now, BW_VERSION);
		if (fclose(m) != 0 && ret == 0)
			ret = -ENOMEM;
	}
	free(p);
	return ret;
}

/* A call to the LAPI on the watcher's token: the path under crowdsec_url,
 * an optional JSON body.  0 or -errno (as lapi_call_start). */
static int
watcher_call(struct fleet *f, const char *method, const char *path, const char *body,
	     size_t len, lapi_done_fn *done, struct lapi_call **out)
{
	char url[BW_URL_MAX + 64], auth[LAPI_TOKEN_MAX + 32];
	struct lapi_request r = { 0 };
	int ret;

	snprintf(url, sizeof(url), "%s%s", f->base, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->token);
	r.method = method;
	r.url = url;
	r.headers[0] = auth;
	r.body = body;
	r.body_len = len;
	r.max_body = FLEET_SMALL_BODY_MAX;
	r.timeout_ms = FLEET_CALL_TIMEOUT_MS;
	r.on_done = done;
	r.arg = f;
	ret = lapi_call_start(f->http, &r, out);
	explicit_bzero(auth, sizeof(auth));
	return ret;
}

static void
push_run(void *arg)
{
	struct fleet *f = arg;
	uint64_t now = kern_now_real();
	char *body = NULL;
	size_t len = 0, span = 0;
	int ret;

	if (f->push_call || f->login_call || f->retract_call)
		return;
	if (!f->token[0] || (int64_t)now + FLEET_RENEW_S >= f->token_expire) {
		/* Once at start (to show bad credentials early), then when
		 * there is something to push or retract. */
		if (f->q_len || f->n_retract || !f->token_expire)
			login_start(f);
		return;
	}
	if (f->n_retract && retract_run(f, now))
		return;		/* the push follows when it is done */
	if (!f->q_len)
		return;
	ret = batch_format(f, now, &body, &len, &span);
	if (ret == -ENOENT) {
		pop(f, span);
		if (f->q_len)
			push_soon(f, 0);
		return;
	}
	if (ret == 0)
		ret = watcher_call(f, "POST", "/v1/alerts", body, len, push_done, &f->push_call);
	free(body);
	if (ret < 0) {
		watcher_retry(f, 0, strerror(-ret));
		return;
	}
	f->in_flight = span;
}

/* ---- retracting ---- */

static void
retract_forget(struct fleet *f, const struct bw_cidr *c)
{
	struct fleet_entry *le = fleet_table_find(&f->ledger, c);

	if (le && le->state == FLEET_RETRACTING)
		fleet_table_del(&f->ledger, c);
	for (size_t i = 0; i < f->n_retract; i++) {
		if (addr_cidr_equal(&f->retract[i], c)) {
			f->retract[i] = f->retract[--f->n_retract];
			break;
		}
	}
}

void
fleet_block_retract(struct agent *a, const struct bw_cidr *c)
{
	struct fleet *f = a->fleet;
	struct fleet_entry *le;
	char cidr[ADDR_CIDR_STRLEN];

	if (!f || !f->watcher || !(le = fleet_table_find(&f->ledger, c)))
		return;		/* not ours, or never meant for the LAPI */
	addr_format_cidr(c, cidr, sizeof(cidr));
	if (le->state == FLEET_QUEUED && !in_flight(f, le->slot)) {
		f->queue[le->slot].dead = true;		/* it never leaves */
		fleet_table_del(&f->ledger, c);
		log_info("fleet retract cidr=%s msg=\"not pushed yet: dropped from the queue\"", cidr);
		return;
	}
	if (le->state == FLEET_RETRACTING)
		return;
	if (f->n_retract >= FLEET_RETRACT_MAX) {
		log_warn("fleet retract cidr=%s msg=\"too many retractions pending: the LAPI keeps "
			 "the decision until it expires\"", cidr);
		return;
	}
	le->state = FLEET_RETRACTING;	/* a push in flight settles into it */
	f->retract[f->n_retract++] = *c;
	log_info("fleet retract cidr=%s msg=\"deleting its LAPI decision\"", cidr);
	push_soon(f, 0);
}

/* A retraction's call failed: try again with the push's backoff, or give
 * up when the LAPI refused it (asking again would not help). */
static void
retract_failed(struct fleet *f, const struct lapi_result *r, const char *cidr)
{
	char shown[TEXT_SHOWN_BUF];
	const char *why;

	if (refused_for_good(r)) {
		f->errors[FLEET_OP_PUSH]++;
		log_err("fleet retract refused cidr=%s status=%ld body=\"%s\" msg=\"the decision "
			"stays in the LAPI until it expires\"", cidr, r->status,
			text_shown(shown, r->body, strlen(r->body)));
		retract_forget(f, &f->retract_cidr);
		push_soon(f, 0);
		return;
	}
	why = r->err ? r->what : "unexpected HTTP status";
	if (watcher_retry(f, r->status, why))
		log_err("fleet retract failed cidr=%s status=%ld err=\"%s\" errors=%u "
			"msg=\"retrying with backoff\"", cidr, r->status, why, f->push_errors.n);
}

static void
retract_done(void *arg, const struct lapi_result *r)
{
	struct fleet *f = arg;
	struct fleet_entry *le;
	char cidr[ADDR_CIDR_STRLEN];
	int64_t id = 0;

	f->retract_call = NULL;
	addr_format_cidr(&f->retract_cidr, cidr, sizeof(cidr));
	if (r->err || (r->status != 200 && r->status != 404)) {
		retract_failed(f, r, cidr);
		return;
	}
	watcher_ok(f);
	if (!f->retract_id) {
		/* The alert: its decision's id, or none left (expired or
		 * deleted by someone else). */
		le = fleet_table_find(&f->ledger, &f->retract_cidr);
		if (r->status == 200 && lapi_alert_decision_id(r->body, r->len, &id) == 0 && le &&
		    le->state == FLEET_RETRACTING) {
			le->id = id;
		} else {
			log_info("fleet retract cidr=%s alert=%" PRId64 " msg=\"no decision left "
				 "to delete\"", cidr, f->retract_alert);
			retract_forget(f, &f->retract_cidr);
		}
		push_soon(f, 0);
		return;
	}
	retract_forget(f, &f->retract_cidr);
	f->retracted++;
	log_info("fleet retracted cidr=%s id=%" PRId64 "%s", cidr, f->retract_id,
		 r->status == 404 ? " msg=\"already gone\"" : "");
	if (f->n_retract || f->q_len)
		push_soon(f, 0);
}

/* Start the next call of the first retraction that can make one: the
 * deletion of its decision, or the lookup of its alert for the decision's
 * id when the stream has not given it; drop those that expired or were
 * blocked again meanwhile.  1 when a call started. */
static int
retract_run(struct fleet *f, uint64_t now)
{
	char path[64];
	size_t i = 0;
	int ret;

	while (!f->retract_call && i < f->n_retract) {
		const struct bw_cidr *c = &f->retract[i];
		struct fleet_entry *le = fleet_table_find(&f->ledger, c);

		if (!le || le->state != FLEET_RETRACTING || le->until <= now) {
			retract_forget(f, c);	/* the same i is the next one */
			continue;
		}
		if (le->id <= 0 && le->alert_id <= 0) {
			i++;			/* its push is still on its way */
			continue;
		}
		f->retract_cidr = *c;
		f->retract_id = le->id > 0 ? le->id : 0;
		f->retract_alert = le->alert_id;
		if (f->retract_id)
			snprintf(path, sizeof(path), "/v1/decisions/%" PRId64, le->id);
		else
			snprintf(path, sizeof(path), "/v1/alerts/%" PRId64, le->alert_id);
		ret = watcher_call(f, f->retract_id ? "DELETE" : "GET", path, NULL, 0, retract_done,
				   &f->retract_call);
		if (ret < 0) {
			watcher_retry(f, 0, strerror(-ret));
			return 0;
		}
		return 1;
	}
	return 0;
}

/* ---- life cycle ---- */

void
fleet_push_maint(struct fleet *f, uint64_t now)
{
	size_t budget = f->ledger.n / 30 > FLEET_BATCH ? f->ledger.n / 30 : FLEET_BATCH;

	/* Forget pushes the LAPI has let expire (and their echoes with them). */
	while (budget-- && f->ledger.n) {
		struct fleet_entry *e;

		if (f->ledger_pos >= f->ledger.n)
			f->ledger_pos = 0;
		e = &f->ledger.v[f->ledger_pos];
		if ((e->state == FLEET_PUSHED || e->state == FLEET_RETRACTING) &&
		    e->until + FLEET_ECHO_SLACK_S < now) {
			struct bw_cidr c = e->cidr;	/* e moves on delete */

			if (e->state == FLEET_RETRACTING)
				retract_forget(f, &c);
			else
				fleet_table_del(&f->ledger, &c);
		} else {
			f->ledger_pos++;
		}
	}
	/* A retraction waits for an id: the stream's echo or the push's answer. */
	if (f->n_retract && !f->push_call && !f->login_call && !f->retract_call)
		push_soon(f, 0);
}

int
fleet_push_start(struct fleet *f)
{
	uint8_t seed[16];

	memcpy(seed, f->lapi.seed, sizeof(seed));
	seed[0] ^= 0x5a;
	fleet_table_init(&f->ledger, FLEET_LEDGER_MAX, seed);
	f->queue = calloc(FLEET_PUSH_QUEUE, sizeof(*f->queue));
	if (!f->queue)
		return -ENOMEM;
	evloop_timer_init(&f->push_timer, push_run, f);
	push_soon(f, 0);
	return 0;
}

void
fleet_push_stop(struct fleet *f)
{
	if (f->a->loop)
		evloop_timer_cancel(f->a->loop, &f->push_timer);
	free(f->queue);
	f->queue = NULL;
	fleet_table_free(&f->ledger);
	explicit_bzero(f->token, sizeof(f->token));
}
