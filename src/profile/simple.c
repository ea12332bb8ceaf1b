/* The simple add path: samples arrive as strings. By default a stack seen
 * before is found whole in the sample cache (scache.h) and the labels in
 * the label-set cache (lcache.h), each hit verified by comparing every
 * distinct string with its interned copy. Otherwise strings are resolved
 * through a cache keyed by the caller's pointer and verified by content
 * (one strcmp; a pointer met twice in one call is verified once), then
 * each location is found with one probe keyed by string indices and
 * numbers. In the opt-in static-strings mode a frame cache keyed by
 * pointers skips the string reads. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ddprof/error.h"
#include "alloc.h"
#include "fasthash.h"
#include "profile_int.h"

/* Resolves the caller's string s (NULL: "") to a string index. */
static inline int str_idx(struct ddprof_profile *p, const char *s,
			  uint32_t *idx)
{
	struct ddprof_store *st = &p->box->st;
	struct ddprof_pcache_ent *e;
	size_t len;
	int rc;

	if (!s || !*s) {
		*idx = 0;
		return 0;
	}
	e = &p->pcache[((uintptr_t)s * 0x9e3779b97f4a7c15ULL) >> (64 - DDPROF_PCACHE_BITS)];
	if (e->ptr == s) {
		if (e->stamp == p->stamp ||
		    (p->static_strings && e->stamp > p->epoch)) {
			*idx = e->idx;
			return 0;
		}
		/* the index may come from before a reset: bound it, and the
		 * content comparison decides */
		if (e->idx < st->nstrs && strcmp(st->strs[e->idx].ptr, s) == 0) {
			e->stamp = p->stamp;
			*idx = e->idx;
			return 0;
		}
	}
	len = strlen(s);
	rc = ddprof_store_intern_str(st, s, len, ddprof_store_str_hash(s, len), idx);
	if (rc)
		return rc;
	e->ptr = s;
	e->idx = *idx;
	e->stamp = p->stamp;
	return 0;
}

static inline bool mapping_is_none(const struct ddprof_mapping *m)
{
	return !m->start && !m->limit && !m->offset &&
	       (!m->filename || !*m->filename) && (!m->build_id || !*m->build_id);
}

/* A location described by string indices: strs[0..1] mapping filename and
 * build id, then name, system name, filename per line. */
struct content_key {
	const struct ddprof_store *st;
	const struct ddprof_location *l;
	const uint32_t *strs;
	bool no_mapping;
};

static bool content_eq(const void *ctx, uint32_t idx)
{
	const struct content_key *k = ctx;
	const struct ddprof_store *st = k->st;
	const struct ddprof_location *l = k->l;
	const struct ddprof_slocation *sl = &st->locs[idx];
	const struct ddprof_sline *lines = sl->nlines ? &st->lines[sl->lines_off] : NULL;

	if (sl->address != l->address || sl->nlines != l->nlines)
		return false;
	if (k->no_mapping) {
		if (sl->mapping != DDPROF_NO_MAPPING)
			return false;
	} else {
		const struct ddprof_smapping *m;

		if (sl->mapping == DDPROF_NO_MAPPING)
			return false;
		m = &st->maps[sl->mapping];
		if (m->start != l->mapping.start || m->limit != l->mapping.limit ||
		    m->offset != l->mapping.offset || m->filename != k->strs[0] ||
		    m->build_id != k->strs[1])
			return false;
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const struct ddprof_sfunction *f = &st->funcs[lines[i].function];
		const uint32_t *s = &k->strs[2 + 3 * i];

		if (lines[i].line != l->lines[i].line ||
		    f->start_line != l->lines[i].function.start_line ||
		    f->name != s[0] || f->system_name != s[1] || f->filename != s[2])
			return false;
	}
	return true;
}

/* Interns the mapping, functions and location of k (a new frame). */
static int location_slow(struct ddprof_profile *p, const struct content_key *k,
			 uint32_t *idx)
{
	struct ddprof_store *st = &p->box->st;
	const struct ddprof_location *l = k->l;
	uint32_t midx = DDPROF_NO_MAPPING;
	int rc;

	if (!k->no_mapping) {
		struct ddprof_smapping m = { .start = l->mapping.start,
					     .limit = l->mapping.limit,
					     .offset = l->mapping.offset,
					     .filename = k->strs[0],
					     .build_id = k->strs[1] };

		if ((rc = ddprof_store_intern_mapping(st, &m, &midx)))
			return rc;
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const uint32_t *s = &k->strs[2 + 3 * i];
		struct ddprof_sfunction f = { s[0], s[1], s[2],
					      l->lines[i].function.start_line };

		if ((rc = ddprof_store_intern_function(st, &f, &p->scr_lines[i].function)))
			return rc;
		p->scr_lines[i].line = l->lines[i].line;
	}
	return ddprof_store_intern_location(st, midx, l->address, p->scr_lines,
					    (uint32_t)l->nlines, idx);
}

