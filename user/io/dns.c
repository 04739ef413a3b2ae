/*
 * dns.c - c-ares on the event loop (dns.h).
 *
 * c-ares calls sock_state() whenever a socket's interest changes: the
 * socket is (re)registered with the loop, or forgotten when c-ares stops
 * watching it (just before it closes it).  After anything that may have
 * changed c-ares' timeouts the one timer is moved to its next deadline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <ares.h>
#include <arpa/inet.h>

#include "dns.h"
#include "log.h"

#define DNS_ADDRS_COUNTED	64	/* A/AAAA records counted per answer */
#define DNS_TXT_POOL		65536	/* bytes of TXT kept per answer */

struct dns {
	struct evloop *loop;
	ares_channel ch;
	struct evloop_timer timer;
	unsigned int pending;
	bool closing;
	char pool[DNS_TXT_POOL];	/* an answer's TXT records */
};

struct dns_q {
	struct dns *d;
	dns_answer_fn *fn;
	void *arg;
	uint32_t token;
	enum posture_qtype type;
};

static void
rearm(struct dns *d)
{
	struct timeval tv, *t;
	uint64_t ms;

	if (d->closing)
		return;
	t = ares_timeout(d->ch, NULL, &tv);
	if (!t) {
		evloop_timer_cancel(d->loop, &d->timer);
		return;
	}
	ms = (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_usec / 1000 + 1;
	evloop_timer_arm(d->loop, &d->timer, evloop_now_ms() + ms);
}

static void
on_timer(void *arg)
{
	struct dns *d = arg;

	ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(d);
}

static void
on_fd(void *arg, int fd, uint32_t events)
{
	struct dns *d = arg;
	bool rd = events & (EPOLLIN | EPOLLERR | EPOLLHUP);

	ares_process_fd(d->ch, rd ? fd : ARES_SOCKET_BAD,
			events & EPOLLOUT ? fd : ARES_SOCKET_BAD);
	rearm(d);
}

static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	uint32_t ev = (readable ? EPOLLIN : 0) | (writable ? EPOLLOUT : 0);
	int ret;

	if (!ev) {
		evloop_del(d->loop, fd);
		return;
	}
	ret = evloop_mod(d->loop, fd, ev);
	if (ret == -EBADF)
		ret = evloop_add(d->loop, fd, ev, on_fd, d);
	if (ret < 0)
		log_warn("dns fd=%d err=\"%s\"", fd, strerror(-ret));
}

static int
set_server(struct dns *d, const struct posture_resolver *r)
{
	struct ares_addr_port_node node;

	memset(&node, 0, sizeof(node));
	node.family = r->family;
	if (r->family == AF_INET)
		memcpy(&node.addr.addr4, r->addr, 4);
	else
		memcpy(&node.addr.addr6, r->addr, 16);
	node.udp_port = r->port;
	node.tcp_port = r->port;
	return ares_set_servers_ports(d->ch, &node);
}

int
dns_open(struct dns **out, struct evloop *loop, const struct posture_resolver *server,
	 char *err, size_t errlen)
{
	struct ares_options o;
	struct dns *d;
	int st, mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		       ARES_OPT_SOCK_STATE_CB | ARES_OPT_EDNSPSZ;

	st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		return -ENOMEM;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		ares_library_cleanup();
		return -ENOMEM;
	}
	d->loop = loop;
	evloop_timer_init(&d->timer, on_timer, d);
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_EDNS | ARES_FLAG_NOSEARCH;
	o.timeout = DNS_TIMEOUT_MS;
	o.tries = DNS_TRIES;
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = d;
	o.ednspsz = DNS_EDNS_SIZE;
	st = ares_init_options(&d->ch, &o, mask);
	if (st == ARES_SUCCESS && server)
		st = set_server(d, server);
	if (st != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(st));
		if (d->ch)
			ares_destroy(d->ch);
		free(d);
		ares_library_cleanup();
		return -EINVAL;
	}
	*out = d;
	return 0;
}

/* TXT records: each record's strings joined (RFC 7208 §3.3), cut at
 * POSTURE_TXT_MAX, at most POSTURE_RR_MAX of them and DNS_TXT_POOL bytes
 * in all kept (a DNS message is 64 KiB at most; so is what we keep). */
