/*
 * conn.c - bounded clients with deadlines (conn.h).
 *
 * Deadlines are checked by a sweep every CONN_SWEEP_MS while a server has
 * clients: at most a few hundred clients a server, so a scan is cheaper
 * than keeping them sorted, and 100 ms is well below any deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"

#define CONN_SWEEP_MS		100
#define CONN_ACCEPT_BATCH	64
#define CONN_BACKLOG		128
#define CONN_PEER_MAX		64

struct conn {
	struct conn_server *srv;
	int fd;
	char *in;		/* in_max + 1 bytes */
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t since_ms;	/* the current wait began */
	uint64_t deadline_ms;
	bool in_request;	/* part of a request is buffered */
	bool closing;		/* close when out is written */
	bool dead;		/* closed inside a callback: free later */
	void *user;
	struct conn *prev, *next;
	char peer[CONN_PEER_MAX];
};

struct conn_server {
	struct evloop *l;
	int lfd;
	const struct conn_proto *p;
	void *arg;
	struct conn *head;
	unsigned int n;
	struct conn_stats st;
	struct evloop_timer sweep;
};

static void client_event(void *arg, int fd, uint32_t events);

const struct conn_stats *
conn_server_stats(const struct conn_server *s)
{
	return &s->st;
}

const char *
conn_in(const struct conn *c, size_t *len)
{
	*len = c->in_len;
	return c->in;
}

void *
conn_get_user(const struct conn *c)
{
	return c->user;
}

