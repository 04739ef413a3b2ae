/*
 * text.h - untrusted text made safe to show in one log line or error.
 *
 * Anything from the wire, a file, the socket or the command line is shown
 * through text_escape() and cut (Postfix's "%.100s" habit), so a value can
 * neither break a key="value" log line nor smuggle a terminal escape.
 * Pure.
 */
#ifndef BW_TEXT_H
#define BW_TEXT_H

#include <stddef.h>

/* Bytes of untrusted input an error message shows before "...". */
#define TEXT_SHOWN_MAX	64
#define TEXT_SHOWN_BUF	(TEXT_SHOWN_MAX + 4)	/* + "..." + NUL */

/*
 * Copy at most `len` bytes of `src` into `dst` (size `dstlen`), replacing
 * anything outside printable ASCII, and the double quote and backslash
 * that delimit log values, with '?'.  Always NUL-terminates; returns dst.
 */
char *text_escape(char *dst, size_t dstlen, const char *src, size_t len);

/* text_escape() of at most TEXT_SHOWN_MAX bytes of src (length n), with
 * "..." appended when cut.  buf must hold TEXT_SHOWN_BUF.  Returns buf. */
char *text_shown(char *buf, const char *src, size_t n);

#endif
