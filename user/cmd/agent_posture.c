/*
 * agent_posture.c - posture checks inside the agent (agent_posture.h).
 *
 * One posture_run at a time on the agent's loop.  Its completion callback
 * only copies the grades and arms our timer; the run is freed from that
 * timer (a run must not be freed inside its own callback).  A check whose
 * lookups failed keeps the grade it had: a resolver outage is not a
 * change of the domain's posture (bouncewall_posture_checks_total counts
 * it); a domain never graded has no series until it is.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_posture.h"
#include "log.h"
#include "posture.h"
#include "posture_run.h"
#include "text.h"

/* What a check was run on: a reload that changes it rechecks at once. */
struct posture_inputs {
	char domains[BW_MAX_DOMAINS][BW_DOMAIN_MAX + 1];
	unsigned int n_domains;
	char selectors[BW_MAX_SELECTORS][BW_SELECTOR_MAX + 1];
	unsigned int n_selectors;
	char resolver[BW_RESOLVER_MAX];
};

struct domain_grade {
	char domain[BW_DOMAIN_MAX + 1];
	int8_t grade[POSTURE_CHECKS];		/* enum posture_grade, -1 unknown */
	char advice[POSTURE_CHECKS][POSTURE_FINDING_MAX];	/* first problem */
};

struct agent_posture {
	struct agent *a;
	struct evloop_timer timer;	/* the next check, or reaping a run */
	struct posture_run *run;
	bool reap;			/* run finished: free it at the timer */
	struct posture_inputs in;	/* of the last check started */
	struct domain_grade dom[BW_MAX_DOMAINS];
	unsigned int n_dom;
	uint64_t storms_seen;
	uint64_t checks_ok, checks_dns_error;
};

static void
inputs_of(const struct bw_settings *s, struct posture_inputs *in)
{
	memset(in, 0, sizeof(*in));
	memcpy(in->domains, s->protected_domains, sizeof(in->domains));
	in->n_domains = s->n_domains;
	memcpy(in->selectors, s->dkim_selectors, sizeof(in->selectors));
	in->n_selectors = s->n_selectors;
	memcpy(in->resolver, s->posture_resolver, sizeof(in->resolver));
}

static struct domain_grade *
grade_of(struct agent_posture *p, const char *domain)
{
	for (unsigned int i = 0; i < p->n_dom; i++)
		if (strcmp(p->dom[i].domain, domain) == 0)
			return &p->dom[i];
	return NULL;
}

static const struct posture_check *
worst_dkim(const struct posture_result *r)
{
	const struct posture_check *w = NULL;

	for (unsigned int i = 0; i < r->n_dkim; i++)
		if (!w || r->dkim[i].verdict < w->verdict)
			w = &r->dkim[i];
	return w;
}

/* The new grades of one domain; a check that hit a DNS error keeps its
 * old grade and advice. */
static void
take_result(const struct domain_grade *old, const struct posture_result *r,
	    struct domain_grade *g)
{
	const struct posture_check *c[POSTURE_CHECKS] = { &r->spf, &r->dmarc, worst_dkim(r) };

	memset(g, 0, sizeof(*g));
	snprintf(g->domain, sizeof(g->domain), "%s", r->domain);
	for (int k = 0; k < POSTURE_CHECKS; k++) {
		const struct posture_finding *f;

		g->grade[k] = -1;
		if (posture_dns_error(r, (enum posture_check_id)k)) {
			if (old) {
				g->grade[k] = old->grade[k];
				memcpy(g->advice[k], old->advice[k], sizeof(g->advice[k]));
			}
			continue;
		}
		if (!c[k])
			continue;
		g->grade[k] = (int8_t)posture_check_grade(r, (enum posture_check_id)k);
		f = posture_first_problem(c[k]);
		if (f)
			text_escape(g->advice[k], sizeof(g->advice[k]), f->text, strlen(f->text));
	}
}

static const char *
grade_text(int g)
{
	return g < 0 ? "unknown" : posture_grade_name((unsigned int)g);
}

static void
log_domain(const struct domain_grade *g, const char *why)
{
	log_info("posture %s domain=%s spf=%s dmarc=%s dkim=%s", why, g->domain,
		 grade_text(g->grade[POSTURE_SPF]), grade_text(g->grade[POSTURE_DMARC]),
		 grade_text(g->grade[POSTURE_DKIM]));
	for (int k = 0; k < POSTURE_CHECKS; k++)
		if (g->advice[k][0])
			log_info("posture %s domain=%s check=%s advice=\"%s\"", why, g->domain,
				 posture_check_name((enum posture_check_id)k), g->advice[k]);
}

