/* uint64 -> uint64 hash map: linear probing keeps lookups in one cache
 * line; backward-shift deletion keeps probe chains short without tombstones. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "u64map.h"

void ddprof_u64map_init(struct ddprof_u64map *m)
{
	memset(m, 0, sizeof(*m));
}

void ddprof_u64map_fini(struct ddprof_u64map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	ddprof_u64map_init(m);
}

static size_t slot_of(const struct ddprof_u64map *m, uint64_t key)
{
	return ddprof_hash_u64(key) & (m->cap - 1);
}

static int grow(struct ddprof_u64map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	struct ddprof_u64map n = { 0 };

	n.keys = malloc(ncap * sizeof(*n.keys));
	n.vals = malloc(ncap * sizeof(*n.vals));
	n.used = calloc(ncap, 1);
	if (!n.keys || !n.vals || !n.used) {
		free(n.keys);
		free(n.vals);
		free(n.used);
		return -ENOMEM;
	}
	n.cap = ncap;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->used[i])
			continue;
		size_t s = slot_of(&n, m->keys[i]);
		while (n.used[s])
			s = (s + 1) & (ncap - 1);
		n.used[s] = 1;
		n.keys[s] = m->keys[i];
		n.vals[s] = m->vals[i];
	}
	n.count = m->count;
	ddprof_u64map_fini(m);
	*m = n;
	return 0;
}

int ddprof_u64map_put(struct ddprof_u64map *m, uint64_t key, uint64_t val)
{
	uint64_t *v = ddprof_u64map_get(m, key);
	size_t s;

	if (v) {
		*v = val;
		return 0;
	}
	/* keep the load factor at or below 3/4 */
	if ((m->count + 1) * 4 > m->cap * 3) {
		int err = grow(m);
		if (err)
			return err;
	}
	s = slot_of(m, key);
	while (m->used[s])
		s = (s + 1) & (m->cap - 1);
	m->used[s] = 1;
	m->keys[s] = key;
	m->vals[s] = val;
	m->count++;
	return 0;
}

uint64_t *ddprof_u64map_get(const struct ddprof_u64map *m, uint64_t key)
{
	size_t s;

	if (!m->cap)
		return NULL;
	s = slot_of(m, key);
	while (m->used[s]) {
		if (m->keys[s] == key)
			return &m->vals[s];
		s = (s + 1) & (m->cap - 1);
	}
	return NULL;
}

int ddprof_u64map_del(struct ddprof_u64map *m, uint64_t key)
{
	size_t s, next, mask = m->cap - 1;

	if (!m->cap)
		return 0;
	s = slot_of(m, key);
	while (m->used[s] && m->keys[s] != key)
		s = (s + 1) & mask;
	if (!m->used[s])
		return 0;
	/* shift later members of the probe chain back into the hole */
	next = (s + 1) & mask;
	while (m->used[next]) {
		size_t home = slot_of(m, m->keys[next]);
		/* move next into s unless its home lies cyclically in (s, next] */
		if (((next - home) & mask) >= ((next - s) & mask)) {
			m->keys[s] = m->keys[next];
			m->vals[s] = m->vals[next];
			s = next;
		}
		next = (next + 1) & mask;
	}
	m->used[s] = 0;
	m->count--;
	return 1;
}

void ddprof_u64map_clear(struct ddprof_u64map *m)
{
	if (m->cap)
		memset(m->used, 0, m->cap);
	m->count = 0;
}
