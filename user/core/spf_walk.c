/*
 * spf_walk.c - grade a domain's SPF by walking it as a receiver would
 * (spf.h): fetch the record, count every DNS-querying term (include, a,
 * mx, ptr, exists, redirect) through the whole include:/redirect= tree,
 * look up the names a, mx and exists point at to count the void ones, and
 * judge the all term that decides what forged mail gets.
 *
 * The walk is a list of lookups (nodes), asked one at a time in order, so
 * the same answers always give the same findings.  It never asks more than
 * SPF_NODES_MAX lookups: past the 10-lookup limit the verdict is known
 * (permerror) and nothing more is followed; an include that loops back to
 * a domain on its own path is reported instead of followed.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "text.h"

#define VOID_NAMES_MAX	160	/* bytes of void names quoted in a finding */

enum role {
	ROLE_TOP = 0,
	ROLE_INCLUDE,
	ROLE_REDIRECT,
	ROLE_A,
	ROLE_MX,
	ROLE_EXISTS,
};

enum node_state {
	N_WAITING = 0,
	N_ASKED,
	N_DONE,
};

struct spf_node {
	char name[POSTURE_NAME_MAX + 1];
	uint8_t role;		/* enum role */
	uint8_t state;		/* enum node_state */
	uint8_t qtype;		/* enum posture_qtype */
	bool policy;		/* its all term is the domain's answer */
	int8_t parent;		/* -1 for the top */
};

struct spf_walk {
	struct posture_check *out;
	struct spf_node node[SPF_NODES_MAX];
	unsigned int n;
	bool finished;
	char void_names[VOID_NAMES_MAX];
	struct spf_record rec;	/* scratch: the record being read */
};

static const char *const role_term[] = {
	[ROLE_TOP] = "", [ROLE_INCLUDE] = "include:", [ROLE_REDIRECT] = "redirect=",
	[ROLE_A] = "a:", [ROLE_MX] = "mx:", [ROLE_EXISTS] = "exists:",
};

size_t
spf_walk_size(void)
{
	return sizeof(struct spf_walk);
}

static const char *
top_name(const struct spf_walk *w)
{
	return w->node[0].name;
}

void
spf_walk_init(struct spf_walk *w, const char *domain, struct posture_check *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	out->checked = true;
	snprintf(w->node[0].name, sizeof(w->node[0].name), "%s", domain);
	w->node[0].role = ROLE_TOP;
	w->node[0].qtype = POSTURE_Q_TXT;
	w->node[0].policy = true;
	w->node[0].parent = -1;
	w->n = 1;
}

bool
spf_walk_done(const struct spf_walk *w)
{
	return w->finished;
}

bool
spf_walk_want(struct spf_walk *w, struct posture_query *q)
{
	for (unsigned int i = 0; i < w->n; i++) {
		struct spf_node *nd = &w->node[i];

		if (nd->state == N_ASKED)
			return false;	/* one at a time */
		if (nd->state != N_WAITING)
			continue;
		nd->state = N_ASKED;
		snprintf(q->name, sizeof(q->name), "%s", nd->name);
		q->type = (enum posture_qtype)nd->qtype;
		q->token = i;
		return true;
	}
	return false;
}

/* Names we look up: letters, digits, '-', '_' and '.', lowercased, no
 * trailing dot.  Anything else no registry would hand out. */
static bool
copy_name(char *dst, const char *s, size_t n)
{
	if (n && s[n - 1] == '.')
		n--;
	if (n == 0 || n > POSTURE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_.", c)))
			return false;
		dst[i] = c;
	}
	dst[n] = '\0';
	return true;
}

/* Is name one of the records on the path from idx up to the top? */
static bool
on_path(const struct spf_walk *w, int idx, const char *name)
{
	for (; idx >= 0; idx = w->node[idx].parent)
		if (strcmp(w->node[idx].name, name) == 0)
			return true;
	return false;
}

static void
note_void(struct spf_walk *w, const char *name)
{
	size_t used = strlen(w->void_names);

	w->out->voids++;
	if (used + strlen(name) + 3 < sizeof(w->void_names))
		snprintf(w->void_names + used, sizeof(w->void_names) - used, "%s%s",
			 used ? ", " : "", name);
}

