/* A cache of per-file objects keyed by (dev, inode), least recently used
 * first out. The unwinder keeps its unwind tables in one, the symbolizer
 * its debug information in another. */
#ifndef DDPROF_UNWIND_FILE_CACHE_H
#define DDPROF_UNWIND_FILE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/u64map.h"

struct ddprof_file_cache_slot {
	uint64_t dev, ino;
	uint64_t last_use;
	void *val;
};

struct ddprof_file_cache {
	struct ddprof_file_cache_slot *slots;
	size_t count, cap;
	struct ddprof_u64map index;   /* hash(dev, ino) -> slot */
	uint64_t clock;
	void (*free_val)(void *val);  /* called on eviction and fini */
};

/* Initializes an empty cache whose values are released with free_val. */
void ddprof_file_cache_init(struct ddprof_file_cache *c,
			    void (*free_val)(void *val));

/* Frees every value and the cache's memory. */
void ddprof_file_cache_fini(struct ddprof_file_cache *c);

/* Returns the value of (dev, ino) and marks it recently used, or NULL. */
void *ddprof_file_cache_get(struct ddprof_file_cache *c, uint64_t dev,
			    uint64_t ino);

/* Returns 1 if (dev, ino) is cached (even with a NULL value), else 0. */
int ddprof_file_cache_get_present(struct ddprof_file_cache *c, uint64_t dev,
				  uint64_t ino);

/* Adds (dev, ino) -> val (val may be NULL to remember a failure). Never
 * evicts other entries except one whose key hash collides. Returns 0 or
 * -ENOMEM (val not taken). */
int ddprof_file_cache_put(struct ddprof_file_cache *c, uint64_t dev,
			  uint64_t ino, void *val);

/* Removes and frees (dev, ino). Returns 1 if present. */
int ddprof_file_cache_del(struct ddprof_file_cache *c, uint64_t dev,
			  uint64_t ino);

/* Evicts the least recently used entries until at most max remain.
 * Returns how many were evicted. */
size_t ddprof_file_cache_trim(struct ddprof_file_cache *c, size_t max);

#endif
