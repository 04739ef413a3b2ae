/*
 * storm.h - the global backscatter storm detector.
 *
 * It follows the rate of bounce transactions from every scored source (the
 * caller leaves out allowlisted sources and our own relays) over a short
 * window against its own moving baseline.  A storm is declared when the
 * short rate exceeds storm_factor x max(baseline, floor), and ends when the
 * rate has stayed below storm_off_ratio of that for hold_s.
 *
 * The baseline learns once per STORM_PERIOD_S from that period's count, as
 * an exponentially weighted mean with time constant tau_s, and not while a
 * storm is declared: a storm must not become the new normal.  Unless it
 * lasts: past age_s (a day) a "storm" is the new normal after all, and the
 * baseline learns it, so a week-long campaign does not keep every
 * threshold tight for a week.  Pure.
 */
#ifndef BW_STORM_H
#define BW_STORM_H

#include <stdbool.h>
#include <stdint.h>

#include "ring.h"

#define STORM_BUCKET_S		1	/* short window: 10 x 1 s */
#define STORM_NBUCKETS		10
#define STORM_PERIOD_S		10	/* the baseline learns once per period */

struct storm_config {
	double factor;		/* storm at factor x reference, > 1 */
	double floor;		/* reference floor, bounces/min, all sources */
	double off_ratio;	/* ends below factor x ref x this ... */
	uint32_t hold_s;	/* ... held this long */
	uint32_t tau_s;		/* baseline time constant */
	uint32_t age_s;		/* a storm older than this is learnt after all */
};

struct storm {
	struct ring rate;	/* bounces, short window */
	uint64_t period;	/* current baseline period number */
	uint32_t period_count;	/* bounces in it so far */
	double baseline;	/* per minute */
	bool active;
	bool below;		/* under the off threshold ... */
	uint64_t below_since;	/* ... since */
	uint64_t since;		/* onset of the storm in progress */
	uint64_t onsets;
};

void storm_init(struct storm *s);

/* n bounces at time now (ns). */
void storm_add(struct storm *s, uint64_t now, uint32_t n);

/* Move the detector to now; true when a storm was just declared. */
bool storm_update(struct storm *s, const struct storm_config *cfg, uint64_t now);

/* Bounces per minute over the short window. */
double storm_rate(const struct storm *s, uint64_t now);

/* The rate above which a storm is declared. */
double storm_on_at(const struct storm *s, const struct storm_config *cfg);

#endif
