/*
 * lapi.h - HTTP to the CrowdSec Local API through libcurl's multi
 * interface, driven by the agent's event loop: curl's sockets are
 * registered with evloop (CURLMOPT_SOCKETFUNCTION) and its next timeout is
 * one evloop timer (CURLMOPT_TIMERFUNCTION), so a slow, dead or hostile
 * LAPI never holds up anything else the agent does.  Every call has a
 * deadline and a cap on its body; nothing here logs a header (they carry
 * the API key or the watcher's token).
 *
 * A 2xx body goes either to a callback piece by piece (the decision
 * stream, read as it arrives; the callback may pause the transfer to
 * spread work over loop turns) or into a buffer handed to the completion
 * callback.  A non-2xx body is always buffered (cut at LAPI_ERROR_BODY)
 * for the log.  Callbacks run from the loop, never inside one another.
 */
#ifndef BW_LAPI_H
#define BW_LAPI_H

#include <stddef.h>
#include <stdint.h>

#include "evloop.h"

#define LAPI_ERROR_BODY		1024
#define LAPI_CONNECT_MS		5000
#define LAPI_HEADERS_MAX	4

struct lapi_client;
struct lapi_call;

struct lapi_result {
	/* 0 when a response came (whatever its status), else -ETIMEDOUT,
	 * -ECONNREFUSED, -EHOSTUNREACH, -EFBIG (body over its cap),
	 * -ECANCELED (the body callback refused it), -EIO. */
	int err;
	long status;		/* HTTP status; 0 without a response */
	const char *body;	/* buffered bodies, NUL-terminated; else NULL */
	size_t len;		/* body bytes received */
	const char *what;	/* curl's words for err, for the log */
	uint64_t ms;		/* the call's duration */
};

/* A piece of a 2xx body: 1 took it, 0 pause (nothing taken: the same
 * bytes come again after lapi_call_resume()), -1 abort the call. */
typedef int lapi_body_fn(void *arg, const char *buf, size_t len);
typedef void lapi_done_fn(void *arg, const struct lapi_result *r);

struct lapi_request {
	const char *method;		/* "GET", "POST", "DELETE" */
	const char *url;
	const char *headers[LAPI_HEADERS_MAX];	/* "Name: value" or NULL; copied */
	const char *body;		/* copied; a JSON body for POST */
	size_t body_len;
	size_t max_body;		/* bytes of response body at most */
	uint32_t timeout_ms;		/* the whole call */
	lapi_body_fn *on_body;		/* NULL: buffer the body */
	lapi_done_fn *on_done;		/* called once, unless cancelled */
	void *arg;
};

/* 0 or -ENOMEM / -EIO (curl would not start). */
int lapi_client_new(struct lapi_client **out, struct evloop *loop);

/* End every call in flight (without callbacks) and let go of the loop's
 * descriptors and timer.  Before evloop_free(). */
void lapi_client_free(struct lapi_client *c);

/* Start a call; *out (when not NULL) names it until its on_done.  0, or
 * -ENOMEM / -EINVAL / -EIO. */
int lapi_call_start(struct lapi_client *c, const struct lapi_request *r,
		    struct lapi_call **out);

/* Go on with a call whose on_body paused.  Not from inside a callback of
 * that call. */
void lapi_call_resume(struct lapi_call *call);

/* End a call now, without its on_done.  Not from inside its callbacks. */
void lapi_call_cancel(struct lapi_call *call);

#endif
