/* Process table: what the profiler knows of each profiled process (its
 * memory mappings, names, threads), kept current from perf records and
 * /proc. The unwinder and symbolizer read it; only the session writes it.
 * Owned by one thread: no locking. */
#ifndef DDPROF_PROC_PROC_H
#define DDPROF_PROC_PROC_H

#include <stdbool.h>
#include <stddef.h>
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

/* Returns the process name (comm of the thread-group leader, "" if
 * unknown). Owned by the table; valid until the process changes. */
const char *ddprof_proc_name(const struct ddprof_proc *p);

/* Returns thread tid's name: from COMM records, else read once from
 * /proc/PID/task/TID/comm, else the process name. Never NULL; valid until
 * the next call on p. */
const char *ddprof_proc_thread_name(struct ddprof_proc *p, pid_t tid);

/* Returns the mappings, sorted by start and non-overlapping, and their
 * count in *nr. Valid until the next change to that process. */
const struct ddprof_map *ddprof_proc_maps(const struct ddprof_proc *p,
					  size_t *nr);

/* A counter bumped on every change of p's mappings (and on exec): caches
 * derived from them can compare it to know they are stale. */
uint64_t ddprof_proc_maps_gen(const struct ddprof_proc *p);

/* An opaque slot for the session (e.g. per-process unwind state). The
 * table never touches it: free it from the on_proc_exit callback. */
void *ddprof_proc_user(const struct ddprof_proc *p);
void ddprof_proc_set_user(struct ddprof_proc *p, void *user);

/* Writes the path through which the profiler can open m's file:
 * "/proc/PID/root/<path>" (the process's own filesystem view, containers
 * included). Returns the length, or -DDPROF_ERR_NOT_FOUND for mappings of
 * no file, -DDPROF_ERR_TOO_BIG if it does not fit in len bytes. */
int ddprof_proc_map_path(const struct ddprof_proc *p,
			 const struct ddprof_map *m, char *buf, size_t len);

/* Opens m's file read-only (O_CLOEXEC) as the process sees it and checks
 * it is the mapped one (dev + inode): /proc/PID/root/<path>, then
 * /proc/PID/map_files/<start>-<end> (deleted or replaced files). Returns
 * an fd the caller closes, or -DDPROF_ERR_NOT_FOUND (no file, or not the
 * same one any more) or -errno. */
int ddprof_proc_open_map(const struct ddprof_proc *p,
			 const struct ddprof_map *m);

#endif
