/*
 * bench-policy-load.c - load for a Postfix policy server, as Postfix's
 * smtpd processes make it: C connections, each with one request at a time
 * (RCPT requests of a mix of bounces and ordinary mail, from many client
 * addresses, some over TLS), at a fixed total rate (open loop) for S
 * seconds.
 *
 *   bench-policy-load HOST PORT CONNECTIONS RATE SECONDS
 *
 * A request's latency runs from when it was due, not from when a free
 * connection sent it: a server that falls behind shows it (no coordinated
 * omission).  Prints one JSON object: the rate asked and achieved, answers,
 * errors, and p50/p99/max latency in microseconds.  Benchmark tool, not
 * product code: not installed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS	1024
#define VARIANTS	64
#define REQ_MAX		1024

struct pconn {
	int fd;
	bool busy;
	uint64_t due;		/* ns: when its request was due */
	char in[4096];
	size_t in_len;
};

static char req[VARIANTS][REQ_MAX];
static size_t req_len[VARIANTS];

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
make_requests(void)
{
	for (int i = 0; i < VARIANTS; i++) {
		bool bounce = i % 3 != 0, tls = i % 4 != 0;

		req_len[i] = (size_t)snprintf(req[i], REQ_MAX,
			"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
			"client_address=10.%d.%d.%d\nclient_name=unknown\nhelo_name=mx%d.example.net\n"
			"sender=%s\nrecipient=%s%d@victim.example\nrecipient_count=0\nqueue_id=\n"
			"instance=%x.%x.1\nsize=0\nencryption_protocol=%s\nencryption_cipher=%s\n\n",
			200 + i % 50, i * 7 % 250, i * 13 % 250 + 1, i,
			bounce ? "" : "someone@example.net", bounce ? "user" : "alice", i, i, i * 31,
			tls ? "TLSv1.3" : "", tls ? "TLS_AES_256_GCM_SHA384" : "");
	}
}

static int
open_conn(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
main(int argc, char **argv)
{
	static struct pconn c[MAX_CONNS];
	struct epoll_event ev, evs[64];
	uint64_t *lat, start, end, next, interval, sent = 0, done = 0, errors = 0, late = 0;
	size_t nlat = 0, cap;
	int n, conns, port, ep, rr = 0;
	double rate, secs;

	if (argc != 6) {
		fprintf(stderr, "usage: %s HOST PORT CONNECTIONS RATE SECONDS\n", argv[0]);
		return 2;
	}
	port = atoi(argv[2]);
	conns = atoi(argv[3]);
	rate = atof(argv[4]);
	secs = atof(argv[5]);
	if (conns < 1 || conns > MAX_CONNS || rate <= 0 || secs <= 0)
		return 2;
	make_requests();
	cap = (size_t)(rate * secs * 1.1) + 16;
	lat = malloc(cap * sizeof(*lat));
	ep = epoll_create1(0);
	if (!lat || ep < 0)
		return 1;
	for (int i = 0; i < conns; i++) {
		c[i].fd = open_conn(argv[1], port);
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
	}
	interval = (uint64_t)(1e9 / rate);
	start = now_ns();
	end = start + (uint64_t)(secs * 1e9);
	next = start;
	for (;;) {
		uint64_t now = now_ns();
		int timeout;

		/* Launch what is due on idle connections; a request waits for
		 * one when all are busy, its clock running. */
		while (next <= now && next < end) {
			int k, found = -1;

			for (k = 0; k < conns; k++) {
				int j = (rr + k) % conns;

				if (!c[j].busy) {
					found = j;
					break;
				}
			}
			if (found < 0) {
				late++;
				break;
			}
			rr = found + 1;
			c[found].busy = true;
			c[found].due = next;
			c[found].in_len = 0;
			if (write(c[found].fd, req[sent % VARIANTS], req_len[sent % VARIANTS]) < 0)
				errors++;
			sent++;
			next += interval;
		}
		if (next >= end && done == sent)
			break;
		if (now > end + 5000000000ull)
			break;	/* answers still missing 5 s after the end */
		timeout = next > now ? (int)((next - now) / 1000000) : 0;
		n = epoll_wait(ep, evs, 64, next < end ? timeout : 100);
		for (int i = 0; i < n; i++) {
			struct pconn *p = &c[evs[i].data.u32];
			ssize_t r = read(p->fd, p->in + p->in_len, sizeof(p->in) - p->in_len - 1);

			if (r <= 0) {
				errors++;
				continue;
			}
			p->in_len += (size_t)r;
			p->in[p->in_len] = '\0';
			if (!strstr(p->in, "\n\n"))
				continue;
			if (strncmp(p->in, "action=", 7) != 0)
				errors++;
			if (nlat < cap)
				lat[nlat++] = now_ns() - p->due;
			p->busy = false;
			done++;
		}
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("{\"rate\": %.0f, \"achieved\": %.1f, \"sent\": %llu, \"answered\": %llu, "
	       "\"errors\": %llu, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f}\n",
	       rate, done / secs, (unsigned long long)sent, (unsigned long long)done,
	       (unsigned long long)errors, nlat ? lat[nlat / 2] / 1e3 : 0,
	       nlat ? lat[nlat * 99 / 100] / 1e3 : 0, nlat ? lat[nlat - 1] / 1e3 : 0);
	(void)late;
	return 0;
}
