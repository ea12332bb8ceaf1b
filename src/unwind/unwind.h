/* User-stack unwinder: turns one perf sample (registers, stack copy, kernel
 * callchain) into a list of frames, leaf first. CFI comes from the ELF
 * files (.eh_frame, .debug_frame), cached per file and per pc; simple rules
 * are applied directly, the rest by libunwind over a remote address space
 * whose accessors read the copied stack and the ELF files. */
#ifndef DDPROF_UNWIND_UNWIND_H
#define DDPROF_UNWIND_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf/sample.h"
#include "proc/proc.h"

/* Most frames (kernel + user) kept per sample; deeper stacks end with a
 * DDPROF_FRAME_TRUNCATED marker. */
#define DDPROF_UNWIND_MAX_DEPTH 512

/* Returns the mapping of the sampled process that contains addr, or NULL.
 * The pointer must stay valid until the unwind result has been consumed.
 * The CLI passes a wrapper around ddprof_proc_find_map(). */
typedef const struct ddprof_map *(*ddprof_find_map_fn)(void *arg,
						      uint64_t addr);

enum ddprof_frame_kind {
	DDPROF_FRAME_USER = 0,   /* pc inside map */
	DDPROF_FRAME_KERNEL,     /* kernel pc from the callchain; map NULL */
	DDPROF_FRAME_UNMAPPED,   /* user pc in no known mapping; map NULL */
	DDPROF_FRAME_TRUNCATED,  /* marker, last frame: depth cap reached */
	DDPROF_FRAME_INCOMPLETE, /* marker, last frame: the walk stopped before
				    the root (stack copy exhausted, no CFI,
				    bad unwind data) */
};

struct ddprof_frame {
	uint64_t pc;                  /* sampled ip or return address */
	const struct ddprof_map *map; /* USER frames only, else NULL */
	uint8_t kind;                 /* enum ddprof_frame_kind */
	bool call_site;  /* pc is a return address: symbolize at pc - 1 */
	bool from_fp;    /* taken from the kernel's frame-pointer chain */
};

/* Why a user walk ended (result.stop). */
enum ddprof_unwind_stop {
	DDPROF_UNWIND_STOP_ROOT = 0,    /* reached _start / thread start */
	DDPROF_UNWIND_STOP_DEPTH,       /* depth cap */
	DDPROF_UNWIND_STOP_STACK,       /* read past the end of the stack copy */
	DDPROF_UNWIND_STOP_NO_CFI,      /* pc without unwind information */
	DDPROF_UNWIND_STOP_UNMAPPED,    /* pc in no known mapping */
	DDPROF_UNWIND_STOP_ERROR,       /* bad unwind data or registers */
	DDPROF_UNWIND_STOP_NO_USER,     /* sample carries no user registers */
};

struct ddprof_unwind_result {
	unsigned nr;         /* frames used in frames[] */
	unsigned nr_kernel;  /* leading KERNEL frames */
	unsigned nr_fp;      /* user frames taken from the kernel FP chain */
	uint8_t stop;        /* enum ddprof_unwind_stop of the DWARF walk */
	bool complete;       /* the stack reaches its root (after any FP
				continuation) */
	bool truncated;      /* depth cap hit: last frame is TRUNCATED */
	bool incomplete;     /* last frame is INCOMPLETE */
	struct ddprof_frame frames[DDPROF_UNWIND_MAX_DEPTH + 1];
};

/* Running counters since ddprof_unwind_new(). */
struct ddprof_unwind_stats {
	uint64_t samples;
	uint64_t complete;       /* result.complete */
	uint64_t truncated;      /* depth cap hit */
	uint64_t stack_exhausted;/* DWARF walk ran out of stack copy */
	uint64_t no_cfi;         /* DWARF walk found a pc without CFI */
	uint64_t unmapped;       /* a pc in no known mapping */
	uint64_t errors;         /* other unwind failures */
	uint64_t fp_used;        /* samples continued with the FP chain */
	uint64_t fp_frames;      /* frames those continuations added */
	uint64_t fp_completed;   /* of those, samples the FP chain completed */
	uint64_t tables_loaded;  /* ELF unwind tables parsed (cache misses) */
	uint64_t tables_failed;  /* ELF files skipped (corrupt, unreadable) */
};

struct ddprof_unwind;

/* Creates an unwinder with empty caches. Returns 0 and *out, or -ENOMEM /
 * -DDPROF_ERR_UNSUPPORTED (libunwind refused the address space). */
int ddprof_unwind_new(struct ddprof_unwind **out);

/* Frees the unwinder and its caches; accepts NULL. */
void ddprof_unwind_free(struct ddprof_unwind *u);

/* Unwinds sample s of process s->pid into *res (overwritten): kernel
 * frames of the callchain first, then user frames leaf first, then at most
 * one marker frame. find_map(arg, addr) resolves the process's mappings.
 * Returns 0 whenever *res holds a usable stack (possibly just the leaf and
 * a marker), or a negative error (-DDPROF_ERR_INVALID: bad arguments).
 * Not thread-safe: one unwinder per thread. */
int ddprof_unwind_sample(struct ddprof_unwind *u, const struct ddprof_perf_sample *s,
			 ddprof_find_map_fn find_map, void *arg,
			 struct ddprof_unwind_result *res);

/* Forgets what was cached about pid's code addresses (libunwind's
 * per-address-space caches). Call when a process execs, exits, or unmaps
 * code (so a new library at the same address is not unwound with old
 * rules). Cheap. */
void ddprof_unwind_forget_pid(struct ddprof_unwind *u, pid_t pid);

/* Drops the cached unwind tables of the ELF file (dev, ino) once no live
 * process maps it any more. No-op if not cached. */
void ddprof_unwind_evict_file(struct ddprof_unwind *u, uint64_t dev,
			      uint64_t ino);

/* Returns the counters (owned by u, updated by every unwind). */
const struct ddprof_unwind_stats *ddprof_unwind_stats(const struct ddprof_unwind *u);

#endif