static int location_from_strings(struct ddprof_profile *p,
				 const struct ddprof_location *l, uint32_t *idx)
{
	struct ddprof_store *st = &p->box->st;
	uint32_t *s = p->scr_strs;
	struct content_key k = { st, l, s, mapping_is_none(&l->mapping) };
	uint64_t h, *slot;
	int rc;

	if (l->nlines > DDPROF_PROFILE_MAX_LINES || (l->nlines && !l->lines))
		return -DDPROF_ERR_INVALID;
	h = ddprof_fh_u64(l->address, l->nlines | (uint64_t)k.no_mapping << 32);
	if (!k.no_mapping) {
		if ((rc = str_idx(p, l->mapping.filename, &s[0])) ||
		    (rc = str_idx(p, l->mapping.build_id, &s[1])))
			return rc;
		h = ddprof_fh_u64(h ^ l->mapping.start, l->mapping.limit);
		h = ddprof_fh_u64(h ^ l->mapping.offset, (uint64_t)s[0] << 32 | s[1]);
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const struct ddprof_line *ln = &l->lines[i];
		uint32_t *r = &s[2 + 3 * i];

		if ((rc = str_idx(p, ln->function.name, &r[0])) ||
		    (rc = str_idx(p, ln->function.system_name, &r[1])) ||
		    (rc = str_idx(p, ln->function.filename, &r[2])))
			return rc;
		h = ddprof_fh_u64(h ^ ((uint64_t)r[0] << 32 | r[1]),
				  (uint64_t)ln->line ^ ((uint64_t)r[2] << 40));
		if (ln->function.start_line)
			h = ddprof_fh_u64(h, (uint64_t)ln->function.start_line);
	}
	if (ddprof_idtab_find(&st->loc_content_tab, h, content_eq, &k, idx, &slot))
		return 0;
	if ((rc = ddprof_idtab_reserve(&st->loc_content_tab)))
		return rc;
	if ((rc = location_slow(p, &k, idx)))
		return rc;
	ddprof_idtab_find(&st->loc_content_tab, h, content_eq, &k, &(uint32_t){ 0 },
			  &slot);
	if (slot)
		ddprof_idtab_insert(&st->loc_content_tab, slot, h, *idx);
	return 0;
}

int ddprof_profile_set_static_strings(struct ddprof_profile *p, int on)
{
	if (on && !p->fcache) {
		p->fcache = ddprof_pcalloc(1u << DDPROF_FCACHE_BITS, sizeof(*p->fcache));
		if (!p->fcache)
			return -ENOMEM;
	}
	p->static_strings = !!on;
	return 0;
}

/* Static-strings mode: a frame of at most one line found by its pointers
 * and numbers alone; falls back to location_from_strings() and remembers
 * the answer. */
static int location_static(struct ddprof_profile *p,
			   const struct ddprof_location *l, uint32_t *idx)
{
	static const struct ddprof_line none;
	const struct ddprof_line *ln = l->nlines ? l->lines : &none;
	const struct ddprof_mapping *m = &l->mapping;
	struct ddprof_fcache_ent *e;
	uint64_t h;
	int rc;

	if (l->nlines > 1 || (l->nlines && !l->lines))
		return location_from_strings(p, l, idx);
	/* independent multiplies: a cheap index, exactness comes from the
	 * comparison of every field below */
	h = l->address * 0x9e3779b97f4a7c15ULL ^
	    (uintptr_t)ln->function.name * 0xc2b2ae3d27d4eb4fULL ^
	    (uint64_t)ln->line * 0x165667b19e3779f9ULL ^
	    (uintptr_t)m->filename * 0xd6e8feb86659fd93ULL;
	e = &p->fcache[(h ^ h >> 29) & ((1u << DDPROF_FCACHE_BITS) - 1)];
	if (e->stamp > p->epoch && e->address == l->address &&
	    e->name == ln->function.name && e->line == ln->line &&
	    e->mfile == m->filename && e->nlines == l->nlines &&
	    e->file == ln->function.filename && e->sys == ln->function.system_name &&
	    e->start_line == ln->function.start_line && e->mbid == m->build_id &&
	    e->start == m->start && e->limit == m->limit && e->offset == m->offset) {
		*idx = e->loc;
		return 0;
	}
	rc = location_from_strings(p, l, idx);
	if (rc)
		return rc;
	e->mfile = m->filename;
	e->mbid = m->build_id;
	e->name = ln->function.name;
	e->sys = ln->function.system_name;
	e->file = ln->function.filename;
	e->address = l->address;
	e->start = m->start;
	e->limit = m->limit;
	e->offset = m->offset;
	e->line = ln->line;
	e->start_line = ln->function.start_line;
	e->nlines = (uint32_t)l->nlines;
	e->loc = *idx;
	e->stamp = p->stamp;
	return 0;
}

