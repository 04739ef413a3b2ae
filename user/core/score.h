/*
 * score.h - the backscatter scorer: per-source-prefix sliding
 * windows, a global storm detector, explainable scores and throttle/block
 * decisions.
 *
 * Pure: no I/O, no clock, no allocation after score_new().  Every input
 * carries its own timestamp; all timestamps must come from ONE clock (live:
 * capture time of the packets, CLOCK_REALTIME, and the same clock read when
 * a kernel event or a policy request arrives; analyze: capture time).  Time never runs backwards inside
 * the scorer: an input older than the newest one seen is counted as if it
 * happened at that newest time.
 *
 * Life of a source:
 *   events (score_tx, score_syn, score_opaque) add to its window counters and
 *   mark it "dirty";  score_decide() re-scores the dirty sources (all of them
 *   after a config change or a storm onset) and emits only escalations and
 *   renewals;  the window slides, the score decays, the source is released.
 *
 * Window: SCORE_WINDOW_S seconds as SCORE_NBUCKETS fixed buckets; a rate is
 * "events in the window", i.e. per minute.
 */
#ifndef BW_SCORE_H
#define BW_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SCORE_NBUCKETS		6
#define SCORE_BUCKET_S		10
#define SCORE_WINDOW_S		(SCORE_NBUCKETS * SCORE_BUCKET_S)	/* 60 */

#define SCORE_REASON_MAX	160
#define SCORE_CAPACITY_MIN	16
#define SCORE_CAPACITY_MAX	(1u << 26)

/* ------------------------------------------------------------------ inputs */

enum score_sender {
	SCORE_SENDER_NORMAL = 0,	/* MAIL FROM:<someone@somewhere> */
	SCORE_SENDER_NULL = 1,		/* MAIL FROM:<> */
	SCORE_SENDER_BOUNCE_LOCAL = 2,	/* postmaster@ / mailer-daemon@ */
	SCORE_SENDER_CALLOUT = 3,	/* a sender-verification callout:
					 * null sender, recipients accepted,
					 * no DATA: not a bounce */
};

/*
 * One SMTP transaction (one MAIL FROM and the RCPTs after it), as the
 * parser saw it on the wire, or as the policy service saw one recipient of
 * it.  Counts larger than 65535 are clamped; counts that make no sense
 * (more unknown than rejected, more rejected than replied, more replied
 * than recipients) are clamped to the enclosing count.
 */
struct score_tx {
	uint64_t ts_ns;
	uint8_t client[16];	/* the SMTP client, 16-byte form */
	bool outbound;		/* we are the client (mail we send) */
	bool continued;		/* more recipients of the transaction this
				 * client's previous input began (the policy
				 * service sees one RCPT at a time) */
	bool no_storm;		/* leave out of the storm detector (an
				 * allowlisted source's bounce wave) */
	uint8_t sender;		/* enum score_sender */
	bool sender_protected;	/* sender domain is one of protected_domains:
				 * with outbound, this is "mail we sent" */
	uint32_t rcpts;		/* RCPT commands in the transaction */
	uint32_t rcpt_replied;	/* of which our server's reply was seen */
	uint32_t rcpt_5xx;	/* of those answered 5xx */
	uint32_t rcpt_unknown;	/* of those 5.1.x (unknown user/domain) */
	uint32_t rcpt_checked;	/* bounce recipients in a protected domain
				 * checked against BATV or the sent ledger */
	uint32_t rcpt_unverified;/* of which neither explains */
};

/* A kernel heavy-hitter record (struct bw_event), re-stamped by the glue. */
struct score_syn {
	uint64_t ts_ns;
	uint8_t addr[16];	/* source (the kernel's prefix), 16-byte form */
	uint64_t syns;		/* the kernel's running counts: not scored */
	uint64_t over;		/* (each event is one over-rate interval) */
};

/* ------------------------------------------------------------------ config */

/*
 * Weights: how many points each signal gives.  "At null_rate" means when the
 * quantity per minute equals config.null_rate; linear, then capped.  Shares
 * are 0..1 fractions times the weight.  Defaults (score_config_defaults())
 * and why are in score.c.
 */