void
conn_set_user(struct conn *c, void *user)
{
	c->user = user;
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

void
conn_close_after_write(struct conn *c)
{
	c->closing = true;
}

static void
client_free(struct conn *c)
{
	struct conn_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n--;
	s->st.active = s->n;
	free(c->in);
	free(c->out);
	free(c);
}

/* Close now.  Inside a callback of c the memory waits for client_event's
 * end (c->dead); elsewhere it goes at once. */
static void
client_close(struct conn *c, bool in_callback)
{
	struct conn_server *s = c->srv;

	if (c->fd >= 0) {
		if (s->p->closed)
			s->p->closed(c, s->arg);
		evloop_del(s->l, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	c->dead = true;
	if (!in_callback)
		client_free(c);
}

static void
set_wait(struct conn *c, uint64_t now, uint32_t ms)
{
	c->since_ms = now;
	c->deadline_ms = now + ms;
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	size_t pending = c->out_len - c->out_off;
	uint64_t now;

	if (c->fd < 0)
		return -EPIPE;
	if (pending + len > c->srv->p->out_max)
		return -ENOBUFS;
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		char *o;

		/* Compact before growing. */
		if (c->out_off) {
			memmove(c->out, c->out + c->out_off, pending);
			c->out_len = pending;
			c->out_off = 0;
		}
		while (cap < c->out_len + len)
			cap *= 2;
		if (cap != c->out_cap) {
			o = realloc(c->out, cap);
			if (!o)
				return -ENOMEM;
			c->out = o;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	if (pending == 0 && len) {
		now = evloop_now_ms();
		/* The response must be taken within write_ms, whatever the
		 * request's own deadline was. */
		set_wait(c, now, c->srv->p->write_ms);
		evloop_mod(c->srv->l, c->fd, EPOLLIN | EPOLLOUT);
	}
	return 0;
}

void
conn_consume(struct conn *c, size_t n)
{
	if (n > c->in_len)
		n = c->in_len;
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
	c->in[c->in_len] = '\0';
	c->srv->st.requests++;
	c->in_request = c->in_len > 0;
	/* Pipelined bytes start the next request's clock; an empty buffer
	 * waits for the write, then idles (conn_write/flush set those). */
	if (c->in_request)
		set_wait(c, evloop_now_ms(), c->srv->p->request_ms);
}

/* Write what we can; close when done and asked to.  Returns -1 when the
 * client is gone. */
static int
flush(struct conn *c)
{
	const struct conn_proto *p = c->srv->p;

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			c->srv->st.errors++;
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->closing)
		return -1;
	evloop_mod(c->srv->l, c->fd, EPOLLIN);
	if (!c->in_request)
		set_wait(c, evloop_now_ms(), p->idle_ms ? p->idle_ms : p->request_ms);
	return 0;
}

/*
 * The client shut its sending side (the CLI does, right after its
 * request).  What is queued for it still goes out, within the write
 * deadline; then it is closed.  Only EPOLLOUT from now on: its EOF stays
 * readable and would wake the loop for nothing.  -1 when nothing is queued.
 */
static int
peer_done(struct conn *c)
{
	if (c->out_len == c->out_off)
		return -1;
	c->closing = true;
	evloop_mod(c->srv->l, c->fd, EPOLLOUT);
	return 0;
}

/* Read, then let the protocol look.  Returns -1 when the client is gone. */
static int
fill(struct conn *c)
{
	struct conn_server *s = c->srv;
	const struct conn_proto *p = s->p;
	size_t before;
	ssize_t n;

	if (c->closing)	{
		/* Answered and on its way out: ignore what else it sends. */
		char sink[512];

		n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		return n == 0 ? peer_done(c) : 0;
	}
	if (c->in_len == p->in_max) {
		/* Only reached when an overflow callback kept the bytes. */
		s->st.oversized++;
		return -1;
	}
	n = recv(c->fd, c->in + c->in_len, p->in_max - c->in_len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : (s->st.errors++, -1);
	if (n == 0)	/* a half-sent request is abandoned, answers go out */
		return peer_done(c);
	if (!c->in_request) {
		c->in_request = true;
		set_wait(c, evloop_now_ms(), p->request_ms);
	}
	c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';
	do {
		before = c->in_len;
		if (p->input(c, s->arg) < 0) {
			s->st.errors++;
			return -1;
		}
		if (c->dead)
			return -1;
	} while (c->in_len && c->in_len < before && !c->closing);
	if (c->in_len == p->in_max) {
		if (!p->overflow || p->overflow(c, s->arg) < 0 || c->dead) {
			s->st.oversized++;
			return -1;
		}
	}
	return 0;
}

static void
client_event(void *arg, int fd, uint32_t events)
{
	struct conn *c = arg;
	int gone = 0;

	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
		gone = -1;
	if (!gone && (events & EPOLLIN))
		gone = fill(c);
	if (!gone && !c->dead && c->out_len > c->out_off)
		gone = flush(c);
	else if (!gone && !c->dead && c->closing)
		gone = -1;	/* nothing left to write */
	if (gone || c->dead) {
		if (!c->dead)
			client_close(c, true);
		client_free(c);
	}
}

static void
sweep(void *arg)
{
	struct conn_server *s = arg;
	uint64_t now = evloop_now_ms();
	struct conn *c = s->head, *next;

	for (; c; c = next) {
		next = c->next;
		if (now >= c->deadline_ms) {
			s->st.timeouts++;
			client_close(c, false);
		}
	}
	if (s->head)
		evloop_timer_arm(s->l, &s->sweep, now + CONN_SWEEP_MS);
}

/* Make room: close the client whose current wait began first. */
static void
evict_one(struct conn_server *s)
{
	struct conn *old = NULL;

	for (struct conn *c = s->head; c; c = c->next)
		if (!old || c->since_ms < old->since_ms)
			old = c;
	if (old) {
		s->st.evicted++;
		client_close(old, false);
	}
}

static void
format_peer(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	snprintf(buf, len, "local");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
	}
}

static void
accept_event(void *arg, int lfd, uint32_t events)
{
	struct conn_server *s = arg;
	const struct conn_proto *p = s->p;

	for (int k = 0; k < CONN_ACCEPT_BATCH; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				s->st.errors++;
			return;
		}
		if (s->n >= p->max_clients)
			evict_one(s);
		c = calloc(1, sizeof(*c));
		if (c)
			c->in = malloc(p->in_max + 1);
		if (!c || !c->in || evloop_add(s->l, fd, EPOLLIN, client_event, c) < 0) {
			if (c)
				free(c->in);
			free(c);
			close(fd);
			s->st.errors++;
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->in[0] = '\0';
		format_peer(fd, c->peer, sizeof(c->peer));
		set_wait(c, evloop_now_ms(), p->idle_ms ? p->idle_ms : p->request_ms);
		c->next = s->head;
		if (s->head)
			s->head->prev = c;
		s->head = c;
		s->n++;
		s->st.accepted++;
		s->st.active = s->n;
		if (!s->sweep.armed)
			evloop_timer_arm(s->l, &s->sweep, evloop_now_ms() + CONN_SWEEP_MS);
	}
}

int
conn_serve(struct conn_server **out, struct evloop *l, int listen_fd,
	   const struct conn_proto *p, void *arg)
{
	struct conn_server *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->l = l;
	s->lfd = listen_fd;
	s->p = p;
	s->arg = arg;
	evloop_timer_init(&s->sweep, sweep, s);
	ret = evloop_add(l, listen_fd, EPOLLIN, accept_event, s);
	if (ret < 0) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void
conn_server_free(struct conn_server *s)
{
	if (!s)
		return;
	while (s->head)
		client_close(s->head, false);
	evloop_timer_cancel(s->l, &s->sweep);
	evloop_del(s->l, s->lfd);
	close(s->lfd);
	free(s);
}

/* ---- listening sockets ---- */

static int
unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int
conn_listen_unix(const char *path, unsigned int mode)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, ret;

	ret = unix_addr(path, &sa);
	if (ret < 0)
		return ret;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (ret == 0)
			return -EADDRINUSE;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* No window in which the socket exists with looser permissions. */
	old = umask((mode_t)(~mode & 0777));
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret < 0 || listen(fd, CONN_BACKLOG) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int
conn_listen(const char *spec, unsigned int mode)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char host[256], *port;
	int fd, ret, one = 1;

	if (strncmp(spec, "unix:", 5) == 0)
		return conn_listen_unix(spec + 5, mode);
	if (snprintf(host, sizeof(host), "%s", spec) >= (int)sizeof(host))
		return -EINVAL;
	port = strrchr(host, ':');
	if (!port)
		return -EINVAL;
	*port++ = '\0';
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 2 || host[n - 1] != ']')
			return -EINVAL;
		host[n - 1] = '\0';
		memmove(host, host + 1, n - 1);
	}
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return -EADDRNOTAVAIL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, CONN_BACKLOG) < 0) {
		ret = -errno;
		close(fd);
		goto out;
	}
	ret = fd;
out:
	freeaddrinfo(ai);
	return ret;
}
