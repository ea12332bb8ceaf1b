/* Growth of the profile store's index tables. */
#include <errno.h>

#include "alloc.h"
#include "idtab.h"

int ddprof_idtab_reserve(struct ddprof_idtab *t)
{
	uint64_t ncap, *ns;
	uint64_t cap = t->slots ? (uint64_t)t->mask + 1 : 0;

	if ((uint64_t)(t->count + 1) * 4 <= cap * 3)
		return 0;
	ncap = cap ? cap * 2 : 64;
	if (ncap > (1ULL << 32))
		return -ENOMEM;
	ns = ddprof_pcalloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (uint64_t i = 0; i < cap; i++) {
		uint64_t s = t->slots[i], j;

		if (!s)
			continue;
		for (j = (uint32_t)(s >> 32) & (ncap - 1); ns[j]; j = (j + 1) & (ncap - 1))
			;
		ns[j] = s;
	}
	ddprof_pfree(t->slots);
	t->slots = ns;
	t->mask = (uint32_t)(ncap - 1);
	return 0;
}

void ddprof_idtab_fini(struct ddprof_idtab *t)
{
	ddprof_pfree(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->count = 0;
}
