/*
 * conf_parse.c - `key = value` lines onto struct bw_settings (conf_parse.h).
 *
 * Hand-written rather than libinih: the Debian build of inih cuts lines at
 * 199 characters (a real protected_domains list is longer), continues
 * indented lines as multi-line values and strips only ';' comments, so our
 * own line reader already did all of the work but the split at '='.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_parse.h"
#include "text.h"

#define LINE_SPACE	" \t\r"

struct conf_line {
	const char *p;		/* the line, without its '\n' */
	size_t n;
	unsigned int no;	/* 1-based */
};

/* Trim [*p, *p + *n) of spaces, tabs and CRs at both ends. */
static void
trim(const char **p, size_t *n)
{
	while (*n > 0 && strchr(LINE_SPACE, (*p)[0]))
		(*p)++, (*n)--;
	while (*n > 0 && strchr(LINE_SPACE, (*p)[*n - 1]))
		(*n)--;
}

/* Cut the line at a '#' or ';' that starts it or follows a space/tab. */
static void
strip_comment(const char *p, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		if ((p[i] == '#' || p[i] == ';') &&
		    (i == 0 || p[i - 1] == ' ' || p[i - 1] == '\t')) {
			*n = i;
			return;
		}
	}
}

static int
line_error(unsigned int no, unsigned int *err_line, char *err, size_t errlen,
	   const char *msg)
{
	*err_line = no;
	snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

/* One line onto *s; seen[] records the line each key was set on. */
static int
parse_line(struct bw_settings *s, const struct conf_line *l, unsigned int *seen,
	   unsigned int *err_line, char *err, size_t errlen)
{
	char key[CONF_LINE_MAX + 1], value[CONF_LINE_MAX + 1], msg[BW_ERR_MAX];
	char b[TEXT_SHOWN_BUF];
	const char *p = l->p, *eq, *k, *v;
	size_t n = l->n, kn, vn;
	const struct setting_desc *d;
	size_t ntab;
	const struct setting_desc *table = settings_table(&ntab);

	if (memchr(p, '\0', n))
		return line_error(l->no, err_line, err, errlen, "line contains a NUL byte");
	trim(&p, &n);
	strip_comment(p, &n);
	trim(&p, &n);
	if (n == 0)
		return 0;
	if (p[0] == '[')
		return line_error(l->no, err_line, err, errlen,
				  "section headers are not supported (write key = value lines)");
	eq = memchr(p, '=', n);
	if (!eq || memchr(p, ':', (size_t)(eq - p)))
		return line_error(l->no, err_line, err, errlen, "expected 'key = value'");
	k = p;
	kn = (size_t)(eq - p);
	v = eq + 1;
	vn = n - kn - 1;
	trim(&k, &kn);
	trim(&v, &vn);
	memcpy(key, k, kn);
	key[kn] = '\0';
	memcpy(value, v, vn);
	value[vn] = '\0';
	d = settings_find(key);
	if (!d) {
		snprintf(msg, sizeof(msg), "unknown key '%s'", text_shown(b, k, kn));
		return line_error(l->no, err_line, err, errlen, msg);
	}
	if (seen[d - table]) {
		snprintf(msg, sizeof(msg), "%s is already set on line %u (give each key once)",
			 d->name, seen[d - table]);
		return line_error(l->no, err_line, err, errlen, msg);
	}
	seen[d - table] = l->no;
	if (settings_set(s, key, value, msg, sizeof(msg)) < 0)
		return line_error(l->no, err_line, err, errlen, msg);
	return 0;
}

int
conf_parse(struct bw_settings *s, const char *text, size_t len, unsigned int *err_line,
	   char *err, size_t errlen)
{
	struct bw_settings *next;
	unsigned int *seen;
	struct conf_line l = { .p = text, .no = 0 };
	size_t ntab, off = 0;
	int ret = 0;

	*err_line = 0;
	settings_table(&ntab);
	next = malloc(sizeof(*next));
	seen = calloc(ntab, sizeof(*seen));
	if (!next || !seen) {
		free(next);
		free(seen);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*next = *s;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		off = 3;		/* UTF-8 byte order mark */
	while (off < len && ret == 0) {
		const char *nl = memchr(text + off, '\n', len - off);

		l.p = text + off;
		l.n = nl ? (size_t)(nl - l.p) : len - off;
		l.no++;
		off += l.n + (nl != NULL);
		if (l.n > CONF_LINE_MAX) {
			char msg[64];

			snprintf(msg, sizeof(msg), "line too long (at most %d characters)",
				 CONF_LINE_MAX);
			ret = line_error(l.no, err_line, err, errlen, msg);
			break;
		}
		ret = parse_line(next, &l, seen, err_line, err, errlen);
	}
	if (ret == 0)
		ret = settings_validate(next, err, errlen);
	if (ret == 0)
		*s = *next;
	free(next);
	free(seen);
	return ret;
}
