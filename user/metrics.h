/*
 * metrics.h - the Prometheus endpoint (GET /metrics, text format 0.0.4).
 *
 * metrics_render() is pure: it formats a snapshot.  The server is
 * libmicrohttpd with its own polling thread, serving the text the agent
 * last published (once a second, from its event loop): the HTTP thread
 * never reads agent state, and a slow or hostile client only costs a
 * connection slot until its timeout.  (In external-epoll mode libmicrohttpd
 * 0.9.75 never answers nor closes a request over its memory limit: eight
 * such connections locked an address out, so the thread it is.)
 */
#ifndef BW_METRICS_H
#define BW_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bouncewall.h"

#define METRICS_CONN_LIMIT	32
#define METRICS_CONN_TIMEOUT_S	5

#define METRICS_THRESHOLDS_MAX	16

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
};

/* Write the exposition text.  Returns 0 or -EIO. */
int metrics_render(FILE *f, const struct metrics_snapshot *m);

struct metrics_server;

/* Listen on "HOST:PORT" ("[::1]:9025" for IPv6).  Until the first
 * metrics_publish() a scrape gets 503.  Returns 0 or -errno. */
int metrics_start(struct metrics_server **out, const char *listen);

/* Render m and make it what scrapes return.  0 or -ENOMEM (the previous
 * text stays). */
int metrics_publish(struct metrics_server *s, const struct metrics_snapshot *m);

void metrics_stop(struct metrics_server *s);

#endif
