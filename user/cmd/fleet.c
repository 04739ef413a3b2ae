/*
 * fleet.c - the fleet client's life cycle and the bouncer (fleet.h).
 *
 * A pull streams GET /v1/decisions/stream through core/lapi_stream.c:
 * each decision is applied as soon as it is read, FLEET_BATCH per loop
 * turn (the transfer pauses in between), so a 100,000-decision startup
 * never holds the loop.  A full pull (startup=true: the first, and the
 * next one after any failure, since the LAPI moves its "last pull" mark
 * even when its answer never arrives) is followed by a sweep that lifts
 * whatever the LAPI no longer has.  Each decision's fate is kept in the
 * fleet table; a maintenance pass walks it a slice a second to catch what
 * changed around it (an operator block that expired, an allow removed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "enforce.h"
#include "fleet_int.h"
#include "log.h"
#include "names.h"
#include "text.h"

uint64_t
fleet_backoff_ms(unsigned int errors, uint64_t base_ms, uint64_t poll_ms)
{
	unsigned int k = errors > 1 ? errors - 1 : 0;
	uint64_t d = (k > 16 ? UINT64_C(1) << 16 : UINT64_C(1) << k) * 1000;
	/* A fleet polling often wants the LAPI back soon after it returns. */
	uint64_t cap = 10 * poll_ms < FLEET_BACKOFF_MIN_CAP_MS ? FLEET_BACKOFF_MIN_CAP_MS :
		       10 * poll_ms > FLEET_BACKOFF_MAX_MS ? FLEET_BACKOFF_MAX_MS : 10 * poll_ms;

	if (d < base_ms)
		d = base_ms;
	if (d > cap)
		d = cap;
	return d - d / 10 + (uint64_t)random() % (d / 5 + 1);
}

bool
fleet_streak_fail(struct fleet_streak *s, long status, const char *why)
{
	bool changed = s->n == 0 || s->status != status || strncmp(s->why, why, sizeof(s->why) - 1);

	s->n++;
	s->status = status;
	snprintf(s->why, sizeof(s->why), "%s", why);
	return changed || s->n % 100 == 0;
}

unsigned int
fleet_streak_ok(struct fleet_streak *s)
{
	unsigned int n = s->n;

	memset(s, 0, sizeof(*s));
	return n;
}

static uint64_t
poll_ms(const struct fleet *f)
{
	return f->a->settings.crowdsec_poll * 1000;
}

/* ---- applying a decision ---- */

/*
 * Make the kernel hold what entry e says, if it may: the allowlist wins;
 * a block of the operator or the scorer stays as it is (the scorer's
 * throttle gives way: a ban is stronger).  Sets e->state.
 */
static void
apply(struct fleet *f, struct fleet_entry *e, uint64_t now)
{
	struct agent *a = f->a;
	const struct rule_entry *allow = rules_match(&a->rules.allow, e->cidr.addr, now);
	const struct rule_entry *r = rules_find(&a->rules.block, &e->cidr);
	struct rule_entry ne = { 0 };
	char cidr[ADDR_CIDR_STRLEN];
	int ret;

	if (allow && addr_cidr_contains(&allow->cidr, &e->cidr)) {
		if (e->state != FLEET_SUPPRESSED)
			f->suppressed++;
		e->state = FLEET_SUPPRESSED;
		return;
	}
	if (r && r->origin != BW_ORIGIN_CROWDSEC &&
	    !(r->origin == BW_ORIGIN_SCORER && r->action == BW_ACT_THROTTLE)) {
		e->state = FLEET_SHADOWED;
		return;
	}
	if (r && r->origin == BW_ORIGIN_CROWDSEC && r->action == BW_ACT_BLOCK &&
	    r->expires == e->until) {
		e->state = FLEET_APPLIED;
		return;
	}
	ne.cidr = e->cidr;
	ne.action = BW_ACT_BLOCK;
	ne.origin = BW_ORIGIN_CROWDSEC;
	ne.added = now;
	ne.expires = e->until;
	snprintf(ne.text, sizeof(ne.text), "fleet: %s (%s)", e->scenario,
		 f->lapi.origins[e->origin]);
	ret = enforce_put(a, false, &ne, ENFORCE_SAVE_LATER);
	if (ret < 0) {
		if (e->state != FLEET_REFUSED) {
			f->ignored[FLEET_IGNORED_REFUSED]++;
			f->cur.ignored[FLEET_IGNORED_REFUSED]++;
			if (f->refused_logged++ == 0)
				log_warn("fleet decision refused cidr=%s err=\"%s\"",
					 addr_format_cidr(&e->cidr, cidr, sizeof(cidr)),
					 ret == -E2BIG ? "too many prefix lengths" : strerror(-ret));
		}
		e->state = FLEET_REFUSED;
		return;
	}
	if (e->state != FLEET_APPLIED) {
		f->applied++;
		f->cur.applied++;
	}
	e->state = FLEET_APPLIED;
}

