/* Frames to pprof locations for ddprof-perf: names each unwound frame with
 * the symbolizer once per period and caches the interned location by a key
 * that is stable across processes for file-backed code (file identity and
 * file offset), so one libc frame is symbolized once, not once per pid. */
#ifndef DDPROF_CLI_FRAMES_H
#define DDPROF_CLI_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli/agg.h"
#include "symbols/symbolizer.h"
#include "unwind/unwind.h"

/* The cache key of frame f of process pid (maps_gen: the process's
 * mappings generation, which keys anonymous and unmapped code, e.g. JIT).
 * 64-bit hash: distinct frames collide with odds ~n^2/2^65 per period. */
uint64_t ddprof_cli_frame_key(const struct ddprof_frame *f, pid_t pid,
			      uint64_t maps_gen);

/* Converts res's frames into location ids locs[0..res->nr) of a's
 * current profile, leaf first. no_inline keeps only the outermost
 * function of an inline chain. *looked_up is set when the symbolizer was
 * called (the caller trims its caches then). Returns 0 or a negative code
 * of the store. */
int ddprof_cli_frames_convert(struct ddprof_cli_agg *a,
			      struct ddprof_symbolizer *sym, pid_t pid,
			      uint64_t maps_gen,
			      const struct ddprof_unwind_result *res,
			      bool no_inline, uint64_t *locs,
			      bool *looked_up);

#endif
