/*
 * taglist.c - tag=value lists (taglist.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "taglist.h"

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_namechar(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && is_ws(*p))
		p++;
	return p;
}

int
taglist_next(const char **pos, const char *end, struct tag *t)
{
	const char *p = skip_ws(*pos, end), *v;

	while (p < end && *p == ';')
		p = skip_ws(p + 1, end);
	memset(t, 0, sizeof(*t));
	if (p >= end) {
		*pos = end;
		return 0;
	}
	t->name = p;
	if (!is_alpha(*p)) {
		t->nlen = 1;
		return -EINVAL;
	}
	while (p < end && is_namechar(*p))
		p++;
	t->nlen = (size_t)(p - t->name);
	p = skip_ws(p, end);
	if (p >= end || *p != '=')
		return -EINVAL;
	p = skip_ws(p + 1, end);
	v = p;
	while (p < end && *p != ';') {
		unsigned char c = (unsigned char)*p;

		if (!is_ws((char)c) && (c < 0x21 || c > 0x7e))
			return -EINVAL;
		p++;
	}
	t->value = v;
	t->vlen = (size_t)(p - v);
	while (t->vlen && is_ws(v[t->vlen - 1]))
		t->vlen--;
	*pos = p < end ? p + 1 : end;
	return 1;
}

bool
tag_is(const struct tag *t, const char *name)
{
	return t->nlen == strlen(name) && memcmp(t->name, name, t->nlen) == 0;
}

bool
tag_is_ci(const struct tag *t, const char *name)
{
	return t->nlen == strlen(name) && strncasecmp(t->name, name, t->nlen) == 0;
}

bool
tag_value_is(const struct tag *t, const char *v)
{
	return t->vlen == strlen(v) && strncasecmp(t->value, v, t->vlen) == 0;
}
