/*
 * agent_loop.c - what the agent's event loop serves (agent.h): the control
 * socket, signals, the kernel's ring buffer, the captures, a 1 s tick and
 * the metrics endpoint.  Every handler does a bounded amount of work and
 * returns; decisions are enforced at the end of the batch of events that
 * made them due.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent.h"
#include "agent_postfix.h"
#include "agent_posture.h"
#include "ctl.h"
#include "enforce.h"
#include "fleet.h"
#include "log.h"
#include "metrics.h"
#include "text.h"

#define TICK_MS			1000
#define SAMPLE_MIN		16	/* of ENGINE_SAMPLE_ONE: never below 1/64 */
#define CALM_TICKS		10	/* drop-free seconds before sampling eases */
#define RATE_COUNT_BUDGET	4096	/* bw_rate keys counted a tick */

#define CTL_CLIENTS_MAX		16
#define CTL_WRITE_MS		10000

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- control socket ---- */

static void
ctl_respond(struct conn *c, int code, const char *out, size_t len)
{
	char head[16];
	int n = snprintf(head, sizeof(head), "%d\n", code);

	if (len > CTL_RESPONSE_MAX)
		len = CTL_RESPONSE_MAX;
	if (conn_write(c, head, (size_t)n) == 0 && len)
		conn_write(c, out, len);
	conn_close_after_write(c);
}

static bool
changes_state(enum req_cmd cmd)
{
	switch (cmd) {
	case REQ_STATUS:
	case REQ_TOP:
	case REQ_BLOCK_LIST:
	case REQ_ALLOW_LIST:
	case REQ_THRESHOLD_LIST:
	case REQ_THRESHOLD_GET:
		return false;
	default:
		return true;
	}
}

/* One request a connection: answer it, then close. */
static int
ctl_input(struct conn *c, void *arg)
{
	struct agent *a = arg;
	char buf[REQ_BYTES_MAX], err[BW_ERR_MAX], *argv[REQ_ARGS_MAX], *out = NULL;
	struct request req;
	size_t len, n, outlen = 0;
	const char *in = conn_in(c, &len);
	int argc, code;
	FILE *f;

	n = ctl_request_len(in, len);
	if (!n)
		return 0;
	memcpy(buf, in, n);
	conn_consume(c, len);
	argc = request_decode(buf, n, argv);
	if (argc < 0) {
		static const char msg[] = "malformed request\n";

		log_warn("control msg=\"malformed request\"");
		ctl_respond(c, 2, msg, sizeof(msg) - 1);
		return 0;
	}
	f = open_memstream(&out, &outlen);
	if (!f)
		return -1;
	if (request_parse(argc, argv, &req, err, sizeof(err)) < 0) {
		fprintf(f, "%s\n", err);
		code = 2;
	} else {
		code = agent_handle(a, &req, f);
	}
	fclose(f);
	ctl_respond(c, code, out, outlen);
	free(out);
	/* What the operator just changed shows in the very next scrape. */
	if (code == 0 && changes_state(req.cmd))
		agent_publish_metrics(a);
	return 0;
}

static int
ctl_overflow(struct conn *c, void *arg)
{
	static const char msg[] = "request too large\n";
	size_t len;

	conn_in(c, &len);
	conn_consume(c, len);
	ctl_respond(c, 2, msg, sizeof(msg) - 1);
	return 0;
}

static const struct conn_proto ctl_proto = {
	.name = "control",
	.in_max = REQ_BYTES_MAX,
	.out_max = CTL_RESPONSE_MAX + 16,
	.request_ms = CTL_IO_TIMEOUT_MS,
	.idle_ms = 0,
	.write_ms = CTL_WRITE_MS,
	.max_clients = CTL_CLIENTS_MAX,
	.input = ctl_input,
	.overflow = ctl_overflow,
};

/* ---- metrics ---- */

static void
fill_thresholds(const struct bw_settings *s, struct metrics_snapshot *m)
{
	const struct { const char *name; double v; } t[] = {
		{ "syn_rate", s->syn_rate },
		{ "syn_burst", s->syn_burst },
		{ "throttle_rate", s->throttle_rate },
		{ "null_rate", s->null_rate },
		{ "score_throttle", s->score_throttle },
		{ "score_block", s->score_block },
		{ "block_ttl", (double)s->block_ttl },
		{ "block_ttl_max", (double)s->block_ttl_max },
		{ "storm_factor", s->storm_factor },
		{ "prefix_v4", s->prefix_v4 },
		{ "prefix_v6", s->prefix_v6 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) && i < METRICS_THRESHOLDS_MAX; i++) {
		m->thresholds[i].name = t[i].name;
		m->thresholds[i].value = t[i].v;
		m->n_thresholds = (unsigned int)i + 1;
	}
}

