/*
 * log.c - levelled key=value logging to stderr (systemd's journal adds the
 * rest).  Also the sink for libbpf's own messages.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

enum log_level log_threshold = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

int
log_set_level(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			log_threshold = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char ts[32];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ level=%s ", ts, now.tv_nsec / 1000000,
		level_names[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > log_threshold)
		return;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

/* One line of a library's (libbpf's, libxdp's) into our log: their
 * warnings as warnings, their information as debug. */
static int
library_print(const char *who, int level, const char *fmt, va_list ap)
{
	enum log_level lvl;
	char line[512];
	size_t n;

	switch (level) {
	case LIBBPF_WARN:
		lvl = LOG_LVL_WARN;
		break;
	case LIBBPF_INFO:
		lvl = LOG_LVL_DEBUG;
		break;
	default:
		return 0;
	}
	if (lvl > log_threshold)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '"')
			line[i] = line[i] == '"' ? '\'' : ' ';
	log_msg(lvl, "%s msg=\"%s\"", who, line);
	return 0;
}

static int
libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return library_print("libbpf", level, fmt, ap);
}

_Static_assert((int)LIBXDP_WARN == (int)LIBBPF_WARN && (int)LIBXDP_INFO == (int)LIBBPF_INFO,
	       "libxdp's levels are libbpf's");

static int
libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return library_print("libxdp", (int)level, fmt, ap);
}

void
log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
