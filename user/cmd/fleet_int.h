/*
 * fleet_int.h - what fleet.c (the bouncer) and fleet_push.c (the
 * watcher) share: the fleet's state, its limits and helpers.
 */
#ifndef BW_FLEET_INT_H
#define BW_FLEET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"
#include "fleet.h"
#include "fleet_table.h"
#include "lapi.h"
#include "lapi_alert.h"
#include "lapi_stream.h"

/* A startup stream of 100,000 decisions is ~17 MB. */
#define FLEET_PULL_BODY_MAX	(64u << 20)
#define FLEET_PULL_TIMEOUT_MS	120000
#define FLEET_CALL_TIMEOUT_MS	15000
#define FLEET_SMALL_BODY_MAX	(64u << 10)
/* Decisions applied per loop turn: about 5 ms of map writes. */
#define FLEET_BATCH		1024
#define FLEET_DECISIONS_MAX	BW_RULES_MAX
/* Retries double from 1 s up to ten polls, within these bounds. */
#define FLEET_BACKOFF_MIN_CAP_MS	10000
#define FLEET_BACKOFF_MAX_MS	60000
#define FLEET_MAINT_MS		1000
/* Decisions of one incremental pull logged one by one, at most. */
#define FLEET_LOG_DECISIONS	32
/* Pushes: a queue, alerts per request, a ledger of what the LAPI has. */
#define FLEET_PUSH_QUEUE	4096
#define FLEET_PUSH_BATCH	100
#define FLEET_LEDGER_MAX	(1u << 18)
/* A block re-decided (a scorer renewal) is pushed again only when it
 * outlasts what the LAPI has by this much. */
#define FLEET_PUSH_EXTEND_S	60
/* A decision the LAPI streams back that ends within this of one we
 * pushed for the same CIDR is our own. */
#define FLEET_ECHO_SLACK_S	120
/* A block without expiry goes to the fleet for a year. */
#define FLEET_PERMANENT_S	(365 * 86400)
/* Operator deletions waiting for their LAPI decision to be deleted. */
#define FLEET_RETRACT_MAX	256

/* The watcher logs in again this long before its token expires. */
#define FLEET_RENEW_S		300

enum fleet_op { FLEET_OP_PULL = 0, FLEET_OP_PUSH, FLEET_OP_LOGIN, FLEET_OP_MAX };

/* Why a decision of the stream is not enforced: the mapping's verdicts,
 * and the block list refusing it. */
#define FLEET_IGNORED_REFUSED	LAPI_VERDICT_MAX
#define FLEET_IGNORED_MAX	(LAPI_VERDICT_MAX + 1)

struct fleet_push_item {
	struct bw_cidr cidr;
	uint64_t until;			/* unix seconds */
	uint32_t origin;		/* BW_ORIGIN_SCORER or _OPERATOR */
	bool dead;			/* expired or superseded: not sent */
	char reason[LAPI_REASON_MAX + 1];
};

/* Failures of one operation in a row.  Logged at the first, whenever the
 * reason changes, and every 100th: a LAPI down for a day is a few lines. */
struct fleet_streak {
	unsigned int n;
	long status;
	char why[64];
};

/* One more failure; true when it should be logged. */
bool fleet_streak_fail(struct fleet_streak *s, long status, const char *why);

/* A success: how many failures it ends (0: none), the streak reset. */
unsigned int fleet_streak_ok(struct fleet_streak *s);

/* What one pull did, for its log line. */
struct fleet_pull_stats {
	uint64_t decisions, taken, lifted, applied, own, logged;
	uint64_t ignored[FLEET_IGNORED_MAX];
	uint64_t started_ms;
};

struct fleet {
	struct agent *a;
	struct lapi_client *http;
	char base[BW_URL_MAX];		/* crowdsec_url, no trailing '/' */
	char shown[BW_URL_MAX];		/* ... without user:password@ */
	struct evloop_timer maint;

	/* bouncer */
	bool bouncer;
	struct fleet_table lapi;	/* the LAPI's bans, by CIDR */
	struct evloop_timer pull_timer;
	struct evloop_timer work;	/* the next batch: resume, sweep */
	struct lapi_call *pull;		/* in flight */
	struct lapi_stream stream;
	bool startup;			/* the pull (in flight or next) is full */
	bool paused;			/* the pull waits for the next turn */
	int sweep;			/* after a full pull: 0 none, 1 table, 2 rules */
	size_t sweep_pos, rec_pos;
	uint32_t gen;			/* full pulls so far */
	unsigned int budget;		/* decisions left this turn */
	struct fleet_streak pull_errors;
	unsigned int refused_logged;	/* this pull */
	struct fleet_pull_stats cur;
	uint64_t last_pull_ok;		/* unix seconds */

	/* watcher */
	bool watcher;
	struct fleet_table ledger;	/* our blocks: queued or pushed */
	struct fleet_push_item *queue;	/* ring of FLEET_PUSH_QUEUE */
	size_t q_head, q_len;
	size_t in_flight;		/* items of the queue's head being sent */
	size_t ledger_pos;		/* fleet_push_maint()'s walk */
	struct evloop_timer push_timer;
	struct lapi_call *push_call, *login_call;
	char token[LAPI_TOKEN_MAX];
	int64_t token_expire;		/* unix seconds; 0: none */
	struct fleet_streak push_errors, login_errors;
	bool queue_full_logged;
	struct bw_cidr retract[FLEET_RETRACT_MAX];	/* FLEET_RETRACTING */
	size_t n_retract;
	struct lapi_call *retract_call;
	struct bw_cidr retract_cidr;	/* ... and its decision, in flight */
	int64_t retract_id;		/* 0: asking for it (GET the alert) */
	int64_t retract_alert;

	/* counters (metrics) */
	uint64_t errors[FLEET_OP_MAX];
	uint64_t pulls, applied, lifted, suppressed;
	uint64_t ignored[FLEET_IGNORED_MAX];
	uint64_t pushed, push_dropped, retracted;
};

/* Delay before retry number `errors` (1, 2, ...): doubling from 1 s, at
 * least `base_ms`, capped at ten polls (10 s..60 s), with +-10% jitter
 * so a fleet does not retry in step. */
uint64_t fleet_backoff_ms(unsigned int errors, uint64_t base_ms, uint64_t poll_ms);

/* fleet_push.c */
int fleet_push_start(struct fleet *f);
void fleet_push_stop(struct fleet *f);
void fleet_push_maint(struct fleet *f, uint64_t now);

#endif
