/*
 * agent.c - `bouncewall run`: settings, then setup in order (control
 * socket, kernel, rules, attach, event loop, capture), the loop, and one
 * teardown path that undoes exactly what was done.
 */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <cap-ng.h>

#include "agent.h"
#include "conf_file.h"
#include "ctl.h"
#include "enforce.h"
#include "files.h"
#include "log.h"
#include "names.h"
#include "rules_state.h"
#include "usage.h"

#define STATE_LOCK	"agent.lock"

/* What the command line gave, before it becomes settings. */
struct run_args {
	char ifaces[BW_MAX_IFACES * (IF_NAMESIZE + 1) + 1];
	const char *xdp;
};

static int
set_override(struct agent *a, const char *key, const char *value)
{
	size_t n;
	const struct setting_desc *t = settings_table(&n), *d = settings_find(key);

	if (!d)
		return -ENOENT;
	/* A flag given twice: the last one wins, as with getopt tools. */
	a->overrides[d - t] = value;
	return 0;
}

/* Flags into a->overrides and *ra.  0, -1 after --help, or exit code 2. */
static int
parse_flags(struct agent *a, struct run_args *ra, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "mode", required_argument, NULL, 'm' },
		{ "xdp", required_argument, NULL, 'x' },
		{ "xdp-multi", required_argument, NULL, 'X' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	snprintf(a->config_path, sizeof(a->config_path), "%s", BW_DEFAULT_CONFIG);
	ra->xdp = "auto";
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (snprintf(a->config_path, sizeof(a->config_path), "%s", optarg) >=
			    (int)sizeof(a->config_path)) {
				fprintf(stderr, "bouncewall run: config path too long\n");
				return 2;
			}
			a->config_required = true;
			break;
		case 'i':
			if (strlen(ra->ifaces) + strlen(optarg) + 2 > sizeof(ra->ifaces)) {
				fprintf(stderr, "bouncewall run: too many interfaces (at most %d)\n",
					BW_MAX_IFACES);
				return 2;
			}
			strcat(ra->ifaces, ra->ifaces[0] ? " " : "");
			strcat(ra->ifaces, optarg);
			set_override(a, "interface", ra->ifaces);
			break;
		case 'm':
			set_override(a, "mode", optarg);
			break;
		case 'x':
			ra->xdp = optarg;
			break;
		case 'X':
			set_override(a, "xdp_multi", optarg);
			break;
		case 'M':
			set_override(a, "metrics_listen", optarg);
			break;
		case 's':
			set_override(a, "control_socket", optarg);
			break;
		case 'd':
			set_override(a, "state_dir", optarg);
			break;
		case 'l':
			if (log_set_level(optarg) < 0) {
				fprintf(stderr, "bouncewall run: invalid log level '%.32s' (error, warn, info, debug)\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: bouncewall %s\n", usage_of("run"));
			return -1;
		default:
			fprintf(stderr, "usage: bouncewall %s\n", usage_of("run"));
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bouncewall run: unexpected argument '%.64s'\nusage: bouncewall %s\n",
			argv[optind], usage_of("run"));
		return 2;
	}
	if (kern_parse_xdp_mode(ra->xdp, &a->xdp_mode) < 0) {
		fprintf(stderr, "bouncewall run: invalid --xdp '%.32s' (auto, native or generic)\n",
			ra->xdp);
		return 2;
	}
	return 0;
}

/* Defaults, then the file, then the overrides; validated.  The same for
 * a start and a reload.  0 or -errno with err set. */
static int
compose_settings(const struct agent *a, struct bw_settings *out, char *err, size_t errlen)
{
	size_t n;
	const struct setting_desc *t = settings_table(&n);
	int ret;

	settings_defaults(out);
	ret = settings_load_file(out, a->config_path, err, errlen);
	if (ret == -ENOENT && !a->config_required) {
		settings_defaults(out);
		ret = 0;
	}
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (!a->overrides[i])
			continue;
		ret = settings_set(out, t[i].name, a->overrides[i], err, errlen);
		if (ret < 0)
			return ret;
	}
	return settings_validate(out, err, errlen);
}

