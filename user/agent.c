/*
 * agent.c - `bouncewall run`: configure, load, adopt or attach, then loop
 * on signals, the control socket, the kernel's ring buffer and a 1 s tick
 * until SIGINT/SIGTERM; one cleanup path.
 */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <cap-ng.h>

#include "addr.h"
#include "agent.h"
#include "ctl.h"
#include "log.h"
#include "metrics.h"

#define EXPIRED_BATCH	256
#define DECISION_BATCH	64
#define SAMPLE_MIN	16	/* of ENGINE_SAMPLE_ONE: never below 1/64 */
#define CALM_TICKS	10	/* drop-free seconds before sampling eases */

enum { EV_SIGNAL = 1, EV_CTL, EV_RING, EV_TICK, EV_CAPTURE = 64 };

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char run_usage[] =
	"usage: bouncewall run [-c FILE] [-i IFACE]... [--mode enforce|monitor]\n"
	"                      [--xdp auto|native|generic] [--metrics HOST:PORT|off]\n"
	"                      [--socket PATH] [--state-dir DIR] [--log-level LEVEL]\n";

void
agent_save_rules(struct agent *a)
{
	char err[BW_ERR_MAX];

	if (!a->rules_dirty)
		return;
	if (rules_save(&a->rules, a->settings.state_dir, err, sizeof(err)) < 0) {
		log_err("state save failed err=\"%s\"", err);
		return;		/* stays dirty: retried on the next tick */
	}
	a->rules_dirty = false;
}

size_t
agent_expire_rules(struct agent *a, uint64_t now)
{
	struct rule_entry gone[EXPIRED_BATCH];
	char cidr[ADDR_CIDR_STRLEN];
	size_t n, total = 0;

	for (int pass = 0; pass < 2; pass++) {
		bool allow = pass == 1;

		n = rules_expire(allow ? &a->rules.allow : &a->rules.block, now, gone,
				 EXPIRED_BATCH);
		total += n;
		for (size_t i = 0; i < n && i < EXPIRED_BATCH; i++) {
			kern_del_rule(&a->kern, allow, &gone[i].cidr);
			if (!allow)
				a->decisions[AGENT_DEC_UNBLOCK]++;
			log_info("unblock cidr=%s reason=expired action=%s",
				 addr_format_cidr(&gone[i].cidr, cidr, sizeof(cidr)),
				 gone[i].action == BW_ACT_THROTTLE ? "throttle" : "block");
		}
	}
	/* Entries past the batch were dropped from the mirror; their kernel
	 * twins are already inert (expired) and sync removes them. */
	if (total > EXPIRED_BATCH)
		kern_sync_rules(&a->kern, &a->rules, now);
	if (total) {
		kern_write_config(&a->kern, &a->settings, &a->rules);
		a->rules_dirty = true;
	}
	return total;
}

int
agent_reload(struct agent *a, char *err, size_t errlen)
{
	struct bw_settings next;
	size_t n;
	const struct setting_desc *t = settings_table(&n);
	char oldv[PATH_MAX], newv[PATH_MAX], e2[BW_ERR_MAX];
	int ret;

	settings_defaults(&next);
	ret = settings_load_file(&next, a->config_path, err, errlen);
	if (ret == -ENOENT && !a->config_required) {
		settings_defaults(&next);
		ret = 0;
	}
	if (ret < 0) {
		log_err("reload refused err=\"%s\"", err);
		return ret;
	}
	/* Keys that cannot change live keep their running value. */
	for (size_t i = 0; i < n; i++) {
		if (t[i].live)
			continue;
		settings_get(&a->settings, t[i].name, oldv, sizeof(oldv));
		settings_get(&next, t[i].name, newv, sizeof(newv));
		if (strcmp(oldv, newv) != 0) {
			log_warn("reload key=%s old=%s new=%s msg=\"needs a restart; kept\"",
				 t[i].name, oldv, newv);
			settings_set(&next, t[i].name, oldv, e2, sizeof(e2));
		}
	}
	ret = settings_validate(&next, err, errlen);
	if (ret < 0)
		return ret;
	a->settings = next;
	kern_write_config(&a->kern, &a->settings, &a->rules);
	if (a->engine_up)
		engine_settings_changed(&a->engine);
	log_info("reloaded config=%s", a->config_path);
	return 0;
}

