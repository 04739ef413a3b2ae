/*
 * usage.h - the command line's grammar in words: one usage line per
 * command, written once, printed by `--help`, `help COMMAND` and every
 * usage error.  Pure.
 */
#ifndef BW_USAGE_H
#define BW_USAGE_H

#include <stdbool.h>

struct usage_cmd {
	const char *name;
	const char *args;	/* after "bouncewall NAME " */
	bool agent;		/* a request to the running agent */
};

/* The table, in --help order, ended by a NULL name. */
const struct usage_cmd *usage_table(void);

/* "NAME ARGS" of a command, or NULL when there is no such command. */
const char *usage_of(const char *name);

#endif
