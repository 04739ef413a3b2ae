/*
 * conf_file.h - read the config file onto the settings.
 */
#ifndef BW_CONF_FILE_H
#define BW_CONF_FILE_H

#include <stddef.h>

#include "settings.h"

/* A config file larger than this is refused: it is not a config file. */
#define CONF_FILE_MAX	(1u << 20)

/*
 * Read `path` on top of *s, all or nothing (conf_parse.h).  On error *s is
 * unchanged and err holds "PATH:LINE: message", "PATH: message" (a
 * cross-key rule) or "PATH: why it cannot be read".  Returns 0, -EINVAL for
 * a bad file, or -errno when it cannot be read (-ENOENT when missing,
 * -EISDIR, -EINVAL also for a FIFO or device, -EFBIG).
 */
int settings_load_file(struct bw_settings *s, const char *path, char *err,
		       size_t errlen);

#endif
