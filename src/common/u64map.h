/* An open-addressing hash map from uint64_t keys to uint64_t values
 * (linear probing, backward-shift deletion, power-of-two capacity). Used
 * for pid tables and address caches where a pointer-free map is enough. */
#ifndef DDPROF_COMMON_U64MAP_H
#define DDPROF_COMMON_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct ddprof_u64map {
	uint64_t *keys;
	uint64_t *vals;
	uint8_t *used;
	size_t cap;   /* 0 or a power of two */
	size_t count;
};

/* Initializes an empty map; allocates nothing until the first put. */
void ddprof_u64map_init(struct ddprof_u64map *m);

/* Frees the map's memory; the map is empty and reusable afterwards. */
void ddprof_u64map_fini(struct ddprof_u64map *m);

/* Inserts or overwrites key -> val. Returns 0, or -ENOMEM (map unchanged). */
int ddprof_u64map_put(struct ddprof_u64map *m, uint64_t key, uint64_t val);

/* Returns a pointer to key's value (valid until the next put/del), or NULL. */
uint64_t *ddprof_u64map_get(const struct ddprof_u64map *m, uint64_t key);

/* Removes key. Returns 1 if it was present, 0 if not. */
int ddprof_u64map_del(struct ddprof_u64map *m, uint64_t key);

/* Removes everything, keeping the allocated capacity. */
void ddprof_u64map_clear(struct ddprof_u64map *m);

#endif
