/*
 * fuzz_spf.c - libFuzzer target: SPF records as DNS could hand them to us.
 *
 * The input is parsed as one record, then drives a whole SPF walk: it is
 * cut at NUL bytes into answers, one per lookup the walk asks for, in
 * order; an answer's first byte picks its status (ok, nodata, nxdomain,
 * error) and the rest, split at newlines, are its TXT records.  Lookups
 * past the last answer get NXDOMAIN.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next answer from the input at *pos. */
static void
next_answer(const char **pos, const char *end, struct posture_answer *a)
{
	const char *p = *pos, *stop;

	memset(a, 0, sizeof(*a));
	a->status = POSTURE_ANS_NXDOMAIN;
	if (p >= end)
		return;
	stop = memchr(p, '\0', (size_t)(end - p));
	if (!stop)
		stop = end;
	a->status = (enum posture_status)((unsigned char)*p++ % 4);
	a->error = "fuzz";
	while (a->status == POSTURE_ANS_OK && p <= stop && a->n < POSTURE_RR_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(stop - p));
		const char *e = nl ? nl : stop;

		a->rr[a->n].text = p;
		a->rr[a->n].len = (size_t)(e - p) > POSTURE_TXT_MAX ? POSTURE_TXT_MAX : (size_t)(e - p);
		a->rr[a->n].cut = (size_t)(e - p) > POSTURE_TXT_MAX;
		a->n++;
		p = e + 1;
	}
	a->total = a->n;
	*pos = stop + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_record rec;
	static struct posture_check out;
	const char *in = (const char *)data, *pos = in, *end = in + size;
	struct spf_walk *w = malloc(spf_walk_size());
	struct posture_query q;
	char err[128];
	int rounds = 0;

	if (size <= POSTURE_TXT_MAX)
		spf_parse(in, size, &rec, err, sizeof(err));
	memset(&out, 0, sizeof(out));
	spf_walk_init(w, "fuzz.test", &out);
	while (!spf_walk_done(w) && spf_walk_want(w, &q) && rounds++ < 2 * SPF_NODES_MAX) {
		struct posture_answer a;

		next_answer(&pos, end, &a);
		spf_walk_feed(w, q.token, &a);
	}
	if (!spf_walk_done(w) || rounds > SPF_NODES_MAX + 16)
		abort();	/* the walk must end, and within its bound */
	if (out.verdict > POSTURE_PASS || out.n_findings > POSTURE_FINDINGS_MAX)
		abort();
	free(w);
	return 0;
}
