/* Open-addressing table of indices into an entity array (strings,
 * functions, stacks, ...), the one dedup structure of the profile store.
 * A slot keeps 32 bits of the hash next to the index, so most probes are
 * settled without touching the entity; equality is the caller's. */
#ifndef DDPROF_PROFILE_IDTAB_H
#define DDPROF_PROFILE_IDTAB_H

#include <stdbool.h>
#include <stdint.h>

struct ddprof_idtab {
	uint64_t *slots; /* (hash32 << 32) | (index + 1); 0 = empty */
	uint32_t mask;   /* capacity - 1, capacity a power of two */
	uint32_t count;
};

/* Makes room for one more entry (load factor <= 3/4). Returns 0 or
 * -ENOMEM (table unchanged). */
int ddprof_idtab_reserve(struct ddprof_idtab *t);

void ddprof_idtab_fini(struct ddprof_idtab *t);

typedef bool (*ddprof_idtab_eq_fn)(const void *ctx, uint32_t idx);

/* Looks up hash; on a hit returns true and *idx, on a miss returns false
 * and *slot points at the empty slot to fill with ddprof_idtab_insert()
 * (only valid if ddprof_idtab_reserve() succeeded before the lookup). */
static inline __attribute__((always_inline)) bool
ddprof_idtab_find(const struct ddprof_idtab *t, uint64_t hash,
		  ddprof_idtab_eq_fn eq, const void *ctx, uint32_t *idx,
		  uint64_t **slot)
{
	uint32_t h32 = (uint32_t)hash;
	uint32_t i;

	*slot = NULL;
	if (!t->slots)
		return false;
	for (i = h32 & t->mask;; i = (i + 1) & t->mask) {
		uint64_t s = t->slots[i];

		if (!s) {
			*slot = &t->slots[i];
			return false;
		}
		if ((uint32_t)(s >> 32) == h32 && eq(ctx, (uint32_t)s - 1)) {
			*idx = (uint32_t)s - 1;
			return true;
		}
	}
}

static inline void ddprof_idtab_insert(struct ddprof_idtab *t, uint64_t *slot,
				       uint64_t hash, uint32_t idx)
{
	*slot = ((uint64_t)(uint32_t)hash << 32) | ((uint64_t)idx + 1);
	t->count++;
}

#endif
