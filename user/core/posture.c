/*
 * posture.c - one domain's posture checks driven as a state machine
 * (posture.h): the SPF walk, the _dmarc lookup and one lookup per DKIM
 * selector, all asked through posture_want() and answered through
 * posture_feed(); plus the findings and grades they share.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim_key.h"
#include "dmarc.h"
#include "posture.h"
#include "spf.h"
#include "text.h"

/* Tokens: the check in the top byte, the SPF walk's own token below. */
#define TOKEN_SPF	0u
#define TOKEN_DMARC	1u
#define TOKEN_DKIM	2u	/* + selector index */
#define TOKEN_SHIFT	24

_Static_assert(TOKEN_DKIM + BW_MAX_SELECTORS < 16, "tokens fit in 28 bits");
_Static_assert(SPF_NODES_MAX < (1 << TOKEN_SHIFT), "SPF tokens");

enum lookup_state {
	L_WAITING = 0,
	L_ASKED,
	L_DONE,
};

size_t
posture_walk_size(void)
{
	return spf_walk_size();
}

void
posture_begin(struct posture_domain *d, struct posture_result *res, void *walk,
	      const char *domain, const char (*selectors)[BW_SELECTOR_MAX + 1],
	      unsigned int n_selectors)
{
	memset(res, 0, sizeof(*res));
	memset(d, 0, sizeof(*d));
	snprintf(res->domain, sizeof(res->domain), "%s", domain);
	if (n_selectors > BW_MAX_SELECTORS)
		n_selectors = BW_MAX_SELECTORS;
	res->n_dkim = n_selectors;
	for (unsigned int i = 0; i < n_selectors; i++)
		snprintf(res->dkim[i].selector, sizeof(res->dkim[i].selector), "%s", selectors[i]);
	d->res = res;
	d->spf = walk;
	spf_walk_init(d->spf, domain, &res->spf);
}

/* The name a DMARC (i = 0) or DKIM (i = 1 + selector) lookup asks for;
 * false when it would be longer than a DNS name may be. */
static bool
lookup_name(const struct posture_domain *d, unsigned int i, char *out, size_t len)
{
	int n;

	if (i == 0)
		n = snprintf(out, len, "_dmarc.%s", d->res->domain);
	else
		n = snprintf(out, len, "%s._domainkey.%s", d->res->dkim[i - 1].selector,
			     d->res->domain);
	return n > 0 && (size_t)n < len && (size_t)n <= POSTURE_NAME_MAX;
}

static void
grade_lookup(struct posture_domain *d, unsigned int i, const struct posture_answer *a)
{
	d->state[i] = L_DONE;
	if (i == 0)
		dmarc_grade(d->res->domain, a, &d->res->dmarc);
	else
		dkim_grade(d->res->dkim[i - 1].selector, d->res->domain, a, &d->res->dkim[i - 1]);
}

size_t
posture_want(struct posture_domain *d, struct posture_query *out, size_t max)
{
	static const struct posture_answer too_long = {
		.status = POSTURE_ANS_ERROR, .error = "name too long",
	};
	size_t n = 0;

	if (n < max && spf_walk_want(d->spf, &out[n])) {
		out[n].token |= TOKEN_SPF << TOKEN_SHIFT;
		n++;
	}
	for (unsigned int i = 0; i <= d->res->n_dkim && n < max; i++) {
		if (d->state[i] != L_WAITING)
			continue;
		if (!lookup_name(d, i, out[n].name, sizeof(out[n].name))) {
			grade_lookup(d, i, &too_long);
			continue;
		}
		d->state[i] = L_ASKED;
		out[n].type = POSTURE_Q_TXT;
		out[n].token = (i == 0 ? TOKEN_DMARC : TOKEN_DKIM + i - 1) << TOKEN_SHIFT;
		n++;
	}
	return n;
}

void
posture_feed(struct posture_domain *d, uint32_t token, const struct posture_answer *a)
{
	uint32_t check = token >> TOKEN_SHIFT, i;

	if (check == TOKEN_SPF) {
		spf_walk_feed(d->spf, token & ((1u << TOKEN_SHIFT) - 1), a);
		return;
	}
	i = check == TOKEN_DMARC ? 0 : check - TOKEN_DKIM + 1;
	if (i > d->res->n_dkim || d->state[i] != L_ASKED)
		return;
	grade_lookup(d, i, a);
}

bool
posture_done(const struct posture_domain *d)
{
	if (!spf_walk_done(d->spf))
		return false;
	for (unsigned int i = 0; i <= d->res->n_dkim; i++)
		if (d->state[i] != L_DONE)
			return false;
	return true;
}

void
posture_abort(struct posture_domain *d, const char *why)
{
	const struct posture_answer a = { .status = POSTURE_ANS_ERROR, .error = why };

	spf_walk_abort(d->spf, why);
	for (unsigned int i = 0; i <= d->res->n_dkim; i++)
		if (d->state[i] != L_DONE)
			grade_lookup(d, i, &a);
}

/* ---- findings and grades ---- */

