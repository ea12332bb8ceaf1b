/* Profile files of ddprof-perf: each one is written to FILE.tmp and renamed
 * over FILE once complete, so a reader never sees half a file and a failed
 * write leaves the previous file intact. Devices and FIFOs (/dev/stdout,
 * /dev/full) are written in place: they cannot be renamed over. */
#ifndef DDPROF_CLI_OUTPUT_H
#define DDPROF_CLI_OUTPUT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct ddprof_cli_file {
	int fd;                 /* -1 when closed */
	bool direct;            /* writing to path itself (not a regular file) */
	char path[PATH_MAX];    /* final name */
	char tmp[PATH_MAX + 8]; /* path + ".tmp" while writing a regular file */
};

/* Opens path for writing a new profile (its .tmp twin for regular files).
 * Returns 0, or -errno (f->fd stays -1). */
int ddprof_cli_file_open(struct ddprof_cli_file *f, const char *path);

/* Appends len bytes, retrying short writes and EINTR. Returns 0 or -errno
 * (e.g. -ENOSPC on a full disk). */
int ddprof_cli_file_write(struct ddprof_cli_file *f, const void *buf,
			  size_t len);

/* Flushes to disk, closes and renames the .tmp over path. On failure the
 * .tmp is removed and path is left as it was. Returns 0 or -errno. */
int ddprof_cli_file_commit(struct ddprof_cli_file *f);

/* Closes and removes the .tmp, if any. Safe on a closed file. */
void ddprof_cli_file_abort(struct ddprof_cli_file *f);

/* Writes buf[0..len) to path with open/write/commit; aborts on failure.
 * Returns 0 or -errno. */
int ddprof_cli_file_save(const char *path, const void *buf, size_t len);

/* Name of period seq's file for the output base: with seq 0, base itself;
 * otherwise a zero-padded sequence number goes before the extension
 * (out.pb.gz -> out.0003.pb.gz) or at the end when there is none
 * (out -> out.0003). Returns 0, or -ENAMETOOLONG if it does not fit. */
int ddprof_cli_output_name(char *buf, size_t len, const char *base,
			   unsigned seq);

/* True when path names something that is not a regular file (a device, a
 * FIFO): such outputs are written in place, not per period. */
bool ddprof_cli_output_is_special(const char *path);

#endif
