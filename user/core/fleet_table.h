/*
 * fleet_table.h - what the agent knows of the fleet, by CIDR: the LAPI's
 * ban decisions (whether and why each is enforced here), and the ledger
 * of blocks this agent pushed.  A dense array with a keyed hash index
 * (as core/rules.c), bounded, O(1) find, put and delete, so a 100,000
 * decision startup stream costs 100,000 of each and nothing more.
 *
 * Origins (the LAPI's "crowdsec", "cscli", "lists", ...) are interned:
 * each table counts its entries per origin for the
 * bouncewall_crowdsec_decisions{origin} gauge, with "other" taking what
 * does not fit.  Pure.
 */
#ifndef BW_FLEET_TABLE_H
#define BW_FLEET_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "lapi_decision.h"

#define FLEET_ORIGINS_MAX	16	/* [0] is "other" */

enum fleet_state {
	/* A LAPI decision ... */
	FLEET_PENDING = 0,	/* not looked at yet */
	FLEET_APPLIED,		/* ... is a crowdsec block in the kernel */
	FLEET_SHADOWED,		/* ... meets an operator or scorer block */
	FLEET_SUPPRESSED,	/* ... is covered by the allowlist */
	FLEET_REFUSED,		/* ... did not fit the block list */
	FLEET_OWN,		/* ... is our own push coming back */
	FLEET_DISMISSED,	/* ... was deleted here by the operator */
	/* A ledger entry: a block of ours ... */
	FLEET_QUEUED,		/* ... waiting to be pushed */
	FLEET_PUSHED,		/* ... the LAPI has */
	FLEET_RETRACTING,	/* ... the operator lifted: its LAPI
				 * decision is to be deleted */
};

struct fleet_entry {
	struct bw_cidr cidr;
	uint8_t state;		/* enum fleet_state */
	uint8_t origin;		/* interned; set through fleet_table_put */
	uint16_t slot;		/* ledger: position in the push queue */
	uint32_t gen;		/* the startup pull that last saw it */
	int64_t id;		/* the LAPI's decision id */
	int64_t alert_id;	/* ledger: the alert that carried our push */
	uint64_t until;		/* unix seconds */
	char scenario[LAPI_SCENARIO_MAX + 1];
};

struct fleet_table {
	struct fleet_entry *v;	/* dense, unordered */
	size_t n, cap, max;
	uint32_t *slots;	/* 0 empty, else position in v + 1 */
	size_t nslots;
	uint8_t seed[16];
	char origins[FLEET_ORIGINS_MAX][LAPI_ORIGIN_MAX + 1];
	unsigned int n_origins;
	size_t per_origin[FLEET_ORIGINS_MAX];
};

/* An empty table of at most `max` entries, its index keyed by seed. */
void fleet_table_init(struct fleet_table *t, size_t max, const uint8_t seed[16]);
void fleet_table_free(struct fleet_table *t);

struct fleet_entry *fleet_table_find(const struct fleet_table *t, const struct bw_cidr *c);

/* Insert e, or replace the entry with its CIDR; *out (when not NULL)
 * points at the stored entry until the next put or delete.  0 (new),
 * 1 (replaced), -ENOSPC at max, -ENOMEM. */
int fleet_table_put(struct fleet_table *t, const struct fleet_entry *e,
		    struct fleet_entry **out);

/* 0 or -ENOENT.  The last entry moves into the freed position. */
int fleet_table_del(struct fleet_table *t, const struct bw_cidr *c);

/* The index of an origin name (added when new; 0, "other", when the
 * table of names is full). */
uint8_t fleet_table_origin(struct fleet_table *t, const char *name);

#endif
