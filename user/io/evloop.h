/*
 * evloop.h - the agent's one event loop (OpenSMTPD ioev, Postfix events):
 * every descriptor the agent owns is non-blocking and registered here, and
 * nothing reads or writes "until done" inside a handler.
 *
 * Descriptors: epoll, level-triggered.  A handler registered for an fd is
 * called with the epoll events that fired; an fd deleted (or closed and
 * reused) while a batch is being dispatched never gets a stale event (each
 * registration carries a generation number).
 *
 * Timers: one-shot, in milliseconds of CLOCK_MONOTONIC, kept in a short
 * list sorted by deadline (the agent has a handful: the tick, connection
 * sweeps, the fleet client, DNS).  A timer is re-armed by its handler.
 *
 * Functions return 0 or -errno.
 */
#ifndef BW_EVLOOP_H
#define BW_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;

typedef void evloop_fd_fn(void *arg, int fd, uint32_t events);
typedef void evloop_timer_fn(void *arg);

struct evloop_timer {
	uint64_t when_ms;
	evloop_timer_fn *fn;
	void *arg;
	bool armed;
	uint32_t pass;			/* due in this pass of the loop */
	struct evloop_timer *next;	/* the loop's sorted list */
};

int evloop_new(struct evloop **out);
void evloop_free(struct evloop *l);

/* events: EPOLLIN, EPOLLOUT, or both. */
int evloop_add(struct evloop *l, int fd, uint32_t events, evloop_fd_fn *fn, void *arg);
int evloop_mod(struct evloop *l, int fd, uint32_t events);
/* Forget fd (before closing it). */
void evloop_del(struct evloop *l, int fd);

void evloop_timer_init(struct evloop_timer *t, evloop_timer_fn *fn, void *arg);
/* Arm (or move) t to fire at when_ms (evloop_now_ms() clock). */
void evloop_timer_arm(struct evloop *l, struct evloop_timer *t, uint64_t when_ms);
void evloop_timer_cancel(struct evloop *l, struct evloop_timer *t);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t evloop_now_ms(void);

/* Called after every batch of events and timers (the agent enforces
 * decisions there, as soon as the input that crossed is read). */
void evloop_after_batch(struct evloop *l, void (*fn)(void *arg), void *arg);

/* Dispatch until evloop_stop().  0, or -errno when epoll fails. */
int evloop_run(struct evloop *l);
void evloop_stop(struct evloop *l);

#endif
