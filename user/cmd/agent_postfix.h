/*
 * agent_postfix.h - the agent's Postfix services: the policy delegation
 * service (policy_listen) that answers each recipient of a bounce, and the
 * socketmap (socketmap_listen) whose `batv` table signs what we send and
 * whose `unbatv` table strips a valid tag so the bounce is delivered.
 * Both are served from the agent's event loop (conn.h); both fail open:
 * anything unexpected is DUNNO / NOTFOUND, counted, logged once a cause.
 *
 * The sent ledger lives in the engine (core/ledger.h); these services
 * teach it sends and bounces and save it to state_dir.
 */
#ifndef BW_AGENT_POSTFIX_H
#define BW_AGENT_POSTFIX_H

#include <stdio.h>

#include "agent.h"

#define POLICY_CLIENTS_MAX	1024
#define POLICY_REQUEST_MS	10000
#define POLICY_IDLE_MS		360000	/* above Postfix's max_idle (300 s) */
#define POLICY_WRITE_MS		10000
#define SOCKETMAP_QUERY_MAX	1024

/* Listen where configured ("off": not at all) and load the ledger.
 * 0 or -errno (logged). */
int postfix_start(struct agent *a);
void postfix_stop(struct agent *a);

/* Save the ledger if it changed (the tick calls this; at most once a
 * minute) or, with force, now. */
void postfix_save_ledger(struct agent *a, bool force);

/* The servers' client counters (NULL when off), for the metrics. */
const struct conn_stats *postfix_policy_stats(const struct agent *a);
const struct conn_stats *postfix_socketmap_stats(const struct agent *a);

/* Prometheus families of the services and the ledger. */
void postfix_metrics(FILE *f, const struct agent *a);

/* status: the services and the ledger, text or JSON members. */
void postfix_status(FILE *out, const struct agent *a, bool json);

/* `bouncewall ledger ADDRESS`: 0, or 1 when the address is not tracked. */
int postfix_ledger_show(FILE *out, const struct agent *a, const char *addr, bool json);

#endif
