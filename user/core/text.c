/*
 * text.c - escaping untrusted text for logs and errors (text.h).
 */
#include <string.h>

#include "text.h"

char *
text_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t i;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len && i + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	dst[i] = '\0';
	return dst;
}

char *
text_shown(char *buf, const char *src, size_t n)
{
	text_escape(buf, TEXT_SHOWN_MAX + 1, src, n > TEXT_SHOWN_MAX ? TEXT_SHOWN_MAX : n);
	if (n > TEXT_SHOWN_MAX)
		strcat(buf, "...");
	return buf;
}
