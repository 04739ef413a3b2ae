/*
 * http_metrics.h - GET /metrics over HTTP/1.x, served from the agent's
 * event loop (conn.h): the text the agent last published, one request per
 * connection.
 *
 * Written here rather than with libmicrohttpd, which this endpoint used
 * before: its timeouts are inactivity timeouts (each trickled byte resets
 * them) and its per-address limit is then full, so eight slow clients from
 * any local user locked every scrape out; its external-event mode never
 * answered nor closed a request over its memory limit.  What Prometheus
 * needs is one GET; conn.h gives every client a whole-request deadline and
 * evicts the oldest when full, so a scrape is always answered.
 */
#ifndef BW_HTTP_METRICS_H
#define BW_HTTP_METRICS_H

#include <stddef.h>

#include "conn.h"
#include "evloop.h"

#define HTTP_REQUEST_MAX	8192	/* request line and headers */
#define HTTP_REQUEST_MS		3000
#define HTTP_WRITE_MS		5000
#define HTTP_CLIENTS_MAX	64

struct http_metrics;

/* Listen on spec (conn_listen()) and serve from loop l.  Until the first
 * http_metrics_publish() a scrape gets 503.  0 or -errno. */
int http_metrics_start(struct http_metrics **out, struct evloop *l, const char *spec);

/* Make text (len bytes, copied) what scrapes return.  0 or -ENOMEM (the
 * previous text stays). */
int http_metrics_publish(struct http_metrics *h, const char *text, size_t len);

const struct conn_stats *http_metrics_stats(const struct http_metrics *h);

void http_metrics_stop(struct http_metrics *h);

#endif
