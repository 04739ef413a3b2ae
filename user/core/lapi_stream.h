/*
 * lapi_stream.h - the body of the LAPI's GET /v1/decisions/stream, read
 * as it arrives, one chunk at a time:
 *
 *   {"deleted":[DECISION,...] or null,"new":[DECISION,...] or null}
 *
 * json-c parses every value (each decision, each key, anything unknown);
 * this module walks only the punctuation of the outer object and of its
 * two arrays, so that json-c holds one decision at a time.  Memory stays
 * at one value (LAPI_STREAM_VALUE_MAX) whatever the stream's size: the
 * json-c tree of a whole 100,000-decision body takes about 150 MB.  Each
 * decision goes to a callback as soon as its closing brace is read, in
 * the order the LAPI sent them.  Pure.
 */
#ifndef BW_LAPI_STREAM_H
#define BW_LAPI_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lapi_decision.h"

/* One JSON value (a decision, a key, an unknown member) at most. */
#define LAPI_STREAM_VALUE_MAX	16384
#define LAPI_STREAM_DEPTH	8

struct json_tokener;
struct json_object;

/* A decision of the "new" (deleted false) or "deleted" list.  d is valid
 * for every verdict but LAPI_INVALID. */
typedef void lapi_stream_fn(void *arg, bool deleted, enum lapi_verdict v,
			    const struct lapi_decision *d);

struct lapi_stream {
	struct json_tokener *tok;
	int state;
	int list;		/* which member's value is being read */
	size_t value_bytes;	/* bytes json-c has taken of the value */
	uint64_t bytes;		/* of the body so far */
	uint64_t decisions;	/* handed to fn, all verdicts */
	lapi_stream_fn *fn;
	void *arg;
	const char *error;	/* static text, once malformed */
};

/* 0 or -ENOMEM. */
int lapi_stream_init(struct lapi_stream *s, lapi_stream_fn *fn, void *arg);
void lapi_stream_free(struct lapi_stream *s);

/* The next len bytes of the body.  0, or -EINVAL once the body is not a
 * decision stream (s->error says why; later feeds fail the same way). */
int lapi_stream_feed(struct lapi_stream *s, const char *buf, size_t len);

/* The body ended: 0 when it held one whole document, else -EINVAL. */
int lapi_stream_end(struct lapi_stream *s);

/* One decision object's fields (strings without NUL bytes, an integer
 * id), as lapi_decision_map() takes them.  Pointers into o. */
void lapi_fields_from_json(struct json_object *o, struct lapi_fields *f);

#endif