/* A crowdsec block for c goes (saved with the pass's other changes). */
static void
lift_rule(struct fleet *f, const struct bw_cidr *c)
{
	const struct rule_entry *r = rules_find(&f->a->rules.block, c);

	if (r && r->origin == BW_ORIGIN_CROWDSEC &&
	    enforce_del_persist(f->a, false, c, ENFORCE_SAVE_LATER) == 0) {
		f->lifted++;
		f->cur.lifted++;
	}
}

static struct fleet_entry *
own_push(struct fleet *f, const struct lapi_decision *d, uint64_t until)
{
	struct fleet_entry *p;

	if (!f->watcher || strcmp(d->origin, LAPI_ORIGIN_BOUNCEWALL) != 0)
		return NULL;
	p = fleet_table_find(&f->ledger, &d->cidr);
	if (!p || (p->until > until ? p->until - until : until - p->until) > FLEET_ECHO_SLACK_S)
		return NULL;
	return p;
}

/* The state a decision that comes again keeps (so counters count only
 * changes); a new one starts pending. */
static uint8_t
state_kept(const struct fleet_entry *old, const struct lapi_decision *d)
{
	if (!old)
		return FLEET_PENDING;
	switch (old->state) {
	case FLEET_DISMISSED:
		/* a full pull lists the decision the operator lifted again */
		return old->id == d->id ? FLEET_DISMISSED : FLEET_PENDING;
	case FLEET_APPLIED:
	case FLEET_SHADOWED:
	case FLEET_SUPPRESSED:
	case FLEET_REFUSED:
		return old->state;
	default:
		return FLEET_PENDING;
	}
}

static const char *
state_name(uint8_t s)
{
	switch (s) {
	case FLEET_APPLIED:
		return "enforced";
	case FLEET_SUPPRESSED:
		return "allowlisted";
	case FLEET_SHADOWED:
		return "held_by_own_block";
	case FLEET_OWN:
		return "own_push";
	case FLEET_DISMISSED:
		return "lifted_here";
	default:
		return "refused";
	}
}