/* Interns the stack of sample frame by frame. */
static int stack_by_frames(struct ddprof_profile *p, const struct ddprof_sample *sample,
			uint32_t *sidx)
{
	int rc;

	for (size_t i = 0; i < sample->nlocations; i++) {
		if (p->static_strings)
			rc = location_static(p, &sample->locations[i], &p->scr_locs[i]);
		else
			rc = location_from_strings(p, &sample->locations[i], &p->scr_locs[i]);
		if (rc)
			return rc;
	}
	return ddprof_store_intern_stack(&p->box->st, p->scr_locs,
					 (uint32_t)sample->nlocations, sidx);
}

/* Index of a string of a stack just interned (str_idx() finds it in the
 * string cache, verified during this call, or else in the store). */
static int scache_str(void *ctx, const char *s, uint32_t *idx)
{
	return str_idx(ctx, s, idx);
}

/* Default mode: a stack seen before is found whole in the sample cache
 * (its strings compared with the cached copies); otherwise it is interned
 * frame by frame and remembered. */
static int stack_cached(struct ddprof_profile *p, const struct ddprof_sample *sample,
			uint32_t *sidx)
{
	int rc;

	if (ddprof__scache_off)
		return stack_by_frames(p, sample, sidx);
	if (!p->sc.ents && (rc = ddprof_scache_init(&p->sc)))
		return rc;
	if (ddprof_scache_lookup(&p->sc, &p->box->st, sample->locations,
				 sample->nlocations, p->epoch, p->stamp, sidx))
		return 0;
	if ((rc = stack_by_frames(p, sample, sidx)))
		return rc;
	ddprof_scache_insert(&p->sc, *sidx, p->epoch, p->stamp, scache_str, p);
	return 0;
}

int ddprof_profile_add(struct ddprof_profile *p,
		       const struct ddprof_sample *sample,
		       int64_t timestamp_ns)
{
	struct ddprof_store *st;
	struct ddprof_slabel *sl;
	uint32_t sidx, lidx;
	int rc;

	if (!p || !sample || !sample->values || sample->nvalues != p->ntypes ||
	    sample->nlocations > DDPROF_PROFILE_MAX_FRAMES ||
	    (sample->nlocations && !sample->locations) ||
	    sample->nlabels > DDPROF_PROFILE_MAX_LABELS ||
	    (sample->nlabels && !sample->labels))
		return -DDPROF_ERR_INVALID;
	st = &p->box->st;
	for (size_t i = 0; i < sample->nlabels; i++)
		if (!sample->labels[i].key || !*sample->labels[i].key)
			return -DDPROF_ERR_INVALID;
	/* a new stamp: pointers verified from here on are trusted until the
	 * call returns (the caller's strings cannot change during the call) */
	if (++p->stamp == 0) { /* wrapped: forget every stamp */
		memset(p->pcache, 0, sizeof(*p->pcache) << DDPROF_PCACHE_BITS);
		if (p->fcache)
			memset(p->fcache, 0, sizeof(*p->fcache) << DDPROF_FCACHE_BITS);
		ddprof_scache_clear_stamps(&p->sc);
		memset(p->lcache, 0, sizeof(*p->lcache) << DDPROF_LCACHE_BITS);
		p->epoch = 0;
		p->stamp = 1;
	}

	if (p->static_strings)
		rc = stack_by_frames(p, sample, &sidx);
	else
		rc = stack_cached(p, sample, &sidx);
	if (rc)
		return rc;

	if (!ddprof__scache_off &&
	    ddprof_lcache_lookup(p->lcache, st, sample->labels, sample->nlabels,
				 p->epoch, &lidx)) {
		/* label strings already interned: same string order as below */
		if (timestamp_ns && (rc = ddprof_profile_prepare_timeline(p)))
			return rc;
		return ddprof_store_add(st, sidx, lidx, sample->values, timestamp_ns);
	}
	sl = p->scr_labels;
	for (size_t i = 0; i < sample->nlabels; i++) {
		const struct ddprof_label *l = &sample->labels[i];

		memset(&sl[i], 0, sizeof(sl[i]));
		if ((rc = str_idx(p, l->key, &sl[i].key)))
			return rc;
		if (l->str)
			rc = str_idx(p, l->str, &sl[i].str);
		else if (l->num_unit)
			rc = str_idx(p, l->num_unit, &sl[i].unit);
		if (rc)
			return rc;
		if (!l->str)
			sl[i].num = l->num;
	}
	if (timestamp_ns && (rc = ddprof_profile_prepare_timeline(p)))
		return rc;
	rc = ddprof_store_intern_labels(st, sl, (uint32_t)sample->nlabels, &lidx);
	if (rc)
		return rc;
	ddprof_lcache_insert(p->lcache, sample->labels, sample->nlabels, sl, lidx,
			     p->stamp);
	return ddprof_store_add(st, sidx, lidx, sample->values, timestamp_ns);
}
