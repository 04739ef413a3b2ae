/*
 * ring.h - a sliding window of event counts in fixed buckets (the
 * scorer's global rates: bounces, sends, the storm detector's short
 * window).  Time is passed in, ns.  Pure.
 */
#ifndef BW_RING_H
#define BW_RING_H

#include <stdint.h>

#define RING_MAX	12

struct ring {
	uint64_t epoch;		/* bucket number of the newest bucket */
	uint64_t bucket_ns;
	uint32_t nb;		/* buckets in the window, <= RING_MAX */
	uint32_t c[RING_MAX];
};

void ring_init(struct ring *r, uint32_t bucket_s, uint32_t nb);
/* Add v at time now (saturating). */
void ring_add(struct ring *r, uint64_t now, uint32_t v);
/* Sum of the buckets inside the window that ends at now. */
uint64_t ring_sum(const struct ring *r, uint64_t now);

#endif