static void
take(struct fleet *f, const struct lapi_decision *d)
{
	uint64_t now = kern_now_real(), until = now + ((uint64_t)d->remaining_ms + 999) / 1000;
	struct fleet_entry e = { 0 }, *old = fleet_table_find(&f->lapi, &d->cidr), *p, *mine;
	char cidr[ADDR_CIDR_STRLEN];

	mine = own_push(f, d, until);
	if (mine)
		mine->id = d->id;	/* what `block del` here retracts */

	/* Two decisions for one CIDR (two sources, a renewal, or two values
	 * naming it: "1.2.3.4", "1.2.3.4/32"): the longer-lived one stays the
	 * one held, so only its own end or deletion lifts the block. */
	if (old && old->gen == f->gen && old->id != d->id && old->until > until) {
		f->cur.taken++;
		return;
	}
	e.cidr = d->cidr;
	e.gen = f->gen;
	e.id = d->id;
	e.until = until;
	e.origin = fleet_table_origin(&f->lapi, d->origin);
	snprintf(e.scenario, sizeof(e.scenario), "%s", d->scenario);
	e.state = mine ? FLEET_OWN : state_kept(old, d);
	if (fleet_table_put(&f->lapi, &e, &p) < 0) {
		f->ignored[FLEET_IGNORED_REFUSED]++;
		f->cur.ignored[FLEET_IGNORED_REFUSED]++;
		return;
	}
	f->cur.taken++;
	if (p->state == FLEET_OWN)
		f->cur.own++;
	else if (p->state != FLEET_DISMISSED)
		apply(f, p, now);
	if (!f->startup && f->cur.logged++ < FLEET_LOG_DECISIONS)
		log_info("fleet decision cidr=%s ttl=%" PRIu64 "s origin=%s id=%" PRId64
			 " scenario=\"%s\" state=%s", addr_format_cidr(&d->cidr, cidr, sizeof(cidr)),
			 until - now, d->origin, d->id, d->scenario, state_name(p->state));
}

static void
drop(struct fleet *f, const struct lapi_decision *d)
{
	struct fleet_entry *e = fleet_table_find(&f->lapi, &d->cidr);
	char cidr[ADDR_CIDR_STRLEN];
	uint8_t state;

	/* Another decision for the CIDR is the one held (take()): it stands. */
	if (!e || e->id != d->id)
		return;
	state = e->state;
	fleet_table_del(&f->lapi, &d->cidr);
	if (state == FLEET_APPLIED)
		lift_rule(f, &d->cidr);
	if (f->cur.logged++ < FLEET_LOG_DECISIONS)
		log_info("fleet decision deleted cidr=%s id=%" PRId64 " origin=%s%s",
			 addr_format_cidr(&d->cidr, cidr, sizeof(cidr)), d->id, d->origin,
			 state == FLEET_APPLIED ? " lifted=yes" : "");
}

static void
on_decision(void *arg, bool deleted, enum lapi_verdict v, const struct lapi_decision *d)
{
	struct fleet *f = arg;

	f->cur.decisions++;
	if (f->budget)
		f->budget--;
	if (v != LAPI_OK) {
		/* A deleted captcha is no news: count only what we were given. */
		if (!deleted) {
			f->ignored[v]++;
			f->cur.ignored[v]++;
		}
		return;
	}
	if (deleted)
		drop(f, d);
	else
		take(f, d);
}

/* ---- the pull ---- */

static void pull_start(struct fleet *f);

static void
pull_schedule(struct fleet *f, uint64_t delay_ms)
{
	evloop_timer_arm(f->a->loop, &f->pull_timer, evloop_now_ms() + delay_ms);
}

static int
pull_body(void *arg, const char *buf, size_t len)
{
	struct fleet *f = arg;

	if (!f->budget) {
		f->paused = true;
		evloop_timer_arm(f->a->loop, &f->work, evloop_now_ms());
		return 0;
	}
	return lapi_stream_feed(&f->stream, buf, len) == 0 ? 1 : -1;
}

static void
pull_failed(struct fleet *f, const struct lapi_result *r, const char *why)
{
	char shown[TEXT_SHOWN_BUF];

	f->errors[FLEET_OP_PULL]++;
	f->startup = true;
	if (fleet_streak_fail(&f->pull_errors, r->status, why))
		log_err("fleet pull failed url=%s status=%ld err=\"%s\" body=\"%s\" errors=%u "
			"msg=\"kernel keeps its blocks; retrying with backoff\"", f->shown,
			r->status, why, text_shown(shown, r->body, strlen(r->body)), f->pull_errors.n);
	pull_schedule(f, fleet_backoff_ms(f->pull_errors.n, poll_ms(f), poll_ms(f)));
}