/*
 * After each scorer input: did it put its source past a threshold the
 * kernel does not enforce yet, or start a storm (which tightens every
 * threshold)?  Then remember when (the first such input only) and have the
 * event loop decide at once.  A lookup per transaction or kernel event, not
 * per packet; a decision pass only when something crossed.
 */
static void
note_crossing(struct agent *a, const uint8_t addr[16], uint64_t ts)
{
	struct score_stats st;
	struct score_view v;

	score_get_stats(a->engine.score, ts, &st);
	if (!st.storm_active && st.null_rate_short > st.storm_on_at) {
		a->decide_pending = true;
		if (!a->storm_onset_ts)
			a->storm_onset_ts = ts;
	}
	if (score_lookup(a->engine.score, addr, ts, &v) < 0 || v.verdict <= v.in_force)
		return;
	a->decide_pending = true;
	for (unsigned int i = 0; i < a->n_crossings; i++)
		if (addr_cidr_equal(&a->crossings[i].prefix, &v.prefix))
			return;
	if (a->n_crossings < AGENT_CROSSINGS_MAX)
		a->crossings[a->n_crossings++] = (struct agent_crossing){ v.prefix, ts };
}

static void
observe_txn(void *arg, struct smtp_txn *t)
{
	if (!t->outbound)
		note_crossing(arg, t->peer.client, t->ts_end ? t->ts_end : t->ts_start);
}

static void
observe_opaque(void *arg, const struct smtp_session *ss)
{
	note_crossing(arg, ss->peer.client, ss->ts_last);
}

static const struct smtp_hooks crossing_hooks = {
	.txn = observe_txn,
	.session_opaque = observe_opaque,
};

static int
handle_ring_event(void *ctx, void *data, size_t len)
{
	struct agent *a = ctx;
	const struct bw_event *ev = data;
	struct bw_cidr c;
	char cidr[ADDR_CIDR_STRLEN];
	uint64_t now = realtime_ns();

	if (len < sizeof(*ev))
		return 0;
	a->kernel_events++;
	if (a->engine_up) {
		engine_syn_event(&a->engine, ev->addr, ev->syns, ev->dropped, now);
		note_crossing(a, ev->addr, now);
	}
	memcpy(c.addr, ev->addr, 16);
	c.plen = ev->plen > 128 ? 128 : ev->plen;
	log_info("heavy-hitter source=%s type=%s syns=%" PRIu64 " over_limit=%" PRIu64,
		 addr_format_cidr(&c, cidr, sizeof(cidr)),
		 ev->type == BW_EV_THROTTLE_OVER ? "throttle" : "syn_rate", (uint64_t)ev->syns,
		 (uint64_t)ev->dropped);
	return 0;
}

static void publish_metrics(struct agent *a);

