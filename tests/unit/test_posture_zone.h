/*
 * test_posture_zone.h - a pretend DNS for the posture unit tests: a table
 * of records, and a driver that answers every lookup posture_want() asks
 * from it, as io/posture_run.c does from real DNS.
 *
 * A zone entry is one record: TXT with its text, or A/AAAA/MX (text
 * unused); `error` makes every lookup of that name fail (SERVFAIL), `cut`
 * marks the TXT as longer than was kept.
 */
#ifndef BW_TEST_POSTURE_ZONE_H
#define BW_TEST_POSTURE_ZONE_H

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "posture.h"

struct zrec {
	const char *name;
	int type;
	const char *text;
	const char *error;
	bool cut;
};

#define TXT(n, t)	{ n, POSTURE_Q_TXT, t, NULL, false }
#define ADDR(n)		{ n, POSTURE_Q_A, NULL, NULL, false }
#define ADDR6(n)	{ n, POSTURE_Q_AAAA, NULL, NULL, false }
#define MXR(n)		{ n, POSTURE_Q_MX, NULL, NULL, false }
#define FAILS(n, why)	{ n, 0, NULL, why, false }

struct zone {
	const struct zrec *r;
	size_t n;
	unsigned int asked;		/* lookups the checks made */
	unsigned int asked_type[64];	/* by type */
};

static void
zone_answer(struct zone *z, const struct posture_query *q, struct posture_answer *a)
{
	bool exists = false;

	memset(a, 0, sizeof(*a));
	z->asked++;
	if (q->type < 64)
		z->asked_type[q->type]++;
	for (size_t i = 0; i < z->n; i++) {
		const struct zrec *r = &z->r[i];

		if (strcasecmp(r->name, q->name) != 0)
			continue;
		if (r->error) {
			a->status = POSTURE_ANS_ERROR;
			a->error = r->error;
			a->n = a->total = 0;
			return;
		}
		exists = true;
		if (r->type != (int)q->type)
			continue;
		a->total++;
		if (r->text && a->n < POSTURE_RR_MAX) {
			a->rr[a->n].text = r->text;
			a->rr[a->n].len = strlen(r->text);
			a->rr[a->n].cut = r->cut;
			a->n++;
		}
	}
	a->status = a->total ? POSTURE_ANS_OK : exists ? POSTURE_ANS_NODATA :
		    POSTURE_ANS_NXDOMAIN;
}

/* Grade domain from the zone into *res; the number of rounds it took. */
static int
zone_run(struct zone *z, const char *domain, const char (*sel)[BW_SELECTOR_MAX + 1],
	 unsigned int nsel, struct posture_result *res)
{
	struct posture_domain d;
	void *walk = malloc(posture_walk_size());
	int rounds = 0;
	bool done;

	posture_begin(&d, res, walk, domain, sel, nsel);
	while (!posture_done(&d) && rounds < 1000) {
		struct posture_query q[POSTURE_QUERIES_MAX];
		size_t n = posture_want(&d, q, POSTURE_QUERIES_MAX);

		for (size_t i = 0; i < n; i++) {
			struct posture_answer a;

			zone_answer(z, &q[i], &a);
			posture_feed(&d, q[i].token, &a);
		}
		rounds++;
		if (n == 0)
			break;
	}
	done = posture_done(&d);
	free(walk);
	return done ? rounds : -1;
}

/* Does a finding of grade g contain text? */
static bool
has_finding(const struct posture_check *c, int g, const char *text)
{
	for (unsigned int i = 0; i < c->n_findings; i++)
		if ((g < 0 || c->findings[i].grade == g) && strstr(c->findings[i].text, text))
			return true;
	return false;
}

#endif
