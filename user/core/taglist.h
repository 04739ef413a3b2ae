/*
 * taglist.h - the tag=value lists of DKIM key records and DMARC records
 * (RFC 6376 §3.2, which RFC 7489 reuses): "v=DMARC1; p=reject; rua=...".
 * Pure.
 */
#ifndef BW_TAGLIST_H
#define BW_TAGLIST_H

#include <stdbool.h>
#include <stddef.h>

struct tag {
	const char *name;
	size_t nlen;
	const char *value;	/* trimmed; may be empty */
	size_t vlen;
};

/*
 * The next tag of the list at *pos (up to end), advancing *pos.  Returns
 * 1 with *t filled, 0 at the end of the list, -EINVAL when the list is
 * malformed there (t->name/nlen then point at the bad part).  Whitespace
 * (folded or not) around names, '=' and values is skipped; an empty
 * tag-spec (";;", a trailing ";") is skipped too.
 */
int taglist_next(const char **pos, const char *end, struct tag *t);

/* Does the tag's name equal name?  DKIM's names are case-sensitive; DMARC's
 * grammar spells them as ABNF strings, which ignore case. */
bool tag_is(const struct tag *t, const char *name);
bool tag_is_ci(const struct tag *t, const char *name);

/* Does the tag's value equal v, ignoring case? */
bool tag_value_is(const struct tag *t, const char *v);

#endif
