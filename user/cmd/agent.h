/*
 * agent.h - `bouncewall run`: the long-lived agent, its state and the
 * files that share it.
 *
 *   agent.c       life cycle: settings, setup in order, one teardown
 *   agent_loop.c  the event loop's handlers: signals, capture, kernel
 *                 events, the tick, the control socket, metrics
 *   agent_ctl.c   answers to control requests (status, top, lists, ...)
 *   enforce.c     rules into the kernel, the mirror and the state file;
 *                 the scorer's decisions; expiry
 *   agent_posture.c  the protected domains' SPF/DMARC/DKIM, rechecked
 *   fleet*.c      the CrowdSec LAPI: its decisions in, our blocks out
 *
 * Calls go one way: loop -> ctl -> enforce -> io (kern, rules_state).
 */
#ifndef BW_AGENT_H
#define BW_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "conn.h"
#include "engine.h"
#include "evloop.h"
#include "http_metrics.h"
#include "kern.h"
#include "request.h"
#include "rules.h"
#include "settings.h"

enum agent_decision {
	AGENT_DEC_THROTTLE = 0,
	AGENT_DEC_BLOCK,
	AGENT_DEC_UNBLOCK,
	AGENT_DEC_MAX
};

struct ring_buffer;
struct postfix_svc;
struct agent_posture;
struct fleet;

struct agent {
	/* Settings: defaults, then the file, then the command line's
	 * overrides, every time (start and reload alike). */
	struct bw_settings settings;
	char config_path[PATH_MAX];
	bool config_required;		/* -c given: a missing file is an error */
	const char *overrides[SETTINGS_MAX];	/* by settings_table() index */
	enum kern_xdp_mode xdp_mode;

	struct kern kern;
	struct rules rules;
	bool rules_dirty;		/* the state file needs writing */
	unsigned int save_failures;	/* in a row */
	uint64_t save_retry_ms;		/* after a failure, not before */

	uint64_t started;		/* unix seconds */
	uint64_t kernel_events;		/* heavy-hitter events received */
	uint64_t decisions[AGENT_DEC_MAX];
	uint64_t decisions_suppressed;	/* allowlisted sources the scorer wanted */

	struct evloop *loop;
	struct evloop_timer tick;
	int ctl_fd;			/* the control socket, listening */
	bool ctl_bound;			/* we created its file */
	struct conn_server *ctl;	/* ... served (owns ctl_fd) */
	struct http_metrics *metrics;
	struct ring_buffer *rb;
	int sfd;			/* signalfd */

	struct postfix_svc *pf;		/* policy service and socketmap */
	struct engine engine;		/* flows -> SMTP -> scorer */
	bool engine_up;
	struct capture captures[BW_MAX_IFACES];
	unsigned int n_captures;
	uint64_t capture_drops;		/* summed over the captures */
	uint32_t calm_ticks;		/* seconds without capture drops */

	struct agent_posture *posture;	/* agent_posture.c */
	struct fleet *fleet;		/* crowdsec_url set: fleet.h */
};

int cmd_run(int argc, char **argv);

/* agent.c: re-read the config file (all or nothing) with the command
 * line's overrides on top; keys that cannot change live keep their
 * running value (with a warning).  0, or -errno with err set. */
int agent_reload(struct agent *a, char *err, size_t errlen);

/* agent_loop.c: the loop and everything registered with it (control
 * socket, signals, ring buffer, captures, tick, metrics).  Stop undoes
 * whatever start did, also after a start that failed half-way. */
int agent_loop_start(struct agent *a);
void agent_loop_stop(struct agent *a);
void agent_publish_metrics(struct agent *a);

/* agent_ctl.c: answer one parsed request, output to out; returns the exit
 * code the CLI uses (0, 1, 2). */
int agent_handle(struct agent *a, const struct request *r, FILE *out);

#endif
