/*
 * evloop.c - epoll and timers (evloop.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"

#define EVLOOP_BATCH	64

struct evloop_handler {
	evloop_fd_fn *fn;
	void *arg;
	uint32_t gen;		/* 0: free */
};

struct evloop {
	int ep;
	struct evloop_handler *h;	/* indexed by fd */
	size_t nh;
	uint32_t gen;
	struct evloop_timer *timers;	/* sorted, soonest first */
	uint32_t timer_pass;		/* run_timers() marks */
	void (*after)(void *arg);
	void *after_arg;
	bool stop;
};

uint64_t
evloop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
evloop_new(struct evloop **out)
{
	struct evloop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		int ret = -errno;

		free(l);
		return ret;
	}
	*out = l;
	return 0;
}

void
evloop_free(struct evloop *l)
{
	if (!l)
		return;
	close(l->ep);
	free(l->h);
	free(l);
}

static int
reserve(struct evloop *l, int fd)
{
	size_t n = l->nh ? l->nh : 64;
	struct evloop_handler *h;

	if ((size_t)fd < l->nh)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	h = realloc(l->h, n * sizeof(*h));
	if (!h)
		return -ENOMEM;
	memset(h + l->nh, 0, (n - l->nh) * sizeof(*h));
	l->h = h;
	l->nh = n;
	return 0;
}

int
evloop_add(struct evloop *l, int fd, uint32_t events, evloop_fd_fn *fn, void *arg)
{
	struct epoll_event ev = { .events = events };
	int ret;

	if (fd < 0)
		return -EBADF;
	ret = reserve(l, fd);
	if (ret < 0)
		return ret;
	if (++l->gen == 0)
		l->gen = 1;
	ev.data.u64 = (uint64_t)l->gen << 32 | (uint32_t)fd;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->h[fd] = (struct evloop_handler){ fn, arg, l->gen };
	return 0;
}

int
evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	if (fd < 0 || (size_t)fd >= l->nh || !l->h[fd].gen)
		return -EBADF;
	ev.data.u64 = (uint64_t)l->h[fd].gen << 32 | (uint32_t)fd;
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void
evloop_del(struct evloop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nh || !l->h[fd].gen)
		return;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	memset(&l->h[fd], 0, sizeof(l->h[fd]));
}

void
evloop_timer_init(struct evloop_timer *t, evloop_timer_fn *fn, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
}

void
evloop_timer_cancel(struct evloop *l, struct evloop_timer *t)
{
	struct evloop_timer **pp;

	if (!t->armed)
		return;
	for (pp = &l->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->armed = false;
	t->next = NULL;
}

void
evloop_timer_arm(struct evloop *l, struct evloop_timer *t, uint64_t when_ms)
{
	struct evloop_timer **pp;

	evloop_timer_cancel(l, t);
	t->when_ms = when_ms;
	t->pass = 0;
	for (pp = &l->timers; *pp && (*pp)->when_ms <= when_ms; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	t->armed = true;
}

void
evloop_after_batch(struct evloop *l, void (*fn)(void *arg), void *arg)
{
	l->after = fn;
	l->after_arg = arg;
}

void
evloop_stop(struct evloop *l)
{
	l->stop = true;
}

/*
 * Fire the timers due at now, one at a time from the head of the list, so
 * that a handler cancelling or moving another due timer is obeyed (a
 * private list of due timers would still fire it, or follow its new
 * links into the live list).  One pass: the timers due when it began are
 * marked; one re-armed meanwhile (arm clears the mark) waits for the next.
 */
static void
run_timers(struct evloop *l, uint64_t now)
{
	struct evloop_timer *t;
	uint32_t pass = ++l->timer_pass ? l->timer_pass : ++l->timer_pass;

	for (t = l->timers; t && t->when_ms <= now; t = t->next)
		t->pass = pass;
	while ((t = l->timers) && t->pass == pass) {
		l->timers = t->next;
		t->armed = false;
		t->next = NULL;
		t->pass = 0;
		t->fn(t->arg);
	}
}

int
evloop_run(struct evloop *l)
{
	struct epoll_event evs[EVLOOP_BATCH];

	l->stop = false;
	while (!l->stop) {
		uint64_t now = evloop_now_ms();
		int timeout = -1, n;

		if (l->timers)
			timeout = l->timers->when_ms <= now ? 0 :
				  (int)(l->timers->when_ms - now > 60000 ? 60000 :
					l->timers->when_ms - now);
		n = epoll_wait(l->ep, evs, EVLOOP_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			int fd = (int)(uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);

			if ((size_t)fd >= l->nh || l->h[fd].gen != gen)
				continue;	/* deleted during this batch */
			l->h[fd].fn(l->h[fd].arg, fd, evs[i].events);
		}
		run_timers(l, evloop_now_ms());
		if (l->after)
			l->after(l->after_arg);
	}
	return 0;
}
