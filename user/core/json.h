/*
 * json.h - the little JSON the CLI prints: strings escaped per RFC 8259.
 */
#ifndef BW_JSON_H
#define BW_JSON_H

#include <stdio.h>

/* Write s as a JSON string literal, quotes included. */
void json_str(FILE *f, const char *s);

#endif
