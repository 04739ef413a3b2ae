/*
 * request.c - parse and frame the operator commands that go to
 * the agent over its control socket.
 *
 * A hand-rolled option walk rather than getopt: the agent parses requests
 * arriving on its socket, and getopt's global state and argv permutation
 * are not things to run on untrusted input in a long-lived process.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "text.h"
#include "usage.h"
#include "request.h"

bool
request_is_command(const char *name)
{
	for (const struct usage_cmd *c = usage_table(); c->name; c++)
		if (c->agent && strcmp(c->name, name) == 0)
			return true;
	return false;
}

const char *
request_usage(const char *name)
{
	return request_is_command(name) ? usage_of(name) : NULL;
}

/* Shorten (64 octets) and escape untrusted text for an error message. */
static const char *
shown(const char *s, char *buf, size_t len)
{
	return text_escape(buf, len, s, strnlen(s, 64));
}

/* Option walk state: the options a command allows, and what they set. */
struct opt_walk {
	bool allow_json;
	bool allow_ttl;
	bool allow_reason;
	bool allow_comment;
	bool allow_n;
	bool allow_iface;
	int npos;		/* positional arguments expected */
	char *pos[3];
};

static int
walk_options(int argc, char **argv, int first, struct opt_walk *w,
	     struct request *r, char *err, size_t errlen)
{
	char b[80];
	int got = 0;

	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		bool takes_value = false;

		if (strcmp(a, "--json") == 0 && w->allow_json) {
			r->json = true;
			continue;
		}
		if ((strcmp(a, "--ttl") == 0 && w->allow_ttl) ||
		    (strcmp(a, "--reason") == 0 && w->allow_reason) ||
		    (strcmp(a, "--comment") == 0 && w->allow_comment) ||
		    (strcmp(a, "-n") == 0 && w->allow_n) ||
		    ((strcmp(a, "-i") == 0 || strcmp(a, "--interface") == 0) &&
		     w->allow_iface))
			takes_value = true;
		if (takes_value) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "option %s needs a value", a);
				return -EINVAL;
			}
			val = argv[++i];
			if (strcmp(a, "--ttl") == 0) {
				if (duration_parse(val, &r->ttl) < 0) {
					snprintf(err, errlen,
						 "invalid duration '%s' (expected e.g. 90s, 10m, 2h, 1d)",
						 shown(val, b, sizeof(b)));
					return -EINVAL;
				}
			} else if (strcmp(a, "-n") == 0) {
				char *end;
				unsigned long n;

				errno = 0;
				n = strtoul(val, &end, 10);
				if (val[0] < '0' || val[0] > '9' || *end || errno ||
				    n < 1 || n > 100000) {
					snprintf(err, errlen,
						 "invalid count '%s' (expected 1..100000)",
						 shown(val, b, sizeof(b)));
					return -EINVAL;
				}
				r->top_n = (unsigned int)n;
			} else if (strcmp(a, "-i") == 0 ||
				   strcmp(a, "--interface") == 0) {
				size_t n = strlen(val);

				if (n == 0 || n >= IF_NAMESIZE || strchr(val, '/')) {
					snprintf(err, errlen, "invalid interface name '%s'",
						 shown(val, b, sizeof(b)));
					return -EINVAL;
				}
				memcpy(r->ifname, val, n + 1);
			} else {
				size_t n = strlen(val);

				if (n > REQ_TEXT_MAX) {
					snprintf(err, errlen, "%s text is longer than %d bytes",
						 a, REQ_TEXT_MAX);
					return -EINVAL;
				}
				for (size_t k = 0; k < n; k++) {
					if ((unsigned char)val[k] < 0x20 || val[k] == 0x7f) {
						snprintf(err, errlen,
							 "%s text has a control character", a);
						return -EINVAL;
					}
				}
				memcpy(r->text, val, n + 1);
			}
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			snprintf(err, errlen, "unknown option '%s'", shown(a, b, sizeof(b)));
			return -EINVAL;
		}
		if (got >= w->npos) {
			snprintf(err, errlen, "unexpected argument '%s'", shown(a, b, sizeof(b)));
			return -EINVAL;
		}
		w->pos[got++] = argv[i];
	}
	if (got < w->npos) {
		snprintf(err, errlen, "missing argument");
		return -EINVAL;
	}
	return 0;
}

