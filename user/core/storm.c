/*
 * storm.c - the global storm detector (storm.h).
 */
#include <string.h>

#include "storm.h"

#define NS_PER_S		1000000000ull
#define BASELINE_CATCHUP_MAX	1000	/* periods replayed after a gap */

void
storm_init(struct storm *s)
{
	memset(s, 0, sizeof(*s));
	ring_init(&s->rate, STORM_BUCKET_S, STORM_NBUCKETS);
}

void
storm_add(struct storm *s, uint64_t now, uint32_t n)
{
	ring_add(&s->rate, now, n);
	s->period_count += n;
}

double
storm_rate(const struct storm *s, uint64_t now)
{
	return (double)ring_sum(&s->rate, now) * 60.0 / (STORM_BUCKET_S * STORM_NBUCKETS);
}

static double
reference(const struct storm *s, const struct storm_config *cfg)
{
	return s->baseline > cfg->floor ? s->baseline : cfg->floor;
}

double
storm_on_at(const struct storm *s, const struct storm_config *cfg)
{
	return cfg->factor * reference(s, cfg);
}

/* Fold the periods that ended before now into the baseline. */
static void
learn(struct storm *s, const struct storm_config *cfg, uint64_t now)
{
	uint64_t p = now / (STORM_PERIOD_S * NS_PER_S), n;
	double alpha = (double)STORM_PERIOD_S / cfg->tau_s;
	bool learning = !s->active || now - s->since >= (uint64_t)cfg->age_s * NS_PER_S;

	if (p <= s->period)
		return;
	n = p - s->period;
	if (n > BASELINE_CATCHUP_MAX)
		n = BASELINE_CATCHUP_MAX;
	for (uint64_t k = 0; k < n && learning; k++) {
		double r = k == 0 ? s->period_count * 60.0 / STORM_PERIOD_S : 0.0;

		s->baseline += alpha * (r - s->baseline);
	}
	s->period = p;
	s->period_count = 0;
}

bool
storm_update(struct storm *s, const struct storm_config *cfg, uint64_t now)
{
	double rate, on_at;

	learn(s, cfg, now);
	rate = storm_rate(s, now);
	on_at = storm_on_at(s, cfg);
	if (!s->active) {
		if (rate <= on_at)
			return false;
		s->active = true;
		s->since = now;
		s->below = false;
		s->onsets++;
		return true;
	}
	if (rate >= on_at * cfg->off_ratio) {
		s->below = false;
		return false;
	}
	if (!s->below) {
		s->below = true;
		s->below_since = now;
	}
	if (now - s->below_since >= (uint64_t)cfg->hold_s * NS_PER_S) {
		s->active = false;
		s->below = false;
		s->since = 0;
	}
	return false;
}
