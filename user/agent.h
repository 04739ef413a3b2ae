/*
 * agent.h - `bouncewall run`: the long-lived agent.
 *
 * agent.c owns the life cycle and the event loop (signals, control socket,
 * ring buffer, a 1 s housekeeping tick); agent_cmds.c answers the control
 * requests against the state held here.
 */
#ifndef BW_AGENT_H
#define BW_AGENT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "config.h"
#include "engine.h"
#include "kern.h"
#include "metrics.h"
#include "request.h"
#include "rules.h"

/*
 * A source whose score went past a threshold the kernel does not enforce
 * yet, and when: the capture time of the scorer input that did it.  The
 * event loop runs the decision pass as soon as one is noted (not at the
 * next tick), and the decision's log line reports the time as trigger_ts.
 */
#define AGENT_CROSSINGS_MAX	64

struct agent_crossing {
	struct bw_cidr prefix;
	uint64_t ts;		/* ns, CLOCK_REALTIME */
};

enum agent_decision {
	AGENT_DEC_THROTTLE = 0,
	AGENT_DEC_BLOCK,
	AGENT_DEC_UNBLOCK,
	AGENT_DEC_MAX
};

struct agent {
	struct bw_settings settings;
	char config_path[PATH_MAX];
	bool config_required;	/* -c given: a missing file is an error */
	enum kern_xdp_mode xdp_mode;
	struct kern kern;
	struct rules rules;
	bool rules_dirty;	/* state file needs writing */
	uint64_t started;	/* unix seconds */
	uint64_t kernel_events;	/* heavy-hitter events received */
	uint64_t decisions[AGENT_DEC_MAX];
	struct metrics_server *metrics;
	struct engine engine;		/* flows -> SMTP -> scorer */
	bool engine_up;
	struct capture captures[BW_MAX_IFACES];
	unsigned int n_captures;
	uint64_t capture_drops;		/* summed over the captures */
	uint32_t calm_ticks;		/* seconds without capture drops */
	uint64_t decisions_suppressed;	/* allowlisted sources the scorer wanted */
	struct agent_crossing crossings[AGENT_CROSSINGS_MAX];
	unsigned int n_crossings;	/* since the last decision pass */
	uint64_t storm_onset_ts;	/* an input started a storm: when */
	bool decide_pending;		/* a crossing was seen: decide now */
	bool deciding;			/* in a decision pass: save at its end */
	volatile bool exiting;
};

int cmd_run(int argc, char **argv);

/* Answer one parsed request; writes output to out, returns the exit code
 * the CLI should use (0, 1, 2). */
int agent_handle(struct agent *a, const struct request *r, FILE *out);

/* Re-read the config file: all or nothing; keys that cannot change live
 * keep their value (with a warning).  0, or -errno with err set. */
int agent_reload(struct agent *a, char *err, size_t errlen);

/* Remove expired rules from the mirror and the kernel; returns how many. */
size_t agent_expire_rules(struct agent *a, uint64_t now);

/* Apply the scorer's decisions due at `now_ns` (CLOCK_REALTIME); forgets
 * the crossings noted since the last pass. */
void agent_apply_decisions(struct agent *a, uint64_t now_ns);

/* Persist the rules if they changed since the last write. */
void agent_save_rules(struct agent *a);

#endif