static void
pull_done(void *arg, const struct lapi_result *r)
{
	struct fleet *f = arg;
	bool full = f->startup;
	uint64_t ignored = 0;
	unsigned int n;
	int ret = r->err;
	const char *why = r->what;

	f->pull = NULL;
	f->paused = false;
	if (ret == 0 && r->status != 200) {
		ret = -EPROTO;
		why = r->status == 403 ? "API key refused" : "unexpected HTTP status";
	}
	if (ret == 0 && lapi_stream_end(&f->stream) < 0) {
		ret = -EPROTO;
		why = f->stream.error;
	}
	if (ret < 0 && r->err == -ECANCELED)
		why = f->stream.error ? f->stream.error : why;
	lapi_stream_free(&f->stream);
	if (ret < 0) {
		pull_failed(f, r, why);
		return;
	}
	n = fleet_streak_ok(&f->pull_errors);
	if (n)
		log_info("fleet pull recovered after errors=%u", n);
	f->pulls++;
	f->last_pull_ok = kern_now_real();
	for (int i = 0; i < FLEET_IGNORED_MAX; i++)
		ignored += f->cur.ignored[i];
	if (full || f->cur.taken || f->cur.lifted)
		log_info("fleet pull full=%s bytes=%zu ms=%" PRIu64 " decisions=%" PRIu64
			 " taken=%" PRIu64 " own=%" PRIu64 " applied=%" PRIu64 " lifted=%" PRIu64
			 " ignored=%" PRIu64 " total=%zu", full ? "yes" : "no", r->len,
			 evloop_now_ms() - f->cur.started_ms, f->cur.decisions, f->cur.taken,
			 f->cur.own, f->cur.applied, f->cur.lifted, ignored, f->lapi.n);
	/* The state file follows at the next tick (enforce_save, once a
	 * second at most), not once per pull. */
	if (full) {
		/* Lift what the LAPI no longer has, then go on polling. */
		f->startup = false;
		f->sweep = 1;
		f->sweep_pos = 0;
		evloop_timer_arm(f->a->loop, &f->work, evloop_now_ms());
		return;
	}
	pull_schedule(f, poll_ms(f));
}

static void
pull_start(struct fleet *f)
{
	char url[BW_URL_MAX + 64], key[BW_CREDENTIAL_MAX + 16];
	struct lapi_request r = { 0 };
	int ret;

	if (f->pull || f->sweep)
		return;
	ret = lapi_stream_init(&f->stream, on_decision, f);
	if (ret < 0) {
		pull_schedule(f, fleet_backoff_ms(1, poll_ms(f), poll_ms(f)));
		return;
	}
	snprintf(url, sizeof(url), "%s/v1/decisions/stream%s", f->base,
		 f->startup ? "?startup=true" : "");
	snprintf(key, sizeof(key), "X-Api-Key: %s", f->a->settings.crowdsec_api_key);
	r.method = "GET";
	r.url = url;
	r.headers[0] = key;
	r.max_body = FLEET_PULL_BODY_MAX;
	r.timeout_ms = FLEET_PULL_TIMEOUT_MS;
	r.on_body = pull_body;
	r.on_done = pull_done;
	r.arg = f;
	memset(&f->cur, 0, sizeof(f->cur));
	f->cur.started_ms = evloop_now_ms();
	f->refused_logged = 0;
	f->budget = FLEET_BATCH;
	if (f->startup)
		f->gen++;
	ret = lapi_call_start(f->http, &r, &f->pull);
	explicit_bzero(key, sizeof(key));
	if (ret < 0) {
		struct lapi_result res = { .err = ret, .body = "", .what = strerror(-ret) };

		lapi_stream_free(&f->stream);
		pull_failed(f, &res, res.what);
	}
}

static void
on_pull_timer(void *arg)
{
	pull_start(arg);
}

/* ---- after a full pull: lift what the LAPI no longer has ---- */

