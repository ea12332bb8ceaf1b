/* Test helpers for offline unwinding: capture this thread's registers and
 * a copy of its stack as a perf sample would carry them, and serve
 * mappings from /proc/PID/maps. */
#ifndef DDPROF_TESTS_UW_CAPTURE_H
#define DDPROF_TESTS_UW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "perf/sample.h"
#include "proc/proc.h"

#define UW_CAPTURE_STACK 32768

struct uw_capture {
	uint64_t regs[DDPROF_PERF_REG_COUNT];
	size_t len;
	uint8_t stack[UW_CAPTURE_STACK];
};

/* Records the caller's registers as they are at the return address of
 * this call (ip = that address, sp = the caller's sp), then copies up to
 * max bytes (<= UW_CAPTURE_STACK) of stack from sp, stopping at the end
 * of the stack mapping. */
void uw_capture_here(struct uw_capture *c, size_t max);

/* Fills s from c, as a sample of pid/tid (the stack stays in c). */
void uw_capture_to_sample(const struct uw_capture *c,
			  struct ddprof_perf_sample *s);

struct uw_maps {
	struct ddprof_map *m;
	size_t n;
};

/* Reads /proc/PID/maps (pid 0: self). Returns 0 or -errno. */
int uw_maps_load(struct uw_maps *maps, pid_t pid);

void uw_maps_free(struct uw_maps *maps);

/* ddprof_find_map_fn over a struct uw_maps. */
const struct ddprof_map *uw_maps_find(void *arg, uint64_t addr);

#endif
