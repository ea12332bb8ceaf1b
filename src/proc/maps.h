/* Parser of /proc/PID/maps lines: a pure function over text, so it is
 * tested without a live process. */
#ifndef DDPROF_PROC_MAPS_H
#define DDPROF_PROC_MAPS_H

#include <stddef.h>

#include "proc/proc.h"

/* Parses one line (len bytes, no trailing newline needed) of the form
 * "start-end perms offset maj:min inode [path]" into *m; m->path is left
 * NULL and the path is returned as *path / *path_len (pointing into line,
 * "" for anonymous mappings; " (deleted)" suffixes are kept). Returns 0
 * or -DDPROF_ERR_FORMAT. */
int ddprof_maps_parse_line(const char *line, size_t len, struct ddprof_map *m,
			   const char **path, size_t *path_len);

#endif