void
posture_note(struct posture_check *c, enum posture_grade g, const char *fmt, ...)
{
	va_list ap;

	if (c->n_findings >= POSTURE_FINDINGS_MAX) {
		/* The grade must not get better because a finding was dropped. */
		if (!c->dropped++ || g < c->dropped_grade)
			c->dropped_grade = (uint8_t)g;
		return;
	}
	c->findings[c->n_findings].grade = (uint8_t)g;
	va_start(ap, fmt);
	vsnprintf(c->findings[c->n_findings].text, POSTURE_FINDING_MAX, fmt, ap);
	va_end(ap);
	c->n_findings++;
}

void
posture_keep_record(struct posture_check *c, const char *text, size_t len)
{
	text_escape(c->record, POSTURE_RECORD_SHOWN + 1, text,
		    len > POSTURE_RECORD_SHOWN ? POSTURE_RECORD_SHOWN : len);
	if (len > POSTURE_RECORD_SHOWN)
		strcat(c->record, "...");
	c->has_record = true;
}

void
posture_finish(struct posture_check *c)
{
	c->verdict = c->dropped ? c->dropped_grade : POSTURE_PASS;
	for (unsigned int i = 0; i < c->n_findings; i++)
		if (c->findings[i].grade < c->verdict)
			c->verdict = c->findings[i].grade;
	c->done = true;
}

bool
posture_has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n >= pl && strncasecmp(s, prefix, pl) == 0;
}

int
posture_check_grade(const struct posture_result *r, enum posture_check_id c)
{
	int g = -1;

	if (c == POSTURE_SPF)
		return r->spf.done ? r->spf.verdict : -1;
	if (c == POSTURE_DMARC)
		return r->dmarc.done ? r->dmarc.verdict : -1;
	for (unsigned int i = 0; i < r->n_dkim; i++)
		if (r->dkim[i].done && (g < 0 || r->dkim[i].verdict < g))
			g = r->dkim[i].verdict;
	return g;
}

enum posture_grade
posture_domain_grade(const struct posture_result *r)
{
	int worst = POSTURE_PASS;

	for (int c = 0; c < POSTURE_CHECKS; c++) {
		int g = posture_check_grade(r, (enum posture_check_id)c);

		if (g >= 0 && g < worst)
			worst = g;
	}
	return (enum posture_grade)worst;
}

bool
posture_dns_error(const struct posture_result *r, enum posture_check_id c)
{
	if (c == POSTURE_SPF)
		return r->spf.dns_error;
	if (c == POSTURE_DMARC)
		return r->dmarc.dns_error;
	for (unsigned int i = 0; i < r->n_dkim; i++)
		if (r->dkim[i].dns_error)
			return true;
	return false;
}

const char *
posture_grade_name(unsigned int g)
{
	static const char *const n[] = { "fail", "warn", "pass" };

	return g <= POSTURE_PASS ? n[g] : "?";
}

const char *
posture_finding_severity(unsigned int g)
{
	static const char *const n[] = { "fail", "warn", "info" };

	return g <= POSTURE_PASS ? n[g] : "?";
}

const char *
posture_check_name(enum posture_check_id c)
{
	static const char *const n[] = { "spf", "dmarc", "dkim" };

	return (unsigned int)c < POSTURE_CHECKS ? n[c] : "?";
}

const struct posture_finding *
posture_first_problem(const struct posture_check *c)
{
	if (!c->done || c->verdict == POSTURE_PASS)
		return NULL;
	for (unsigned int i = 0; i < c->n_findings; i++)
		if (c->findings[i].grade == c->verdict)
			return &c->findings[i];
	return NULL;
}

/* ---- the resolver's address ---- */

static int
parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned int v = 0;

	if (n == 0 || n > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int
parse_ip(const char *s, size_t n, int family, struct posture_resolver *out)
{
	char buf[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(family, buf, out->addr) != 1)
		return -EINVAL;
	out->family = family;
	return 0;
}

int
posture_resolver_parse(const char *s, size_t n, struct posture_resolver *out)
{
	const char *colon = n ? memchr(s, ':', n) : NULL;
	const char *close;

	memset(out, 0, sizeof(*out));
	out->port = 53;
	if (n && s[0] == '[') {
		close = memchr(s, ']', n);
		if (!close || parse_ip(s + 1, (size_t)(close - s - 1), AF_INET6, out) < 0)
			return -EINVAL;
		if ((size_t)(close - s) + 1 == n)
			return 0;
		if (close[1] != ':')
			return -EINVAL;
		return parse_port(close + 2, n - (size_t)(close - s) - 2, &out->port);
	}
	if (colon && memchr(colon + 1, ':', n - (size_t)(colon - s) - 1))
		return parse_ip(s, n, AF_INET6, out);	/* bare IPv6: no port */
	if (!colon)
		return parse_ip(s, n, AF_INET, out);
	if (parse_ip(s, (size_t)(colon - s), AF_INET, out) < 0)
		return -EINVAL;
	return parse_port(colon + 1, n - (size_t)(colon - s) - 1, &out->port);
}
