/*
 * netstring.h - D. J. Bernstein's netstrings ("5:hello,"), the framing of
 * Postfix's socketmap protocol (socketmap_table(5)).  Pure.
 */
#ifndef BW_NETSTRING_H
#define BW_NETSTRING_H

#include <stddef.h>

/* Digits of a length we accept: 99999 is far above any socketmap query. */
#define NETSTRING_LEN_DIGITS	5

/*
 * The first netstring in buf[0..len): returns the bytes it takes (> 0) with
 * *data and *dlen its content; 0 when more input is needed; -EINVAL when buf
 * cannot be a netstring (no digits, a leading zero with more digits, no
 * ':' or ',' where they belong); -E2BIG when its content exceeds max.
 */
long netstring_parse(const char *buf, size_t len, size_t max, const char **data,
		     size_t *dlen);

/* "LEN:DATA," into out; its length, or -ENOSPC. */
long netstring_format(char *out, size_t outlen, const char *data, size_t dlen);

#endif
