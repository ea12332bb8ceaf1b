/* JIT symbols from /tmp/perf-PID.map, the text file JITs write (one
 * "START SIZE name" line per code blob), read in the process's own mount
 * namespace and only when it belongs to the process's owner. */
#ifndef DDPROF_SYMBOLS_PERFMAP_H
#define DDPROF_SYMBOLS_PERFMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "symbols/arena.h"

struct ddprof_perfmap_entry {
	uint64_t start, size;
	const char *name; /* in the map's arena */
};

struct ddprof_perfmap {
	pid_t pid;
	struct ddprof_perfmap_entry *e;
	size_t n;
	struct ddprof_arena arena;
	struct timespec mtime;    /* of the file last read, to skip rereads */
	off_t size;
	bool loaded;
};

/* (Re)reads pid's perf map into m (zeroed or finished before the first
 * call) unless the file is unchanged since the last read. The file is
 * /proc/PID/root/tmp/perf-NSPID.map (NSPID: pid inside its namespace).
 * Returns 0; -ENOENT when absent; -ELOOP when it is a symlink, -EPERM when
 * it is not a regular file owned by the process's uid (both refused);
 * -ENOMEM. On error m keeps what it had. */
int ddprof_perfmap_load(struct ddprof_perfmap *m, pid_t pid);

/* Frees what m holds. */
void ddprof_perfmap_fini(struct ddprof_perfmap *m);

/* Returns the entry containing pc, or NULL. */
const struct ddprof_perfmap_entry *ddprof_perfmap_find(const struct ddprof_perfmap *m,
						       uint64_t pc);

#endif