int
agent_reload(struct agent *a, char *err, size_t errlen)
{
	struct bw_settings next;
	size_t n;
	const struct setting_desc *t = settings_table(&n);
	char oldv[PATH_MAX], newv[PATH_MAX], e2[BW_ERR_MAX];
	int ret;

	ret = compose_settings(a, &next, err, errlen);
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
	ret = kern_write_config(&a->kern, &next, &a->rules);
	if (ret < 0) {
		snprintf(err, errlen, "kernel refused the new config: %s", strerror(-ret));
		return ret;
	}
	a->settings = next;
	if (a->engine_up)
		engine_settings_changed(&a->engine);
	log_info("reloaded config=%s mode=%s", a->config_path, names_mode(a->settings.mode));
	return 0;
}

/* Every interface must exist before anything is loaded or pinned. */
static int
check_interfaces(const struct bw_settings *s)
{
	for (unsigned int i = 0; i < s->n_interfaces; i++) {
		if (!if_nametoindex(s->interfaces[i])) {
			fprintf(stderr, "bouncewall run: no such interface '%s'\n", s->interfaces[i]);
			return -ENODEV;
		}
	}
	return 0;
}

/* Rules from state_dir, plus kernel entries an earlier agent left pinned;
 * then make the kernel hold exactly that set. */
static int
restore_rules(struct agent *a)
{
	struct rules_load_report rep;
	char err[BW_ERR_MAX] = "";
	uint64_t now = kern_now_real();
	int ret, adopted = 0;

	ret = rules_load(&a->rules, a->settings.state_dir, now, &rep, err, sizeof(err));
	if (ret < 0) {
		log_err("state load failed err=\"%s\" hint=\"state_dir/%s must be a regular file\"",
			err, RULES_FILE);
		return ret;
	}
	if (rep.found && rep.lines == 0)
		log_warn("state file is empty path=%s/%s msg=\"no saved rules: was it truncated?\"",
			 a->settings.state_dir, RULES_FILE);
	else if (rep.found && !rep.header)
		log_warn("state file has no bouncewall header path=%s/%s msg=\"read anyway\"",
			 a->settings.state_dir, RULES_FILE);
	if (rep.bad)
		log_warn("state lines skipped=%u first_line=%u path=%s/%s", rep.bad, rep.first_bad,
			 a->settings.state_dir, RULES_FILE);
	if (rep.refused)
		log_warn("state rules refused=%u msg=\"list full or too many prefix lengths\"",
			 rep.refused);
	if (a->kern.maps_adopted)
		adopted = kern_adopt_rules(&a->kern, &a->rules, now);
	log_info("state restored blocks=%zu allows=%zu adopted_from_kernel=%d",
		 a->rules.block.n, a->rules.allow.n, adopted);
	a->rules_dirty = adopted > 0;
	ret = kern_sync_rules(&a->kern, &a->rules, now);
	if (ret == 0)
		ret = enforce_config(a);
	return ret;
}

/* The engine asks whether a source is allowlisted: its bounces stay out
 * of the storm detector. */
static bool
allowlisted(void *arg, const uint8_t addr[16])
{
	struct agent *a = arg;

	return rules_match(&a->rules.allow, addr, kern_now_real()) != NULL;
}

/* The engine, with our own addresses marked so sessions they open count
 * as mail we sent.  0 or -errno. */
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
	a->engine.allowlisted = allowlisted;
	a->engine.allow_arg = a;
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

/*
 * Everything privileged (loading, attaching, pinning, opening the ring
 * buffer and captures, binding sockets) is done by now; map updates go
 * through fds we already hold, which the kernel checks by fd, not by
 * capability.  Keep none, as Postfix's smtpd does after its jail setup,
 * unless the program shares an interface through libxdp's dispatcher:
 * leaving it (on exit, or `detach`) loads a new dispatcher for the
 * programs that stay, which needs CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON
 * and CAP_SYS_ADMIN (looking programs up by id).
 */
