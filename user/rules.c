/*
 * rules.c - the agent's allow/block mirror and its state file (rules.h).
 *
 * Linear arrays: operators keep hundreds of rules and the scorer adds a
 * few per second, so a scan is cheaper than an index to keep right.  The
 * kernel does the per-packet lookups.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"

void
rules_free(struct rules *r)
{
	free(r->allow.v);
	free(r->block.v);
	memset(r, 0, sizeof(*r));
}

static bool
same_cidr(const struct bw_cidr *a, const struct bw_cidr *b)
{
	return a->plen == b->plen && memcmp(a->addr, b->addr, 16) == 0;
}

struct rule_entry *
rules_find(const struct rule_set *s, const struct bw_cidr *c)
{
	for (size_t i = 0; i < s->n; i++)
		if (same_cidr(&s->v[i].cidr, c))
			return &s->v[i];
	return NULL;
}

unsigned int
rules_plens(const struct rule_set *s, bool v4, __u8 out[BW_MAX_PLENS])
{
	bool seen[129] = { false };
	unsigned int n = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct bw_cidr *c = &s->v[i].cidr;

		if (c->plen <= 128 && addr_is_v4(c->addr) == v4)
			seen[c->plen] = true;
	}
	for (int p = 128; p >= 0 && n < BW_MAX_PLENS; p--)
		if (seen[p])
			out[n++] = (__u8)p;
	return n;
}

int
rules_put(struct rule_set *s, const struct rule_entry *e)
{
	struct rule_entry *old = rules_find(s, &e->cidr);
	__u8 plens[BW_MAX_PLENS];
	unsigned int n;
	bool plen_used = false;

	if (old) {
		*old = *e;
		return 1;
	}
	if (s->n >= BW_RULES_MAX)
		return -ENOSPC;
	n = rules_plens(s, addr_is_v4(e->cidr.addr), plens);
	for (unsigned int i = 0; i < n; i++)
		plen_used |= plens[i] == e->cidr.plen;
	if (!plen_used && n >= BW_MAX_PLENS)
		return -E2BIG;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct rule_entry *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *e;
	return 0;
}

int
rules_del(struct rule_set *s, const struct bw_cidr *c)
{
	struct rule_entry *e = rules_find(s, c);

	if (!e)
		return -ENOENT;
	*e = s->v[--s->n];
	return 0;
}

const struct rule_entry *
rules_match(const struct rule_set *s, const __u8 addr[16], uint64_t now)
{
	const struct rule_entry *best = NULL;
	struct bw_cidr host;

	memcpy(host.addr, addr, 16);
	host.plen = 128;
	for (size_t i = 0; i < s->n; i++) {
		const struct rule_entry *e = &s->v[i];

		if (e->expires && e->expires <= now)
			continue;
		if (!addr_cidr_contains(&e->cidr, &host))
			continue;
		if (!best || e->cidr.plen > best->cidr.plen)
			best = e;
	}
	return best;
}

size_t
rules_expire(struct rule_set *s, uint64_t now, struct rule_entry *out, size_t max)
{
	size_t removed = 0;

	for (size_t i = 0; i < s->n;) {
		if (s->v[i].expires && s->v[i].expires <= now) {
			if (removed < max)
				out[removed] = s->v[i];
			removed++;
			s->v[i] = s->v[--s->n];
			continue;
		}
		i++;
	}
	return removed;
}

static const char *
action_name(uint32_t a)
{
	return a == BW_ACT_THROTTLE ? "throttle" : a == BW_ACT_BLOCK ? "block" : "-";
}

static int
write_set(FILE *f, const char *kind, const struct rule_set *s)
{
	char cidr[ADDR_CIDR_STRLEN];

	for (size_t i = 0; i < s->n; i++) {
		const struct rule_entry *e = &s->v[i];

		if (fprintf(f, "%s %s %" PRIu64 " %" PRIu64 " %s %s %u %s\n", kind,
			    addr_format_cidr(&e->cidr, cidr, sizeof(cidr)), e->added,
			    e->expires, action_name(e->action),
			    e->origin == BW_ORIGIN_SCORER ? "scorer" : "operator",
			    e->offences, e->text[0] ? e->text : "-") < 0)
			return -EIO;
	}
	return 0;
}

int
rules_save(const struct rules *r, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;
	int fd, ret = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, RULES_FILE) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, RULES_FILE) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return ret;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return ret;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		goto fail;
	}
	if (fputs("# bouncewall rules v1: kind cidr added expires action origin offences text\n", f) < 0 ||
	    write_set(f, "allow", &r->allow) < 0 || write_set(f, "block", &r->block) < 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) < 0)
		ret = -EIO;
	if (fclose(f) != 0 && ret == 0)
		ret = -EIO;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret == 0)
		return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	unlink(tmp);
	return ret;
}

/* Parse one state line; returns 0 and fills *e and *is_allow, or -EINVAL. */
static int
parse_line(char *line, struct rule_entry *e, bool *is_allow)
{
	char kind[8], cidr[ADDR_CIDR_STRLEN], action[12], origin[12], why[64];
	int consumed = 0;

	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%7s %63s %" SCNu64 " %" SCNu64 " %11s %11s %u %n", kind, cidr,
		   &e->added, &e->expires, action, origin, &e->offences, &consumed) < 7 ||
	    consumed == 0)
		return -EINVAL;
	if (strcmp(kind, "allow") == 0)
		*is_allow = true;
	else if (strcmp(kind, "block") == 0)
		*is_allow = false;
	else
		return -EINVAL;
	if (addr_parse_cidr(cidr, &e->cidr, why, sizeof(why)) < 0)
		return -EINVAL;
	if (strcmp(action, "block") == 0)
		e->action = BW_ACT_BLOCK;
	else if (strcmp(action, "throttle") == 0)
		e->action = BW_ACT_THROTTLE;
	else if (strcmp(action, "-") == 0 && *is_allow)
		e->action = 0;
	else
		return -EINVAL;
	if (strcmp(origin, "scorer") == 0)
		e->origin = BW_ORIGIN_SCORER;
	else if (strcmp(origin, "operator") == 0)
		e->origin = BW_ORIGIN_OPERATOR;
	else
		return -EINVAL;
	line += consumed;
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "-") != 0)
		snprintf(e->text, sizeof(e->text), "%s", line);
	return 0;
}

int
rules_load(struct rules *r, const char *dir, uint64_t now, unsigned int *bad,
	   char *err, size_t errlen)
{
	char path[PATH_MAX], line[512];
	unsigned int lineno = 0;
	FILE *f;
	int ret = 0;

	*bad = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, RULES_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (fgets(line, sizeof(line), f)) {
		struct rule_entry e;
		bool is_allow;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strchr(line, '\n') && !feof(f)) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			goto bad_line;
		}
		if (parse_line(line, &e, &is_allow) < 0)
			goto bad_line;
		if (e.expires && e.expires <= now)
			continue;
		ret = rules_put(is_allow ? &r->allow : &r->block, &e);
		if (ret == -ENOMEM)
			break;
		if (ret >= 0) {
			ret = 0;
			continue;
		}
		ret = 0;
bad_line:
		if (*bad == 0)
			snprintf(err, errlen, "%s:%u: malformed rule skipped", path, lineno);
		(*bad)++;
	}
	fclose(f);
	return ret;
}
