/*
 * fuzz_rules_state.c - libFuzzer target: any bytes as rules.state, read
 * the way io/rules_state.c reads it: line by line (at most RULES_LINE_MAX
 * octets each), each through rules_parse_line() and into the mirror with
 * rules_put().
 *
 * Must never crash nor read past a line.  And what is accepted must
 * survive a save: each parsed entry, formatted by rules_format(), parses
 * back to the same entry; the whole mirror, formatted and read again,
 * holds the same rules.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "rules_text.h"

#define FUZZ_LINES	64	/* per input: enough for eviction and plen limits */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same(const struct rule_entry *a, const struct rule_entry *b)
{
	return addr_cidr_equal(&a->cidr, &b->cidr) && a->action == b->action &&
	       a->origin == b->origin && a->added == b->added && a->expires == b->expires &&
	       a->offences == b->offences && strcmp(a->text, b->text) == 0;
}

/* rules_format() of r, then every line parsed again: each rule must be
 * found in r, unchanged, and there must be as many. */
static void
reread(const struct rules *r)
{
	char *text = NULL, *p, *nl;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	if (rules_format(f, r) < 0)
		abort();
	fclose(f);
	for (p = text; p < text + len; p = nl + 1) {
		struct rule_entry e;
		const struct rule_entry *was;
		bool allow;
		int k;

		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!nl)
			abort();	/* every line ends */
		if ((size_t)(nl - p) > RULES_LINE_MAX)
			abort();	/* a line we write, we must read */
		k = rules_parse_line(p, (size_t)(nl - p), &e, &allow);
		if (k == 1)
			continue;
		if (k < 0)
			abort();
		was = rules_find(allow ? &r->allow : &r->block, &e.cidr);
		if (!was || !same(was, &e))
			abort();
		n++;
	}
	if (n != r->allow.n + r->block.n)
		abort();
	free(text);
}

/* One entry alone, formatted and parsed back. */
static void
one(const struct rule_entry *e, bool allow)
{
	struct rules r = { 0 };

	if (rules_put(allow ? &r.allow : &r.block, e) < 0)
		abort();	/* an empty set takes any one rule */
	reread(&r);
	rules_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[16] = "fuzz-rules-state";
	const uint8_t *p = data, *end = data + size;
	struct rules r = { 0 };
	unsigned int lines = 0;

	rules_seed(&r, seed);
	while (p < end && lines++ < FUZZ_LINES) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		struct rule_entry e;
		bool allow;
		char *line;

		if (n <= RULES_LINE_MAX) {
			/* An exactly sized copy: a read past the line is caught. */
			line = malloc(n ? n : 1);
			if (!line)
				break;
			memcpy(line, p, n);
			if (rules_parse_line(line, n, &e, &allow) == 0) {
				one(&e, allow);
				rules_put(allow ? &r.allow : &r.block, &e);
			}
			free(line);
		}
		p += n + 1;
	}
	reread(&r);
	rules_free(&r);
	return 0;
}
