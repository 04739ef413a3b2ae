/*
 * conn.h - the agent's servers' clients: non-blocking, bounded, with
 * deadlines (OpenSMTPD's io buffers, postscreen's patience).
 *
 * A server is a listening socket registered with the event loop and a
 * protocol: what a request looks like is the protocol's business
 * (conn_proto.input), everything else is here.  Each client has its own
 * input buffer of at most in_max bytes and output buffer of at most
 * out_max, and one deadline:
 *
 *  - a request must arrive whole within request_ms of its first byte (or
 *    of the accept): a trickle of bytes never moves that deadline;
 *  - between requests a keep-alive client may idle for idle_ms (0: the
 *    protocol answers one request and the client is closed);
 *  - a response must be taken by the client within write_ms of being
 *    queued.
 *
 * Past its deadline a client is closed and counted.  When max_clients are
 * connected, a new client evicts the one whose current wait began first:
 * a slow or silent client costs only its own slot, and a fresh request is
 * always served.
 */
#ifndef BW_CONN_H
#define BW_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"

struct conn;
struct conn_server;

struct conn_proto {
	const char *name;	/* in logs: "control", "metrics", ... */
	size_t in_max;
	size_t out_max;
	uint32_t request_ms;
	uint32_t idle_ms;
	uint32_t write_ms;
	unsigned int max_clients;
	/*
	 * Input arrived.  Look at conn_in(); for each complete request,
	 * queue the answer (conn_write) and conn_consume() it.  Return 0,
	 * or -1 to close the client at once (a protocol error).
	 */
	int (*input)(struct conn *c, void *arg);
	/*
	 * Optional: in_max bytes are buffered and input() consumed none.
	 * May answer and discard (conn_consume) and return 0; -1 (or no
	 * callback) closes the client, counted as oversized.
	 */
	int (*overflow)(struct conn *c, void *arg);
	/* Optional: per-client state is about to go. */
	void (*closed)(struct conn *c, void *arg);
};

struct conn_stats {
	uint64_t accepted;
	uint64_t requests;	/* conn_consume() calls that ended a request */
	uint64_t timeouts;	/* closed past a deadline */
	uint64_t evicted;	/* closed to make room */
	uint64_t oversized;	/* closed: request over in_max */
	uint64_t errors;	/* protocol errors and socket errors */
	uint64_t active;	/* gauge */
};

/* Serve clients of listen_fd (non-blocking, listening; the server owns it
 * and closes it) on loop l.  0 or -errno. */
int conn_serve(struct conn_server **out, struct evloop *l, int listen_fd,
	       const struct conn_proto *p, void *arg);
/* Close every client and the listening socket. */
void conn_server_free(struct conn_server *s);
const struct conn_stats *conn_server_stats(const struct conn_server *s);

/* The client's buffered, unconsumed input (NUL-terminated after len). */
const char *conn_in(const struct conn *c, size_t *len);
/* Drop the first n bytes of input: the request they held is answered. */
void conn_consume(struct conn *c, size_t n);
/* Queue bytes for the client.  0, or -ENOBUFS past out_max (nothing is
 * queued: the protocol answers something shorter or closes). */
int conn_write(struct conn *c, const void *data, size_t len);
/* Close the client once its queued output is written. */
void conn_close_after_write(struct conn *c);
/* Protocol state of the client (NULL until set). */
void *conn_get_user(const struct conn *c);
void conn_set_user(struct conn *c, void *user);
/* "10.0.0.1:34512", "[fd00::1]:25" or "local": for log lines. */
const char *conn_peer(const struct conn *c);

/*
 * Listening sockets.  spec is "HOST:PORT" ("[::1]:PORT" for IPv6; a host
 * name is resolved once, here) or "unix:PATH".  A unix socket gets mode
 * `mode`; a stale socket file nobody answers on is replaced, a live one is
 * -EADDRINUSE, any other file -EEXIST.  Returns the fd or -errno.
 */
int conn_listen(const char *spec, unsigned int mode);
/* A unix socket at path (same rules).  Returns the fd or -errno. */
int conn_listen_unix(const char *path, unsigned int mode);

#endif
