/*
 * engine.h - the detection pipeline that `run` and `analyze` share:
 * captured frame -> pcap_decode -> flow table -> SMTP parser -> scorer.
 *
 * Pure like its parts (time passed in, no I/O); the shells feed it frames
 * (a live capture or a file) and kernel events, and apply its decisions.
 * Whole-flow sampling lives here: a new flow is admitted or not by a hash
 * of its addresses and ports, never half a flow.
 */
#ifndef BW_ENGINE_H
#define BW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "settings.h"
#include "batv.h"
#include "flow_table.h"
#include "ledger.h"
#include "pcap_decode.h"
#include "score.h"
#include "smtp_parse.h"

#define ENGINE_LOCAL_MAX	16	/* our own addresses (outbound detection) */
#define ENGINE_SAMPLE_ONE	1024	/* sample_keep out of this many flows */

struct engine {
	struct smtp_ctx smtp;
	struct flow_table *flows;
	struct score *score;
	struct ledger *ledger;		/* sends and bounces per local address */
	const struct bw_settings *settings;	/* domains, BATV secret */
	uint8_t local[ENGINE_LOCAL_MAX][16];
	unsigned int n_local;
	uint32_t sample_keep;		/* new flows kept per ENGINE_SAMPLE_ONE */
	uint64_t frames;
	uint64_t decode_fail[PCAP_DEC__MAX];
	uint64_t txn_outbound_sent;	/* transactions from our own addresses */
	uint64_t sends_learned;		/* sends the wire taught the ledger */
	/* Optional: is addr allowlisted?  Its bounces then stay out of the
	 * storm detector (the agent's rules; NULL in analyze). */
	bool (*allowlisted)(void *arg, const uint8_t addr[16]);
	void *allow_arg;
	uint64_t now;			/* newest timestamp seen, ns */
	bool decide_due;		/* an input put a source past a
					 * threshold: call engine_tick() now */
	uint8_t sample_key[16];		/* keys the sampling hash */
	/* Optional second consumer of the parser's events (analyze's
	 * per-source counts), called after the scorer's. */
	const struct smtp_hooks *observer;
	void *observer_arg;
};

struct engine_limits {
	uint32_t max_flows;	/* 0: FLOW_DEFAULT_MAX */
	uint32_t max_sources;	/* scorer capacity */
	uint32_t hold_slots;	/* 0: FLOW_DEFAULT_HOLD_SLOTS */
	uint64_t seed[2];	/* hash keys: from getrandom() live */
};

/* 0, -EINVAL, -ENOMEM.  `s` must outlive the engine (it is re-read on
 * engine_settings_changed). */
int engine_init(struct engine *e, const struct bw_settings *s,
		const struct engine_limits *lim);
void engine_free(struct engine *e);

/* One transaction (or one more recipient of it) seen elsewhere than on
 * the wire: the policy service.  Our relays are skipped, the allowlist
 * marked; *tx's time is clamped to the engine's clock.  As score_tx(). */
int engine_tx(struct engine *e, struct score_tx *tx);

/* Is addr one of our_relays (never scored, its mail is ours)? */
bool engine_is_relay(const struct engine *e, const uint8_t addr[16]);

/* A bounce to rcpt at now: 1 when neither BATV nor the ledger explains
 * it, 0 when one does, -1 when not checked (not a protected domain, or no
 * BATV and the ledger still empty). */
int engine_bounce_unverified(const struct engine *e, const char *rcpt, uint64_t now_ns);

/* Map our settings onto the scorer's config. */
void engine_score_config(const struct bw_settings *s, struct score_config *cfg);

/* The settings changed live (threshold set, reload). 0 or -EINVAL. */
int engine_settings_changed(struct engine *e);

/* Mark addr (16-byte form) as ours: sessions it opens are outbound. */
void engine_add_local(struct engine *e, const uint8_t addr[16]);

/* One captured frame at time now (ns).  Returns 1 when it belonged to an
 * SMTP flow, 0 otherwise. */
int engine_frame(struct engine *e, int linktype, const uint8_t *frame,
		  size_t caplen, uint64_t now);

/* A kernel heavy-hitter event, re-stamped with the engine's clock. */
void engine_syn_event(struct engine *e, const uint8_t addr[16], uint64_t syns,
		      uint64_t over, uint64_t now);

/* Idle-flow expiry and scoring; decisions as score_decide().  Clears
 * decide_due; when it returns max, call again. */
size_t engine_tick(struct engine *e, uint64_t now, struct score_decision *out,
		   size_t max);

/* End of input (analyze): end every session so its transaction counts. */
void engine_flush(struct engine *e, uint64_t now);

#endif
