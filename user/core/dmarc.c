/*
 * dmarc.c - DMARC records and their grade (dmarc.h).
 *
 * A domain that publishes p=reject (or quarantine) tells receivers to
 * refuse mail that fails both SPF and DKIM alignment: forging it stops
 * paying, and the bounces of forged mail stop coming back to it.  p=none
 * only asks for reports; pct below 100 exempts part of the forged mail.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "taglist.h"
#include "text.h"

#define DMARC_VERSION	"DMARC1"

/* Tags whose repetition makes the record invalid. */
static const char *const known_tags[] = {
	"v", "p", "sp", "pct", "rua", "ruf", "adkim", "aspf", "fo", "rf", "ri",
};
#define N_KNOWN	(sizeof(known_tags) / sizeof(known_tags[0]))

const char *
dmarc_policy_name(int p)
{
	static const char *const names[] = { "none", "quarantine", "reject" };

	return p >= 0 && p <= DMARC_REJECT ? names[p] : "?";
}

bool
dmarc_is_record(const char *txt, size_t len)
{
	const char *pos = txt;
	struct tag t;

	return taglist_next(&pos, txt + len, &t) == 1 && tag_is_ci(&t, "v") &&
	       t.vlen == strlen(DMARC_VERSION) && memcmp(t.value, DMARC_VERSION, t.vlen) == 0;
}

static int
policy_value(const struct tag *t)
{
	for (int p = DMARC_NONE; p <= DMARC_REJECT; p++)
		if (tag_value_is(t, dmarc_policy_name(p)))
			return p;
	return DMARC_INVALID;
}

static int
pct_value(const struct tag *t)
{
	int v = 0;

	if (t->vlen == 0 || t->vlen > 3)
		return DMARC_INVALID;
	for (size_t i = 0; i < t->vlen; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return DMARC_INVALID;
		v = v * 10 + (t->value[i] - '0');
	}
	return v <= 100 ? v : DMARC_INVALID;
}

/* rua= is a comma-separated list of URIs; receivers must support mailto:. */
static bool
has_mailto(const struct tag *t)
{
	const char *p = t->value, *end = t->value + t->vlen;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if ((size_t)(end - p) > 7 && strncasecmp(p, "mailto:", 7) == 0)
			return true;
		while (p < end && *p != ',')
			p++;
	}
	return false;
}

static void
take_tag(struct dmarc_record *r, const struct tag *t)
{
	if (tag_is_ci(t, "p"))
		r->p = policy_value(t);
	else if (tag_is_ci(t, "sp"))
		r->sp = policy_value(t);
	else if (tag_is_ci(t, "pct"))
		r->pct = pct_value(t);
	else if (tag_is_ci(t, "rua")) {
		r->rua = true;
		r->rua_mailto = has_mailto(t);
	} else if (tag_is_ci(t, "adkim") || tag_is_ci(t, "aspf")) {
		if (!tag_value_is(t, "r") && !tag_value_is(t, "s"))
			r->align_bad = true;
	}
}

int
dmarc_parse(const char *txt, size_t len, struct dmarc_record *r, char *err, size_t errlen)
{
	const char *pos = txt, *end = txt + len;
	unsigned int seen = 0;
	char b[TEXT_SHOWN_BUF];
	struct tag t;
	int ret;

	memset(r, 0, sizeof(*r));
	r->p = r->sp = r->pct = DMARC_ABSENT;
	if (!dmarc_is_record(txt, len)) {
		snprintf(err, errlen, "does not start with v=DMARC1");
		return -EINVAL;
	}
	while ((ret = taglist_next(&pos, end, &t)) == 1) {
		for (size_t k = 0; k < N_KNOWN; k++) {
			if (!tag_is_ci(&t, known_tags[k]))
				continue;
			if (seen & (1u << k)) {
				snprintf(err, errlen, "tag %s= given twice", known_tags[k]);
				return -EINVAL;
			}
			seen |= 1u << k;
		}
		take_tag(r, &t);
	}
	if (ret < 0) {
		snprintf(err, errlen, "bad tag list at '%s'",
			 text_shown(b, t.name, (size_t)(end - t.name)));
		return -EINVAL;
	}
	return 0;
}

