/*
 * ledger_state.c - save and load the sent ledger (ledger_state.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "ledger_state.h"

int
ledger_save(const struct ledger *l, const char *dir, uint64_t now, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	f = open_memstream(&text, &len);
	if (!f) {
		snprintf(err, errlen, "%s/%s: %s", dir, LEDGER_FILE, strerror(errno));
		return -ENOMEM;
	}
	ret = ledger_format(l, now, f);
	if (fclose(f) != 0 && ret == 0)
		ret = -ENOMEM;
	if (ret == 0)
		ret = files_write_atomic(dir, LEDGER_FILE, text, len, 0600);
	free(text);
	if (ret < 0)
		snprintf(err, errlen, "%s/%s: %s", dir, LEDGER_FILE, files_strerror(ret));
	return ret;
}

int
ledger_load(struct ledger *l, const char *dir, uint64_t now, unsigned int *bad, char *err,
	    size_t errlen)
{
	char path[PATH_MAX], line[LEDGER_LINE_MAX + 1];
	unsigned int lines = 0;
	struct stat st;
	FILE *f;
	int fd, c, ret = 0;

	*bad = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, LEDGER_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		close(fd);
		goto fail;
	}
	f = fdopen(fd, "r");
	if (!f) {
		ret = -errno;
		close(fd);
		goto fail;
	}
	while (lines++ < LEDGER_STATE_LINES_MAX) {
		size_t n = 0;
		bool cut = false;

		while ((c = getc(f)) != EOF && c != '\n') {
			if (n < LEDGER_LINE_MAX)
				line[n++] = (char)c;
			else
				cut = true;
		}
		if (c == EOF && n == 0 && !cut)
			break;
		if (cut || ledger_parse_line(l, line, n, now) < 0)
			(*bad)++;
	}
	if (ferror(f))
		ret = -EIO;
	fclose(f);
	if (ret == 0)
		return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, files_strerror(ret));
	return ret;
}