static int
parse_cidr_arg(const char *s, struct request *r, char *err, size_t errlen)
{
	char why[128], b[80];

	if (addr_parse_cidr(s, &r->cidr, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "invalid CIDR '%s': %s", shown(s, b, sizeof(b)), why);
		return -EINVAL;
	}
	return 0;
}

static int
parse_rule_cmd(int argc, char **argv, struct request *r, bool is_block,
	       char *err, size_t errlen)
{
	struct opt_walk w = { 0 };
	const char *sub = argc > 1 ? argv[1] : "";
	char b[80];
	int ret;

	if (strcmp(sub, "add") == 0) {
		r->cmd = is_block ? REQ_BLOCK_ADD : REQ_ALLOW_ADD;
		w.allow_ttl = is_block;
		w.allow_reason = is_block;
		w.allow_comment = !is_block;
		w.npos = 1;
	} else if (strcmp(sub, "del") == 0) {
		r->cmd = is_block ? REQ_BLOCK_DEL : REQ_ALLOW_DEL;
		w.npos = 1;
	} else if (strcmp(sub, "list") == 0) {
		r->cmd = is_block ? REQ_BLOCK_LIST : REQ_ALLOW_LIST;
		w.allow_json = true;
	} else {
		snprintf(err, errlen, "unknown %s subcommand '%s' (expected add, del or list)",
			 argv[0], shown(sub, b, sizeof(b)));
		return -EINVAL;
	}
	ret = walk_options(argc, argv, 2, &w, r, err, errlen);
	if (ret < 0)
		return ret;
	if (w.npos == 1)
		return parse_cidr_arg(w.pos[0], r, err, errlen);
	return 0;
}

static int
parse_threshold(int argc, char **argv, struct request *r, char *err, size_t errlen)
{
	struct opt_walk w = { 0 };
	const char *sub = argc > 1 ? argv[1] : "";
	const struct setting_desc *d;
	char b[80];
	int ret;

	if (strcmp(sub, "list") == 0) {
		r->cmd = REQ_THRESHOLD_LIST;
		w.allow_json = true;
	} else if (strcmp(sub, "get") == 0) {
		r->cmd = REQ_THRESHOLD_GET;
		w.npos = 1;
	} else if (strcmp(sub, "set") == 0) {
		r->cmd = REQ_THRESHOLD_SET;
		w.npos = 2;
	} else {
		snprintf(err, errlen,
			 "unknown threshold subcommand '%s' (expected list, get or set)",
			 shown(sub, b, sizeof(b)));
		return -EINVAL;
	}
	ret = walk_options(argc, argv, 2, &w, r, err, errlen);
	if (ret < 0 || w.npos == 0)
		return ret;

	d = settings_find(w.pos[0]);
	if (!d) {
		snprintf(err, errlen, "unknown threshold '%s' (see: bouncewall threshold list)",
			 shown(w.pos[0], b, sizeof(b)));
		return -EINVAL;
	}
	snprintf(r->name, sizeof(r->name), "%s", d->name);
	if (r->cmd == REQ_THRESHOLD_SET) {
		struct bw_settings scratch;

		if (!d->live) {
			snprintf(err, errlen,
				 "%s cannot be changed while the agent runs: edit the config file and restart",
				 d->name);
			return -EINVAL;
		}
		if (strlen(w.pos[1]) >= sizeof(r->value)) {
			snprintf(err, errlen, "%s: value too long", d->name);
			return -EINVAL;
		}
		/* Syntax and range only; cross-key checks need the agent's
		 * current settings and happen there. */
		settings_defaults(&scratch);
		ret = settings_set(&scratch, d->name, w.pos[1], err, errlen);
		if (ret < 0)
			return -EINVAL;
		snprintf(r->value, sizeof(r->value), "%s", w.pos[1]);
	}
	return 0;
}

