/*
 * conf_parse.h - the config file's text: `key = value` lines.
 *
 * The format, pinned down here:
 *  - leading and trailing whitespace is ignored, also on indented lines
 *    (never a continuation of the previous value); a UTF-8 byte order mark
 *    before the first line is skipped; CRLF line ends are fine;
 *  - a line starting with '#' or ';' is a comment, and so is the rest of a
 *    line from a '#' or ';' that follows a space or tab ("syn_rate = 5 # x"
 *    is 5); elsewhere they are part of the value ("batv_secret = a#b");
 *  - the separator is the first '='; "key: value" and "[section]" lines
 *    are errors, and so is a line without '=';
 *  - a line may hold at most CONF_LINE_MAX characters (a long
 *    protected_domains or batv_secret list fits); a longer one is an
 *    error, never cut; a NUL byte is an error;
 *  - a key given twice is an error naming both lines: two values for one
 *    key are a mistake, not an override (command-line flags override).
 *
 * Pure: the caller reads the file (io/conf_file.c).
 */
#ifndef BW_CONF_PARSE_H
#define BW_CONF_PARSE_H

#include <stddef.h>

#include "settings.h"

#define CONF_LINE_MAX	4096

/*
 * Parse `len` bytes of `text` on top of *s.  All or nothing: on any error
 * *s is unchanged, *err_line is the first bad line (0 when the lines are
 * fine but settings_validate() is not) and err holds the message without
 * the file name.  Returns 0 or -EINVAL.
 */
int conf_parse(struct bw_settings *s, const char *text, size_t len,
	       unsigned int *err_line, char *err, size_t errlen);

#endif
