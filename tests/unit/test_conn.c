/*
 * test_conn.c - the agent's servers' clients (io/conn.c) on a real event
 * loop (io/evloop.c) over a unix socket: the client side is driven by
 * timers of the same loop, so every scenario runs in one thread, in a few
 * hundred milliseconds of real time.
 *
 * What must hold whatever a client does: a trickle of bytes never moves
 * the whole-request deadline; a full server evicts the client that has
 * waited longest, so a fresh request is served; a response larger than the
 * socket buffer is delivered whole, also to a client that shut its sending
 * side after the request (as the CLI does); a client that does not take
 * its response is closed at the write deadline; a request over in_max is
 * refused; a keep-alive client is answered request by request and closed
 * when idle.  And the loop's own promises: timers in deadline order, a
 * timer cancelled or moved by another's handler does not fire in that
 * pass, a deleted descriptor gets no stale event.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn.h"
#include "evloop.h"

#define BIG_LEN		(8u << 20)	/* far over a unix socket's buffer */
#define CLIENTS_MAX	4

/* ---- the server: lines in, "ok\n" (or BIG_LEN bytes for "big") out ---- */

static char *big;

static int
line_input(struct conn *c, void *arg)
{
	const struct conn_proto *p = arg;
	size_t len;
	const char *in = conn_in(c, &len);
	const char *nl = memchr(in, '\n', len);

	if (!nl)
		return 0;
	if ((size_t)(nl - in) == 3 && memcmp(in, "big", 3) == 0)
		assert_int_equal(conn_write(c, big, BIG_LEN), 0);
	else
		assert_int_equal(conn_write(c, "ok\n", 3), 0);
	conn_consume(c, (size_t)(nl - in) + 1);
	if (!p->idle_ms)
		conn_close_after_write(c);
	return 0;
}

static struct conn_proto
proto(uint32_t request_ms, uint32_t idle_ms, uint32_t write_ms, unsigned int max)
{
	struct conn_proto p = {
		.name = "test",
		.in_max = 64,
		.out_max = BIG_LEN + 64,
		.request_ms = request_ms,
		.idle_ms = idle_ms,
		.write_ms = write_ms,
		.max_clients = max,
		.input = line_input,
	};

	return p;
}

/* ---- the clients, on the same loop ---- */

struct client {
	int fd;
	bool reading;		/* takes what the server sends */
	bool eof;
	uint64_t first_ms;	/* first byte sent */
	uint64_t closed_ms;	/* EOF seen */
	size_t got_len;
	char *got;		/* BIG_LEN + 64 */
	unsigned int sent;
};

struct fx {
	char dir[64], path[128];
	struct evloop *l;
	struct conn_server *srv;
	struct conn_proto p;
	struct client cl[CLIENTS_MAX];
	struct evloop_timer stop, step;
	struct client *stop_at_eof;	/* ends the run early */
	unsigned int steps;
	uint64_t t0;
};

static struct fx *F;

static void
stop_loop(void *arg)
{
	evloop_stop(arg);
}

static void
client_event(void *arg, int fd, uint32_t events)
{
	struct client *k = arg;
	ssize_t n;

	for (;;) {
		size_t room = BIG_LEN + 64 - k->got_len;

		n = recv(fd, k->got + k->got_len, room ? room : 1, MSG_DONTWAIT);
		if (n > 0) {
			k->got_len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			k->eof = true;
			k->closed_ms = evloop_now_ms();
			evloop_del(F->l, fd);
			if (F->stop_at_eof == k)
				evloop_stop(F->l);
		}
		return;
	}
}

