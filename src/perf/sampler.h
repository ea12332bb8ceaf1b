/* The sampler: opens perf events in one of three modes (wrap a command,
 * attach to processes, whole system), reads their per-CPU ring buffers in
 * time order, keeps the process table current and hands every sample to
 * the session through callbacks. Single-threaded: one owner drives it. */
#ifndef DDPROF_PERF_SAMPLER_H
#define DDPROF_PERF_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf/sample.h"
#include "proc/proc.h"

enum ddprof_sampler_mode {
	DDPROF_SAMPLER_WRAP = 0, /* fork + exec argv, follow its descendants */
	DDPROF_SAMPLER_ATTACH,   /* existing pids, all threads, later ones too */
	DDPROF_SAMPLER_SYSTEM,   /* every process on the listed (or all) CPUs */
};

#define DDPROF_SAMPLER_DEFAULT_FREQ 99
#define DDPROF_SAMPLER_DEFAULT_STACK 32768
#define DDPROF_SAMPLER_MAX_STACK 65528

/* Called by ddprof_sampler_drain(), in time order across CPUs. Pointers are
 * valid only during the call. */
struct ddprof_sampler_callbacks {
	/* One sample. p is the sampled process (never NULL; its mappings are
	 * current as of s->time); the callback may call
	 * ddprof_proc_find_map(p, addr) and ddprof_proc_thread_name(p, tid). */
	void (*on_sample)(void *ctx, const struct ddprof_perf_sample *s,
			  struct ddprof_proc *p);
	/* The kernel dropped `count` samples on `cpu` (ring full). `period` is
	 * the best estimate of one sample's weight (the last period seen on
	 * that CPU, or the configured one): the lost weight is count*period. */
	void (*on_lost)(void *ctx, uint64_t count, uint64_t period,
			uint32_t cpu);
	/* p execs a new program: its mappings were just reset. Optional. */
	void (*on_proc_exec)(void *ctx, struct ddprof_proc *p);
	/* p exited (or vanished) and is about to be freed, after its last
	 * sample was delivered. Free what the session hangs on it. Optional. */
	void (*on_proc_exit)(void *ctx, struct ddprof_proc *p);
	/* No live process maps file (dev, ino) any more: caches keyed by it
	 * can be evicted. Optional. */
	void (*on_file_unused)(void *ctx, uint64_t dev, uint64_t ino);
};

struct ddprof_sampler_opts {
	enum ddprof_sampler_mode mode;
	/* "cpu-clock" (default when NULL), "task-clock", "page-faults",
	 * "context-switches", "cycles", "instructions". Hardware events fall
	 * back to cpu-clock with a warning where the PMU is missing. */
	const char *event;
	uint64_t freq;       /* samples/s when period == 0; 0 means 99 */
	uint64_t period;     /* events per sample (ns for the clocks); 0: freq */
	uint32_t stack_size; /* user stack bytes copied per sample: 0 means
	                        32768; at most 65528, a multiple of 8 */
	bool no_kernel;      /* never ask for kernel frames (they are dropped
	                        with a note anyway when not permitted) */
	unsigned ring_pages; /* data pages per CPU ring, a power of two; 0 picks
	                        one that holds a burst of 256 full samples
	                        (at least 16; 64 MiB over all CPUs) */
	char *const *argv;   /* WRAP: command and arguments, NULL-terminated */
	const pid_t *pids;   /* ATTACH: processes (every thread of each) */
	size_t nr_pids;
	const int *cpus;     /* SYSTEM: CPUs to watch; NULL means all online */
	size_t nr_cpus;
	struct ddprof_sampler_callbacks cb;
	void *ctx;           /* passed back to every callback */
};

struct ddprof_sampler_stats {
	uint64_t records;       /* records read from the rings */
	uint64_t samples;       /* delivered to on_sample */
	uint64_t lost;          /* samples the kernel dropped (sum of LOST) */
	uint64_t lost_records;  /* LOST records seen */
	uint64_t throttles, unthrottles;
	uint64_t bad_records;   /* truncated or malformed, skipped */
	uint64_t unknown_records; /* record types not understood, skipped */
	uint64_t mmaps, comms, execs, forks, exits;
	uint64_t procs_live;    /* processes in the table now */
	uint64_t procs_freed;   /* processes freed after exit */
	uint64_t drains;        /* ddprof_sampler_drain() passes */
	uint64_t wrapped;       /* records copied out because they wrapped */
	uint32_t nr_cpus;       /* rings */
	uint32_t nr_fds;        /* perf event fds */
	uint32_t ring_pages;    /* data pages per ring actually mapped */
	bool kernel_frames;     /* kernel samples/frames permitted */
	char event[32];         /* event actually opened (after fallback) */
};

