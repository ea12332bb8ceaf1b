/* The fast add path: callers intern strings, mappings, functions,
 * locations and whole stacks once and add samples by id. */
#include <errno.h>
#include <string.h>

#include "ids.h"

int ddprof_profile_intern_string(struct ddprof_profile *p, const char *s,
				 size_t len, uint64_t *id)
{
	uint32_t idx;
	int rc;

	if (!p || !id || (!s && len))
		return -DDPROF_ERR_INVALID;
	rc = ddprof_store_intern_str(&p->box->st, s, len,
				     ddprof_store_str_hash(s, len), &idx);
	if (!rc)
		*id = ddprof_id_str(p, idx);
	return rc;
}

int ddprof_profile_intern_cstr(struct ddprof_profile *p, const char *s,
			       uint64_t *id)
{
	return ddprof_profile_intern_string(p, s, s ? strlen(s) : 0, id);
}

int ddprof_profile_intern_mapping(struct ddprof_profile *p,
				  const struct ddprof_mapping_ids *m,
				  uint64_t *id)
{
	struct ddprof_smapping sm = { 0 };
	uint32_t idx;
	int rc;

	if (!p || !m || !id)
		return -DDPROF_ERR_INVALID;
	sm.start = m->start;
	sm.limit = m->limit;
	sm.offset = m->offset;
	if ((rc = ddprof_id_get_str(p, m->filename, &sm.filename)) ||
	    (rc = ddprof_id_get_str(p, m->build_id, &sm.build_id)))
		return rc;
	rc = ddprof_store_intern_mapping(&p->box->st, &sm, &idx);
	if (!rc)
		*id = ddprof_id_make(p, idx);
	return rc;
}

int ddprof_profile_intern_function(struct ddprof_profile *p,
				   const struct ddprof_function_ids *f,
				   uint64_t *id)
{
	struct ddprof_sfunction sf;
	uint32_t idx;
	int rc;

	if (!p || !f || !id)
		return -DDPROF_ERR_INVALID;
	sf.start_line = f->start_line;
	if ((rc = ddprof_id_get_str(p, f->name, &sf.name)) ||
	    (rc = ddprof_id_get_str(p, f->system_name, &sf.system_name)) ||
	    (rc = ddprof_id_get_str(p, f->filename, &sf.filename)))
		return rc;
	rc = ddprof_store_intern_function(&p->box->st, &sf, &idx);
	if (!rc)
		*id = ddprof_id_make(p, idx);
	return rc;
}

int ddprof_profile_intern_location(struct ddprof_profile *p, uint64_t mapping,
				   uint64_t address,
				   const struct ddprof_line_ids *lines,
				   size_t nlines, uint64_t *id)
{
	struct ddprof_store *st;
	uint32_t midx = DDPROF_NO_MAPPING, idx;
	int rc;

	if (!p || !id || nlines > DDPROF_PROFILE_MAX_LINES || (nlines && !lines))
		return -DDPROF_ERR_INVALID;
	st = &p->box->st;
	if (mapping && (rc = ddprof_id_get(p, mapping, st->nmaps, &midx)))
		return rc;
	for (size_t i = 0; i < nlines; i++) {
		rc = ddprof_id_get(p, lines[i].function, st->nfuncs,
				   &p->scr_lines[i].function);
		if (rc)
			return rc;
		p->scr_lines[i].line = lines[i].line;
	}
	rc = ddprof_store_intern_location(st, midx, address, p->scr_lines,
					  (uint32_t)nlines, &idx);
	if (!rc)
		*id = ddprof_id_make(p, idx);
	return rc;
}

int ddprof_profile_intern_stack(struct ddprof_profile *p,
				const uint64_t *locations, size_t n,
				uint64_t *id)
{
	struct ddprof_store *st;
	uint32_t idx;
	int rc;

	if (!p || !id || n > DDPROF_PROFILE_MAX_FRAMES || (n && !locations))
		return -DDPROF_ERR_INVALID;
	st = &p->box->st;
	for (size_t i = 0; i < n; i++)
		if ((rc = ddprof_id_get(p, locations[i], st->nlocs, &p->scr_locs[i])))
			return rc;
	rc = ddprof_store_intern_stack(st, p->scr_locs, (uint32_t)n, &idx);
	if (!rc)
		*id = ddprof_id_make(p, idx);
	return rc;
}

/* Interns "end_timestamp_ns" the first time a timeline sample comes in. */
int ddprof_profile_prepare_timeline(struct ddprof_profile *p)
{
	static const char key[] = "end_timestamp_ns";
	struct ddprof_store *st = &p->box->st;

	if (st->end_ts_key)
		return 0;
	return ddprof_store_intern_str(st, key, sizeof(key) - 1,
				       ddprof_store_str_hash(key, sizeof(key) - 1),
				       &st->end_ts_key);
}

int ddprof_profile_add_interned(struct ddprof_profile *p, uint64_t stack,
				const int64_t *values, size_t nvalues,
				const struct ddprof_label_ids *labels,
				size_t nlabels, int64_t timestamp_ns)
{
	struct ddprof_store *st;
	struct ddprof_slabel *sl;
	uint32_t sidx, lidx;
	int rc;

	if (!p || !values || nvalues != p->ntypes ||
	    nlabels > DDPROF_PROFILE_MAX_LABELS || (nlabels && !labels))
		return -DDPROF_ERR_INVALID;
	st = &p->box->st;
	if ((rc = ddprof_id_get(p, stack, st->nstacks, &sidx)))
		return rc;
	sl = p->scr_labels;
	for (size_t i = 0; i < nlabels; i++) {
		if ((rc = ddprof_id_get_str(p, labels[i].key, &sl[i].key)) ||
		    (rc = ddprof_id_get_str(p, labels[i].str, &sl[i].str)) ||
		    (rc = ddprof_id_get_str(p, labels[i].num_unit, &sl[i].unit)))
			return rc;
		if (!sl[i].key) /* pprof labels need a key */
			return -DDPROF_ERR_INVALID;
		if (sl[i].str) {
			sl[i].num = 0;
			sl[i].unit = 0;
		} else {
			sl[i].num = labels[i].num;
		}
	}
	if (timestamp_ns && (rc = ddprof_profile_prepare_timeline(p)))
		return rc;
	rc = ddprof_store_intern_labels(st, sl, (uint32_t)nlabels, &lidx);
	if (!rc)
		rc = ddprof_store_add(st, sidx, lidx, values, timestamp_ns);
	return rc;
}