/* Queue the lookup a counted term needs, unless it cannot or need not be
 * followed. */
static void
follow(struct spf_walk *w, int parent, enum role role, const char *rec,
       const struct spf_term *t)
{
	struct spf_node *nd;
	char name[POSTURE_NAME_MAX + 1], b[TEXT_SHOWN_BUF];

	if (t->macro) {
		posture_note(w->out, POSTURE_PASS,
			     "%s%s holds a macro: it depends on each message and is not followed",
			     role_term[role], text_shown(b, rec + t->off, t->len));
		return;
	}
	if (w->out->lookups > SPF_LOOKUP_LIMIT || w->n >= SPF_NODES_MAX) {
		/* The verdict is known already; only a record could add more. */
		if (role == ROLE_INCLUDE || role == ROLE_REDIRECT)
			w->out->lookups_partial = true;
		return;
	}
	if (t->len == 0) {
		snprintf(name, sizeof(name), "%s", w->node[parent].name);
	} else if (!copy_name(name, rec + t->off, t->len)) {
		posture_note(w->out, POSTURE_FAIL, "%s%s is not a host name: fix the term",
			     role_term[role], text_shown(b, rec + t->off, t->len));
		return;
	}
	if ((role == ROLE_INCLUDE || role == ROLE_REDIRECT) && on_path(w, parent, name)) {
		posture_note(w->out, POSTURE_FAIL,
			     "%s%s loops back to a record that includes it: receivers return "
			     "permerror; remove the loop", role_term[role], name);
		return;
	}
	nd = &w->node[w->n];
	memset(nd, 0, sizeof(*nd));
	snprintf(nd->name, sizeof(nd->name), "%s", name);
	nd->role = (uint8_t)role;
	nd->qtype = role == ROLE_MX ? POSTURE_Q_MX : (role == ROLE_A || role == ROLE_EXISTS) ?
		    POSTURE_Q_A : POSTURE_Q_TXT;
	nd->policy = role == ROLE_REDIRECT && w->node[parent].policy;
	nd->parent = (int8_t)parent;
	w->n++;
}

static void
check_range(struct spf_walk *w, const char *rec, const struct spf_term *t)
{
	unsigned int plen = t->kind == SPF_IP4 ? t->cidr4 : t->cidr6;
	unsigned int wide = t->kind == SPF_IP4 ? 8 : 16;
	char b[TEXT_SHOWN_BUF];

	if (t->qual != SPF_Q_PASS || plen >= wide)
		return;
	posture_note(w->out, plen == 0 ? POSTURE_FAIL : POSTURE_WARN,
		     "%s:%s/%u lets %s send as %s: list only your own senders",
		     t->kind == SPF_IP4 ? "ip4" : "ip6", text_shown(b, rec + t->off, t->len), plen,
		     plen == 0 ? "every address" : "a huge address range", top_name(w));
}

/* Count the record's DNS-querying terms and queue the lookups they need. */
static void
count_terms(struct spf_walk *w, int idx, const char *rec)
{
	const struct spf_record *r = &w->rec;
	static const enum role follows[] = {
		[SPF_INCLUDE] = ROLE_INCLUDE, [SPF_A] = ROLE_A, [SPF_MX] = ROLE_MX,
		[SPF_EXISTS] = ROLE_EXISTS,
	};

	for (unsigned int i = 0; i < r->n; i++) {
		const struct spf_term *t = &r->t[i];

		switch (t->kind) {
		case SPF_INCLUDE:
		case SPF_A:
		case SPF_MX:
		case SPF_EXISTS:
			w->out->lookups++;
			follow(w, idx, follows[t->kind], rec, t);
			break;
		case SPF_PTR:
			w->out->lookups++;
			posture_note(w->out, POSTURE_WARN,
				     "ptr in %s's SPF is slow and receivers may skip it: list the "
				     "senders with ip4:/ip6: instead", w->node[idx].name);
			break;
		case SPF_IP4:
		case SPF_IP6:
			check_range(w, rec, t);
			break;
		default:
			break;
		}
	}
	/* redirect= only counts, and only applies, without an all term. */
	if (r->redirect >= 0 && r->all < 0) {
		w->out->lookups++;
		follow(w, idx, ROLE_REDIRECT, rec, &r->t[r->redirect]);
	}
}

