/* Process table: what the profiler knows of each profiled process (its
 * memory mappings, names, threads), kept current from perf records and
 * /proc. The unwinder and symbolizer read it; only the session writes it.
 * Owned by one thread: no locking. */
#ifndef DDPROF_PROC_PROC_H
#define DDPROF_PROC_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One memory mapping of a process ([start, end), file offset pgoff). */
struct ddprof_map {
	uint64_t start, end, pgoff;
	uint32_t prot;        /* PROT_READ | PROT_WRITE | PROT_EXEC */
	uint32_t flags;       /* MAP_SHARED / MAP_PRIVATE as from MMAP2 */
	uint64_t dev;         /* makedev(maj, min), 0 for anonymous */
	uint64_t ino;
	const char *path;     /* as the process sees it ("", "[vdso]", "//anon",
	                         "/usr/lib/..."); owned by the table */
};

struct ddprof_proc;        /* one process */
struct ddprof_proc_table;  /* all of them */

/* Looks up the mapping containing addr in pid's address space, or NULL.
 * The pointer is valid until the next change to that process. */
const struct ddprof_map *ddprof_proc_find_map(const struct ddprof_proc *p,
					      uint64_t addr);

/* Returns the process pid (0 if unknown to the table). */
pid_t ddprof_proc_pid(const struct ddprof_proc *p);

#endif
