/*
 * dns.h - DNS lookups on the agent's event loop, through c-ares.
 *
 * c-ares (Debian libc-ares) is built to live inside someone else's event
 * loop: it tells us which sockets it wants watched (registered here with
 * evloop_add) and when its next timeout is due (one evloop timer), and
 * never blocks.  It retries over TCP when an answer comes back truncated,
 * retries and times out per its options, and parses the answers.  What
 * this module adds: bounds on what an answer may make us keep
 * (POSTURE_RR_MAX records of POSTURE_TXT_MAX bytes) and the translation
 * into the pure core's struct posture_answer.
 *
 * Functions return 0 or -errno.
 */
#ifndef BW_DNS_H
#define BW_DNS_H

#include <stdint.h>

#include "evloop.h"
#include "posture.h"

#define DNS_TIMEOUT_MS	2000	/* one try */
#define DNS_TRIES	2
#define DNS_EDNS_SIZE	1232	/* UDP payload; larger answers go over TCP */

struct dns;

/*
 * Called once per query with the answer (valid during the call only).
 * It may start new queries; it must not dns_close() (c-ares is inside its
 * own processing then: close from a timer of your own, or after the loop).
 */
typedef void dns_answer_fn(void *arg, uint32_t token, const struct posture_answer *a);

/* A resolver on loop: the given server, or /etc/resolv.conf's when NULL.
 * err gets one line on failure. */
int dns_open(struct dns **out, struct evloop *loop, const struct posture_resolver *server,
	     char *err, size_t errlen);

/* Ask for name's records of type; fn(arg, token, answer) later. */
int dns_query(struct dns *d, const char *name, enum posture_qtype type, dns_answer_fn *fn,
	      void *arg, uint32_t token);

/* Queries asked and not yet answered. */
unsigned int dns_pending(const struct dns *d);

/* Drop every pending query (their callbacks are not called), forget the
 * sockets and the timer. */
void dns_close(struct dns *d);

#endif
