/*
 * rules_text.h - the state file's text: one rule a line (io/rules_state.c
 * reads and writes the file).
 *
 *   # bouncewall rules v1: kind cidr added expires action origin offences text
 *   allow CIDR ADDED 0 - operator 0 TEXT
 *   block CIDR ADDED EXPIRES block|throttle operator|scorer|crowdsec OFFENCES TEXT
 *
 * TEXT is the rest of the line ("-" when empty).  Pure.
 */
#ifndef BW_RULES_TEXT_H
#define BW_RULES_TEXT_H

#include <stdbool.h>
#include <stdio.h>

#include "rules.h"

#define RULES_TEXT_HEADER	"# bouncewall rules v1: kind cidr added expires action origin offences text"
/* Longer lines were never written by us: refused, not cut. */
#define RULES_LINE_MAX		512

/* The header, then every rule of r.  0 or -EIO. */
int rules_format(FILE *f, const struct rules *r);

/* One line without its '\n'.  0 with *e and *is_allow set, 1 for a blank
 * or comment line, -EINVAL for anything else. */
int rules_parse_line(const char *line, size_t len, struct rule_entry *e, bool *is_allow);

#endif