/* What the all term (or its absence) of a record means. */
static void
judge_all(struct spf_walk *w, int idx)
{
	const struct spf_record *r = &w->rec;
	const struct spf_node *nd = &w->node[idx];
	const char *top = top_name(w);

	if (!nd->policy) {
		if (r->all >= 0 && r->t[r->all].qual == SPF_Q_PASS)
			posture_note(w->out, POSTURE_FAIL,
				     "%s%s ends in +all: it passes every sender, so %s does too; "
				     "drop the include", role_term[nd->role], nd->name, top);
		return;
	}
	if (r->all < 0) {
		if (r->redirect < 0)
			posture_note(w->out, POSTURE_FAIL,
				     "%s's SPF has no all term: the default is neutral (?all), which "
				     "tells receivers nothing about forged mail; end it with -all",
				     nd->name);
		return;
	}
	switch (r->t[r->all].qual) {
	case SPF_Q_PASS:
		posture_note(w->out, POSTURE_FAIL,
			     "%s's SPF ends in +all: every server may send as %s; end it with -all",
			     nd->name, top);
		break;
	case SPF_Q_NEUTRAL:
		posture_note(w->out, POSTURE_FAIL,
			     "%s's SPF ends in ?all (neutral): it tells receivers nothing about "
			     "forged mail; end it with -all", nd->name);
		break;
	case SPF_Q_SOFTFAIL:
		posture_note(w->out, POSTURE_WARN,
			     "%s's SPF ends in ~all (softfail): forged mail is still accepted, at "
			     "most marked; once every sender is listed, end it with -all", nd->name);
		break;
	default:
		break;
	}
	if (r->terms_after_all)
		posture_note(w->out, POSTURE_PASS,
			     "terms after all in %s's SPF are never evaluated: remove them", nd->name);
}

static void
dns_failed(struct spf_walk *w, const struct spf_node *nd, const char *why)
{
	static const char *const qt[] = { [POSTURE_Q_A] = "A", [POSTURE_Q_MX] = "MX",
					  [POSTURE_Q_TXT] = "TXT", [POSTURE_Q_AAAA] = "AAAA" };

	w->out->dns_error = true;
	posture_note(w->out, POSTURE_FAIL, "DNS lookup of %s %s failed (%s): SPF not fully checked",
		     nd->name, nd->qtype <= POSTURE_Q_AAAA && qt[nd->qtype] ? qt[nd->qtype] : "?",
		     why ? why : "error");
}

/* A record's TXT answer: find its one SPF record, read it. */
static void
feed_txt(struct spf_walk *w, int idx, const struct posture_answer *a)
{
	const struct spf_node *nd = &w->node[idx];
	const struct posture_rr *spf = NULL;
	unsigned int count = 0;
	char err[POSTURE_FINDING_MAX / 2];

	for (unsigned int i = 0; a->status == POSTURE_ANS_OK && i < a->n; i++) {
		if (spf_is_record(a->rr[i].text, a->rr[i].len) && !count++)
			spf = &a->rr[i];
	}
	if (a->status != POSTURE_ANS_OK && nd->role != ROLE_TOP)
		note_void(w, nd->name);
	if (a->n < a->total) {
		posture_note(w->out, POSTURE_FAIL, "%s has %u TXT records, more than %d: not all "
			     "were read; remove the stale ones", nd->name, a->total, POSTURE_RR_MAX);
		return;
	}
	if (!spf && nd->role == ROLE_TOP) {
		posture_note(w->out, POSTURE_FAIL,
			     "%s has no SPF record: any server may send as %s; publish one such as "
			     "'v=spf1 mx -all'", nd->name, nd->name);
		return;
	}
	if (!spf) {
		posture_note(w->out, POSTURE_FAIL,
			     "%s%s has no SPF record: receivers return permerror for %s's mail; "
			     "fix or drop the term", role_term[nd->role], nd->name, top_name(w));
		return;
	}
	if (nd->role == ROLE_TOP)
		posture_keep_record(w->out, spf->text, spf->len);
	if (count > 1) {
		posture_note(w->out, POSTURE_FAIL,
			     "%s has %u SPF records: receivers return permerror; merge them into one",
			     nd->name, count);
		return;
	}
	if (spf->cut) {
		posture_note(w->out, POSTURE_FAIL,
			     "%s's SPF record is longer than %d bytes: split it with include:",
			     nd->name, POSTURE_TXT_MAX);
		return;
	}
	if (spf_parse(spf->text, spf->len, &w->rec, err, sizeof(err)) < 0) {
		posture_note(w->out, POSTURE_FAIL,
			     "%s's SPF record is malformed (%s): receivers return permerror", nd->name,
			     err);
		return;
	}
	count_terms(w, idx, spf->text);
	judge_all(w, idx);
}

