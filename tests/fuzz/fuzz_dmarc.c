/*
 * fuzz_dmarc.c - libFuzzer target: _dmarc TXT answers.  The input is one
 * record for the parser, and, split at newlines, the TXT records of an
 * answer for the grade.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct posture_check out;
	const char *p = (const char *)data, *end = p + size;
	struct posture_answer a;
	struct dmarc_record r;
	char err[128];

	if (size > POSTURE_TXT_MAX)
		return 0;
	if (dmarc_parse(p, size, &r, err, sizeof(err)) == 0 &&
	    (r.pct > 100 || r.p > DMARC_REJECT || r.sp > DMARC_REJECT))
		abort();
	memset(&a, 0, sizeof(a));
	while (p <= end && a.n < POSTURE_RR_MAX) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		a.rr[a.n].text = p;
		a.rr[a.n].len = (size_t)(e - p);
		a.n++;
		p = e + 1;
	}
	a.total = a.n;
	memset(&out, 0, sizeof(out));
	dmarc_grade("fuzz.test", &a, &out);
	if (!out.done || out.verdict > POSTURE_PASS)
		abort();
	return 0;
}
