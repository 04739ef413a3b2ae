/*
 * posture.c - `bouncewall posture`: grade the SPF, DMARC and DKIM records
 * of the given domains, or of the config's protected_domains, and print
 * them as text or JSON (core/posture.h).  The lookups run on an event loop
 * of the command's own, through the same code the agent uses.
 *
 * Exit: 0 when no check fails (warnings are printed, not failed: they are
 * advice, and `~all` or `p=none` on the way to `-all` and `p=reject` is a
 * normal state a cron job should not alarm on), 1 when a check fails or
 * DNS did not answer, 2 for usage or a bad config.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_file.h"
#include "evloop.h"
#include "posture.h"
#include "posture_cmd.h"
#include "posture_run.h"
#include "settings.h"
#include "usage.h"

struct posture_opts {
	const char *config;		/* -c: must exist */
	const char *resolver;		/* --resolver */
	bool json;
	char domains[BW_MAX_DOMAINS][BW_DOMAIN_MAX + 1];
	unsigned int n_domains;
	char selectors[BW_MAX_SELECTORS][BW_SELECTOR_MAX + 1];
	unsigned int n_selectors;	/* from --selector */
	struct bw_settings settings;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bouncewall posture: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: bouncewall %s\n", usage_of("posture"));
	return 2;
}

/* Validate one list item through the settings' own checks (the same
 * rules as protected_domains and dkim_selectors in the file). */
static int
add_item(const char *key, const char *v, char *dst, size_t size, unsigned int *n,
	 unsigned int max)
{
	struct bw_settings s;
	char err[BW_ERR_MAX];

	memset(&s, 0, sizeof(s));
	if (*n >= max || settings_set(&s, key, v, err, sizeof(err)) < 0)
		return -EINVAL;
	snprintf(dst, size, "%s", strcmp(key, "dkim_selectors") == 0 ? s.dkim_selectors[0] :
		 s.protected_domains[0]);
	(*n)++;
	return 0;
}

/* 0 to run, -1 after --help, 2 after a usage error (printed). */
static int
parse_args(int argc, char **argv, struct posture_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "selector", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'r':
			o->resolver = optarg;
			break;
		case 's':
			if (add_item("dkim_selectors", optarg, o->selectors[o->n_selectors],
				     sizeof(o->selectors[0]), &o->n_selectors, BW_MAX_SELECTORS) < 0)
				return usage_error("invalid or too many --selector '%.64s'", optarg);
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			printf("usage: bouncewall %s\n", usage_of("posture"));
			return -1;
		case ':':
			return usage_error("option '%.64s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%.64s'", argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++)
		if (add_item("protected_domains", argv[optind], o->domains[o->n_domains],
			     sizeof(o->domains[0]), &o->n_domains, BW_MAX_DOMAINS) < 0)
			return usage_error("invalid domain or more than 16: '%.64s'", argv[optind]);
	return 0;
}

/* The config file: -c must exist; the default one may be missing when
 * domains are given.  0, or the exit code. */
static int
load_config(struct posture_opts *o)
{
	const char *path = o->config ? o->config : BW_DEFAULT_CONFIG;
	char err[BW_ERR_MAX];
	int ret;

	settings_defaults(&o->settings);
	ret = settings_load_file(&o->settings, path, err, sizeof(err));
	if (ret == -ENOENT && !o->config && !o->n_domains)
		return usage_error("no DOMAIN given and no config file at %s", path);
	/* Domains given: the default file only adds selectors and a resolver,
	 * and an operator without the right to read it can still check. */
	if ((ret == -ENOENT || ret == -EACCES) && !o->config && o->n_domains) {
		if (ret == -EACCES)
			fprintf(stderr, "bouncewall posture: %s (going on without it)\n", err);
		settings_defaults(&o->settings);
		return 0;
	}
	if (ret < 0) {
		fprintf(stderr, "bouncewall posture: %s\n", err);
		return ret == -EINVAL ? 2 : 1;
	}
	if (!o->n_domains) {
		if (!o->settings.n_domains) {
			fprintf(stderr, "bouncewall posture: no DOMAIN given and no protected_domains in %s\n",
				path);
			return 2;
		}
		memcpy(o->domains, o->settings.protected_domains, sizeof(o->domains));
		o->n_domains = o->settings.n_domains;
	}
	return 0;
}

struct cli_run {
	struct evloop *loop;
	bool json;
	int code;
};

static void
on_done(void *arg, const struct posture_result *res, unsigned int n)
{
	struct cli_run *c = arg;

	if (c->json)
		posture_print_json(stdout, res, n);
	else
		posture_print_text(stdout, res, n);
	c->code = 0;
	for (unsigned int i = 0; i < n; i++)
		if (posture_domain_grade(&res[i]) == POSTURE_FAIL)
			c->code = 1;
	evloop_stop(c->loop);
}

static int
run(struct posture_opts *o, const struct posture_resolver *resolver)
{
	struct posture_run_spec spec = {
		.domains = (const char (*)[BW_DOMAIN_MAX + 1])o->domains,
		.n_domains = o->n_domains,
		.selectors = (const char (*)[BW_SELECTOR_MAX + 1])
			     (o->n_selectors ? o->selectors : o->settings.dkim_selectors),
		.n_selectors = o->n_selectors ? o->n_selectors : o->settings.n_selectors,
		.resolver = resolver,
	};
	struct cli_run c = { .json = o->json, .code = 1 };
	struct posture_run *r = NULL;
	char err[BW_ERR_MAX];
	int ret;

	ret = evloop_new(&c.loop);
	if (ret < 0) {
		fprintf(stderr, "bouncewall posture: %s\n", strerror(-ret));
		return 1;
	}
	ret = posture_run_start(&r, c.loop, &spec, on_done, &c, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "bouncewall posture: %s\n", err);
		evloop_free(c.loop);
		return 1;
	}
	ret = evloop_run(c.loop);
	if (ret < 0)
		fprintf(stderr, "bouncewall posture: event loop: %s\n", strerror(-ret));
	posture_run_free(r);
	evloop_free(c.loop);
	return ret < 0 ? 1 : c.code;
}

int
cmd_posture(int argc, char **argv)
{
	struct posture_opts *o = calloc(1, sizeof(*o));
	struct posture_resolver res;
	const char *rtext;
	int code;

	if (!o)
		return 1;
	code = parse_args(argc, argv, o);
	if (code == 0)
		code = load_config(o);
	if (code) {
		free(o);
		return code < 0 ? 0 : code;
	}
	rtext = o->resolver ? o->resolver : o->settings.posture_resolver;
	if (!o->resolver && strcmp(rtext, "off") == 0)
		rtext = "";	/* off stops the agent's checks; asked here, we check */
	if (rtext[0] && posture_resolver_parse(rtext, strlen(rtext), &res) < 0) {
		code = usage_error("invalid --resolver '%.64s' (ADDR, ADDR:PORT or [IPv6]:PORT)",
				   rtext);
		free(o);
		return code;
	}
	code = run(o, rtext[0] ? &res : NULL);
	free(o);
	return code;
}