static struct client *
client_open(struct fx *f, unsigned int i, bool reading)
{
	struct client *k = &f->cl[i];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(sa.sun_path, f->path);
	k->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(k->fd >= 0);
	assert_int_equal(connect(k->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(fcntl(k->fd, F_SETFL, O_NONBLOCK), 0);
	k->reading = reading;
	k->got = malloc(BIG_LEN + 64);
	assert_non_null(k->got);
	/* One that does not read is not on the loop (its EPOLLIN would
	 * spin). */
	if (reading)
		assert_int_equal(evloop_add(f->l, k->fd, EPOLLIN, client_event, k), 0);
	return k;
}

static void
client_send(struct client *k, const char *s)
{
	size_t len = strlen(s);
	ssize_t n = send(k->fd, s, len, MSG_NOSIGNAL);

	if (n < 0 && errno == EPIPE && !k->eof) {
		/* Closed by the server in the same pass of timers. */
		k->eof = true;
		k->closed_ms = evloop_now_ms();
		return;
	}
	assert_int_equal(n, (ssize_t)len);
	if (!k->first_ms)
		k->first_ms = evloop_now_ms();
	k->sent += (unsigned int)len;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/bw-test-conn.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	assert_int_equal(evloop_new(&f->l), 0);
	for (unsigned int i = 0; i < CLIENTS_MAX; i++)
		f->cl[i].fd = -1;
	if (!big) {
		big = malloc(BIG_LEN);
		assert_non_null(big);
		for (size_t i = 0; i < BIG_LEN; i++)
			big[i] = (char)('a' + i % 26);
	}
	F = f;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	conn_server_free(f->srv);
	for (unsigned int i = 0; i < CLIENTS_MAX; i++) {
		if (f->cl[i].fd >= 0) {
			evloop_del(f->l, f->cl[i].fd);
			close(f->cl[i].fd);
		}
		free(f->cl[i].got);
	}
	evloop_free(f->l);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Serve p, run step() now (it re-arms itself), stop after run_ms. */
static void
run(struct fx *f, struct conn_proto p, evloop_timer_fn *step, uint32_t run_ms)
{
	int fd;

	f->p = p;
	fd = conn_listen_unix(f->path, 0600);
	assert_true(fd >= 0);
	assert_int_equal(conn_serve(&f->srv, f->l, fd, &f->p, &f->p), 0);
	f->t0 = evloop_now_ms();
	evloop_timer_init(&f->stop, stop_loop, f->l);
	evloop_timer_arm(f->l, &f->stop, f->t0 + run_ms);
	if (step) {
		evloop_timer_init(&f->step, step, f);
		evloop_timer_arm(f->l, &f->step, f->t0);
	}
	assert_int_equal(evloop_run(f->l), 0);
}

static void
again(struct fx *f, uint32_t ms)
{
	evloop_timer_arm(f->l, &f->step, evloop_now_ms() + ms);
}

/* ---- a trickle never moves the request deadline ---- */

static void
trickle_step(void *arg)
{
	struct fx *f = arg;
	struct client *k = &f->cl[0];

	if (f->steps++ == 0)
		f->stop_at_eof = client_open(f, 0, true);
	else if (!k->eof)
		client_send(k, "x");	/* never a whole line */
	if (!k->eof)
		again(f, 40);
}

static void
trickler_closed_at_deadline(void **state)
{
	struct fx *f = *state;
	struct client *k = &f->cl[0];
	const struct conn_stats *st;

	run(f, proto(300, 0, 1000, 4), trickle_step, 2000);
	st = conn_server_stats(f->srv);
	assert_true(k->eof);
	/* 300 ms from the first byte, give or take a sweep (100 ms) and the
	 * step; a deadline that each byte moved would never come. */
	assert_in_range(k->closed_ms - k->first_ms, 280, 1200);
	assert_true(k->sent >= 3);
	assert_int_equal(st->timeouts, 1);
	assert_int_equal(st->active, 0);
	assert_int_equal(st->requests, 0);
}

/* ---- a full server evicts the client that waited longest ---- */

static void
evict_step(void *arg)
{
	struct fx *f = arg;

	switch (f->steps++) {
	case 0:
		client_open(f, 0, true);	/* silent, oldest */
		break;
	case 1:
		client_open(f, 1, true);	/* silent */
		break;
	case 2:
		client_send(client_open(f, 2, true), "ping\n");
		return;
	}
	again(f, 30);
}

static void
full_server_evicts_oldest(void **state)
{
	struct fx *f = *state;
	const struct conn_stats *st;

	run(f, proto(5000, 0, 1000, 2), evict_step, 400);
	st = conn_server_stats(f->srv);
	assert_true(f->cl[0].eof);		/* evicted */
	assert_int_equal(f->cl[0].got_len, 0);
	assert_false(f->cl[1].eof);		/* still waiting */
	assert_true(f->cl[2].eof);		/* answered, then closed */
	assert_int_equal(f->cl[2].got_len, 3);
	assert_memory_equal(f->cl[2].got, "ok\n", 3);
	assert_int_equal(st->evicted, 1);
	assert_int_equal(st->accepted, 3);
	assert_int_equal(st->requests, 1);
	assert_int_equal(st->active, 1);
}

/* ---- large responses ---- */

static void
big_step(void *arg)
{
	struct fx *f = arg;

	f->stop_at_eof = client_open(f, 0, true);
	client_send(f->stop_at_eof, "big\n");
}

static void
big_halfclose_step(void *arg)
{
	struct fx *f = arg;
	struct client *k = client_open(f, 0, true);

	f->stop_at_eof = k;
	client_send(k, "big\n");
	/* What the CLI does after its request (io/ctl.c ctl_call). */
	assert_int_equal(shutdown(k->fd, SHUT_WR), 0);
}

static void
check_big(struct fx *f)
{
	struct client *k = &f->cl[0];

	assert_true(k->eof);
	assert_int_equal(k->got_len, BIG_LEN);
	assert_memory_equal(k->got, big, BIG_LEN);
	assert_int_equal(conn_server_stats(f->srv)->active, 0);
}

static void
response_larger_than_socket_buffer(void **state)
{
	struct fx *f = *state;

	run(f, proto(1000, 0, 5000, 4), big_step, 3000);
	check_big(f);
}

static void
response_after_client_shut_its_side(void **state)
{
	struct fx *f = *state;

	run(f, proto(1000, 0, 5000, 4), big_halfclose_step, 3000);
	check_big(f);
}

/* A client that asks and never reads: closed at the write deadline. */
static void
unread_step(void *arg)
{
	struct fx *f = arg;

	client_send(client_open(f, 0, false), "big\n");
}

static void
unread_response_times_out(void **state)
{
	struct fx *f = *state;
	const struct conn_stats *st;

	run(f, proto(1000, 0, 300, 4), unread_step, 700);
	st = conn_server_stats(f->srv);
	assert_int_equal(st->timeouts, 1);
	assert_int_equal(st->active, 0);
}

/* ---- requests over in_max ---- */

static void
oversized_step(void *arg)
{
	struct fx *f = arg;
	char line[200];

	memset(line, 'y', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	client_send(client_open(f, 0, true), line);
}

static void
oversized_request_closed(void **state)
{
	struct fx *f = *state;
	const struct conn_stats *st;

	run(f, proto(1000, 0, 1000, 4), oversized_step, 300);
	st = conn_server_stats(f->srv);
	assert_true(f->cl[0].eof);
	assert_int_equal(f->cl[0].got_len, 0);
	assert_int_equal(st->oversized, 1);
	assert_int_equal(st->active, 0);
}

/* ---- keep-alive: pipelined requests, then the idle deadline ---- */

static void
keepalive_step(void *arg)
{
	struct fx *f = arg;

	f->stop_at_eof = client_open(f, 0, true);
	client_send(f->stop_at_eof, "a\nb\nc");
	f->steps++;
}

static void
keepalive_answers_then_idles_out(void **state)
{
	struct fx *f = *state;
	const struct conn_stats *st;
	struct client *k = &f->cl[0];

	/* "c" never ends: its request deadline (200 ms) closes the client. */
	run(f, proto(200, 150, 1000, 4), keepalive_step, 1000);
	st = conn_server_stats(f->srv);
	assert_int_equal(k->got_len, 6);
	assert_memory_equal(k->got, "ok\nok\n", 6);
	assert_true(k->eof);
	assert_int_equal(st->requests, 2);
	assert_int_equal(st->timeouts, 1);
}

/* ---- the event loop itself ---- */

struct tfx {
	struct evloop *l;
	struct evloop_timer t[4];
	char order[8];
	unsigned int n;
};

static void
record(struct tfx *x, char c)
{
	if (x->n < sizeof(x->order) - 1)
		x->order[x->n++] = c;
}

static void fire_a(void *arg) { record(arg, 'a'); }
static void fire_b(void *arg) { record(arg, 'b'); }
static void fire_c(void *arg) { record(arg, 'c'); }

static void
timers_fire_in_deadline_order(void **state)
{
	struct tfx x = { 0 };
	uint64_t now = evloop_now_ms();

	assert_int_equal(evloop_new(&x.l), 0);
	evloop_timer_init(&x.t[0], fire_a, &x);
	evloop_timer_init(&x.t[1], fire_b, &x);
	evloop_timer_init(&x.t[2], fire_c, &x);
	evloop_timer_init(&x.t[3], stop_loop, x.l);
	evloop_timer_arm(x.l, &x.t[2], now + 30);
	evloop_timer_arm(x.l, &x.t[0], now + 10);
	evloop_timer_arm(x.l, &x.t[1], now + 20);
	evloop_timer_arm(x.l, &x.t[3], now + 60);
	assert_int_equal(evloop_run(x.l), 0);
	assert_string_equal(x.order, "abc");
	evloop_free(x.l);
}

/* a's handler cancels b, or moves b 200 ms on: b and a were due together,
 * b must not fire in that pass; c, later, must not fire early. */
static void
cancel_b(void *arg)
{
	struct tfx *x = arg;

	record(x, 'a');
	evloop_timer_cancel(x->l, &x->t[1]);
}

static void
move_b(void *arg)
{
	struct tfx *x = arg;

	record(x, 'a');
	evloop_timer_arm(x->l, &x->t[1], evloop_now_ms() + 200);
}

static void
stop_c(void *arg)
{
	struct tfx *x = arg;

	record(x, 'c');
	evloop_stop(x->l);
}

static void
handler_changes_due_timer(evloop_timer_fn *a_fn, const char *want)
{
	struct tfx x = { 0 };
	uint64_t now = evloop_now_ms();

	assert_int_equal(evloop_new(&x.l), 0);
	evloop_timer_init(&x.t[0], a_fn, &x);
	evloop_timer_init(&x.t[1], fire_b, &x);
	evloop_timer_init(&x.t[2], stop_c, &x);
	/* a before b in the list: same deadline, a armed first. */
	evloop_timer_arm(x.l, &x.t[0], now + 10);
	evloop_timer_arm(x.l, &x.t[1], now + 10);
	evloop_timer_arm(x.l, &x.t[2], now + 100);
	assert_int_equal(evloop_run(x.l), 0);
	assert_string_equal(x.order, want);
	/* c stopped the loop at its own time, not at a's. */
	assert_true(evloop_now_ms() >= now + 100);
	evloop_free(x.l);
}

static void
timer_cancelled_by_handler_does_not_fire(void **state)
{
	handler_changes_due_timer(cancel_b, "ac");
}

static void
timer_moved_by_handler_fires_later(void **state)
{
	handler_changes_due_timer(move_b, "ac");
}

/* Two readable descriptors in one batch: whichever handler runs first
 * deletes and closes the other and registers a new descriptor that takes
 * its number.  The stale event of the old one must reach nobody. */
struct dfx {
	struct evloop *l;
	int a[2], b[2], c[2];
	unsigned int old_calls, new_calls;
};

static void
on_new(void *arg, int fd, uint32_t events)
{
	((struct dfx *)arg)->new_calls++;
}

static void
on_old(void *arg, int fd, uint32_t events)
{
	struct dfx *d = arg;
	int *other = fd == d->a[0] ? d->b : d->a;

	d->old_calls++;
	evloop_del(d->l, other[0]);
	close(other[0]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, d->c), 0);
	assert_int_equal(d->c[0], other[0]);	/* the number is reused */
	other[0] = -1;
	/* Readable at once, like the stale event it must not receive. */
	assert_int_equal(write(d->c[1], "z", 1), 1);
	assert_int_equal(evloop_add(d->l, d->c[0], EPOLLIN, on_new, d), 0);
}

static void
after_first_batch(void *arg)
{
	evloop_stop(arg);
}

static void
deleted_fd_gets_no_stale_event(void **state)
{
	struct dfx d = { 0 };

	assert_int_equal(evloop_new(&d.l), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, d.a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, d.b), 0);
	assert_int_equal(write(d.a[1], "x", 1), 1);
	assert_int_equal(write(d.b[1], "x", 1), 1);
	assert_int_equal(evloop_add(d.l, d.a[0], EPOLLIN, on_old, &d), 0);
	assert_int_equal(evloop_add(d.l, d.b[0], EPOLLIN, on_old, &d), 0);
	evloop_after_batch(d.l, after_first_batch, d.l);
	assert_int_equal(evloop_run(d.l), 0);
	assert_int_equal(d.old_calls, 1);
	assert_int_equal(d.new_calls, 0);
	for (int *p = d.a; p < d.a + 2; p++)
		if (*p >= 0)
			close(*p);
	for (int *p = d.b; p < d.b + 2; p++)
		if (*p >= 0)
			close(*p);
	close(d.c[0]);
	close(d.c[1]);
	evloop_free(d.l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(trickler_closed_at_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(full_server_evicts_oldest, setup, teardown),
		cmocka_unit_test_setup_teardown(response_larger_than_socket_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(response_after_client_shut_its_side, setup, teardown),
		cmocka_unit_test_setup_teardown(unread_response_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(oversized_request_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(keepalive_answers_then_idles_out, setup, teardown),
		cmocka_unit_test(timers_fire_in_deadline_order),
		cmocka_unit_test(timer_cancelled_by_handler_does_not_fire),
		cmocka_unit_test(timer_moved_by_handler_fires_later),
		cmocka_unit_test(deleted_fd_gets_no_stale_event),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	free(big);
	return ret;
}
