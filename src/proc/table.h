/* The writer's side of the process table: the sampler feeds it the perf
 * records of each pass in time order, then flushes it at the end of the
 * pass (processes that exited are freed only then, after their last
 * sample). Readers use proc/proc.h. */
#ifndef DDPROF_PROC_TABLE_H
#define DDPROF_PROC_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc/proc.h"

struct ddprof_proc_table_cb {
	void (*on_exec)(void *ctx, struct ddprof_proc *p);
	void (*on_exit)(void *ctx, struct ddprof_proc *p);
	void (*on_file_unused)(void *ctx, uint64_t dev, uint64_t ino);
	void *ctx;
};

/* Creates an empty table reading process facts under procfs ("/proc" when
 * NULL; tests point it at a fake tree). cb may be NULL. Returns 0 and
 * *out, or -ENOMEM / -DDPROF_ERR_TOO_BIG (procfs path too long). */
int ddprof_proc_table_new(struct ddprof_proc_table **out, const char *procfs,
			  const struct ddprof_proc_table_cb *cb);

/* Frees every process (on_exit is called for each) and the table;
 * accepts NULL. */
void ddprof_proc_table_free(struct ddprof_proc_table *t);

/* Returns pid's process, or NULL if the table does not know it. */
struct ddprof_proc *ddprof_proc_table_find(struct ddprof_proc_table *t,
					   pid_t pid);

/* Returns pid's process, creating it on first sight: mappings and name
 * are read from procfs (a process that no longer exists is created empty
 * and freed at the next flush). Returns 0 and *out, or -ENOMEM. */
int ddprof_proc_table_get(struct ddprof_proc_table *t, pid_t pid,
			  struct ddprof_proc **out);

/* A new mapping (MMAP2): replaces whatever overlapped it. m->path is
 * copied. Returns 0 or -ENOMEM. */
int ddprof_proc_table_mmap(struct ddprof_proc_table *t, pid_t pid,
			   const struct ddprof_map *m);

/* COMM: names thread tid (and the process when tid == pid). exec: the
 * process runs a new program; its mappings and threads are reset (the
 * new ones follow as MMAP2 records). Returns 0 or -ENOMEM. */
int ddprof_proc_table_comm(struct ddprof_proc_table *t, pid_t pid, pid_t tid,
			   const char *comm, bool exec);

/* FORK: pid != ppid is a new process starting as a copy of ppid's
 * mappings and name; otherwise tid is a new thread of pid. Returns 0 or
 * -ENOMEM. */
int ddprof_proc_table_fork(struct ddprof_proc_table *t, pid_t pid, pid_t ppid,
			   pid_t tid, pid_t ptid);

/* Reads every process procfs lists (whole-system mode starts with it, so
 * processes that exit before their samples are drained are known).
 * Returns 0, -ENOMEM, or -errno when procfs cannot be listed. */
int ddprof_proc_table_seed_all(struct ddprof_proc_table *t);

/* EXIT: a thread ends; when tid == pid the process is freed at the next
 * flush. */
void ddprof_proc_table_exit(struct ddprof_proc_table *t, pid_t pid, pid_t tid);

/* End of a pass: frees the processes that exited (on_exit first). */
void ddprof_proc_table_flush(struct ddprof_proc_table *t);

/* Marks processes that no longer exist in procfs as exited (a missed EXIT
 * record must not keep them forever). Returns how many were marked. */
unsigned ddprof_proc_table_gc(struct ddprof_proc_table *t);

/* Processes in the table, and processes freed so far. */
uint64_t ddprof_proc_table_live(const struct ddprof_proc_table *t);
uint64_t ddprof_proc_table_freed(const struct ddprof_proc_table *t);

/* Distinct files (dev, inode) mapped by live processes. */
uint64_t ddprof_proc_table_files(const struct ddprof_proc_table *t);

/* Reads procfs/PID/maps into p, replacing its mappings. Returns 0,
 * -ENOENT/-ESRCH when the process is gone, -ENOMEM, -DDPROF_ERR_TOO_BIG. */
int ddprof_proc_reload_maps(struct ddprof_proc *p);

#endif