/* The one DMARC record of the answer, or NULL after noting why not. */
static const struct posture_rr *
find_record(const char *domain, const struct posture_answer *a, struct posture_check *out)
{
	const struct posture_rr *rec = NULL;
	unsigned int count = 0;

	if (a->status == POSTURE_ANS_ERROR) {
		out->dns_error = true;
		posture_note(out, POSTURE_FAIL, "DNS lookup of _dmarc.%s TXT failed (%s): DMARC not checked",
			     domain, a->error ? a->error : "error");
		return NULL;
	}
	if (a->n < a->total) {
		posture_note(out, POSTURE_FAIL, "_dmarc.%s has %u TXT records, more than %d: not all "
			     "were read; keep only the DMARC record", domain, a->total, POSTURE_RR_MAX);
		return NULL;
	}
	for (unsigned int i = 0; a->status == POSTURE_ANS_OK && i < a->n; i++)
		if (dmarc_is_record(a->rr[i].text, a->rr[i].len) && !count++)
			rec = &a->rr[i];
	if (!rec) {
		posture_note(out, POSTURE_FAIL,
			     "no DMARC record at _dmarc.%s: receivers have no policy against forged "
			     "mail; publish 'v=DMARC1; p=none; rua=mailto:...', then move to "
			     "p=quarantine and p=reject", domain);
		return NULL;
	}
	posture_keep_record(out, rec->text, rec->len);
	if (count > 1) {
		posture_note(out, POSTURE_FAIL,
			     "_dmarc.%s has %u DMARC records: receivers ignore them all; keep one",
			     domain, count);
		return NULL;
	}
	if (rec->cut) {
		posture_note(out, POSTURE_FAIL, "_dmarc.%s's record is longer than %d bytes", domain,
			     POSTURE_TXT_MAX);
		return NULL;
	}
	return rec;
}

static void
grade_policy(const char *domain, const struct dmarc_record *r, struct posture_check *out)
{
	if (r->p == DMARC_ABSENT || r->p == DMARC_INVALID) {
		posture_note(out, POSTURE_FAIL,
			     "%s: the DMARC record has %s p= tag: receivers apply no policy; set "
			     "p=quarantine or p=reject", domain, r->p == DMARC_ABSENT ? "no" : "an invalid");
		return;
	}
	if (r->p == DMARC_NONE)
		posture_note(out, POSTURE_WARN,
			     "%s: p=none only asks for reports: forged mail is still delivered; once "
			     "the reports show your own mail aligned, move to p=quarantine, then "
			     "p=reject", domain);
	if (r->sp == DMARC_INVALID)
		posture_note(out, POSTURE_WARN, "%s: sp= is not none, quarantine or reject: "
			     "receivers use p= for subdomains; fix or drop sp=", domain);
	else if (r->sp == DMARC_NONE && r->p != DMARC_NONE)
		posture_note(out, POSTURE_WARN,
			     "%s: sp=none leaves subdomains unprotected: forgers use any.%s; drop sp= "
			     "or set it to quarantine or reject", domain, domain);
	if (r->pct == DMARC_INVALID)
		posture_note(out, POSTURE_WARN, "%s: pct= is not a number 0..100: receivers use 100; "
			     "fix or drop it", domain);
	else if (r->pct >= 0 && r->pct < 100 && r->p != DMARC_NONE)
		posture_note(out, POSTURE_WARN,
			     "%s: pct=%d applies the policy to only %d%% of forged mail; set pct=100 "
			     "(or drop pct=)", domain, r->pct, r->pct);
}

void
dmarc_grade(const char *domain, const struct posture_answer *a, struct posture_check *out)
{
	const struct posture_rr *rec;
	struct dmarc_record r;
	char err[POSTURE_FINDING_MAX / 2];

	out->checked = true;
	rec = find_record(domain, a, out);
	if (!rec)
		goto out;
	if (dmarc_parse(rec->text, rec->len, &r, err, sizeof(err)) < 0) {
		posture_note(out, POSTURE_FAIL, "_dmarc.%s is malformed (%s): receivers ignore it",
			     domain, err);
		goto out;
	}
	grade_policy(domain, &r, out);
	if (r.align_bad)
		posture_note(out, POSTURE_WARN, "%s: adkim= or aspf= is neither r nor s: receivers "
			     "use r; fix or drop it", domain);
	if (!r.rua)
		posture_note(out, POSTURE_PASS, "%s: no rua=: you get no reports of who sends as "
			     "%s; add rua=mailto:ADDRESS", domain, domain);
	else if (!r.rua_mailto)
		posture_note(out, POSTURE_WARN, "%s: rua= has no mailto: address, the only kind "
			     "receivers must support", domain);
out:
	posture_finish(out);
}
