/* Continuing a user stack with the kernel's frame-pointer callchain where
 * the DWARF walk stopped early, when both agree on the frames so far. */
#ifndef DDPROF_UNWIND_UNWIND_FP_H
#define DDPROF_UNWIND_UNWIND_FP_H

#include <stdint.h>

#include "unwind/unwind.h"

/* res holds user frames from index first_user (leaf) on; chain[0..n) is the
 * user part of the callchain (chain[0] = sampled ip) of a callchain of
 * total entries, cut by the kernel at max_stack. If the chain repeats the
 * last unwound frames, appends the chain's frames beyond them (while they
 * lie in executable mappings) and sets res->nr_fp; sets res->complete
 * when the chain ended before the kernel's limit with every frame mapped.
 * Returns the number of frames appended. */
unsigned ddprof_unwind_fp_continue(struct ddprof_unwind_result *res,
				   unsigned first_user, const uint64_t *chain,
				   uint64_t n, uint64_t total, uint64_t max_stack,
				   ddprof_find_map_fn find_map, void *arg);

/* The kernel's callchain depth limit (perf_event_max_stack, 127 when it
 * cannot be read). */
uint64_t ddprof_unwind_fp_max_stack(void);

#endif
