/*
 * settings_int.h - value parsers shared by settings.c (the table and its
 * dispatch) and settings_values.c (the parsers).  Each parser takes the
 * value already trimmed (v, n) and the key's name for its messages;
 * returns 0 or -EINVAL with err set, and writes *s only on success.
 */
#ifndef BW_SETTINGS_INT_H
#define BW_SETTINGS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "settings.h"

#define U32_MAX_VALUE		1000000
#define FACTOR_MAX		1000.0
#define NUMBER_TEXT_MAX		32

int sv_bad_value(char *err, size_t errlen, const char *key, const char *v, size_t n,
		 const char *expected);
int sv_parse_ulong(const char *v, size_t n, unsigned long min, unsigned long max,
		   unsigned long *out);
int sv_parse_factor(const char *v, size_t n, double *out);
void sv_format_factor(double x, char *buf, size_t len);
void sv_store_text(char *dst, size_t size, const char *v, size_t n);
bool sv_valid_listen(const char *v, size_t n);
bool sv_valid_endpoint(const char *v, size_t n);
bool sv_valid_path(const char *v, size_t n, size_t max, bool dir);
bool sv_valid_url(const char *v, size_t n);

int sv_set_ports(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen);
int sv_set_ifaces(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen);
int sv_set_domains(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen);
int sv_set_batv_keys(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen);
int sv_set_relays(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen);
int sv_set_selectors(struct bw_settings *s, const char *v, size_t n, char *err, size_t errlen);
/* A credential (key, login, password): printable, no spaces, never shown. */
int sv_set_credential(char *dst, size_t size, const char *key, const char *v, size_t n,
		      char *err, size_t errlen);

#endif
