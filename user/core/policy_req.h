/*
 * policy_req.h - Postfix's policy delegation protocol (SMTPD_POLICY_README):
 * a request is `name=value` lines ended by an empty line; the answer is
 * `action=...` and an empty line.  Pure: the server (io/) finds requests
 * in its input and hands their bytes here.
 *
 * Only what bouncewall acts on is kept; attributes of newer Postfix
 * versions that we do not know are counted and ignored (Postfix's own
 * advice to policy servers), never fatal.  A line without '=', a NUL, or a
 * value longer than its field is malformed: the whole request is, and it
 * is answered DUNNO.
 */
#ifndef BW_POLICY_REQ_H
#define BW_POLICY_REQ_H

#include <stdbool.h>
#include <stddef.h>

#define POLICY_REQUEST_MAX	16384	/* bytes of one request with its end */
#define POLICY_ATTRS_MAX	128	/* lines in one request */
#define POLICY_ADDR_MAX		256	/* sender, recipient, sasl_username */

struct policy_req {
	char request[32];		/* "smtpd_access_policy" */
	char protocol_state[16];	/* "RCPT", "MAIL", ... */
	char client_address[48];	/* "10.0.0.1", "2001:db8::1" */
	char sender[POLICY_ADDR_MAX + 1];	/* "" for the null sender */
	char recipient[POLICY_ADDR_MAX + 1];
	char sasl_username[POLICY_ADDR_MAX + 1];
	char encryption_protocol[32];	/* "TLSv1.3"; "" in cleartext */
	char instance[64];		/* one transaction of one smtpd */
	unsigned int unknown;		/* attributes we do not know */
	char first_unknown[32];		/* the first of them, for the log */
};

/* Bytes of the first whole request in buf (through its empty line), 0
 * while it is incomplete. */
size_t policy_request_len(const char *buf, size_t len);

/* Parse one whole request (as policy_request_len measured it).  0, or
 * -EINVAL with *why a static reason. */
int policy_parse(const char *buf, size_t len, struct policy_req *r, const char **why);

#endif
