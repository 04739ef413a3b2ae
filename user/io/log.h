/*
 * log.h - one line per event, key=value, with levels.
 *
 * log_msg() writes "ts level=LEVEL msg" to stderr.  Callers format the
 * message as key=value pairs (OpenSMTPD style): "block add cidr=10.0.0.0/24".
 * Untrusted text goes through text_escape() (core/text.h) first.
 */
#ifndef BW_LOG_H
#define BW_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

extern enum log_level log_threshold;

/* Returns 0, or -EINVAL for an unknown level name. */
int log_set_level(const char *name);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Route libbpf's and libxdp's messages through log_msg (warnings and up
 * by default). */
void log_route_libbpf(void);

#define log_err(...)	log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
