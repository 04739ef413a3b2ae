/*
 * ctl.h - the control socket: a local stream socket carrying one request
 * (request.h wire form) and one response per connection.
 *
 * Response: "<exit code>\n" then the command's output, then EOF.  The exit
 * code is the one the CLI exits with (0 ok, 1 runtime failure, 2 bad input); output of a
 * non-zero code is the error text.
 */
#ifndef BW_CTL_H
#define BW_CTL_H

#include <stddef.h>
#include <stdio.h>

#define CTL_IO_TIMEOUT_MS	2000	/* a whole request, either side */
#define CTL_RESPONSE_MAX	(16u << 20)	/* a response larger is cut */

/* The socket path the CLI uses: --socket, else $BOUNCEWALL_SOCKET, else the
 * default.  `opt` may be NULL. */
const char *ctl_socket_path(const char *opt);

/*
 * Agent side.  ctl_listen creates the parent directory (0750) if needed,
 * refuses to take over a socket another agent still answers on, removes a
 * stale one, and listens (mode 0600, non-blocking: the agent's event loop
 * serves it through conn.h).  Returns the fd or -errno.
 */
int ctl_listen(const char *path);

/* Length of the first whole request in buf (through the NUL that ends
 * it), 0 while it is incomplete. */
size_t ctl_request_len(const char *buf, size_t len);

/*
 * Client side: send argv to the agent at path and copy its output to
 * stdout (code 0) or stderr (otherwise).  Returns the agent's exit code, or
 * -errno when the agent cannot be reached.
 */
int ctl_call(const char *path, int argc, char **argv);

#endif
