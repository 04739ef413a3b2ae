/*
 * usage.c - the usage lines (usage.h).
 */
#include <stddef.h>
#include <string.h>

#include "usage.h"

static const struct usage_cmd cmds[] = {
	{ "run", "run [-c FILE] [-i IFACE]... [--mode enforce|monitor] [--xdp auto|native|generic]\n"
		 "               [--xdp-multi auto|on|off] [--metrics HOST:PORT|off] [--socket PATH]\n"
		 "               [--state-dir DIR] [--log-level LEVEL]",
	  false },
	{ "analyze", "analyze FILE.pcap [-c FILE] [--ports LIST] [--json]", false },
	{ "status", "status [--json]", true },
	{ "top", "top [-n N] [--json]", true },
	{ "block", "block add CIDR [--ttl DURATION] [--reason TEXT] | del CIDR | list [--json]", true },
	{ "allow", "allow add CIDR [--comment TEXT] | del CIDR | list [--json]", true },
	{ "threshold", "threshold list [--json] | get NAME | set NAME VALUE", true },
	{ "ledger", "ledger ADDRESS [--json]", true },
	{ "reload", "reload", true },
	{ "detach", "detach -i IFACE", true },
	{ "posture", "posture [DOMAIN]... [-c FILE] [--resolver ADDR] [--selector S]... [--json]", false },
	{ "help", "help COMMAND", false },
	{ NULL, NULL, false },
};

const struct usage_cmd *
usage_table(void)
{
	return cmds;
}

const char *
usage_of(const char *name)
{
	for (const struct usage_cmd *c = cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c->args;
	return NULL;
}
