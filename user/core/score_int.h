/*
 * score_int.h - what the scorer's files share (score.h is the API).
 *
 *   score_table.c  the source table: keyed hash index, recency list,
 *                  per-source window counters, allocation
 *   score.c        config, inputs, signals, decisions
 *   score_top.c    queries: lookup, top-N, stats, reasons
 *   storm.c        the global storm detector (its own module)
 */
#ifndef BW_SCORE_INT_H
#define BW_SCORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "lru.h"
#include "ring.h"
#include "score.h"
#include "storm.h"

#define NS_PER_S		1000000000ull
#define BUCKET_NS		((uint64_t)SCORE_BUCKET_S * NS_PER_S)
#define NIL			UINT32_MAX
#define CNT_MAX			UINT16_MAX
#define SCORE_TRIGGERS_MAX	64

/* Per-source window counters. */
enum {
	C_TX,		/* inbound transactions (callouts not included) */
	C_BOUNCE,	/* of which bounces (null or postmaster/mailer-daemon) */
	C_BRCPT,	/* recipients of bounces */
	C_BREPLIED,	/* of which our server's answer was seen */
	C_BUNKNOWN,	/* of which 5.1.x */
	C_CHECKED,	/* bounce rcpts checked against BATV or the ledger */
	C_UNVERIFIED,	/* of which neither explains */
	C_MULTI,	/* bounces with > 1 recipient */
	C_CALLOUT,	/* verification callouts */
	C_SYN,		/* kernel over-rate events */
	C_OPAQUE,	/* STARTTLS sessions */
	C_COUNT
};

#define F_USED		0x01
#define F_DIRTY		0x02
#define F_TX_MULTI	0x04	/* its current transaction counted as multi */

/*
 * One tracked source: 172 bytes, which with its hash head and dirty slot
 * keeps a source under 200 bytes (the memory target of `make bench`).
 * Hence the narrow fields: the prefix length in a byte, the bucket number
 * in 32 bits (the ns clock ends at bucket 1.8e9), and one deadline in whole
 * seconds, rounded up, that means "decision in force until" while in_force
 * is set and "suppressed, decide nothing until" once it is not; an expired
 * decision reads as a suppression that is already over.  Seconds saturate
 * at UINT32_MAX (year 2106): a later clock sees every deadline as past.
 */
struct score_src {
	uint8_t addr[16];		/* the prefix, masked to plen */
	uint32_t hnext;			/* hash chain */
	struct lru_link lru;		/* prev = more recent */
	uint32_t epoch;			/* bucket number of the newest bucket */
	uint32_t until_s;		/* see above */
	uint8_t plen;			/* 128-bit form */
	uint8_t in_force;		/* enum score_verdict */
	uint8_t offences;
	uint8_t flags;
	uint16_t c[C_COUNT][SCORE_NBUCKETS];
};
_Static_assert(sizeof(struct score_src) + 3 * sizeof(uint32_t) < 200,
	       "a tracked source (entry, 2 hash heads, dirty slot) under 200 bytes");

/* When a source first went past a threshold the kernel does not enforce
 * yet: reported with its decision as trigger_ns. */
struct score_trigger {
	struct bw_cidr prefix;
	uint64_t ts;
};

struct score {
	struct score_config cfg;
	uint8_t seed[16];
	uint64_t now;

	struct score_src *src;
	uint32_t capacity, used;
	uint32_t *heads;		/* hash buckets */
	uint32_t hmask;
	struct lru_list lru;		/* head = most recently seen */
	uint32_t *dirty;
	uint32_t ndirty;
	bool rescan;

	struct storm storm;		/* inbound bounce tx, all sources */

	struct score_trigger trig[SCORE_TRIGGERS_MAX];
	unsigned int n_trig;
	uint64_t storm_onset_ts;	/* input that began a storm, 0 = none */

	struct score_stats st;		/* the plain counters */
};

/* The view every signal is computed from at one instant. */
struct score_ctx {
	uint64_t now;
	uint32_t epoch;			/* now / BUCKET_NS: at most 1.8e9 */
};

/* score_table.c */
uint32_t score_table_find(const struct score *sc, const struct bw_cidr *p);
struct score_src *score_table_get(struct score *sc, const struct bw_cidr *p);
void score_mark_dirty(struct score *sc, uint32_t i);
struct bw_cidr score_src_prefix(const struct score_src *s);
uint64_t score_src_until_ns(const struct score_src *s);
void score_src_set_until(struct score_src *s, uint64_t ns);
void score_src_roll(struct score_src *s, uint32_t e);
void score_src_add(struct score_src *s, int c, uint64_t v);
uint32_t score_src_sum(const struct score_src *s, int c, uint32_t e);

/* score.c */
void score_ctx_init(const struct score *sc, uint64_t now, struct score_ctx *x);
void score_src_view(const struct score *sc, const struct score_src *s,
		    const struct score_ctx *x, struct score_view *v);
void score_eff_thresholds(const struct score *sc, double *thr, double *blk);
void score_storm_config(const struct score *sc, struct storm_config *out);

#endif