static void
serve_client(struct agent *a, int lfd)
{
	char buf[REQ_BYTES_MAX], err[BW_ERR_MAX];
	char *argv[REQ_ARGS_MAX];
	struct request req;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;
	int cfd, n, argc, code;

	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	n = ctl_read_request(cfd, buf, sizeof(buf));
	argc = n > 0 ? request_decode(buf, (size_t)n, argv) : -EINVAL;
	if (argc < 0) {
		static const char msg[] = "malformed request\n";

		log_warn("control msg=\"malformed request\" err=\"%s\"",
			 strerror(n < 0 ? -n : EPROTO));
		ctl_write_response(cfd, 2, msg, sizeof(msg) - 1);
		close(cfd);
		return;
	}
	f = open_memstream(&out, &outlen);
	if (!f) {
		close(cfd);
		return;
	}
	if (request_parse(argc, argv, &req, err, sizeof(err)) < 0) {
		fprintf(f, "%s\n", err);
		code = 2;
	} else {
		code = agent_handle(a, &req, f);
	}
	fclose(f);
	/* What the operator just changed shows in the very next scrape. */
	if (code == 0 && req.cmd != REQ_STATUS && req.cmd != REQ_TOP)
		publish_metrics(a);
	ctl_write_response(cfd, code, out, outlen);
	free(out);
	close(cfd);
}

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
fill_metrics(struct agent *a, struct metrics_snapshot *m)
{
	fill_thresholds(&a->settings, m);
	m->version = BW_VERSION;
	kern_read_stats(&a->kern, m->kern);
	for (size_t i = 0; i < a->rules.block.n; i++) {
		if (a->rules.block.v[i].action == BW_ACT_THROTTLE)
			m->throttled_prefixes++;
		else
			m->blocked_prefixes++;
	}
	m->allowed_prefixes = a->rules.allow.n;
	m->kernel_tracked = kern_count_sources(&a->kern);
	m->decisions_suppressed = a->decisions_suppressed;
	if (a->engine_up) {
		const struct smtp_stats *ss = &a->engine.smtp.stats;
		struct score_stats st;

		score_get_stats(a->engine.score, a->engine.now, &st);
		m->sampler = true;
		m->tracked_sources = st.tracked;
		m->smtp_sessions = ss->sessions;
		m->smtp_opaque_sessions = ss->opaque_sessions;
		m->smtp_txn_null = ss->null_sender + ss->bounce_sender;
		m->smtp_txn_other = ss->transactions - m->smtp_txn_null;
		m->smtp_rcpt_rejected = ss->rcpt_rejected;
		m->smtp_malformed_lines = ss->malformed_lines;
		m->capture_frames = a->engine.frames;
		m->capture_dropped = a->capture_drops;
		m->sample_keep = a->engine.sample_keep;
		m->storm_active = st.storm_active;
		m->null_rate_per_min = st.null_rate_short;
		m->null_baseline_per_min = st.null_baseline;
	}
	m->decisions_throttle = a->decisions[AGENT_DEC_THROTTLE];
	m->decisions_block = a->decisions[AGENT_DEC_BLOCK];
	m->decisions_unblock = a->decisions[AGENT_DEC_UNBLOCK];
	m->kernel_events = a->kernel_events;
	m->start_time = a->started;
	m->monitor_mode = a->settings.mode == BW_MODE_MONITOR;
}

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
publish_metrics(struct agent *a)
{
	struct metrics_snapshot m;

	if (!a->metrics)
		return;
	memset(&m, 0, sizeof(m));
	fill_metrics(a, &m);
	metrics_publish(a->metrics, &m);
}

static void
tick(struct agent *a)
{
	agent_expire_rules(a, kern_now_real());
	if (a->engine_up) {
		adapt_sampling(a);
		agent_apply_decisions(a, realtime_ns());
	}
	agent_save_rules(a);
	publish_metrics(a);
}

/* The engine, with our own addresses marked so sessions they open count
 * as mail we sent.  Returns 0 or -errno. */
static int
engine_setup(struct agent *a)
{
	struct engine_limits lim = {
		.max_flows = a->settings.max_flows,
		.max_sources = a->settings.max_sources,
	};
	struct ifaddrs *ifa, *i;
	int ret;

	if (getrandom(lim.seed, sizeof(lim.seed), 0) != sizeof(lim.seed))
		return -errno;
	ret = engine_init(&a->engine, &a->settings, &lim);
	if (ret < 0) {
		log_err("engine init err=\"%s\"", strerror(-ret));
		return ret;
	}
	a->engine_up = true;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		uint8_t addr[16] = { 0 };

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			addr[10] = addr[11] = 0xff;
			memcpy(addr + 12, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			memcpy(addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		engine_add_local(&a->engine, addr);
	}
	freeifaddrs(ifa);
	return 0;
}

static int add_fd(int ep, int fd, int tag);

static int
captures_open(struct agent *a, int ep)
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
		a->n_captures++;
		ret = add_fd(ep, c->fd, EV_CAPTURE + (int)i);
		if (ret < 0)
			return ret;
		log_info("capture iface=%s snaplen=%d", c->ifname, CAPTURE_SNAPLEN);
	}
	return 0;
}