struct score_weights {
	double bounce_rate;	/* points at null_rate bounce tx/min */
	double bounce_rate_cap;
	double null_share;	/* all of its transactions are bounces */
	double unknown_share;	/* all of its answered bounce rcpts 5.1.x */
	double unknown_rate;	/* points at null_rate unknown bounce rcpts/min */
	double unknown_rate_cap;
	double unverified;	/* all of its checked bounce rcpts unexplained,
				 * with BATV (near-proof) ... */
	double unverified_ledger;/* ... or by the sent ledger alone */
	double multi_rcpt;	/* all of its bounces have > 1 rcpt */
	double syn_event;	/* per kernel over-rate event in the window */
	double syn_cap;
	double opaque;		/* per STARTTLS session in the window */
	double opaque_cap;
	uint32_t min_bounces;	/* bounce tx in the window before any share
				 * signal counts (a lone bounce scores ~0) */
	double mixed_share;	/* a source more than this share of whose
				 * transactions are ordinary mail is never
				 * throttled or blocked at the connection
				 * level (its bounces are refused per message) */
	uint32_t mixed_min_tx;	/* ... once it has this many transactions */
	uint32_t syn_flood_events;/* ... unless the kernel saw it flood SYNs
				 * this many times in the window */
	uint32_t conn_min_bounces;/* a source with fewer bounces in the window
				 * is never throttled nor blocked either
				 * (unless it floods SYNs) */
	double storm_tighten;	/* thresholds x this during a storm (0..1] */
	double storm_floor;	/* baseline floor, null tx/min, all sources */
	double storm_off_ratio;	/* storm ends below factor x base x this ... */
	uint32_t storm_hold_s;	/* ... held for this long */
	uint32_t baseline_tau_s;/* EWMA time constant of the baseline */
	uint32_t storm_age_s;	/* a storm older than this is learnt as normal */
	uint32_t throttle_ttl;	/* seconds; 0 = block_ttl */
};

struct score_config {
	uint32_t null_rate;	/* bounce tx per minute per source, > 0 */
	uint32_t score_throttle;/* > 0 */
	uint32_t score_block;	/* >= score_throttle */
	uint64_t block_ttl;	/* seconds, > 0 */
	uint64_t block_ttl_max;	/* seconds, >= block_ttl */
	double storm_factor;	/* >= 1 */
	uint32_t prefix_v4;	/* 1..32, the family's own length */
	uint32_t prefix_v6;	/* 1..128 */
	bool batv;		/* batv_secret is set: unverified bounces weigh
				 * w.unverified, else w.unverified_ledger */
	struct score_weights w;
};

/* ------------------------------------------------------------------ outputs */

enum score_verdict {
	SCORE_NONE = 0,
	SCORE_THROTTLE = 1,
	SCORE_BLOCK = 2,
};

/* Connection-level decisions are for floods and bounce-only sources;
 * these are answered per message instead (the policy service). */
enum score_veto {
	SCORE_VETO_NONE = 0,
	SCORE_VETO_MIXED,	/* mostly ordinary mail */
	SCORE_VETO_FEW,		/* fewer than conn_min_bounces in the window */
};

enum score_signal_id {
	SIG_BOUNCE_RATE,	/* value: bounce tx in the window (per minute) */
	SIG_NULL_SHARE,		/* value: bounce tx / all tx, 0..1 */
	SIG_UNKNOWN_SHARE,	/* value: 5.1.x bounce rcpts / answered ones */
	SIG_UNKNOWN_RATE,	/* value: 5.1.x bounce rcpts per minute */
	SIG_UNVERIFIED,		/* value: bounce rcpts neither a BATV tag nor
				 * a send in the ledger explains / checked:
				 * "bounces exceed sent" for this source */
	SIG_MULTI_RCPT,		/* value: share of bounces with > 1 rcpt */
	SIG_SYN,		/* value: kernel over-rate events in the window */
	SIG_OPAQUE,		/* value: STARTTLS sessions in the window */
	SIG_CALLOUT,		/* value: verification callouts in the window
				 * (shown, never scored) */
	SIG_MIXED,		/* value: share of its transactions that are
				 * ordinary mail; never points: above
				 * mixed_share it vetoes connection-level
				 * decisions (score_view.veto) */
	SIG_COUNT
};

/* The score is the sum of points over all SIG_COUNT signals, in order. */
struct score_signal {
	const char *name;	/* static: "bounce_rate", "null_share", ... */
	const char *unit;	/* static: "/min", "share", "events" */
	double value;
	double points;
};

struct score_view {
	struct bw_cidr prefix;
	double score;
	uint8_t verdict;	/* enum score_verdict: in force, else by score */
	uint8_t in_force;	/* enum score_verdict decided and not expired */
	uint8_t offences;	/* blocks so far (TTL doubling) */
	uint64_t expires_ns;	/* of the decision in force; 0 = none */
	uint8_t veto;		/* enum score_veto: why its score, however
				 * high, throttles and blocks nothing */
	struct score_signal sig[SIG_COUNT];
};

struct score_decision {
	struct bw_cidr prefix;
	uint8_t action;		/* SCORE_THROTTLE or SCORE_BLOCK */
	bool renewal;		/* same action, extended before it ran out */
	uint64_t ttl;		/* seconds */
	double score;
	double threshold;	/* effective (storm-tightened) */
	uint8_t offences;	/* including this one, for a block */
	uint64_t trigger_ns;	/* the input that put the source past the
				 * threshold (or began the storm that
				 * tightened it); 0 for a renewal */
	char reason[SCORE_REASON_MAX];	/* "unknown_share=100% +40, ..." */
};

