/*
 * rules_state.c - read and write DIR/rules.state (rules_state.h).
 *
 * Read as a stream, one bounded line at a time, so that memory stays a
 * line whatever the file holds; written whole through files.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "rules_state.h"
#include "rules_text.h"

int
rules_save(const struct rules *r, const char *dir, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	f = open_memstream(&text, &len);
	if (!f) {
		snprintf(err, errlen, "%s/%s: %s", dir, RULES_FILE, strerror(errno));
		return -ENOMEM;
	}
	ret = rules_format(f, r);
	if (fclose(f) != 0 && ret == 0)
		ret = -ENOMEM;
	if (ret == 0)
		ret = files_write_atomic(dir, RULES_FILE, text, len, 0600);
	free(text);
	if (ret < 0)
		snprintf(err, errlen, "%s/%s: %s", dir, RULES_FILE, files_strerror(ret));
	return ret;
}

/* One line into buf (at most RULES_LINE_MAX); *cut when it was longer
 * (the rest is skipped).  Returns its length, or -1 at the end. */
static long
read_line(FILE *f, char *buf, bool *cut)
{
	size_t n = 0;
	int c;

	*cut = false;
	while ((c = getc(f)) != EOF && c != '\n') {
		if (n < RULES_LINE_MAX)
			buf[n++] = (char)c;
		else
			*cut = true;
	}
	if (c == EOF && n == 0 && !*cut)
		return -1;
	return (long)n;
}

int
rules_load(struct rules *r, const char *dir, uint64_t now, struct rules_load_report *rep,
	   char *err, size_t errlen)
{
	char path[PATH_MAX], line[RULES_LINE_MAX + 1];
	struct stat st;
	FILE *f;
	long n;
	int fd, ret = 0;

	memset(rep, 0, sizeof(*rep));
	if (snprintf(path, sizeof(path), "%s/%s", dir, RULES_FILE) >= (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		goto fail;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
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
	rep->found = true;
	while (rep->lines < RULES_STATE_LINES_MAX) {
		struct rule_entry e;
		bool is_allow, cut;
		int k;

		n = read_line(f, line, &cut);
		if (n < 0)
			break;
		rep->lines++;
		if (rep->lines == 1 && (size_t)n == strlen(RULES_TEXT_HEADER) &&
		    memcmp(line, RULES_TEXT_HEADER, (size_t)n) == 0)
			rep->header = true;
		k = cut ? -EINVAL : rules_parse_line(line, (size_t)n, &e, &is_allow);
		if (k == 1)
			continue;
		if (k < 0) {
			if (!rep->first_bad)
				rep->first_bad = rep->lines;
			rep->bad++;
			continue;
		}
		if (e.expires && e.expires <= now) {
			rep->expired++;
			continue;
		}
		k = rules_put(is_allow ? &r->allow : &r->block, &e);
		if (k == -ENOMEM) {
			ret = k;
			break;
		}
		if (k < 0)
			rep->refused++;
	}
	if (ferror(f) && ret == 0)
		ret = -EIO;
	fclose(f);
	if (ret == 0)
		return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, files_strerror(ret));
	return ret;
}
