/* The simple add path: samples arrive as strings. Each location is looked
 * up by its content (one hash over all its strings, one probe, verified
 * against the stored strings), so a known frame costs no per-string table
 * lookups; only unknown frames intern their strings one by one. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ddprof/error.h"
#include "fasthash.h"
#include "profile_int.h"

static inline void sref_set(struct ddprof_sref *r, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	r->p = s;
	r->len = (uint32_t)len;
	r->hash = len ? ddprof_store_str_hash(s, len) : 0;
}

static inline bool sref_eq(const struct ddprof_store *st, uint32_t idx,
			   const struct ddprof_sref *r)
{
	const struct ddprof_pstr *e = &st->strs[idx];

	return e->len == r->len && (r->len == 0 || memcmp(e->ptr, r->p, r->len) == 0);
}

static inline bool mapping_is_none(const struct ddprof_mapping *m)
{
	return !m->start && !m->limit && !m->offset &&
	       (!m->filename || !*m->filename) && (!m->build_id || !*m->build_id);
}

struct content_key {
	const struct ddprof_store *st;
	const struct ddprof_location *l;
	const struct ddprof_sref *refs; /* map filename, build id, then 3 per line */
	bool no_mapping;
};

static bool content_eq(const void *ctx, uint32_t idx)
{
	const struct content_key *k = ctx;
	const struct ddprof_store *st = k->st;
	const struct ddprof_location *l = k->l;
	const struct ddprof_slocation *sl = &st->locs[idx];
	const struct ddprof_sline *lines =
		sl->nlines ? &st->lines[sl->lines_off] : NULL; /* may be NULL */

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
		    m->offset != l->mapping.offset ||
		    !sref_eq(st, m->filename, &k->refs[0]) ||
		    !sref_eq(st, m->build_id, &k->refs[1]))
			return false;
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const struct ddprof_sfunction *f = &st->funcs[lines[i].function];
		const struct ddprof_sref *r = &k->refs[2 + 3 * i];

		if (lines[i].line != l->lines[i].line ||
		    f->start_line != l->lines[i].function.start_line ||
		    !sref_eq(st, f->name, &r[0]) ||
		    !sref_eq(st, f->system_name, &r[1]) ||
		    !sref_eq(st, f->filename, &r[2]))
			return false;
	}
	return true;
}

static int intern_ref(struct ddprof_store *st, const struct ddprof_sref *r,
		      uint32_t *idx)
{
	return ddprof_store_intern_str(st, r->p, r->len, r->hash, idx);
}

/* Interns a location given by strings the slow way (string by string). */
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
					     .offset = l->mapping.offset };

		if ((rc = intern_ref(st, &k->refs[0], &m.filename)) ||
		    (rc = intern_ref(st, &k->refs[1], &m.build_id)) ||
		    (rc = ddprof_store_intern_mapping(st, &m, &midx)))
			return rc;
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const struct ddprof_sref *r = &k->refs[2 + 3 * i];
		struct ddprof_sfunction f = { .start_line =
						      l->lines[i].function.start_line };

		if ((rc = intern_ref(st, &r[0], &f.name)) ||
		    (rc = intern_ref(st, &r[1], &f.system_name)) ||
		    (rc = intern_ref(st, &r[2], &f.filename)) ||
		    (rc = ddprof_store_intern_function(st, &f, &p->scr_lines[i].function)))
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
	struct ddprof_sref *refs = p->scr_refs;
	struct content_key k = { st, l, refs, mapping_is_none(&l->mapping) };
	uint64_t h, *slot;
	int rc;

	if (l->nlines > DDPROF_PROFILE_MAX_LINES || (l->nlines && !l->lines))
		return -DDPROF_ERR_INVALID;
	h = ddprof_fh_u64(l->address, l->nlines | (uint64_t)k.no_mapping << 32);
	if (!k.no_mapping) {
		sref_set(&refs[0], l->mapping.filename);
		sref_set(&refs[1], l->mapping.build_id);
		h = ddprof_fh_u64(h ^ l->mapping.start, l->mapping.limit ^ refs[0].hash);
		h = ddprof_fh_u64(h ^ l->mapping.offset, refs[1].hash);
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const struct ddprof_line *ln = &l->lines[i];
		struct ddprof_sref *r = &refs[2 + 3 * i];

		sref_set(&r[0], ln->function.name);
		sref_set(&r[1], ln->function.system_name);
		sref_set(&r[2], ln->function.filename);
		h = ddprof_fh_u64(h ^ r[0].hash, (uint64_t)ln->line ^ r[1].hash);
		h = ddprof_fh_u64(h ^ r[2].hash, (uint64_t)ln->function.start_line);
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

static int intern_cstr(struct ddprof_store *st, const char *s, uint32_t *idx)
{
	struct ddprof_sref r;

	sref_set(&r, s);
	return intern_ref(st, &r, idx);
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
		if (!sample->labels[i].key)
			return -DDPROF_ERR_INVALID;

	for (size_t i = 0; i < sample->nlocations; i++) {
		rc = location_from_strings(p, &sample->locations[i], &p->scr_locs[i]);
		if (rc)
			return rc;
	}
	rc = ddprof_store_intern_stack(st, p->scr_locs, (uint32_t)sample->nlocations,
				       &sidx);
	if (rc)
		return rc;

	sl = p->scr_labels;
	for (size_t i = 0; i < sample->nlabels; i++) {
		const struct ddprof_label *l = &sample->labels[i];

		memset(&sl[i], 0, sizeof(sl[i]));
		if ((rc = intern_cstr(st, l->key, &sl[i].key)))
			return rc;
		if (l->str)
			rc = intern_cstr(st, l->str, &sl[i].str);
		else if (l->num_unit)
			rc = intern_cstr(st, l->num_unit, &sl[i].unit);
		if (rc)
			return rc;
		if (!l->str)
			sl[i].num = l->num;
	}
	if (timestamp_ns && (rc = ddprof_profile_prepare_timeline(p)))
		return rc;
	rc = ddprof_store_intern_labels(st, sl, (uint32_t)sample->nlabels, &lidx);
	if (!rc)
		rc = ddprof_store_add(st, sidx, lidx, sample->values, timestamp_ns);
	return rc;
}
