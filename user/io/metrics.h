/*
 * metrics.h - the Prometheus exposition (text format 0.0.4).
 *
 * metrics_render() formats a snapshot of the agent's counters; the HTTP
 * endpoint that serves it is http_metrics.h.
 */
#ifndef BW_METRICS_H
#define BW_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bouncewall.h"
#include "conn.h"

#define METRICS_THRESHOLDS_MAX	16
#define METRICS_SERVERS_MAX	8

/* A numeric setting, exported so dashboards can draw the line a rate is
 * judged against (and show that `threshold set` took). */
struct metrics_threshold {
	const char *name;	/* static: a settings key */
	double value;		/* base units: seconds for durations */
};

struct metrics_snapshot {
	const char *version;
	struct metrics_threshold thresholds[METRICS_THRESHOLDS_MAX];
	unsigned int n_thresholds;
	uint64_t kern[BW_CNT_MAX];	/* summed per-CPU XDP counters */
	uint64_t blocked_prefixes;
	uint64_t throttled_prefixes;
	uint64_t allowed_prefixes;
	uint64_t kernel_tracked;	/* prefixes the kernel rate-tracks */
	uint64_t tracked_sources;	/* prefixes the scorer tracks */
	bool sampler;			/* the fields below are valid */
	uint64_t smtp_sessions;
	uint64_t smtp_opaque_sessions;
	uint64_t smtp_txn_null;		/* null or postmaster/mailer-daemon */
	uint64_t smtp_txn_other;
	uint64_t smtp_callouts;		/* of smtp_txn_null */
	uint64_t smtp_rcpt_rejected;
	uint64_t smtp_malformed_lines;
	uint64_t capture_frames;
	uint64_t capture_dropped;
	uint32_t sample_keep;		/* new flows parsed per 1024 */
	bool storm_active;
	double null_rate_per_min;
	double null_baseline_per_min;
	uint64_t decisions_suppressed;
	uint64_t decisions_throttle;
	uint64_t decisions_block;
	uint64_t decisions_unblock;
	uint64_t kernel_events;
	uint64_t start_time;		/* unix seconds */
	bool monitor_mode;
	uint64_t state_save_failures;	/* in a row, now */
	/* The agent's servers (control, metrics, ...) and their clients. */
	struct {
		const char *name;	/* static */
		struct conn_stats st;
	} servers[METRICS_SERVERS_MAX];
	unsigned int n_servers;
};

/* "# HELP name help" and "# TYPE name type". */
void metrics_family(FILE *f, const char *name, const char *type, const char *help);

/* Write the exposition text.  Returns 0 or -EIO. */
int metrics_render(FILE *f, const struct metrics_snapshot *m);

#endif