static int
drop_privileges(const struct kern *k)
{
	bool shared = false;

	for (unsigned int i = 0; i < k->n_ifaces; i++)
		shared |= k->ifaces[i].attach == KERN_ATTACH_LIBXDP;
	capng_clear(CAPNG_SELECT_BOTH);
	if (shared && capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
				    CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, CAP_SYS_ADMIN, -1) < 0)
		return -EPERM;
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -EPERM;
	if (shared)
		log_info("capabilities kept=bpf,net_admin,perfmon,sys_admin reason=\"libxdp dispatcher\"");
	return 0;
}

/* Setup in order; 0, or -errno after logging what failed. */
static int
start(struct agent *a, int *state_lock)
{
	uint8_t seed[16];
	int ret, lfd;

	lfd = ctl_listen(a->settings.control_socket);
	if (lfd < 0) {
		log_err("control socket path=%s err=\"%s\"", a->settings.control_socket,
			lfd == -EADDRINUSE ? "another agent is running" : strerror(-lfd));
		return lfd;
	}
	a->ctl_fd = lfd;
	a->ctl_bound = true;
	*state_lock = files_lock(a->settings.state_dir, STATE_LOCK);
	if (*state_lock < 0) {
		log_err("state_dir path=%s err=\"%s\"", a->settings.state_dir,
			*state_lock == -EBUSY ? "another agent uses this state_dir" :
			strerror(-*state_lock));
		return *state_lock;
	}
	if (getrandom(seed, sizeof(seed), 0) == sizeof(seed))
		rules_seed(&a->rules, seed);
	rules_set_max(&a->rules, a->settings.max_rules);
	ret = kern_open(&a->kern, &a->settings);
	if (ret < 0)
		return ret;
	ret = restore_rules(a);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < a->settings.n_interfaces; i++) {
		ret = kern_attach(&a->kern, a->settings.interfaces[i], a->xdp_mode,
				  a->settings.xdp_multi);
		if (ret < 0)
			return ret;
	}
	kern_commit(&a->kern);
	ret = engine_setup(a);
	if (ret < 0)
		return ret;
	ret = agent_loop_start(a);
	if (ret < 0)
		return ret;
	enforce_save(a);
	if (drop_privileges(&a->kern) < 0)
		log_warn("could not drop capabilities; running with them");
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	struct run_args ra = { 0 };
	struct agent *a;
	char err[BW_ERR_MAX];
	int code = 1, ret, state_lock = -1;

	a = calloc(1, sizeof(*a));
	if (!a)
		return 1;
	a->sfd = -1;
	a->ctl_fd = -1;
	kern_init(&a->kern);
	ret = parse_flags(a, &ra, argc, argv);
	if (ret) {
		free(a);
		return ret < 0 ? 0 : ret;
	}
	if (compose_settings(a, &a->settings, err, sizeof(err)) < 0) {
		fprintf(stderr, "bouncewall run: %s\n", err);
		free(a);
		return 2;
	}
	if (a->settings.n_interfaces == 0) {
		fprintf(stderr, "bouncewall run: no interface: give -i IFACE or set 'interface' in %s\n",
			a->config_path);
		free(a);
		return 2;
	}
	if (check_interfaces(&a->settings) < 0) {
		free(a);
		return 1;
	}
	a->started = kern_now_real();
	log_route_libbpf();
	signal(SIGPIPE, SIG_IGN);

	ret = start(a, &state_lock);
	if (ret == 0) {
		log_info("running mode=%s socket=%s state_dir=%s", names_mode(a->settings.mode),
			 a->settings.control_socket, a->settings.state_dir);
		ret = evloop_run(a->loop);
		if (ret < 0)
			log_err("event loop err=\"%s\"", strerror(-ret));
		log_info("stopping");
		enforce_save(a);
		code = 0;
	}
	agent_loop_stop(a);		/* closes the control socket too */
	if (a->engine_up)
		engine_free(&a->engine);
	if (code == 0)
		kern_close(&a->kern);	/* SIGTERM: detach and unpin everything */
	else if (a->kern.skel)
		kern_abort(&a->kern);	/* a failed start: only what it made */
	if (a->ctl_bound)
		unlink(a->settings.control_socket);
	if (state_lock >= 0)
		close(state_lock);
	rules_free(&a->rules);
	free(a);
	return code;
}
