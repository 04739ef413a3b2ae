/*
 * dmarc.h - DMARC policy records (RFC 7489): the parser and the grade of
 * a domain's _dmarc TXT answer.  Pure.
 */
#ifndef BW_DMARC_H
#define BW_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "posture.h"

enum dmarc_policy {
	DMARC_ABSENT = -1,
	DMARC_INVALID = -2,
	DMARC_NONE = 0,
	DMARC_QUARANTINE,
	DMARC_REJECT,
};

struct dmarc_record {
	int p;			/* enum dmarc_policy */
	int sp;			/* enum dmarc_policy */
	int pct;		/* 0..100, or DMARC_ABSENT / DMARC_INVALID */
	bool rua;		/* rua= given */
	bool rua_mailto;	/* ... with a mailto: URI receivers must support */
	bool align_bad;		/* adkim= or aspf= is neither r nor s */
};

/* True when txt starts with the tag v=DMARC1 (RFC 7489 §6.6.3: anything
 * else at _dmarc is not a DMARC record). */
bool dmarc_is_record(const char *txt, size_t len);

/*
 * Parse a DMARC record.  0, or -EINVAL with a one-line reason in err: the
 * tag list is malformed, v=DMARC1 is not first, or a tag is repeated.
 * Bad values of single tags are not errors: they show in *r for the grade.
 */
int dmarc_parse(const char *txt, size_t len, struct dmarc_record *r, char *err,
		size_t errlen);

/* "none", "quarantine", "reject", or "?" */
const char *dmarc_policy_name(int p);

/* Grade the TXT answer for _dmarc.domain into out (finished). */
void dmarc_grade(const char *domain, const struct posture_answer *a, struct posture_check *out);

#endif
