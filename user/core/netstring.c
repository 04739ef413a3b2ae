/*
 * netstring.c - netstring framing (netstring.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "netstring.h"

long
netstring_parse(const char *buf, size_t len, size_t max, const char **data, size_t *dlen)
{
	size_t n = 0, i = 0;

	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		if (i == NETSTRING_LEN_DIGITS)
			return -E2BIG;
		if (i == 1 && buf[0] == '0')
			return -EINVAL;
		n = n * 10 + (size_t)(buf[i] - '0');
		i++;
	}
	if (i == len)
		return 0;	/* the length is still arriving */
	if (i == 0 || buf[i] != ':')
		return -EINVAL;
	if (n > max)
		return -E2BIG;
	if (len < i + 1 + n + 1)
		return 0;
	if (buf[i + 1 + n] != ',')
		return -EINVAL;
	*data = buf + i + 1;
	*dlen = n;
	return (long)(i + 1 + n + 1);
}

long
netstring_format(char *out, size_t outlen, const char *data, size_t dlen)
{
	int h = snprintf(out, outlen, "%zu:", dlen);

	if (h < 0 || (size_t)h + dlen + 1 >= outlen)
		return -ENOSPC;
	memcpy(out + h, data, dlen);
	out[h + dlen] = ',';
	out[h + dlen + 1] = '\0';
	return (long)((size_t)h + dlen + 1);
}
