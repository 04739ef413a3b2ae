/*
 * files.h - reading and writing the agent's own files safely.
 *
 * A config file or state file is untrusted: it may be a FIFO that never
 * delivers, /dev/zero that never ends, a directory, or gigabytes of junk.
 * files_read() opens without blocking, takes only a regular file, and
 * stops at a size the caller names.  files_write_atomic() writes a
 * temporary file, fsyncs it, renames it over the old one and fsyncs the
 * directory, so a crash leaves the old or the new file, never half.
 * Both return 0 or -errno (EINVAL: not a regular file, EFBIG: too large).
 */
#ifndef BW_FILES_H
#define BW_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* Read all of `path` (at most `max` bytes) into a malloc'd, NUL-terminated
 * buffer.  The caller frees *buf. */
int files_read(const char *path, size_t max, char **buf, size_t *len);

/* Replace dir/name with data, mode `mode`, atomically.  The directory is
 * created (0700) when missing. */
int files_write_atomic(const char *dir, const char *name, const void *data,
		       size_t len, mode_t mode);

/* Hold dir/name (created 0600; dir created 0700) under an exclusive
 * flock for as long as the returned fd stays open: one process a
 * directory.  Returns the fd, -EBUSY when another process holds it, or
 * -errno. */
int files_lock(const char *dir, const char *name);

/* One line for an error of files_read/files_write_atomic. */
const char *files_strerror(int err);

#endif
