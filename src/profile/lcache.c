/* Label-set cache of the simple add path (see lcache.h): the CLI's two
 * thread labels cost two pointer comparisons and two strcmp instead of
 * three string-cache probes and a label-set probe. */
#include <string.h>

#include "lcache.h"

static inline const char *value_ptr(const struct ddprof_label *l)
{
	return l->str ? l->str : l->num_unit;
}

static uint32_t slot(const struct ddprof_label *labels, size_t n)
{
	uint64_t h = n;

	for (size_t i = 0; i < n; i++)
		h = (h << 5 | h >> 59) ^ ((uintptr_t)labels[i].key * 0x9e3779b97f4a7c15ULL) ^
		    ((uintptr_t)value_ptr(&labels[i]) * 0xc2b2ae3d27d4eb4fULL) ^
		    ((uint64_t)labels[i].num * 0x165667b19e3779f9ULL);
	h ^= h >> 29;
	return (uint32_t)((h * 0xd6e8feb86659fd93ULL) >> (64 - DDPROF_LCACHE_BITS));
}

int ddprof_lcache_lookup(const struct ddprof_lcache_ent *c,
			 const struct ddprof_store *st,
			 const struct ddprof_label *labels, size_t n,
			 uint32_t epoch, uint32_t *lset)
{
	const struct ddprof_lcache_ent *e;

	if (n > DDPROF_LCACHE_MAX_LABELS)
		return 0;
	e = &c[slot(labels, n)];
	if (e->stamp <= epoch || e->n != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct ddprof_label *l = &labels[i];

		if (e->ptr[i][0] != l->key || e->ptr[i][1] != value_ptr(l) ||
		    ((e->isstr >> i) & 1) != !!l->str || e->num[i] != (l->str ? 0 : l->num))
			return 0;
	}
	/* same pointers: compare their current content with the copies */
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 2; k++)
			if (e->ptr[i][k] && strcmp(e->ptr[i][k], st->strs[e->idx[i][k]].ptr))
				return 0;
	*lset = e->lset;
	return 1;
}

void ddprof_lcache_insert(struct ddprof_lcache_ent *c,
			  const struct ddprof_label *labels, size_t n,
			  const struct ddprof_slabel *sl, uint32_t lset,
			  uint32_t stamp)
{
	struct ddprof_lcache_ent *e;

	if (n > DDPROF_LCACHE_MAX_LABELS)
		return;
	e = &c[slot(labels, n)];
	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		const struct ddprof_label *l = &labels[i];

		e->ptr[i][0] = l->key;
		e->ptr[i][1] = value_ptr(l);
		e->idx[i][0] = sl[i].key;
		e->idx[i][1] = l->str ? sl[i].str : sl[i].unit;
		e->isstr |= (uint32_t)!!l->str << i;
		e->num[i] = l->str ? 0 : l->num;
	}
	e->n = (uint32_t)n;
	e->lset = lset;
	e->stamp = stamp;
}