struct score_stats {
	uint32_t capacity;
	uint32_t tracked;
	uint64_t evictions;
	uint64_t tx_in, tx_in_null, tx_out_sent, syn_events, opaque, callouts;
	uint64_t vetoes;		/* decisions the mixed rule withheld */
	uint64_t inputs_clamped;	/* inconsistent counts fixed up */
	uint64_t decisions_throttle, decisions_block, suppressed;
	bool storm_active;
	uint64_t storm_since_ns;	/* 0 when not active */
	uint64_t storms;		/* onsets so far */
	double null_rate_short;		/* all sources, per minute, short window */
	double null_baseline;		/* per minute, EWMA */
	double storm_on_at;		/* null_rate_short above this: storm */
	double eff_throttle, eff_block;	/* thresholds in force now */
};

/* ------------------------------------------------------------------ API */

struct score;

/* The settings' defaults and the weights documented in score.c. */
void score_config_defaults(struct score_config *cfg);

/* 0, or -EINVAL with a one-line reason naming the field in err. */
int score_config_check(const struct score_config *cfg, char *err, size_t errlen);

/*
 * A scorer tracking at most `capacity` source prefixes (allocated here, once:
 * about 220 bytes each, score_entry_bytes() says exactly).
 * seed keys the hash so a remote party cannot aim collisions at one chain;
 * the caller draws it from getrandom().  NULL on a bad config or capacity
 * (errno EINVAL) or no memory (ENOMEM).
 */
struct score *score_new(uint32_t capacity, const uint8_t seed[16],
			const struct score_config *cfg);
void score_free(struct score *sc);

/* Bytes of memory per tracked source, for `bench`. */
size_t score_entry_bytes(void);

/*
 * Apply a new config live: windows, offences and decisions in force are kept;
 * every source is re-scored at the next score_decide().  A changed prefix
 * length applies to new events; sources already tracked keep their prefix
 * and age out.  0 or -EINVAL (nothing changed).
 */
int score_set_config(struct score *sc, const struct score_config *cfg);
void score_get_config(const struct score *sc, struct score_config *cfg);

/*
 * Inputs.  0; 1 when a decision is now due (the source's score calls for
 * more than the decision in force, or a storm began and tightened every
 * threshold): call score_decide() at once rather than at the next tick;
 * -EINVAL for an impossible value (nothing counted).
 */
int score_tx(struct score *sc, const struct score_tx *tx);
int score_syn(struct score *sc, const struct score_syn *ev);
int score_opaque(struct score *sc, uint64_t ts_ns, const uint8_t addr[16]);

/*
 * Advance the clock to now and re-score the sources touched since the last
 * call; write at most max decisions to out and return how many.  When more
 * are pending than fit, the rest come out on the next call: call again until
 * it returns less than max.  Call it once a second or after a batch of
 * events.
 *
 *   score >= block threshold:    BLOCK unless a block is in force; TTL
 *                                block_ttl x 2^offences, capped at
 *                                block_ttl_max; a block that is less than a
 *                                quarter from its end is renewed (same TTL,
 *                                no new offence).
 *   score >= throttle threshold: THROTTLE unless a throttle or block is in
 *                                force (renewed the same way).
 */
size_t score_decide(struct score *sc, uint64_t now_ns,
		    struct score_decision *out, size_t max);

/*
 * The agent did not apply a decision (allowlist): forget it, take back the
 * offence it counted, and emit nothing for that prefix for d->ttl seconds.
 * Monitor mode is NOT a suppression: the decision stands, only unenforced.
 * 0, or -ENOENT when the prefix is no longer tracked.
 */
int score_suppressed(struct score *sc, const struct score_decision *d,
		     uint64_t now_ns);

/*
 * The operator removed the block/throttle (`block del`): forget the decision
 * in force so a new offence is decided afresh; the offence count stays.
 * 0 or -ENOENT.
 */
int score_release(struct score *sc, const struct bw_cidr *prefix);

/* ------------------------------------------------------------------ queries */

/* The prefix an address is scored as under the current config. */
void score_prefix_of(const struct score *sc, const uint8_t addr[16],
		     struct bw_cidr *out);

/* Score and signals of the source holding addr (masked here).  0 or -ENOENT.
 * Read-only: does not advance the clock. */
int score_lookup(const struct score *sc, const uint8_t addr[16],
		 uint64_t now_ns, struct score_view *out);

/*
 * The n highest-scoring sources (score > 0 or a decision in force), highest
 * first, into out.  Returns how many were written.  O(tracked x log n).
 */
size_t score_top(const struct score *sc, uint64_t now_ns,
		 struct score_view *out, size_t n);

/* Counters and the storm detector's state at now (read-only). */
void score_get_stats(const struct score *sc, uint64_t now_ns,
		     struct score_stats *st);

/* Is a storm declared now? (What bounce_policy = storm follows.) */
bool score_storm_active(const struct score *sc);

/* "none", "mixed", "few_bounces". */
const char *score_veto_name(uint8_t v);

/* "none", "throttle", "block". */
const char *score_verdict_name(uint8_t v);

/* The top signals of a view as "name=value +points, ...", at most 3. */
char *score_reason(const struct score_view *v, char *buf, size_t len);

/* "bounce_rate", ...: a signal's name, also for a source never scored. */
const char *score_signal_name(enum score_signal_id id);

#endif
