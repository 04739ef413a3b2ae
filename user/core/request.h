/*
 * request.h - the operator commands that talk to the running agent.
 *
 * The CLI parses and validates argv with request_parse() before sending it;
 * the agent parses the very same argv again on arrival (the socket is
 * untrusted), so both sides accept exactly the same language.  Pure.
 */
#ifndef BW_REQUEST_H
#define BW_REQUEST_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define REQ_ARGS_MAX	16
#define REQ_ARG_MAX	256
#define REQ_TEXT_MAX	200	/* --reason / --comment */
#define REQ_BYTES_MAX	4096	/* a whole request on the wire */

enum req_cmd {
	REQ_STATUS,
	REQ_TOP,
	REQ_BLOCK_ADD,
	REQ_BLOCK_DEL,
	REQ_BLOCK_LIST,
	REQ_ALLOW_ADD,
	REQ_ALLOW_DEL,
	REQ_ALLOW_LIST,
	REQ_THRESHOLD_LIST,
	REQ_THRESHOLD_GET,
	REQ_THRESHOLD_SET,
	REQ_DETACH,
	REQ_RELOAD,
	REQ_LEDGER,
};

struct request {
	enum req_cmd cmd;
	bool json;
	struct bw_cidr cidr;
	uint64_t ttl;		/* seconds; 0 = none given */
	char text[REQ_TEXT_MAX + 1];
	char name[64];
	char value[REQ_ARG_MAX];
	unsigned int top_n;
	char ifname[IF_NAMESIZE];
	char address[REQ_ARG_MAX];	/* ledger ADDRESS */
};

/* True when argv[0] names a command that request_parse() handles. */
bool request_is_command(const char *name);

/*
 * Parse argv (argv[0] is the command, e.g. "block") into *r.  Returns 0, or
 * -EINVAL with one line in err naming the bad value.
 */
int request_parse(int argc, char **argv, struct request *r, char *err,
		  size_t errlen);

/* Usage text of one command (for `help COMMAND` and usage errors). */
const char *request_usage(const char *name);

/*
 * Wire form: the arguments, each NUL-terminated, then one more NUL.
 * request_encode returns the length, or -E2BIG.  request_decode splits buf
 * in place into argv (at most REQ_ARGS_MAX) and returns argc, or -EINVAL.
 */
int request_encode(int argc, char **argv, char *buf, size_t len);
int request_decode(char *buf, size_t len, char **argv);

#endif
