/*
 * lapi_alert.h - what a watcher sends the LAPI and reads back: the login
 * (POST /v1/watchers/login) and our blocks as alerts with one ban
 * decision each (POST /v1/alerts), in the shape CrowdSec 1.4's LAPI
 * validates (every field its model marks required, as cscli sends them).
 * JSON written and read with json-c.  Pure.
 */
#ifndef BW_LAPI_ALERT_H
#define BW_LAPI_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

#define LAPI_SCENARIO_SCORER	"bouncewall/backscatter"
#define LAPI_SCENARIO_OPERATOR	"bouncewall/operator"
/* The origin our decisions carry, as other bouncers see it. */
#define LAPI_ORIGIN_BOUNCEWALL	"bouncewall"
#define LAPI_REASON_MAX		160
#define LAPI_TOKEN_MAX		4096

/* One block to push. */
struct lapi_push {
	struct bw_cidr cidr;
	uint64_t ttl;			/* seconds, > 0 */
	uint32_t origin;		/* BW_ORIGIN_SCORER or BW_ORIGIN_OPERATOR */
	char reason[LAPI_REASON_MAX + 1];
};

/* {"machine_id":...,"password":...,"scenarios":[...]}.  0 or -EIO. */
int lapi_login_format(FILE *f, const char *login, const char *password);

/*
 * The login answer {"code":200,"expire":"RFC 3339","token":"..."}: the
 * token (at most LAPI_TOKEN_MAX - 1 bytes, printable ASCII: it goes into
 * a header) and its expiry in unix seconds.  0 or -EINVAL.
 */
int lapi_login_parse(const char *body, size_t len, char *token, size_t tokcap,
		     int64_t *expire);

/* A JSON array of n alerts, one per push, started and stopped at `now`
 * (unix seconds), so the LAPI's expiry is now + ttl.  `version` names
 * the scenario version.  0 or -EIO / -ENOMEM. */
int lapi_alerts_format(FILE *f, const struct lapi_push *p, size_t n, int64_t now,
		       const char *version);

/* The answer to POST /v1/alerts: a JSON array of alert ids, in the order
 * the alerts were sent.  The first cap into ids (0 for one that is not a
 * positive id); how many there are, or -EINVAL. */
int lapi_alerts_parse_ids(const char *body, size_t len, int64_t *ids, size_t cap);

/* The answer to GET /v1/alerts/ID: the id of its first decision (ours
 * carry one each).  0, or -EINVAL when there is none. */
int lapi_alert_decision_id(const char *body, size_t len, int64_t *id);

#endif