/* One batch of the sweep; true when it is over. */
static bool
sweep_step(struct fleet *f)
{
	struct rule_set *b = &f->a->rules.block;
	unsigned int n = 0;

	/* Table entries the full pull did not list. */
	while (f->sweep == 1 && n++ < FLEET_BATCH) {
		struct fleet_entry *e;
		struct bw_cidr c;

		if (f->sweep_pos >= f->lapi.n) {
			f->sweep = 2;
			f->sweep_pos = 0;
			break;
		}
		e = &f->lapi.v[f->sweep_pos];
		if (e->gen == f->gen) {
			f->sweep_pos++;
			continue;
		}
		c = e->cidr;
		if (e->state == FLEET_APPLIED)
			lift_rule(f, &c);
		fleet_table_del(&f->lapi, &c);	/* the last entry moves here */
	}
	/* Crowdsec blocks the table does not know (from the state file of
	 * an earlier run, or a pull that failed half-way). */
	while (f->sweep == 2 && n++ < FLEET_BATCH) {
		const struct rule_entry *r;

		if (f->sweep_pos >= b->n) {
			f->sweep = 0;
			break;
		}
		r = &b->v[f->sweep_pos];
		if (r->origin != BW_ORIGIN_CROWDSEC || fleet_table_find(&f->lapi, &r->cidr)) {
			f->sweep_pos++;
			continue;
		}
		if (enforce_del_persist(f->a, false, &r->cidr, ENFORCE_SAVE_LATER) < 0) {
			f->sweep_pos++;
			continue;
		}
		f->lifted++;
	}
	return f->sweep == 0;
}

static void
on_work(void *arg)
{
	struct fleet *f = arg;

	f->budget = FLEET_BATCH;
	if (f->paused && f->pull) {
		f->paused = false;
		lapi_call_resume(f->pull);	/* may pause again and re-arm us */
		return;
	}
	if (!f->sweep)
		return;
	if (!sweep_step(f)) {
		evloop_timer_arm(f->a->loop, &f->work, evloop_now_ms());
		return;
	}
	pull_schedule(f, poll_ms(f));
}

/* ---- maintenance: a slice of the table a second ---- */

static void
reconcile(struct fleet *f, uint64_t now)
{
	size_t budget = f->lapi.n / 30 > FLEET_BATCH ? f->lapi.n / 30 : FLEET_BATCH;

	if (f->sweep)
		return;		/* the sweep walks the table by position */
	while (budget-- && f->lapi.n) {
		struct fleet_entry *e;
		const struct rule_entry *r;

		if (f->rec_pos >= f->lapi.n)
			f->rec_pos = 0;
		e = &f->lapi.v[f->rec_pos];
		if (e->until <= now) {
			/* the kernel and enforce_expire() drop its rule */
			fleet_table_del(&f->lapi, &e->cidr);
			continue;
		}
		f->rec_pos++;
		switch (e->state) {
		case FLEET_PENDING:
		case FLEET_SHADOWED:
		case FLEET_SUPPRESSED:
		case FLEET_REFUSED:
			apply(f, e, now);
			break;
		case FLEET_APPLIED:
			r = rules_find(&f->a->rules.block, &e->cidr);
			if (!r)
				e->state = FLEET_DISMISSED;	/* `block del` here */
			else if (r->origin != BW_ORIGIN_CROWDSEC)
				e->state = FLEET_SHADOWED;	/* `block add` over it */
			break;
		default:
			break;
		}
	}
}

static void
on_maint(void *arg)
{
	struct fleet *f = arg;
	uint64_t now = kern_now_real();

	evloop_timer_arm(f->a->loop, &f->maint, evloop_now_ms() + FLEET_MAINT_MS);
	if (f->bouncer)
		reconcile(f, now);
	if (f->watcher)
		fleet_push_maint(f, now);
}

/* ---- life cycle ---- */

