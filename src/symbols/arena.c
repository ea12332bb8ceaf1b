/* Block-chained bump allocator and string interning. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "symbols/arena.h"

#define ARENA_BLOCK (64 * 1024)

struct ddprof_arena_block {
	struct ddprof_arena_block *next;
	size_t size, pos;
	_Alignas(16) unsigned char data[];
};

void ddprof_arena_init(struct ddprof_arena *a)
{
	a->head = NULL;
	a->used = 0;
	ddprof_u64map_init(&a->strings);
}

void ddprof_arena_reset(struct ddprof_arena *a)
{
	while (a->head) {
		struct ddprof_arena_block *b = a->head;

		a->head = b->next;
		free(b);
	}
	a->used = 0;
	ddprof_u64map_fini(&a->strings);
}

void *ddprof_arena_alloc(struct ddprof_arena *a, size_t size)
{
	struct ddprof_arena_block *b = a->head;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (!b || b->size - b->pos < size) {
		size_t bs = size > ARENA_BLOCK ? size : ARENA_BLOCK;

		b = malloc(sizeof(*b) + bs);
		if (!b)
			return NULL;
		b->size = bs;
		b->pos = 0;
		b->next = a->head;
		a->head = b;
	}
	p = b->data + b->pos;
	b->pos += size;
	a->used += size;
	return p;
}

const char *ddprof_arena_strn(struct ddprof_arena *a, const char *s,
			      size_t len)
{
	uint64_t h = ddprof_hash_bytes(s, len);
	uint64_t *v = ddprof_u64map_get(&a->strings, h);
	char *p;

	if (v) {
		const char *old = (const char *)(uintptr_t)*v;

		if (!strncmp(old, s, len) && !old[len])
			return old;
	}
	p = ddprof_arena_alloc(a, len + 1);
	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = 0;
	/* a failed put only costs sharing */
	if (!v)
		ddprof_u64map_put(&a->strings, h, (uintptr_t)p);
	return p;
}

const char *ddprof_arena_str(struct ddprof_arena *a, const char *s)
{
	return s ? ddprof_arena_strn(a, s, strlen(s)) : "";
}