static void
fill_sampler(struct agent *a, struct metrics_snapshot *m)
{
	const struct smtp_stats *ss = &a->engine.smtp.stats;
	struct score_stats st;

	score_get_stats(a->engine.score, a->engine.now, &st);
	m->sampler = true;
	m->tracked_sources = st.tracked;
	m->smtp_sessions = ss->sessions;
	m->smtp_opaque_sessions = ss->opaque_sessions;
	m->smtp_txn_null = ss->null_sender + ss->bounce_sender;
	m->smtp_txn_other = ss->transactions - m->smtp_txn_null;
	m->smtp_callouts = st.callouts;
	m->smtp_rcpt_rejected = ss->rcpt_rejected;
	m->smtp_malformed_lines = ss->malformed_lines;
	m->capture_frames = a->engine.frames;
	m->capture_dropped = a->capture_drops;
	m->sample_keep = a->engine.sample_keep;
	m->storm_active = st.storm_active;
	m->null_rate_per_min = st.null_rate_short;
	m->null_baseline_per_min = st.null_baseline;
}

static void
fill_servers(struct agent *a, struct metrics_snapshot *m)
{
	const struct conn_stats *cs[] = {
		a->ctl ? conn_server_stats(a->ctl) : NULL,
		a->metrics ? http_metrics_stats(a->metrics) : NULL,
		postfix_policy_stats(a),
		postfix_socketmap_stats(a),
	};
	static const char *const names[] = { "control", "metrics", "policy", "socketmap" };

	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]) && m->n_servers < METRICS_SERVERS_MAX; i++) {
		if (!cs[i])
			continue;
		m->servers[m->n_servers].name = names[i];
		m->servers[m->n_servers].st = *cs[i];
		m->n_servers++;
	}
}

static void
fill_metrics(struct agent *a, struct metrics_snapshot *m)
{
	fill_thresholds(&a->settings, m);
	m->version = BW_VERSION;
	kern_read_stats(&a->kern, m->kern);
	m->throttled_prefixes = rules_count_action(&a->rules.block, BW_ACT_THROTTLE);
	m->blocked_prefixes = a->rules.block.n - m->throttled_prefixes;
	m->allowed_prefixes = a->rules.allow.n;
	m->kernel_tracked = a->kern.rate_tracked;
	m->decisions_suppressed = a->decisions_suppressed;
	if (a->engine_up)
		fill_sampler(a, m);
	m->decisions_throttle = a->decisions[AGENT_DEC_THROTTLE];
	m->decisions_block = a->decisions[AGENT_DEC_BLOCK];
	m->decisions_unblock = a->decisions[AGENT_DEC_UNBLOCK];
	m->kernel_events = a->kernel_events;
	m->start_time = a->started;
	m->monitor_mode = a->settings.mode == BW_MODE_MONITOR;
	m->state_save_failures = a->save_failures;
	fill_servers(a, m);
}

void
agent_publish_metrics(struct agent *a)
{
	struct metrics_snapshot *m;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!a->metrics)
		return;
	m = calloc(1, sizeof(*m));
	if (!m)
		return;
	fill_metrics(a, m);
	f = open_memstream(&text, &len);
	if (f) {
		metrics_render(f, m);
		postfix_metrics(f, a);
		agent_posture_metrics(a, f);
		if (a->fleet)
			fleet_render_metrics(f, a->fleet);
		if (fclose(f) == 0)
			http_metrics_publish(a->metrics, text, len);
	}
	free(text);
	free(m);
}

/* ---- the tick ---- */

/*
 * Whole-flow sampling follows libpcap's drop counter: any loss in the last
 * second halves the share of new flows parsed; ten calm seconds double it
 * back.  Flows already followed are never cut (engine.c).
 */
static void
adapt_sampling(struct agent *a)
{
	uint64_t drops = 0;
	uint32_t keep = a->engine.sample_keep;

	for (unsigned int i = 0; i < a->n_captures; i++)
		drops += capture_drops(&a->captures[i]);
	if (drops > a->capture_drops) {
		a->calm_ticks = 0;
		if (keep > SAMPLE_MIN)
			keep /= 2;
	} else if (++a->calm_ticks >= CALM_TICKS && keep < ENGINE_SAMPLE_ONE) {
		a->calm_ticks = 0;
		keep *= 2;
	}
	a->capture_drops = drops;
	if (keep != a->engine.sample_keep) {
		log_warn("sampling flows=%u/%u capture_drops=%" PRIu64, keep, ENGINE_SAMPLE_ONE,
			 drops);
		a->engine.sample_keep = keep;
	}
}

static void
tick(void *arg)
{
	struct agent *a = arg;

	evloop_timer_arm(a->loop, &a->tick, evloop_now_ms() + TICK_MS);
	enforce_expire(a, kern_now_real());
	if (a->engine_up) {
		adapt_sampling(a);
		enforce_decisions(a, realtime_ns());
	}
	enforce_save(a);
	postfix_save_ledger(a, false);
	kern_rate_count_step(&a->kern, RATE_COUNT_BUDGET);
	agent_posture_tick(a);
	agent_publish_metrics(a);
}

/* A source went past a threshold in what was just read: enforce now, not
 * at the next tick (which stays the backstop). */
static void
after_batch(void *arg)
{
	struct agent *a = arg;

	if (a->engine_up && a->engine.decide_due)
		enforce_decisions(a, realtime_ns());
}

/* ---- signals, ring buffer, captures ---- */

