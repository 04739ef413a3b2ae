/*
 * fleet.h - the agent as a member of a fleet of gateways that share
 * decisions through CrowdSec's Local API (LAPI):
 *
 *   bouncer (crowdsec_api_key): pull the decision stream every
 *     crowdsec_poll and enforce its bans of addresses and ranges as
 *     kernel blocks of origin crowdsec, lifting the deleted ones;
 *   watcher (crowdsec_login/crowdsec_password): push every block this
 *     agent decides (scorer) or is given (operator) as an alert with one
 *     ban decision, so the other gateways' bouncers pick it up.
 *
 * The allowlist wins, an operator's or the scorer's block is never
 * weakened, nothing that came from the LAPI goes back to it, and a LAPI
 * that is down, slow or garbled costs retries with backoff, counted in
 * the metrics, while the kernel keeps enforcing what it has.
 *
 *   fleet.c          life cycle, the bouncer
 *   fleet_push.c     the watcher: login, the push queue, alerts
 *   fleet_metrics.c  the bouncewall_crowdsec_* metrics
 */
#ifndef BW_FLEET_H
#define BW_FLEET_H

#include <stdio.h>

struct agent;
struct bw_cidr;
struct rule_entry;

/* Start when crowdsec_url is set (after the loop exists).  0, or -errno
 * when the client cannot start at all (a LAPI down is not that). */
int fleet_start(struct agent *a);

/* Stop and free (before the loop goes); no-op when not started. */
void fleet_stop(struct agent *a);

/* enforce.c: a block rule was put.  Ours (scorer, operator) are queued
 * for the LAPI; the fleet's own never go back. */
void fleet_block_put(struct agent *a, const struct rule_entry *e);

/* agent_ctl.c: the operator deleted a block of ours (scorer or
 * operator).  Not pushed yet: it never will be; pushed: its decision is
 * deleted from the LAPI by its id (from the decision stream, or from the
 * alert that carried it), so the other gateways lift it too. */
void fleet_block_retract(struct agent *a, const struct bw_cidr *c);

/* The bouncewall_crowdsec_* families (a metrics_more_fn; arg is the
 * agent's struct fleet). */
void fleet_render_metrics(FILE *f, const void *arg);

#endif