static int
take_txt(struct dns *d, const unsigned char *abuf, int alen, struct posture_answer *a)
{
	struct ares_txt_ext *txt = NULL, *t;
	struct posture_rr *rr = NULL;
	size_t used = 0;
	int st = ares_parse_txt_reply_ext(abuf, alen, &txt);

	if (st != ARES_SUCCESS)
		return st;
	for (t = txt; t; t = t->next) {
		size_t room, n;

		if (t->record_start) {
			a->total++;
			rr = a->n < POSTURE_RR_MAX && used < DNS_TXT_POOL ? &a->rr[a->n++] : NULL;
			if (rr)
				*rr = (struct posture_rr){ .text = d->pool + used };
		}
		if (!rr)
			continue;
		room = POSTURE_TXT_MAX - rr->len;
		if (room > DNS_TXT_POOL - used)
			room = DNS_TXT_POOL - used;
		n = t->length < room ? t->length : room;
		if (n < t->length)
			rr->cut = true;
		memcpy(d->pool + used, t->txt, n);
		used += n;
		rr->len += n;
	}
	ares_free_data(txt);
	return a->total ? ARES_SUCCESS : ARES_ENODATA;
}

static int
count_records(const unsigned char *abuf, int alen, enum posture_qtype type,
	      struct posture_answer *a)
{
	struct ares_addrttl v4[DNS_ADDRS_COUNTED];
	struct ares_addr6ttl v6[DNS_ADDRS_COUNTED];
	struct ares_mx_reply *mx = NULL, *m;
	int n = DNS_ADDRS_COUNTED, st;

	if (type == POSTURE_Q_MX) {
		st = ares_parse_mx_reply(abuf, alen, &mx);
		for (m = mx; st == ARES_SUCCESS && m; m = m->next)
			a->total++;
		ares_free_data(mx);
	} else if (type == POSTURE_Q_A) {
		st = ares_parse_a_reply(abuf, alen, NULL, v4, &n);
		a->total = st == ARES_SUCCESS ? (unsigned int)n : 0;
	} else {
		st = ares_parse_aaaa_reply(abuf, alen, NULL, v6, &n);
		a->total = st == ARES_SUCCESS ? (unsigned int)n : 0;
	}
	if (st == ARES_SUCCESS && a->total == 0)
		st = ARES_ENODATA;
	return st;
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_q *q = arg;
	struct dns *d = q->d;
	struct posture_answer a;

	d->pending--;
	if (status == ARES_EDESTRUCTION || d->closing) {
		free(q);
		return;
	}
	memset(&a, 0, sizeof(a));
	if (status == ARES_SUCCESS)
		status = q->type == POSTURE_Q_TXT ? take_txt(d, abuf, alen, &a) :
			 count_records(abuf, alen, q->type, &a);
	if (status == ARES_SUCCESS)
		a.status = POSTURE_ANS_OK;
	else if (status == ARES_ENODATA)
		a.status = POSTURE_ANS_NODATA;
	else if (status == ARES_ENOTFOUND)
		a.status = POSTURE_ANS_NXDOMAIN;
	else
		a.status = POSTURE_ANS_ERROR;
	if (a.status != POSTURE_ANS_OK)
		a.n = a.total = 0;
	a.error = ares_strerror(status);
	q->fn(q->arg, q->token, &a);
	free(q);
}

int
dns_query(struct dns *d, const char *name, enum posture_qtype type, dns_answer_fn *fn,
	  void *arg, uint32_t token)
{
	struct dns_q *q;

	if (d->closing)
		return -ESHUTDOWN;
	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	*q = (struct dns_q){ d, fn, arg, token, type };
	d->pending++;
	/* Class IN; the answer may come at once (a cached failure). */
	ares_query(d->ch, name, 1, (int)type, on_answer, q);
	rearm(d);
	return 0;
}

unsigned int
dns_pending(const struct dns *d)
{
	return d->pending;
}

void
dns_close(struct dns *d)
{
	if (!d)
		return;
	d->closing = true;
	evloop_timer_cancel(d->loop, &d->timer);
	ares_destroy(d->ch);	/* answers on_answer with ARES_EDESTRUCTION */
	free(d);
	ares_library_cleanup();
}
