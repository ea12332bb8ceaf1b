/* Test and benchmark fixture: a set of synthetic, realistic call stacks
 * (C++-like names, source files, two mappings with build ids) laid out as
 * ddprof_location arrays ready for ddprof_profile_add(). Stack k differs
 * from every other stack by its leaf function. As in a profiler whose
 * symbolizer caches symbols, each distinct function's strings exist once
 * and every frame of that function points at them. */
#ifndef DDPROF_TESTS_PROFILE_FIXTURE_H
#define DDPROF_TESTS_PROFILE_FIXTURE_H

#include <stddef.h>

#include "ddprof/profile.h"

struct fx_stacks {
	size_t n, depth;
	struct ddprof_location *locs; /* n * depth, stack k at k * depth */
	size_t nfuncs;
	struct ddprof_line *lines;    /* one per distinct function */
	char (*names)[64];            /* per distinct function */
	char (*files)[48];            /* per source file (the first 23) */
};

/* Builds n stacks of depth frames. Returns 0 or -1 (out of memory). */
int fx_stacks_new(struct fx_stacks *s, size_t n, size_t depth);
void fx_stacks_free(struct fx_stacks *s);

static inline const struct ddprof_location *fx_stack(const struct fx_stacks *s,
						     size_t k)
{
	return &s->locs[(k % s->n) * s->depth];
}

/* Name of the function of frame i of stack k (as built). */
const char *fx_function(const struct fx_stacks *s, size_t k, size_t i);

#endif