/* crowdsec_url without a trailing '/', and a copy safe to log. */
static void
set_urls(struct fleet *f, const char *url)
{
	const char *host = strstr(url, "://"), *at, *slash;
	size_t n = strlen(url);

	while (n && url[n - 1] == '/')
		n--;
	snprintf(f->base, sizeof(f->base), "%.*s", (int)n, url);
	snprintf(f->shown, sizeof(f->shown), "%s", f->base);
	if (!host)
		return;
	host += 3;
	slash = strchr(host, '/');
	at = memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
	if (at)
		snprintf(f->shown, sizeof(f->shown), "%.*s%s", (int)(host - url), url, at + 1);
}

/* Credentials in a file others can read are theirs too.  Group root
 * (the installer's 0640) is the administrators': no warning for it. */
static void
check_config_mode(const struct agent *a)
{
	struct stat st;
	bool world, group;

	if (stat(a->config_path, &st) < 0)
		return;
	world = st.st_mode & S_IROTH;
	group = (st.st_mode & S_IRGRP) && st.st_gid != 0;
	if (!world && !group)
		return;
	log_warn("config holds crowdsec credentials but is readable by %s path=%s mode=%04o "
		 "gid=%u hint=\"chmod 600 %s\"", world ? "everyone" : "its group", a->config_path,
		 (unsigned int)(st.st_mode & 07777), (unsigned int)st.st_gid, a->config_path);
}

int
fleet_start(struct agent *a)
{
	const struct bw_settings *s = &a->settings;
	uint8_t seed[16];
	struct fleet *f;
	int ret;

	if (!s->crowdsec_url[0])
		return 0;
	if (getrandom(seed, sizeof(seed), 0) != sizeof(seed))
		return -EIO;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->a = a;
	a->fleet = f;
	set_urls(f, s->crowdsec_url);
	f->bouncer = s->crowdsec_api_key[0] != '\0';
	f->watcher = s->crowdsec_login[0] != '\0';
	check_config_mode(a);
	fleet_table_init(&f->lapi, FLEET_DECISIONS_MAX, seed);
	/* Named from the start, so dashboards see them at 0. */
	fleet_table_origin(&f->lapi, "crowdsec");
	fleet_table_origin(&f->lapi, "cscli");
	fleet_table_origin(&f->lapi, LAPI_ORIGIN_BOUNCEWALL);
	evloop_timer_init(&f->pull_timer, on_pull_timer, f);
	evloop_timer_init(&f->work, on_work, f);
	evloop_timer_init(&f->maint, on_maint, f);
	ret = lapi_client_new(&f->http, a->loop);
	if (ret == 0 && f->watcher)
		ret = fleet_push_start(f);
	if (ret < 0) {
		log_err("fleet client err=\"%s\"", strerror(-ret));
		fleet_stop(a);
		return ret;
	}
	if (f->bouncer) {
		f->startup = true;
		pull_schedule(f, 0);
	}
	evloop_timer_arm(a->loop, &f->maint, evloop_now_ms() + FLEET_MAINT_MS);
	log_info("fleet url=%s bouncer=%s watcher=%s poll=%" PRIu64 "s", f->shown,
		 f->bouncer ? "yes" : "no", f->watcher ? "yes" : "no", s->crowdsec_poll);
	return 0;
}

void
fleet_stop(struct agent *a)
{
	struct fleet *f = a->fleet;

	if (!f)
		return;
	/* Calls end without their callbacks: nothing below runs again. */
	lapi_client_free(f->http);
	lapi_stream_free(&f->stream);
	evloop_timer_cancel(a->loop, &f->pull_timer);
	evloop_timer_cancel(a->loop, &f->work);
	evloop_timer_cancel(a->loop, &f->maint);
	fleet_push_stop(f);
	fleet_table_free(&f->lapi);
	explicit_bzero(f, sizeof(*f));
	free(f);
	a->fleet = NULL;
}
