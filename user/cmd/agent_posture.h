/*
 * agent_posture.h - the agent's posture checks (core/posture.h): the
 * protected domains' SPF, DMARC and DKIM graded at start and every
 * POSTURE_RECHECK_MS, on the event loop; bouncewall_domain_posture; and
 * the posture of the domains logged when a storm begins, because that is
 * when an operator asks why their domain is being forged.
 *
 * Hooks (agent_loop.c): start after the loop and metrics exist, stop
 * before the loop is freed, tick once a second, render into the metrics
 * text.
 */
#ifndef BW_AGENT_POSTURE_H
#define BW_AGENT_POSTURE_H

#include <stdio.h>

#define POSTURE_RECHECK_MS	(6ULL * 3600 * 1000)

struct agent;

/* Arm the first check (at once).  0 or -ENOMEM. */
int agent_posture_start(struct agent *a);
void agent_posture_stop(struct agent *a);

/* Once a second: a storm's onset logs the posture; changed domains,
 * selectors or resolver (a reload) start a new check. */
void agent_posture_tick(struct agent *a);

/* bouncewall_domain_posture and bouncewall_posture_checks_total. */
void agent_posture_metrics(struct agent *a, FILE *f);

#endif
