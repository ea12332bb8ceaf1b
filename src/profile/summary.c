/* Read helpers for summaries: counts, column totals and the top functions
 * by self value, computed from the raw (not upscaled) stored values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "common/u64map.h"
#include "ddprof/error.h"
#include "profile_int.h"

void ddprof_profile_stats(const struct ddprof_profile *p,
			  struct ddprof_profile_stats *out)
{
	const struct ddprof_store *st = &p->box->st;

	memset(out, 0, sizeof(*out));
	out->samples_added = st->samples_added;
	out->aggregated = st->nrows;
	out->timeline = st->ntl;
	out->strings = st->nstrs;
	out->mappings = st->nmaps;
	out->functions = st->nfuncs;
	out->locations = st->nlocs;
	out->stacks = st->nstacks;
	out->label_sets = st->nlsets;
	out->memory_bytes = ddprof_store_memory(st) + sizeof(*p) + sizeof(*p->box) +
			    (sizeof(*p->pcache) << DDPROF_PCACHE_BITS) +
			    (p->fcache ? sizeof(*p->fcache) << DDPROF_FCACHE_BITS : 0) +
			    (sizeof(*p->lcache) << DDPROF_LCACHE_BITS) +
			    ddprof_scache_memory(&p->sc);
}

size_t ddprof_profile_sample_types(const struct ddprof_profile *p,
				   const struct ddprof_value_type **types)
{
	if (types)
		*types = p->types;
	return p->ntypes;
}

int ddprof_profile_totals(const struct ddprof_profile *p, int64_t *totals,
			  size_t n)
{
	const struct ddprof_store *st;

	if (!p || !totals || n != p->ntypes)
		return -DDPROF_ERR_INVALID;
	st = &p->box->st;
	memset(totals, 0, n * sizeof(*totals));
	for (size_t i = 0; i < st->nrows; i++)
		for (size_t c = 0; c < n; c++)
			totals[c] = ddprof_sat_add(totals[c], st->row_vals[i * n + c]);
	for (size_t i = 0; i < st->ntl; i++)
		for (size_t c = 0; c < n; c++)
			totals[c] = ddprof_sat_add(totals[c], st->tl_vals[i * n + c]);
	return 0;
}

/* String index of the leaf frame's innermost function name. */
static uint32_t leaf_name(const struct ddprof_store *st, uint32_t stack)
{
	const struct ddprof_span *sp = &st->stacks[stack];
	const struct ddprof_slocation *l;

	if (!sp->n)
		return 0;
	l = &st->locs[st->stack_locs[sp->off]];
	if (!l->nlines)
		return 0;
	return st->funcs[st->lines[l->lines_off].function].name;
}

static int accumulate(struct ddprof_u64map *m, uint32_t name, int64_t v)
{
	uint64_t *cur = ddprof_u64map_get(m, name);

	if (cur) {
		*cur = (uint64_t)ddprof_sat_add((int64_t)*cur, v);
		return 0;
	}
	return ddprof_u64map_put(m, name, (uint64_t)v);
}


static int cmp_top(const void *a, const void *b)
{
	const struct ddprof_profile_top *x = a, *y = b;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return strcmp(x->function, y->function);
}

int ddprof_profile_top_functions(const struct ddprof_profile *p,
				 size_t column, struct ddprof_profile_top *out,
				 size_t n)
{
	const struct ddprof_store *st;
	struct ddprof_u64map m;
	struct ddprof_profile_top *all = NULL;
	size_t k = 0, nv;
	int rc = 0;

	if (!p || (!out && n) || column >= p->ntypes)
		return -DDPROF_ERR_INVALID;
	st = &p->box->st;
	nv = p->ntypes;
	ddprof_u64map_init(&m);
	for (size_t i = 0; i < st->nrows && !rc; i++)
		rc = accumulate(&m, leaf_name(st, st->rows[i].stack),
				st->row_vals[i * nv + column]);
	for (size_t i = 0; i < st->ntl && !rc; i++)
		rc = accumulate(&m, leaf_name(st, st->tl[i].stack),
				st->tl_vals[i * nv + column]);
	if (rc)
		goto out;
	all = ddprof_palloc((m.count ? m.count : 1) * sizeof(*all));
	if (!all) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t s = 0; s < m.cap; s++) {
		if (!m.used[s])
			continue;
		all[k].function = st->strs[m.keys[s]].ptr;
		all[k].value = (int64_t)m.vals[s];
		k++;
	}
	qsort(all, k, sizeof(*all), cmp_top);
	if (k > n)
		k = n;
	if (k)
		memcpy(out, all, k * sizeof(*all));
	rc = (int)k;
out:
	ddprof_pfree(all);
	ddprof_u64map_fini(&m);
	return rc;
}
