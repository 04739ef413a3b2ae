/*
 * bounce_check.h - one bounce, judged per message: can it be a reply to
 * mail we sent?  The answer the policy service gives Postfix at RCPT time.
 *
 * A bounce (null sender, postmaster@, mailer-daemon@) to a protected
 * domain is
 *   tagged        its recipient carries a valid BATV tag of ours;
 *   plausible     (no BATV keys) its recipient sent mail within
 *                 sent_window and has bounce_budget bounces per send left;
 *   unverifiable  anything else: an untagged, badly tagged or expired
 *                 recipient with BATV; no send, or the budget used up,
 *                 without.
 * An unverifiable bounce is refused with 550 5.7.1 when bounce_policy says
 * so (always, or during a storm); a bounce from a source the scorer
 * throttles gets 450 4.7.1 (the sender retries later; its other mail is
 * untouched); everything else is DUNNO: never OK, which would bypass the
 * restrictions after ours.
 *
 * Pure: the ledger and the storm state are passed in.
 */
#ifndef BW_BOUNCE_CHECK_H
#define BW_BOUNCE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "settings.h"

enum bounce_verdict {
	BOUNCE_NOT = 0,		/* not a bounce, or not to a protected domain */
	BOUNCE_TAGGED,
	BOUNCE_PLAUSIBLE,
	BOUNCE_UNVERIFIABLE,
	BOUNCE_VERDICT_MAX
};

enum bounce_why {
	BOUNCE_WHY_NONE = 0,
	BOUNCE_WHY_NO_TAG,	/* BATV keys set, recipient untagged */
	BOUNCE_WHY_BAD_TAG,	/* a tag, but not a valid one of ours */
	BOUNCE_WHY_EXPIRED_TAG,
	BOUNCE_WHY_NO_SEND,	/* no BATV: the recipient sent nothing lately */
	BOUNCE_WHY_OVER_BUDGET,	/* no BATV: more bounces than its sends explain */
};

enum policy_action {
	POLICY_DUNNO = 0,
	POLICY_REJECT,		/* 550 5.7.1 */
	POLICY_DEFER,		/* 450 4.7.1 */
	POLICY_ERROR,		/* the request could not be judged: DUNNO */
	POLICY_ACTION_MAX
};

struct bounce_input {
	const char *sender;	/* "" for the null sender */
	const char *rcpt;
	uint64_t now;		/* unix seconds */
	bool storm;		/* a storm is declared now */
	bool throttled;		/* the scorer throttles or blocks the source */
};

struct bounce_judgement {
	enum bounce_verdict verdict;
	enum bounce_why why;
	enum policy_action action;
	const char *original;	/* rcpt without its tag (into rcpt), or rcpt */
};

/* True for the senders bounces come from: "", postmaster@, mailer-daemon@. */
bool bounce_sender(const char *sender);

/* True when addr's domain is one of s's protected domains. */
bool bounce_domain_protected(const struct bw_settings *s, const char *addr);

/* Judge one RCPT.  Reads the ledger; counts nothing (the caller records a
 * bounce it lets through: bounce_record()). */
void bounce_judge(const struct bw_settings *s, const struct ledger *l,
		  const struct bounce_input *in, struct bounce_judgement *j);

/* A judged bounce was let through: count it against its recipient. */
void bounce_record(struct ledger *l, const struct bounce_judgement *j, uint64_t now);

/* "550 5.7.1 <rcpt>: ..." / "450 4.7.1 ..." / "DUNNO" as Postfix wants
 * it after "action=" (rcpt escaped and cut).  Returns out. */
char *bounce_action_text(const struct bounce_judgement *j, const char *rcpt, char *out,
			 size_t len);

const char *bounce_verdict_name(enum bounce_verdict v);
const char *bounce_why_name(enum bounce_why w);
const char *policy_action_name(enum policy_action a);

#endif
