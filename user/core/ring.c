/*
 * ring.c - bucketed sliding window (ring.h).
 */
#include <string.h>

#include "ring.h"

#define NS_PER_S	1000000000ull

void
ring_init(struct ring *r, uint32_t bucket_s, uint32_t nb)
{
	memset(r, 0, sizeof(*r));
	r->bucket_ns = (uint64_t)bucket_s * NS_PER_S;
	r->nb = nb > RING_MAX ? RING_MAX : nb;
}

void
ring_add(struct ring *r, uint64_t now, uint32_t v)
{
	uint64_t e = now / r->bucket_ns;
	uint32_t *slot;

	if (e > r->epoch) {
		uint64_t gap = e - r->epoch;

		if (gap >= r->nb)
			memset(r->c, 0, sizeof(r->c));
		else
			for (uint64_t i = r->epoch + 1; i <= e; i++)
				r->c[i % r->nb] = 0;
		r->epoch = e;
	}
	slot = &r->c[r->epoch % r->nb];
	*slot = (UINT32_MAX - *slot < v) ? UINT32_MAX : *slot + v;
}

uint64_t
ring_sum(const struct ring *r, uint64_t now)
{
	uint64_t e = now / r->bucket_ns, lo, sum = 0;

	if (e < r->epoch)
		e = r->epoch;
	lo = e + 1 >= r->nb ? e + 1 - r->nb : 0;
	for (uint64_t i = lo; i <= r->epoch; i++)
		sum += r->c[i % r->nb];
	return sum;
}