static void
on_done(void *arg, const struct posture_result *res, unsigned int n)
{
	struct agent_posture *p = arg;
	struct domain_grade next[BW_MAX_DOMAINS] = { 0 };
	bool dns_error = false;

	for (unsigned int i = 0; i < n && i < BW_MAX_DOMAINS; i++) {
		take_result(grade_of(p, res[i].domain), &res[i], &next[i]);
		for (int k = 0; k < POSTURE_CHECKS; k++)
			dns_error |= posture_dns_error(&res[i], (enum posture_check_id)k);
		log_domain(&next[i], "checked");
	}
	memcpy(p->dom, next, sizeof(next));
	p->n_dom = n < BW_MAX_DOMAINS ? n : BW_MAX_DOMAINS;
	if (dns_error) {
		p->checks_dns_error++;
		log_warn("posture msg=\"some DNS lookups failed; those checks keep their last grade\"");
	} else {
		p->checks_ok++;
	}
	p->reap = true;
	evloop_timer_arm(p->a->loop, &p->timer, evloop_now_ms());
}

static void
start_check(struct agent_posture *p)
{
	const struct bw_settings *s = &p->a->settings;
	struct posture_resolver res;
	struct posture_run_spec spec = { 0 };
	char err[BW_ERR_MAX];
	int ret;

	inputs_of(s, &p->in);
	if (!p->in.n_domains || strcmp(p->in.resolver, "off") == 0) {
		p->n_dom = 0;
		return;		/* a reload that changes this starts one */
	}
	spec.domains = (const char (*)[BW_DOMAIN_MAX + 1])p->in.domains;
	spec.n_domains = p->in.n_domains;
	spec.selectors = (const char (*)[BW_SELECTOR_MAX + 1])p->in.selectors;
	spec.n_selectors = p->in.n_selectors;
	if (p->in.resolver[0] &&
	    posture_resolver_parse(p->in.resolver, strlen(p->in.resolver), &res) == 0)
		spec.resolver = &res;
	ret = posture_run_start(&p->run, p->a->loop, &spec, on_done, p, err, sizeof(err));
	if (ret < 0) {
		log_err("posture err=\"%s\"", err);
		p->run = NULL;
		evloop_timer_arm(p->a->loop, &p->timer, evloop_now_ms() + POSTURE_RECHECK_MS);
	}
}

static void
on_timer(void *arg)
{
	struct agent_posture *p = arg;

	if (p->reap) {
		posture_run_free(p->run);
		p->run = NULL;
		p->reap = false;
		evloop_timer_arm(p->a->loop, &p->timer, evloop_now_ms() + POSTURE_RECHECK_MS);
		return;
	}
	if (!p->run)
		start_check(p);
}

int
agent_posture_start(struct agent *a)
{
	struct agent_posture *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->a = a;
	evloop_timer_init(&p->timer, on_timer, p);
	evloop_timer_arm(a->loop, &p->timer, evloop_now_ms());
	a->posture = p;
	return 0;
}

void
agent_posture_stop(struct agent *a)
{
	struct agent_posture *p = a->posture;

	if (!p)
		return;
	evloop_timer_cancel(a->loop, &p->timer);
	posture_run_free(p->run);
	free(p);
	a->posture = NULL;
}

void
agent_posture_tick(struct agent *a)
{
	struct agent_posture *p = a->posture;
	struct posture_inputs now;
	struct score_stats st;

	if (!p)
		return;
	if (a->engine_up) {
		score_get_stats(a->engine.score, a->engine.now, &st);
		if (st.storms > p->storms_seen) {
			p->storms_seen = st.storms;
			if (!p->n_dom && a->settings.n_domains)
				log_info("posture storm=onset msg=\"protected domains not graded%s\"",
					 strcmp(p->in.resolver, "off") == 0 ? " (posture_resolver = off)" :
					 " yet");
			for (unsigned int i = 0; i < p->n_dom; i++)
				log_domain(&p->dom[i], "storm=onset");
		}
	}
	inputs_of(&a->settings, &now);
	if (!p->run && memcmp(&now, &p->in, sizeof(now)) != 0)
		evloop_timer_arm(a->loop, &p->timer, evloop_now_ms());
}

void
agent_posture_metrics(struct agent *a, FILE *f)
{
	struct agent_posture *p = a->posture;
	bool head = false;

	if (!p)
		return;
	for (unsigned int i = 0; i < p->n_dom; i++) {
		for (int k = 0; k < POSTURE_CHECKS; k++) {
			if (p->dom[i].grade[k] < 0)
				continue;
			if (!head)
				fputs("# HELP bouncewall_domain_posture Mail authentication of a protected "
				      "domain: 0 fail, 1 warn, 2 pass.\n"
				      "# TYPE bouncewall_domain_posture gauge\n", f);
			head = true;
			fprintf(f, "bouncewall_domain_posture{domain=\"%s\",check=\"%s\"} %d\n",
				p->dom[i].domain, posture_check_name((enum posture_check_id)k),
				p->dom[i].grade[k]);
		}
	}
	fputs("# HELP bouncewall_posture_checks_total Posture checks of the protected domains, by "
	      "result.\n# TYPE bouncewall_posture_checks_total counter\n", f);
	fprintf(f, "bouncewall_posture_checks_total{result=\"ok\"} %" PRIu64 "\n", p->checks_ok);
	fprintf(f, "bouncewall_posture_checks_total{result=\"dns_error\"} %" PRIu64 "\n",
		p->checks_dns_error);
}