/* "local@domain": printable, no spaces, both parts present. */
static int
parse_address(const char *a, struct request *r, char *err, size_t errlen)
{
	const char *at = strrchr(a, '@');
	size_t n = strlen(a);
	char b[80];
	bool ok = at && at != a && at[1] && n < sizeof(r->address);

	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)a[i] > ' ' && (unsigned char)a[i] < 0x7f;
	if (!ok) {
		snprintf(err, errlen, "invalid address '%s' (expected local@domain)",
			 shown(a, b, sizeof(b)));
		return -EINVAL;
	}
	memcpy(r->address, a, n + 1);
	return 0;
}

int
request_parse(int argc, char **argv, struct request *r, char *err, size_t errlen)
{
	struct opt_walk w = { 0 };
	char b[80];

	memset(r, 0, sizeof(*r));
	if (argc < 1 || argc > REQ_ARGS_MAX) {
		snprintf(err, errlen, "too many arguments");
		return -EINVAL;
	}
	for (int i = 0; i < argc; i++) {
		if (strlen(argv[i]) >= REQ_ARG_MAX) {
			snprintf(err, errlen, "argument %d is longer than %d bytes",
				 i + 1, REQ_ARG_MAX - 1);
			return -EINVAL;
		}
	}
	if (strcmp(argv[0], "block") == 0)
		return parse_rule_cmd(argc, argv, r, true, err, errlen);
	if (strcmp(argv[0], "allow") == 0)
		return parse_rule_cmd(argc, argv, r, false, err, errlen);
	if (strcmp(argv[0], "threshold") == 0)
		return parse_threshold(argc, argv, r, err, errlen);

	if (strcmp(argv[0], "status") == 0) {
		r->cmd = REQ_STATUS;
		w.allow_json = true;
	} else if (strcmp(argv[0], "top") == 0) {
		r->cmd = REQ_TOP;
		r->top_n = 20;
		w.allow_json = true;
		w.allow_n = true;
	} else if (strcmp(argv[0], "detach") == 0) {
		r->cmd = REQ_DETACH;
		w.allow_iface = true;
	} else if (strcmp(argv[0], "reload") == 0) {
		r->cmd = REQ_RELOAD;
	} else if (strcmp(argv[0], "ledger") == 0) {
		r->cmd = REQ_LEDGER;
		w.allow_json = true;
		w.npos = 1;
	} else {
		snprintf(err, errlen, "unknown command '%s'", shown(argv[0], b, sizeof(b)));
		return -EINVAL;
	}
	if (walk_options(argc, argv, 1, &w, r, err, errlen) < 0)
		return -EINVAL;
	if (r->cmd == REQ_DETACH && r->ifname[0] == '\0') {
		snprintf(err, errlen, "detach needs -i IFACE");
		return -EINVAL;
	}
	if (r->cmd == REQ_LEDGER)
		return parse_address(w.pos[0], r, err, errlen);
	return 0;
}

int
request_encode(int argc, char **argv, char *buf, size_t len)
{
	size_t off = 0;

	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		if (off + n + 1 > len)
			return -E2BIG;
		memcpy(buf + off, argv[i], n);
		off += n;
	}
	if (off + 1 > len)
		return -E2BIG;
	buf[off++] = '\0';
	return (int)off;
}

int
request_decode(char *buf, size_t len, char **argv)
{
	size_t off = 0;
	int argc = 0;

	while (off < len) {
		size_t n = strnlen(buf + off, len - off);

		if (off + n >= len)
			return -EINVAL;		/* unterminated */
		if (n == 0)
			return argc > 0 && off + 1 == len ? argc : -EINVAL;
		if (argc >= REQ_ARGS_MAX)
			return -EINVAL;
		argv[argc++] = buf + off;
		off += n + 1;
	}
	return -EINVAL;
}
