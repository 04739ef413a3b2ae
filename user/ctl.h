/*
 * ctl.h - the control socket: a local stream socket carrying one request
 * (request.h wire form) and one response per connection.
 *
 * Response: "<exit code>\n" then the command's output, then EOF.  The exit
 * code is the one the CLI exits with (0, 1 or 2, SPEC §4); output of a
 * non-zero code is the error text.
 */
#ifndef BW_CTL_H
#define BW_CTL_H

#include <stddef.h>
#include <stdio.h>

#define CTL_IO_TIMEOUT_MS	2000
#define CTL_RESPONSE_MAX	(16u << 20)	/* a response larger is cut */

/* The socket path the CLI uses: --socket, else $BOUNCEWALL_SOCKET, else the
 * default.  `opt` may be NULL. */
const char *ctl_socket_path(const char *opt);

/*
 * Agent side.  ctl_listen creates the parent directory (0750) if needed,
 * refuses to take over a socket another agent still answers on, removes a
 * stale one, binds, chmods 0600 and listens.  Returns the fd or -errno.
 */
int ctl_listen(const char *path);

/* Read one request from a connected client into buf (bounded, with a
 * timeout so a silent client cannot stall the agent).  Returns the number
 * of bytes, or -errno. */
int ctl_read_request(int fd, char *buf, size_t len);

/* Write code and output; returns 0 or -errno. */
int ctl_write_response(int fd, int code, const char *out, size_t len);

/*
 * Client side: send argv to the agent at path and copy its output to
 * stdout (code 0) or stderr (otherwise).  Returns the agent's exit code, or
 * -errno when the agent cannot be reached.
 */
int ctl_call(const char *path, int argc, char **argv);

#endif
