/*
 * ctl.c - control socket transport for agent and CLI (see ctl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "ctl.h"
#include "request.h"

const char *
ctl_socket_path(const char *opt)
{
	const char *env;

	if (opt && *opt)
		return opt;
	env = getenv("BOUNCEWALL_SOCKET");
	if (env && *env)
		return env;
	return "/run/bouncewall/bouncewall.sock";
}

static int
fill_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sa;
	int fd, ret;

	ret = fill_addr(path, &sa);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* mkdir -p for the socket's directory, last component 0750. */
static int
make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
ctl_listen(const char *path)
{
	int ret = make_parent(path);

	return ret < 0 ? ret : conn_listen_unix(path, 0600);
}

size_t
ctl_request_len(const char *buf, size_t len)
{
	/* A request ends with an empty argument: two NULs in a row. */
	for (size_t i = 1; i < len; i++)
		if (buf[i] == '\0' && buf[i - 1] == '\0')
			return i + 1;
	return 0;
}

/* Wait for fd to become readable/writable within the timeout. */
static int
wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, CTL_IO_TIMEOUT_MS);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n;
		int ret = wait_fd(fd, POLLOUT);

		if (ret < 0)
			return ret;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ctl_call(const char *path, int argc, char **argv)
{
	char req[REQ_BYTES_MAX];
	char buf[8192];
	bool have_code = false;
	int code = 1, fd, len, ret;
	FILE *out = stdout;

	len = request_encode(argc, argv, req, sizeof(req));
	if (len < 0)
		return len;
	fd = connect_to(path);
	if (fd < 0)
		return fd;
	/* The agent answers at once; a wedged one must not hang the CLI. */
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ret = write_all(fd, req, (size_t)len);
	if (ret < 0)
		goto out;
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		char *p = buf;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (!have_code) {
			char *nl = memchr(buf, '\n', (size_t)n);

			if (!nl || nl == buf || nl - buf > 3) {
				ret = -EPROTO;
				goto out;
			}
			code = atoi(buf);
			have_code = true;
			out = code == 0 ? stdout : stderr;
			p = nl + 1;
			n -= p - buf;
		}
		fwrite(p, 1, (size_t)n, out);
	}
	ret = have_code ? code : -EPROTO;
out:
	fflush(stdout);
	close(fd);
	return ret;
}
