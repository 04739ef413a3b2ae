/*
 * rules_text.c - format and parse state-file lines (rules_text.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "rules_text.h"

static int
format_set(FILE *f, const char *kind, const struct rule_set *s)
{
	char cidr[ADDR_CIDR_STRLEN];

	for (size_t i = 0; i < s->n; i++) {
		const struct rule_entry *e = &s->v[i];

		if (fprintf(f, "%s %s %" PRIu64 " %" PRIu64 " %s %s %u %s\n", kind,
			    addr_format_cidr(&e->cidr, cidr, sizeof(cidr)), e->added,
			    e->expires, names_action(e->action), names_origin(e->origin),
			    e->offences, e->text[0] ? e->text : "-") < 0)
			return -EIO;
	}
	return 0;
}

int
rules_format(FILE *f, const struct rules *r)
{
	if (fprintf(f, "%s\n", RULES_TEXT_HEADER) < 0 ||
	    format_set(f, "allow", &r->allow) < 0 || format_set(f, "block", &r->block) < 0)
		return -EIO;
	return 0;
}

/* The next space-separated field of [*p, end); false when none. */
static bool
field(const char **p, const char *end, const char **f, size_t *n)
{
	const char *q = *p;

	if (q >= end || *q == ' ')
		return false;
	*f = q;
	while (q < end && *q != ' ')
		q++;
	*n = (size_t)(q - *f);
	*p = q < end ? q + 1 : q;
	return true;
}

static bool
number(const char *f, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (f[i] < '0' || f[i] > '9' || v > (UINT64_MAX - (uint64_t)(f[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(f[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

int
rules_parse_line(const char *line, size_t len, struct rule_entry *e, bool *is_allow)
{
	const char *p = line, *end = line + len, *f;
	char cidr[ADDR_CIDR_STRLEN], why[64];
	uint64_t v;
	size_t n;

	memset(e, 0, sizeof(*e));
	if (len && line[len - 1] == '\r')
		end--;
	if (p == end || *p == '#')
		return 1;
	if (memchr(line, '\0', len))
		return -EINVAL;
	if (!field(&p, end, &f, &n))
		return -EINVAL;
	if (n == 5 && memcmp(f, "allow", 5) == 0)
		*is_allow = true;
	else if (n == 5 && memcmp(f, "block", 5) == 0)
		*is_allow = false;
	else
		return -EINVAL;
	if (!field(&p, end, &f, &n) || n >= sizeof(cidr))
		return -EINVAL;
	memcpy(cidr, f, n);
	cidr[n] = '\0';
	if (addr_parse_cidr(cidr, &e->cidr, why, sizeof(why)) < 0)
		return -EINVAL;
	if (!field(&p, end, &f, &n) || !number(f, n, UINT64_MAX, &e->added))
		return -EINVAL;
	if (!field(&p, end, &f, &n) || !number(f, n, UINT64_MAX, &e->expires))
		return -EINVAL;
	if (!field(&p, end, &f, &n))
		return -EINVAL;
	if (*is_allow ? !(n == 1 && *f == '-') : names_action_parse(f, n, &e->action) < 0)
		return -EINVAL;
	if (!field(&p, end, &f, &n) || names_origin_parse(f, n, &e->origin) < 0)
		return -EINVAL;
	if (!field(&p, end, &f, &n) || !number(f, n, UINT32_MAX, &v))
		return -EINVAL;
	e->offences = (uint32_t)v;
	n = (size_t)(end - p);
	if (n == 0 || n > RULE_TEXT_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return -EINVAL;
	if (!(n == 1 && *p == '-'))
		memcpy(e->text, p, n);
	return 0;
}
