/*
 * http_metrics.c - the Prometheus endpoint (http_metrics.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_metrics.h"

#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct http_metrics {
	struct conn_server *srv;
	char *text;
	size_t len;
};

/* Where the header block ends (past its blank line), 0 if not yet. */
static size_t
header_end(const char *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (b[i] != '\n')
			continue;
		if (b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static void
respond(struct conn *c, int status, const char *reason, const char *type,
	const char *body, size_t len, bool head)
{
	char hdr[256];
	int n;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n", status, reason, type, len);
	if (conn_write(c, hdr, (size_t)n) == 0 && !head && len)
		conn_write(c, body, len);
	conn_close_after_write(c);
}

static void
respond_text(struct conn *c, int status, const char *reason, const char *msg, bool head)
{
	respond(c, status, reason, "text/plain; charset=utf-8", msg, strlen(msg), head);
}

/* Answer the request in b[0..end); one request a connection. */
static void
answer(struct http_metrics *h, struct conn *c, const char *b, size_t end)
{
	const char *sp, *path, *sp2;
	size_t mlen, plen;
	bool head;

	sp = memchr(b, ' ', end);
	if (!sp) {
		respond_text(c, 400, "Bad Request", "bad request\n", false);
		return;
	}
	mlen = (size_t)(sp - b);
	path = sp + 1;
	sp2 = memchr(path, ' ', end - (size_t)(path - b));
	if (!sp2 || (size_t)(b + end - sp2) < 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		respond_text(c, 400, "Bad Request", "bad request\n", false);
		return;
	}
	plen = (size_t)(sp2 - path);
	head = mlen == 4 && memcmp(b, "HEAD", 4) == 0;
	if (!head && !(mlen == 3 && memcmp(b, "GET", 3) == 0)) {
		respond_text(c, 405, "Method Not Allowed", "method not allowed\n", false);
		return;
	}
	if ((plen == 8 && memcmp(path, "/metrics", 8) == 0) ||
	    (plen > 8 && memcmp(path, "/metrics?", 9) == 0)) {
		if (!h->text)
			respond_text(c, 503, "Service Unavailable", "starting\n", head);
		else
			respond(c, 200, "OK", CONTENT_TYPE, h->text, h->len, head);
	} else if (plen == 1 && path[0] == '/') {
		respond_text(c, 200, "OK", "bouncewall: see /metrics\n", head);
	} else {
		respond_text(c, 404, "Not Found", "bouncewall: see /metrics\n", head);
	}
}

static int
http_input(struct conn *c, void *arg)
{
	size_t len, end;
	const char *b = conn_in(c, &len);

	end = header_end(b, len);
	if (!end)
		return 0;
	answer(arg, c, b, end);
	conn_consume(c, len);	/* whatever followed the request is noise */
	return 0;
}

static int
http_overflow(struct conn *c, void *arg)
{
	size_t len;

	conn_in(c, &len);
	conn_consume(c, len);
	respond_text(c, 431, "Request Header Fields Too Large", "request too large\n", false);
	return 0;
}

static const struct conn_proto http_proto = {
	.name = "metrics",
	.in_max = HTTP_REQUEST_MAX,
	.out_max = 64u << 20,
	.request_ms = HTTP_REQUEST_MS,
	.idle_ms = 0,
	.write_ms = HTTP_WRITE_MS,
	.max_clients = HTTP_CLIENTS_MAX,
	.input = http_input,
	.overflow = http_overflow,
};

int
http_metrics_start(struct http_metrics **out, struct evloop *l, const char *spec)
{
	struct http_metrics *h = calloc(1, sizeof(*h));
	int fd, ret;

	if (!h)
		return -ENOMEM;
	fd = conn_listen(spec, 0600);
	if (fd < 0) {
		free(h);
		return fd;
	}
	ret = conn_serve(&h->srv, l, fd, &http_proto, h);
	if (ret < 0) {
		close(fd);
		free(h);
		return ret;
	}
	*out = h;
	return 0;
}

int
http_metrics_publish(struct http_metrics *h, const char *text, size_t len)
{
	char *t;

	if (!h)
		return 0;
	t = malloc(len + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t, text, len);
	t[len] = '\0';
	free(h->text);
	h->text = t;
	h->len = len;
	return 0;
}

const struct conn_stats *
http_metrics_stats(const struct http_metrics *h)
{
	return conn_server_stats(h->srv);
}

void
http_metrics_stop(struct http_metrics *h)
{
	if (!h)
		return;
	conn_server_free(h->srv);
	free(h->text);
	free(h);
}
