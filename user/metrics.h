/*
 * metrics.h - the Prometheus endpoint (GET /metrics, text format 0.0.4).
 *
 * metrics_render() is pure: it formats a snapshot.  The server runs inside
 * the agent's own event loop (libmicrohttpd in external epoll mode): no
 * thread, no lock, and a slow or hostile client only costs a connection
 * slot until its timeout.
 */
#ifndef BW_METRICS_H
#define BW_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bouncewall.h"

#define METRICS_CONN_LIMIT	32
#define METRICS_CONN_TIMEOUT_S	5

struct metrics_snapshot {
	const char *version;
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

/* Fill a snapshot at scrape time. */
typedef void (*metrics_fill_fn)(void *ctx, struct metrics_snapshot *m);

struct metrics_server;

/* Listen on "HOST:PORT" ("[::1]:9025" for IPv6).  Returns 0 or -errno. */
int metrics_start(struct metrics_server **out, const char *listen,
		  metrics_fill_fn fill, void *ctx);

/* The fd to watch for readability in the agent's loop. */
int metrics_fd(const struct metrics_server *s);

/* Serve whatever is ready; call when metrics_fd is readable and on
 * every tick (connection timeouts). */
void metrics_run(struct metrics_server *s);

void metrics_stop(struct metrics_server *s);

#endif
