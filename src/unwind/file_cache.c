/* (dev, inode) keyed cache with least-recently-used eviction. Eviction
 * scans the slots: it runs only when a bound is exceeded, rarely. */
#include <errno.h>
#include <stdlib.h>

#include "common/hash.h"
#include "unwind/file_cache.h"

static uint64_t key_of(uint64_t dev, uint64_t ino)
{
	return ddprof_hash_combine(ddprof_hash_u64(dev), ino);
}

void ddprof_file_cache_init(struct ddprof_file_cache *c,
			    void (*free_val)(void *val))
{
	*c = (struct ddprof_file_cache){ .free_val = free_val };
	ddprof_u64map_init(&c->index);
}

void ddprof_file_cache_fini(struct ddprof_file_cache *c)
{
	for (size_t i = 0; i < c->count; i++)
		if (c->slots[i].val && c->free_val)
			c->free_val(c->slots[i].val);
	free(c->slots);
	ddprof_u64map_fini(&c->index);
	c->slots = NULL;
	c->count = c->cap = 0;
}

static struct ddprof_file_cache_slot *find(struct ddprof_file_cache *c,
					   uint64_t dev, uint64_t ino)
{
	uint64_t *idx = ddprof_u64map_get(&c->index, key_of(dev, ino));
	struct ddprof_file_cache_slot *s;

	if (!idx)
		return NULL;
	s = &c->slots[*idx];
	return s->dev == dev && s->ino == ino ? s : NULL;
}

void *ddprof_file_cache_get(struct ddprof_file_cache *c, uint64_t dev,
			    uint64_t ino)
{
	struct ddprof_file_cache_slot *s = find(c, dev, ino);

	if (!s)
		return NULL;
	s->last_use = ++c->clock;
	return s->val;
}

int ddprof_file_cache_get_present(struct ddprof_file_cache *c, uint64_t dev,
				  uint64_t ino)
{
	return find(c, dev, ino) != NULL;
}

/* Removes slot i, moving the last slot into its place. */
static void remove_slot(struct ddprof_file_cache *c, size_t i)
{
	struct ddprof_file_cache_slot *s = &c->slots[i];

	ddprof_u64map_del(&c->index, key_of(s->dev, s->ino));
	if (s->val && c->free_val)
		c->free_val(s->val);
	if (i != --c->count) {
		*s = c->slots[c->count];
		/* cannot fail: overwrites an existing key */
		ddprof_u64map_put(&c->index, key_of(s->dev, s->ino), i);
	}
}

int ddprof_file_cache_put(struct ddprof_file_cache *c, uint64_t dev,
			  uint64_t ino, void *val)
{
	uint64_t key = key_of(dev, ino), *idx = ddprof_u64map_get(&c->index, key);

	if (idx)
		remove_slot(c, *idx);
	if (c->count == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		void *p = realloc(c->slots, cap * sizeof(*c->slots));

		if (!p)
			return -ENOMEM;
		c->slots = p;
		c->cap = cap;
	}
	if (ddprof_u64map_put(&c->index, key, c->count))
		return -ENOMEM;
	c->slots[c->count++] = (struct ddprof_file_cache_slot){
		.dev = dev, .ino = ino, .last_use = ++c->clock, .val = val
	};
	return 0;
}

int ddprof_file_cache_del(struct ddprof_file_cache *c, uint64_t dev,
			  uint64_t ino)
{
	struct ddprof_file_cache_slot *s = find(c, dev, ino);

	if (!s)
		return 0;
	remove_slot(c, s - c->slots);
	return 1;
}

size_t ddprof_file_cache_trim(struct ddprof_file_cache *c, size_t max)
{
	size_t n = 0;

	while (c->count > max) {
		size_t old = 0;

		for (size_t i = 1; i < c->count; i++)
			if (c->slots[i].last_use < c->slots[old].last_use)
				old = i;
		remove_slot(c, old);
		n++;
	}
	return n;
}
