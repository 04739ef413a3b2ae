/*
 * conf_file.c - the config file: a bounded read, then conf_parse().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_file.h"
#include "conf_parse.h"
#include "files.h"
#include "text.h"

#define PATH_SHOWN_MAX	100

int
settings_load_file(struct bw_settings *s, const char *path, char *err, size_t errlen)
{
	char where[PATH_SHOWN_MAX + 1], msg[BW_ERR_MAX];
	unsigned int line;
	char *text;
	size_t len;
	int ret;

	text_escape(where, sizeof(where), path, strlen(path));
	ret = files_read(path, CONF_FILE_MAX, &text, &len);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", where,
			 ret == -EFBIG ? "larger than 1 MiB: not a config file" :
			 ret == -EINVAL ? "not a regular file" : strerror(-ret));
		return ret;
	}
	ret = conf_parse(s, text, len, &line, msg, sizeof(msg));
	free(text);
	if (ret < 0 && line)
		snprintf(err, errlen, "%s:%u: %s", where, line, msg);
	else if (ret < 0)
		snprintf(err, errlen, "%s: %s", where, msg);
	return ret;
}
