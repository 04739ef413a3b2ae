/*
 * posture_run.c - the posture checks of a set of domains on an event loop
 * (posture_run.h): ask what each domain's checks want, answer them from
 * DNS, repeat until all are done or the deadline passes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "posture_run.h"

/* A query's token: the domain in the top 4 bits, the core's below. */
#define DOMAIN_SHIFT	28
_Static_assert(BW_MAX_DOMAINS <= 16, "domain index in 4 bits");

struct posture_run {
	struct evloop *loop;
	struct dns *dns;
	unsigned int n;
	struct posture_result *res;
	struct posture_domain *dom;
	unsigned char *walks;		/* n x posture_walk_size() */
	struct evloop_timer deadline;
	struct evloop_timer done;	/* reports completion outside c-ares */
	bool complete;
	posture_run_fn *fn;
	void *arg;
};

static void pump(struct posture_run *r, unsigned int i);

static void
check_complete(struct posture_run *r)
{
	if (r->complete)
		return;
	for (unsigned int i = 0; i < r->n; i++)
		if (!posture_done(&r->dom[i]))
			return;
	r->complete = true;
	evloop_timer_cancel(r->loop, &r->deadline);
	evloop_timer_arm(r->loop, &r->done, evloop_now_ms());
}

static void
on_answer(void *arg, uint32_t token, const struct posture_answer *a)
{
	struct posture_run *r = arg;
	unsigned int i = token >> DOMAIN_SHIFT;

	if (i >= r->n)
		return;
	posture_feed(&r->dom[i], token & ((1u << DOMAIN_SHIFT) - 1), a);
	pump(r, i);
	check_complete(r);
}

/* Ask everything domain i's checks want now. */
static void
pump(struct posture_run *r, unsigned int i)
{
	struct posture_query q[POSTURE_QUERIES_MAX];
	size_t n = posture_want(&r->dom[i], q, POSTURE_QUERIES_MAX);

	for (size_t k = 0; k < n; k++) {
		uint32_t token = (uint32_t)i << DOMAIN_SHIFT | q[k].token;
		int ret = dns_query(r->dns, q[k].name, q[k].type, on_answer, r, token);

		if (ret < 0) {
			const struct posture_answer a = { .status = POSTURE_ANS_ERROR,
							  .error = strerror(-ret) };

			posture_feed(&r->dom[i], q[k].token, &a);
		}
	}
}

static void
on_deadline(void *arg)
{
	struct posture_run *r = arg;

	for (unsigned int i = 0; i < r->n; i++)
		if (!posture_done(&r->dom[i]))
			posture_abort(&r->dom[i], "no answer before the deadline");
	check_complete(r);
}

static void
on_done(void *arg)
{
	struct posture_run *r = arg;

	r->fn(r->arg, r->res, r->n);
}

static int
alloc_run(struct posture_run *r, unsigned int n)
{
	r->n = n;
	r->res = calloc(n, sizeof(*r->res));
	r->dom = calloc(n, sizeof(*r->dom));
	r->walks = calloc(n, posture_walk_size());
	return r->res && r->dom && r->walks ? 0 : -ENOMEM;
}

int
posture_run_start(struct posture_run **out, struct evloop *loop,
		  const struct posture_run_spec *spec, posture_run_fn *fn, void *arg,
		  char *err, size_t errlen)
{
	struct posture_run *r;
	uint64_t ms = spec->deadline_ms ? spec->deadline_ms : POSTURE_RUN_DEADLINE_MS;
	int ret;

	if (spec->n_domains == 0 || spec->n_domains > BW_MAX_DOMAINS) {
		snprintf(err, errlen, "between 1 and %d domains", BW_MAX_DOMAINS);
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->fn = fn;
	r->arg = arg;
	evloop_timer_init(&r->deadline, on_deadline, r);
	evloop_timer_init(&r->done, on_done, r);
	ret = alloc_run(r, spec->n_domains);
	if (ret == 0)
		ret = dns_open(&r->dns, loop, spec->resolver, err, errlen);
	if (ret < 0) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		posture_run_free(r);
		return ret;
	}
	*out = r;
	for (unsigned int i = 0; i < r->n; i++)
		posture_begin(&r->dom[i], &r->res[i], r->walks + i * posture_walk_size(),
			      spec->domains[i], spec->selectors, spec->n_selectors);
	evloop_timer_arm(loop, &r->deadline, evloop_now_ms() + ms);
	for (unsigned int i = 0; i < r->n; i++)
		pump(r, i);
	check_complete(r);
	return 0;
}

void
posture_run_free(struct posture_run *r)
{
	if (!r)
		return;
	dns_close(r->dns);
	if (r->loop) {
		evloop_timer_cancel(r->loop, &r->deadline);
		evloop_timer_cancel(r->loop, &r->done);
	}
	free(r->walks);
	free(r->dom);
	free(r->res);
	free(r);
}