/* An a, mx or exists term's lookup: only whether it found anything. */
static void
feed_host(struct spf_walk *w, int idx, const struct posture_answer *a)
{
	struct spf_node *nd = &w->node[idx];

	if (a->status == POSTURE_ANS_OK) {
		if (nd->role == ROLE_MX && a->total > SPF_MX_LIMIT)
			posture_note(w->out, POSTURE_FAIL,
				     "mx:%s has %u MX records: more than %d is a permerror; use "
				     "ip4:/ip6: or fewer MX hosts", nd->name, a->total, SPF_MX_LIMIT);
		return;
	}
	if (nd->role == ROLE_A && nd->qtype == POSTURE_Q_A) {
		nd->qtype = POSTURE_Q_AAAA;	/* void only without either */
		nd->state = N_WAITING;
		return;
	}
	note_void(w, nd->name);
}

static bool
anything_left(const struct spf_walk *w)
{
	for (unsigned int i = 0; i < w->n; i++)
		if (w->node[i].state != N_DONE)
			return true;
	return false;
}

static void
finish(struct spf_walk *w)
{
	struct posture_check *o = w->out;

	if (o->lookups > SPF_LOOKUP_LIMIT)
		posture_note(o, POSTURE_FAIL,
			     "SPF needs %s%u DNS lookups, over the limit of %d: receivers return "
			     "permerror, so SPF fails for all of %s's mail; replace include: chains "
			     "by ip4:/ip6: ranges or drop unused terms",
			     o->lookups_partial ? "at least " : "", o->lookups, SPF_LOOKUP_LIMIT,
			     top_name(w));
	if (o->voids > SPF_VOID_LIMIT)
		posture_note(o, POSTURE_FAIL,
			     "%u SPF lookups find nothing (%s), over the limit of %d: receivers "
			     "return permerror; drop the terms that name them",
			     o->voids, w->void_names, SPF_VOID_LIMIT);
	posture_finish(o);
	w->finished = true;
}

void
spf_walk_feed(struct spf_walk *w, uint32_t token, const struct posture_answer *a)
{
	struct spf_node *nd;

	if (w->finished || token >= w->n || w->node[token].state != N_ASKED)
		return;
	nd = &w->node[token];
	nd->state = N_DONE;
	if (a->status == POSTURE_ANS_ERROR)
		dns_failed(w, nd, a->error);
	else if (nd->qtype == POSTURE_Q_TXT)
		feed_txt(w, (int)token, a);
	else
		feed_host(w, (int)token, a);
	if (!anything_left(w))
		finish(w);
}

void
spf_walk_abort(struct spf_walk *w, const char *why)
{
	if (w->finished)
		return;
	for (unsigned int i = 0; i < w->n; i++) {
		if (w->node[i].state == N_ASKED) {
			dns_failed(w, &w->node[i], why);
			break;
		}
	}
	for (unsigned int i = 0; i < w->n; i++)
		w->node[i].state = N_DONE;
	w->out->lookups_partial = true;
	finish(w);
}