struct ddprof_sampler;

/* Opens the events and maps the ring buffers; nothing is counted before
 * ddprof_sampler_start(). WRAP forks the command now, parked before exec.
 * Returns 0 and *out, or a negative code after logging the reason with
 * advice via pr_err:
 *   -EACCES/-EPERM     perf_event_open not permitted (perf_event_paranoid,
 *                      CAP_PERFMON or CAP_SYS_ADMIN)
 *   -EMFILE/-ENFILE    out of file descriptors (ulimit -n)
 *   -DDPROF_ERR_TOO_BIG ring mmap refused: locked memory (ulimit -l,
 *                      /proc/sys/kernel/perf_event_mlock_kb)
 *   -ESRCH             an ATTACH pid does not exist (or exited)
 *   -DDPROF_ERR_UNSUPPORTED event unknown or not supported here
 *   -DDPROF_ERR_INVALID bad options; -ENOMEM; other -errno.
 * On failure a forked command is killed and reaped. */
int ddprof_sampler_open(struct ddprof_sampler **out,
			const struct ddprof_sampler_opts *opts);

/* Enables counting. WRAP: releases the command to exec (counting starts
 * at its exec) and waits until exec succeeded; if it failed (e.g. command
 * not found) logs it, reaps the child and returns -errno of execvp
 * (-ENOENT, -EACCES, ...). Returns 0 or a negative code. */
int ddprof_sampler_start(struct ddprof_sampler *s);

/* Stops counting (the rings keep what they hold; drain them after). */
int ddprof_sampler_stop(struct ddprof_sampler *s);

/* One fd (an epoll fd) that polls readable when a ring passed its wakeup
 * mark or an event's task exited. Add it to the session's epoll with
 * EPOLLIN and call ddprof_sampler_drain() when it fires (and on a timer,
 * so quiet rings are drained too). Owned by s. */
int ddprof_sampler_fd(const struct ddprof_sampler *s);

/* Reads every record present in every ring, merged in time order, updates
 * the process table and runs the callbacks; processes that exited are
 * freed at the end of the pass (after on_proc_exit). Returns the number of
 * records read (>= 0) or a negative code on a fatal error (-ENOMEM; the
 * pass still completes). Callbacks must not call back into the sampler. */
int ddprof_sampler_drain(struct ddprof_sampler *s);

/* WRAP: the command's pid (0 in other modes, or once it has been reaped by
 * ddprof_sampler_start after a failed exec). The caller reaps it (SIGCHLD)
 * and should forward SIGINT/SIGTERM with ddprof_sampler_kill_child(). */
pid_t ddprof_sampler_child(const struct ddprof_sampler *s);

/* Sends sig to the wrapped command. Returns 0, -ESRCH without a child,
 * or -errno. Call ddprof_sampler_child_reaped() once it was waited for,
 * so no signal can reach a recycled pid. */
int ddprof_sampler_kill_child(struct ddprof_sampler *s, int sig);
void ddprof_sampler_child_reaped(struct ddprof_sampler *s);

/* Exit code for a wait status: the exit code, or 128 + the signal. */
int ddprof_wait_status_code(int wstatus);

/* Copies the running counters into *st. */
void ddprof_sampler_stats(const struct ddprof_sampler *s,
			  struct ddprof_sampler_stats *st);

/* The process table the sampler maintains (owned by s). */
struct ddprof_proc_table *ddprof_sampler_procs(struct ddprof_sampler *s);

/* Closes the events and frees everything; accepts NULL. A wrapped command
 * that was never released to exec is killed and reaped; a running one is
 * left to the caller (kill it first if the session is aborting). */
void ddprof_sampler_close(struct ddprof_sampler *s);

/* Parses a CPU list ("0-3,7") into a sorted, de-duplicated array
 * (malloc'd, caller frees). Returns 0, -DDPROF_ERR_INVALID or -ENOMEM. */
int ddprof_cpu_list_parse(const char *text, int **cpus, size_t *nr);

#endif