/* Settings: defaults, then the file, then flags. Returns exit code or 0. */
static int
configure(struct agent *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "xdp", required_argument, NULL, 'x' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct { const char *key; char *val; } flags[8];
	char ifaces[BW_MAX_IFACES * (IF_NAMESIZE + 1) + 1] = "";
	char err[BW_ERR_MAX];
	const char *xdp = "auto";
	int nflags = 0, c, ret;

	snprintf(a->config_path, sizeof(a->config_path), "%s", BW_DEFAULT_CONFIG);
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(a->config_path, sizeof(a->config_path), "%s", optarg);
			a->config_required = true;
			break;
		case 'i':
			if (strlen(ifaces) + strlen(optarg) + 2 > sizeof(ifaces)) {
				fprintf(stderr, "bouncewall: too many interfaces (max %d)\n",
					BW_MAX_IFACES);
				return 2;
			}
			strcat(ifaces, ifaces[0] ? " " : "");
			strcat(ifaces, optarg);
			break;
		case 'm':
			flags[nflags].key = "mode", flags[nflags++].val = optarg;
			break;
		case 'x':
			xdp = optarg;
			break;
		case 'M':
			flags[nflags].key = "metrics_listen", flags[nflags++].val = optarg;
			break;
		case 's':
			flags[nflags].key = "control_socket", flags[nflags++].val = optarg;
			break;
		case 'd':
			flags[nflags].key = "state_dir", flags[nflags++].val = optarg;
			break;
		case 'l':
			if (log_set_level(optarg) < 0) {
				fprintf(stderr, "bouncewall: invalid log level '%.32s' (error, warn, info, debug)\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(run_usage, stdout);
			return -1;
		default:
			fputs(run_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bouncewall: unexpected argument '%.64s'\n%s", argv[optind], run_usage);
		return 2;
	}
	if (kern_parse_xdp_mode(xdp, &a->xdp_mode) < 0) {
		fprintf(stderr, "bouncewall: invalid --xdp '%.32s' (auto, native or generic)\n", xdp);
		return 2;
	}
	settings_defaults(&a->settings);
	ret = settings_load_file(&a->settings, a->config_path, err, sizeof(err));
	if (ret == -ENOENT && !a->config_required)
		ret = 0;
	if (ret < 0) {
		fprintf(stderr, "bouncewall: %s\n", err);
		return 2;
	}
	if (ifaces[0] && settings_set(&a->settings, "interface", ifaces, err, sizeof(err)) < 0) {
		fprintf(stderr, "bouncewall: %s\n", err);
		return 2;
	}
	for (int i = 0; i < nflags; i++) {
		if (settings_set(&a->settings, flags[i].key, flags[i].val, err, sizeof(err)) < 0) {
			fprintf(stderr, "bouncewall: %s\n", err);
			return 2;
		}
	}
	if (settings_validate(&a->settings, err, sizeof(err)) < 0) {
		fprintf(stderr, "bouncewall: %s\n", err);
		return 2;
	}
	if (a->settings.n_interfaces == 0) {
		fprintf(stderr, "bouncewall: no interface: give -i IFACE or set 'interface' in %s\n",
			a->config_path);
		return 2;
	}
	return 0;
}

/* Rules from state_dir, plus kernel entries an earlier agent left pinned;
 * then make the kernel hold exactly that set. */
static int
restore_rules(struct agent *a)
{
	char err[BW_ERR_MAX] = "";
	uint64_t now = kern_now_real();
	unsigned int bad = 0;
	int ret, adopted = 0;

	ret = rules_load(&a->rules, a->settings.state_dir, now, &bad, err, sizeof(err));
	if (ret < 0) {
		log_err("state load failed err=\"%s\"", err);
		return ret;
	}
	if (bad)
		log_warn("state skipped=%u first=\"%s\"", bad, err);
	if (a->kern.maps_adopted)
		adopted = kern_adopt_rules(&a->kern, &a->rules, now);
	log_info("state restored blocks=%zu allows=%zu adopted_from_kernel=%d",
		 a->rules.block.n, a->rules.allow.n, adopted);
	a->rules_dirty = adopted > 0;
	ret = kern_sync_rules(&a->kern, &a->rules, now);
	if (ret == 0)
		ret = kern_write_config(&a->kern, &a->settings, &a->rules);
	return ret;
}

/*
 * Everything privileged (loading, attaching, pinning, opening the ring
 * buffer, binding sockets) is done by now; map updates go through fds we
 * already hold, which the kernel checks by fd, not by capability.  Keep
 * none, as Postfix's smtpd does after its jail setup.
 */
static int
drop_privileges(void)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -EPERM;
	return 0;
}

static int
add_fd(int ep, int fd, int tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)tag };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int
cmd_run(int argc, char **argv)
{
	struct agent *a;
	struct ring_buffer *rb = NULL;
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	sigset_t mask;
	int ep = -1, sfd = -1, tfd = -1, lfd = -1, code = 1, ret;
	bool unpin = true;

	a = calloc(1, sizeof(*a));
	if (!a)
		return 1;
	ret = configure(a, argc, argv);
	if (ret) {
		free(a);
		return ret < 0 ? 0 : ret;
	}
	a->started = kern_now_real();
	log_route_libbpf();

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Before touching the kernel: a second agent must not take over the
	 * first one's pinned links. */
	lfd = ctl_listen(a->settings.control_socket);
	if (lfd < 0) {
		log_err("control socket path=%s err=\"%s\"", a->settings.control_socket,
			lfd == -EADDRINUSE ? "another agent is running" : strerror(-lfd));
		goto out_free;
	}
	if (kern_open(&a->kern) < 0)
		goto out_sock;
	if (restore_rules(a) < 0)
		goto out_kern;
	for (unsigned int i = 0; i < a->settings.n_interfaces; i++)
		if (kern_attach(&a->kern, a->settings.interfaces[i], a->xdp_mode) < 0)
			goto out_kern;

	rb = ring_buffer__new(a->kern.events_fd, handle_ring_event, a, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!rb || sfd < 0 || tfd < 0 || ep < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    add_fd(ep, sfd, EV_SIGNAL) < 0 || add_fd(ep, lfd, EV_CTL) < 0 ||
	    add_fd(ep, tfd, EV_TICK) < 0 || add_fd(ep, ring_buffer__epoll_fd(rb), EV_RING) < 0) {
		log_err("event loop setup failed err=\"%s\"", strerror(errno));
		goto out_kern;
	}
	if (engine_setup(a) < 0 || captures_open(a, ep) < 0)
		goto out_kern;
	a->engine.observer = &crossing_hooks;
	a->engine.observer_arg = a;
	if (strcmp(a->settings.metrics_listen, "off") != 0) {
		ret = metrics_start(&a->metrics, a->settings.metrics_listen);
		if (ret < 0) {
			log_err("metrics listen=%s err=\"%s\"", a->settings.metrics_listen,
				strerror(-ret));
			goto out_kern;
		}
		publish_metrics(a);
		log_info("metrics listen=%s", a->settings.metrics_listen);
	}
	agent_save_rules(a);
	if (drop_privileges() < 0)
		log_warn("could not drop capabilities; running with them");
	log_info("running mode=%s socket=%s state_dir=%s",
		 a->settings.mode == BW_MODE_MONITOR ? "monitor" : "enforce",
		 a->settings.control_socket, a->settings.state_dir);

	while (!a->exiting) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll err=\"%s\"", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case EV_SIGNAL: {
				struct signalfd_siginfo si;
				char err[BW_ERR_MAX];

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGHUP) {
					if (agent_reload(a, err, sizeof(err)) == 0)
						publish_metrics(a);
				}
				else
					a->exiting = true;
				break;
			}
			case EV_CTL:
				serve_client(a, lfd);
				break;
			default:
				if (evs[i].data.u32 >= EV_CAPTURE &&
				    evs[i].data.u32 < EV_CAPTURE + a->n_captures)
					capture_dispatch(&a->captures[evs[i].data.u32 - EV_CAPTURE],
							 &a->engine);
				break;
			case EV_RING:
				ring_buffer__consume(rb);
				break;
			case EV_TICK: {
				uint64_t t;

				if (read(tfd, &t, sizeof(t)) == sizeof(t))
					tick(a);
				break;
			}
			}
		}
		/* A source went past a threshold in what was just read: enforce
		 * now, not at the next tick (which stays the backstop). */
		if (a->decide_pending)
			agent_apply_decisions(a, realtime_ns());
	}
	log_info("stopping");
	code = 0;
out_kern:
	if (code == 0)
		agent_save_rules(a);
	if (code != 0) {
		/* A failed start undoes only what it created; links and maps an
		 * earlier agent left keep enforcing. */
		for (unsigned int i = a->kern.n_ifaces; i-- > 0;)
			if (!a->kern.ifaces[i].adopted)
				kern_detach(&a->kern, a->kern.ifaces[i].name);
		unpin = false;
	}
	metrics_stop(a->metrics);
	for (unsigned int i = 0; i < a->n_captures; i++)
		capture_close(&a->captures[i]);
	if (a->engine_up)
		engine_free(&a->engine);
	ring_buffer__free(rb);
	kern_close(&a->kern, unpin);
out_sock:
	unlink(a->settings.control_socket);
out_free:
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (lfd >= 0)
		close(lfd);
	rules_free(&a->rules);
	free(a);
	return code;
}
