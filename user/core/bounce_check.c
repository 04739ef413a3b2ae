/*
 * bounce_check.c - judge one bounce per message (bounce_check.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "batv.h"
#include "bounce_check.h"
#include "text.h"

#define RCPT_SHOWN_MAX	100	/* Postfix's own habit: %.100s */

static bool
local_part_is(const char *addr, const char *local)
{
	size_t n = strlen(local);

	return strncasecmp(addr, local, n) == 0 && addr[n] == '@';
}

bool
bounce_sender(const char *sender)
{
	return sender[0] == '\0' || local_part_is(sender, "postmaster") ||
	       local_part_is(sender, "mailer-daemon");
}

bool
bounce_domain_protected(const struct bw_settings *s, const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (!at)
		return false;
	for (unsigned int i = 0; i < s->n_domains; i++)
		if (strcasecmp(at + 1, s->protected_domains[i]) == 0)
			return true;
	return false;
}

static void
judge_batv(const struct bw_settings *s, const struct bounce_input *in,
	   struct bounce_judgement *j)
{
	struct batv_key keys[BW_BATV_KEYS_MAX];

	for (unsigned int i = 0; i < s->n_batv_keys; i++) {
		keys[i].digit = s->batv_keys[i].digit;
		keys[i].secret = s->batv_keys[i].secret;
		keys[i].len = strlen(s->batv_keys[i].secret);
	}
	switch (batv_check_keys(keys, s->n_batv_keys, in->rcpt, batv_day(in->now))) {
	case BATV_VALID:
		j->verdict = BOUNCE_TAGGED;
		j->original = batv_original(in->rcpt);
		return;
	case BATV_NO_TAG:
		j->why = BOUNCE_WHY_NO_TAG;
		break;
	case BATV_EXPIRED:
		j->why = BOUNCE_WHY_EXPIRED_TAG;
		break;
	case BATV_INVALID:
		j->why = BOUNCE_WHY_BAD_TAG;
		break;
	}
	j->verdict = BOUNCE_UNVERIFIABLE;
}

static void
judge_ledger(const struct bw_settings *s, const struct ledger *l,
	     const struct bounce_input *in, struct bounce_judgement *j)
{
	switch (ledger_check(l, in->rcpt, in->now, s->bounce_budget)) {
	case LEDGER_PLAUSIBLE:
		j->verdict = BOUNCE_PLAUSIBLE;
		return;
	case LEDGER_NO_SEND:
		j->why = BOUNCE_WHY_NO_SEND;
		break;
	case LEDGER_OVER_BUDGET:
		j->why = BOUNCE_WHY_OVER_BUDGET;
		break;
	}
	j->verdict = BOUNCE_UNVERIFIABLE;
}

void
bounce_judge(const struct bw_settings *s, const struct ledger *l,
	     const struct bounce_input *in, struct bounce_judgement *j)
{
	bool refuse;

	memset(j, 0, sizeof(*j));
	j->original = in->rcpt;
	/* Without protected domains nothing is ours to vouch for. */
	if (!bounce_sender(in->sender) || !bounce_domain_protected(s, in->rcpt))
		return;
	if (s->n_batv_keys)
		judge_batv(s, in, j);
	else
		judge_ledger(s, l, in, j);
	if (!j->original)
		j->original = in->rcpt;
	refuse = j->verdict == BOUNCE_UNVERIFIABLE &&
		 (s->bounce_policy == BW_BOUNCE_ALWAYS ||
		  (s->bounce_policy == BW_BOUNCE_STORM && in->storm));
	if (refuse)
		j->action = POLICY_REJECT;
	else if (in->throttled)
		j->action = POLICY_DEFER;
}

void
bounce_record(struct ledger *l, const struct bounce_judgement *j, uint64_t now)
{
	if (j->verdict != BOUNCE_NOT && j->action == POLICY_DUNNO)
		ledger_bounce(l, j->original, now);
}

char *
bounce_action_text(const struct bounce_judgement *j, const char *rcpt, char *out, size_t len)
{
	char shown[RCPT_SHOWN_MAX + 1];

	text_escape(shown, sizeof(shown), rcpt, strlen(rcpt));
	switch (j->action) {
	case POLICY_REJECT:
		snprintf(out, len, "550 5.7.1 <%s>: bounce refused: no mail from this address "
			 "could have caused it (%s)", shown, bounce_why_name(j->why));
		break;
	case POLICY_DEFER:
		snprintf(out, len, "450 4.7.1 <%s>: too many bounces from your address, "
			 "try again later", shown);
		break;
	default:
		snprintf(out, len, "DUNNO");
		break;
	}
	return out;
}

const char *
bounce_verdict_name(enum bounce_verdict v)
{
	static const char *const n[BOUNCE_VERDICT_MAX] = {
		"not_a_bounce", "tagged", "plausible", "unverifiable",
	};

	return v < BOUNCE_VERDICT_MAX ? n[v] : "unknown";
}

const char *
bounce_why_name(enum bounce_why w)
{
	switch (w) {
	case BOUNCE_WHY_NO_TAG:
		return "recipient not tagged";
	case BOUNCE_WHY_BAD_TAG:
		return "invalid tag";
	case BOUNCE_WHY_EXPIRED_TAG:
		return "expired tag";
	case BOUNCE_WHY_NO_SEND:
		return "recipient sent no mail";
	case BOUNCE_WHY_OVER_BUDGET:
		return "more bounces than mail sent";
	default:
		return "none";
	}
}

const char *
policy_action_name(enum policy_action a)
{
	static const char *const n[POLICY_ACTION_MAX] = { "dunno", "reject", "defer", "error" };

	return a < POLICY_ACTION_MAX ? n[a] : "unknown";
}