static void
on_signal(void *arg, int fd, uint32_t events)
{
	struct agent *a = arg;
	struct signalfd_siginfo si;
	char err[BW_ERR_MAX];

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		if (agent_reload(a, err, sizeof(err)) == 0)
			agent_publish_metrics(a);
		return;
	}
	evloop_stop(a->loop);
}

static int
on_ring_record(void *ctx, void *data, size_t len)
{
	struct agent *a = ctx;
	const struct bw_event *ev = data;
	struct bw_cidr c;
	char cidr[ADDR_CIDR_STRLEN];

	if (len < sizeof(*ev))
		return 0;
	a->kernel_events++;
	if (a->engine_up)
		engine_syn_event(&a->engine, ev->addr, ev->syns, ev->dropped, realtime_ns());
	memcpy(c.addr, ev->addr, 16);
	c.plen = ev->plen > 128 ? 128 : ev->plen;
	log_info("heavy-hitter source=%s type=%s syns=%" PRIu64 " over_limit=%" PRIu64,
		 addr_format_cidr(&c, cidr, sizeof(cidr)),
		 ev->type == BW_EV_THROTTLE_OVER ? "throttle" : "syn_rate", (uint64_t)ev->syns,
		 (uint64_t)ev->dropped);
	return 0;
}

static void
on_ring(void *arg, int fd, uint32_t events)
{
	struct agent *a = arg;

	ring_buffer__consume(a->rb);
}

static void
on_capture(void *arg, int fd, uint32_t events)
{
	struct capture *c = arg;
	struct agent *a = c->owner;

	capture_dispatch(c, &a->engine);
}

static int
captures_open(struct agent *a)
{
	char err[CAPTURE_ERR_MAX];
	int ret;

	for (unsigned int i = 0; i < a->settings.n_interfaces; i++) {
		struct capture *c = &a->captures[i];

		ret = capture_open(c, a->settings.interfaces[i], a->settings.smtp_ports,
				   a->settings.n_ports, err, sizeof(err));
		if (ret < 0) {
			log_err("capture iface=%s err=\"%s\"", a->settings.interfaces[i], err);
			return ret;
		}
		c->owner = a;
		a->n_captures++;
		ret = evloop_add(a->loop, c->fd, EPOLLIN, on_capture, c);
		if (ret < 0)
			return ret;
		log_info("capture iface=%s snaplen=%d", c->ifname, CAPTURE_SNAPLEN);
	}
	return 0;
}

static int
signals_open(struct agent *a)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	a->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (a->sfd < 0)
		return -errno;
	return evloop_add(a->loop, a->sfd, EPOLLIN, on_signal, a);
}

int
agent_loop_start(struct agent *a)
{
	int ret;

	ret = evloop_new(&a->loop);
	if (ret < 0)
		return ret;
	ret = conn_serve(&a->ctl, a->loop, a->ctl_fd, &ctl_proto, a);
	if (ret == 0)
		ret = signals_open(a);
	if (ret == 0) {
		a->rb = ring_buffer__new(a->kern.events_fd, on_ring_record, a, NULL);
		ret = a->rb ? evloop_add(a->loop, ring_buffer__epoll_fd(a->rb), EPOLLIN, on_ring, a)
			    : -errno;
	}
	if (ret < 0) {
		log_err("event loop setup err=\"%s\"", strerror(-ret));
		return ret;
	}
	ret = captures_open(a);
	if (ret == 0)
		ret = postfix_start(a);
	if (ret < 0)
		return ret;
	if (strcmp(a->settings.metrics_listen, "off") != 0) {
		ret = http_metrics_start(&a->metrics, a->loop, a->settings.metrics_listen);
		if (ret < 0) {
			log_err("metrics listen=%s err=\"%s\"", a->settings.metrics_listen,
				strerror(-ret));
			return ret;
		}
		log_info("metrics listen=%s", a->settings.metrics_listen);
	}
	ret = agent_posture_start(a);
	if (ret < 0)
		return ret;
	ret = fleet_start(a);
	if (ret < 0)
		return ret;
	evloop_after_batch(a->loop, after_batch, a);
	evloop_timer_init(&a->tick, tick, a);
	evloop_timer_arm(a->loop, &a->tick, evloop_now_ms() + TICK_MS);
	agent_publish_metrics(a);
	return 0;
}

void
agent_loop_stop(struct agent *a)
{
	postfix_save_ledger(a, true);
	postfix_stop(a);
	agent_posture_stop(a);
	fleet_stop(a);
	http_metrics_stop(a->metrics);
	a->metrics = NULL;
	for (unsigned int i = 0; i < a->n_captures; i++)
		capture_close(&a->captures[i]);
	a->n_captures = 0;
	ring_buffer__free(a->rb);
	a->rb = NULL;
	if (a->sfd >= 0)
		close(a->sfd);
	a->sfd = -1;
	if (a->ctl)
		conn_server_free(a->ctl);
	else if (a->ctl_fd >= 0)
		close(a->ctl_fd);
	a->ctl = NULL;
	a->ctl_fd = -1;
	evloop_free(a->loop);
	a->loop = NULL;
}
