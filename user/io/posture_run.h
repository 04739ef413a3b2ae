/*
 * posture_run.h - grade a set of domains' posture (core/posture.h) with
 * lookups through io/dns.h, on an event loop: the CLI drives a loop of its
 * own, the agent runs it on its main loop every few hours.  Every domain's
 * checks run at once; within a domain the SPF walk is sequential.
 *
 * Functions return 0 or -errno.
 */
#ifndef BW_POSTURE_RUN_H
#define BW_POSTURE_RUN_H

#include <stdint.h>

#include "evloop.h"
#include "posture.h"
#include "settings.h"

#define POSTURE_RUN_DEADLINE_MS	30000	/* the whole run; then what is left fails */

struct posture_run_spec {
	const char (*domains)[BW_DOMAIN_MAX + 1];	/* validated, lowercase */
	unsigned int n_domains;				/* 1..BW_MAX_DOMAINS */
	const char (*selectors)[BW_SELECTOR_MAX + 1];
	unsigned int n_selectors;
	const struct posture_resolver *resolver;	/* NULL: /etc/resolv.conf */
	uint64_t deadline_ms;				/* 0: POSTURE_RUN_DEADLINE_MS */
};

struct posture_run;

/*
 * Called once, from a timer of the run, when every domain is graded:
 * res[0..n) in the order of spec->domains, valid until the run is freed.
 * It must not free the run (free it after the loop returns, or from a
 * timer of the caller's own).
 */
typedef void posture_run_fn(void *arg, const struct posture_result *res, unsigned int n);

/* Start; err gets one line on failure (a resolver c-ares refused). */
int posture_run_start(struct posture_run **out, struct evloop *loop,
		      const struct posture_run_spec *spec, posture_run_fn *fn, void *arg,
		      char *err, size_t errlen);

/* Cancel whatever is outstanding and free.  NULL is fine. */
void posture_run_free(struct posture_run *r);

#endif
