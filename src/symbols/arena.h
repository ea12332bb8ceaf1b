/* A bump allocator whose allocations never move (stable pointers until
 * reset), with string interning on top: the symbolizer hands out names
 * that stay valid while the cache that owns them lives. */
#ifndef DDPROF_SYMBOLS_ARENA_H
#define DDPROF_SYMBOLS_ARENA_H

#include <stddef.h>

#include "common/u64map.h"

struct ddprof_arena_block;

struct ddprof_arena {
	struct ddprof_arena_block *head;
	size_t used;                 /* bytes handed out, for bounds */
	struct ddprof_u64map strings; /* hash -> const char * */
};

/* Initializes an empty arena (allocates nothing). */
void ddprof_arena_init(struct ddprof_arena *a);

/* Frees every block; pointers handed out become invalid. Reusable. */
void ddprof_arena_reset(struct ddprof_arena *a);

/* Returns size bytes aligned for any type, or NULL on allocation failure. */
void *ddprof_arena_alloc(struct ddprof_arena *a, size_t size);

/* Returns a copy of the first len bytes of s (NUL-terminated), shared with
 * an equal string interned before; NULL on allocation failure. */
const char *ddprof_arena_strn(struct ddprof_arena *a, const char *s,
			      size_t len);

/* ddprof_arena_strn() of a NUL-terminated string ("" for NULL). */
const char *ddprof_arena_str(struct ddprof_arena *a, const char *s);

#endif
