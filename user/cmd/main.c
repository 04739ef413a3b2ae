/*
 * main.c - the bouncewall command line: global options, then dispatch to
 * the agent (`run`), the offline engine (`analyze`) or a control request.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "analyze.h"
#include "ctl.h"
#include "kern.h"
#include "log.h"
#include "posture_cmd.h"
#include "request.h"
#include "usage.h"

static void
print_usage(FILE *f)
{
	fputs("usage: bouncewall [--socket PATH] COMMAND [ARGS]\n"
	      "\n"
	      "Keeps a mail gateway alive through a backscatter storm: XDP rate limits\n"
	      "and blocks in the kernel, an SMTP-aware scorer in userspace.\n"
	      "\n"
	      "commands:\n", f);
	for (const struct usage_cmd *c = usage_table(); c->name; c++)
		fprintf(f, "  %s\n", c->args);
	fputs("\n"
	      "Client commands reach the agent on --socket PATH, $BOUNCEWALL_SOCKET or\n"
	      "/run/bouncewall/bouncewall.sock.  Exit codes: 0 ok, 1 runtime failure,\n"
	      "2 usage or invalid input.\n", f);
}

static int
help_command(const char *name)
{
	const char *u = usage_of(name);

	if (!u) {
		fprintf(stderr, "bouncewall: unknown command '%.64s'\n", name);
		return 2;
	}
	printf("usage: bouncewall %s\n", u);
	return 0;
}

/* Send a validated request to the agent; the agent's exit code is ours. */
static int
client_command(const char *sock, int argc, char **argv)
{
	struct request req;
	char err[BW_ERR_MAX];
	int ret;

	if (request_parse(argc, argv, &req, err, sizeof(err)) < 0) {
		fprintf(stderr, "bouncewall %s: %s\n", argv[0], err);
		if (request_usage(argv[0]))
			fprintf(stderr, "usage: bouncewall %s\n", request_usage(argv[0]));
		return 2;
	}
	ret = ctl_call(sock, argc, argv);
	if (ret >= 0)
		return ret;
	if (req.cmd == REQ_DETACH && (ret == -ENOENT || ret == -ECONNREFUSED)) {
		/* No agent: drop the pinned link, or take our program out of
		 * libxdp's dispatcher, ourselves, as xdp-loader would. */
		log_route_libbpf();
		ret = kern_detach_pinned(req.ifname);
		if (ret == -ENOENT) {
			fprintf(stderr, "bouncewall detach: no bouncewall link pinned for %s, "
				"nor our program in its dispatcher\n", req.ifname);
			return 1;
		}
		if (ret < 0) {
			fprintf(stderr, "bouncewall detach: %s: %s\n", req.ifname, strerror(-ret));
			return 1;
		}
		printf("detached %s\n", req.ifname);
		return 0;
	}
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		fprintf(stderr, "bouncewall: agent not running (no answer on %s)\n", sock);
	else
		fprintf(stderr, "bouncewall: %s: %s\n", sock, strerror(-ret));
	return 1;
}

int
main(int argc, char **argv)
{
	const char *sock_opt = NULL;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("bouncewall %s\n", BW_VERSION);
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			sock_opt = argv[i + 1];
			i += 2;
			continue;
		}
		fprintf(stderr, "bouncewall: unknown option '%.64s'\n", argv[i]);
		print_usage(stderr);
		return 2;
	}
	if (i >= argc) {
		print_usage(stderr);
		return 2;
	}
	argc -= i;
	argv += i;

	if (strcmp(argv[0], "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(argv[0], "analyze") == 0)
		return cmd_analyze(argc, argv);
	if (strcmp(argv[0], "posture") == 0)
		return cmd_posture(argc, argv);
	if (strcmp(argv[0], "help") == 0) {
		if (argc < 2) {
			print_usage(stdout);
			return 0;
		}
		return help_command(argv[1]);
	}
	if (request_is_command(argv[0]))
		return client_command(ctl_socket_path(sock_opt), argc, argv);
	fprintf(stderr, "bouncewall: unknown command '%.64s'\n", argv[0]);
	print_usage(stderr);
	return 2;
}
