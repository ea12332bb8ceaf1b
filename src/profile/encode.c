/* pprof encoder. Each element (sample, mapping, location, function,
 * string) is encoded into a small scratch buffer and handed to a nanopb
 * output stream whose callback feeds the compressor, so the encoded
 * profile never exists in memory as a whole. */
#include <errno.h>
#include <pb_encode.h>
#include <string.h>

#include "alloc.h"
#include "ddprof/error.h"
#include "profile.pb.h"
#include "profile_int.h"
#include "sink.h"

#define HDR 16 /* room in front of an element for its tag and length */

struct enc {
	const struct ddprof_profile *p;
	const struct ddprof_store *st;
	pb_ostream_t os;
	struct ddprof_sink *sink;
	uint8_t *scr;
	size_t scr_cap;
	int64_t *vals;
};

static inline size_t varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *w_varint(uint8_t *o, uint64_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}

static inline uint8_t *w_key(uint8_t *o, uint32_t field, uint32_t wt)
{
	return w_varint(o, (uint64_t)field << 3 | wt);
}

/* A varint field, omitted when zero as proto3 does. */
static inline uint8_t *w_field(uint8_t *o, uint32_t field, uint64_t v)
{
	if (!v)
		return o;
	return w_varint(w_key(o, field, PB_WT_VARINT), v);
}

static bool stream_cb(pb_ostream_t *os, const pb_byte_t *buf, size_t n)
{
	struct enc *e = os->state;

	return ddprof_sink_write(e->sink, buf, n) == 0;
}

/* Makes sure the scratch holds HDR + need bytes. */
static int scratch(struct enc *e, size_t need)
{
	return ddprof_pgrow((void **)&e->scr, &e->scr_cap, HDR + need, 1);
}

/* Emits the element body at e->scr + HDR .. end as field `field`. */
static int emit_elem(struct enc *e, uint32_t field, uint8_t *end)
{
	uint8_t hdr[HDR], *h = hdr;
	size_t len = (size_t)(end - (e->scr + HDR)), hl;

	h = w_key(h, field, PB_WT_STRING);
	h = w_varint(h, len);
	hl = (size_t)(h - hdr);
	memcpy(e->scr + HDR - hl, hdr, hl);
	if (!pb_write(&e->os, e->scr + HDR - hl, hl + len))
		return e->sink->err ? e->sink->err : -DDPROF_ERR_ENCODE;
	return 0;
}

static uint8_t *w_label(uint8_t *o, const struct ddprof_slabel *l)
{
	uint8_t tmp[48], *t = tmp;

	t = w_field(t, perftools_profiles_Label_key_tag, l->key);
	t = w_field(t, perftools_profiles_Label_str_tag, l->str);
	t = w_field(t, perftools_profiles_Label_num_tag, (uint64_t)l->num);
	t = w_field(t, perftools_profiles_Label_num_unit_tag, l->unit);
	o = w_key(o, perftools_profiles_Sample_label_tag, PB_WT_STRING);
	o = w_varint(o, (uint64_t)(t - tmp));
	memcpy(o, tmp, (size_t)(t - tmp));
	return o + (t - tmp);
}

static int enc_sample(struct enc *e, uint32_t stack, uint32_t lset,
		      const int64_t *raw, int64_t ts)
{
	const struct ddprof_store *st = e->st;
	const struct ddprof_span *sp = &st->stacks[stack];
	const struct ddprof_span *ls = &st->lsets[lset];
	/* an empty stack or label set may have no array behind it yet */
	const uint32_t *locs = sp->n ? &st->stack_locs[sp->off] : NULL;
	const struct ddprof_slabel *labels = ls->n ? &st->labels[ls->off] : NULL;
	uint32_t nv = st->nvalues;
	size_t lsize = 0, vsize = 0;
	uint8_t *o;
	int rc;

	memcpy(e->vals, raw, nv * sizeof(*raw));
	if (e->p->up.n)
		ddprof_upscaling_apply(&e->p->up, labels, ls->n, e->vals, nv);
	rc = scratch(e, 24 + (size_t)sp->n * 5 + (size_t)nv * 10 +
			       ((size_t)ls->n + 1) * 50);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < sp->n; i++)
		lsize += varint_size((uint64_t)locs[i] + 1);
	for (uint32_t i = 0; i < nv; i++)
		vsize += varint_size((uint64_t)e->vals[i]);
	o = e->scr + HDR;
	if (sp->n) {
		o = w_key(o, perftools_profiles_Sample_location_id_tag, PB_WT_STRING);
		o = w_varint(o, lsize);
		for (uint32_t i = 0; i < sp->n; i++)
			o = w_varint(o, (uint64_t)locs[i] + 1);
	}
	o = w_key(o, perftools_profiles_Sample_value_tag, PB_WT_STRING);
	o = w_varint(o, vsize);
	for (uint32_t i = 0; i < nv; i++)
		o = w_varint(o, (uint64_t)e->vals[i]);
	for (uint32_t i = 0; i < ls->n; i++)
		o = w_label(o, &labels[i]);
	if (ts) {
		struct ddprof_slabel l = { .key = st->end_ts_key, .num = ts };

		o = w_label(o, &l);
	}
	return emit_elem(e, perftools_profiles_Profile_sample_tag, o);
}

static int enc_value_type(struct enc *e, uint32_t field, uint32_t type,
			  uint32_t unit)
{
	uint8_t *o;
	int rc = scratch(e, 32);

	if (rc)
		return rc;
	o = e->scr + HDR;
	o = w_field(o, perftools_profiles_ValueType_type_tag, type);
	o = w_field(o, perftools_profiles_ValueType_unit_tag, unit);
	return emit_elem(e, field, o);
}

static int enc_mapping(struct enc *e, uint32_t i)
{
	const struct ddprof_smapping *m = &e->st->maps[i];
	uint8_t *o;
	int rc = scratch(e, 80);

	if (rc)
		return rc;
	o = e->scr + HDR;
	o = w_field(o, perftools_profiles_Mapping_id_tag, (uint64_t)i + 1);
	o = w_field(o, perftools_profiles_Mapping_memory_start_tag, m->start);
	o = w_field(o, perftools_profiles_Mapping_memory_limit_tag, m->limit);
	o = w_field(o, perftools_profiles_Mapping_file_offset_tag, m->offset);
	o = w_field(o, perftools_profiles_Mapping_filename_tag, m->filename);
	o = w_field(o, perftools_profiles_Mapping_build_id_tag, m->build_id);
	o = w_field(o, perftools_profiles_Mapping_has_functions_tag,
		    !!(m->flags & DDPROF_MAP_HAS_FUNCTIONS));
	o = w_field(o, perftools_profiles_Mapping_has_filenames_tag,
		    !!(m->flags & DDPROF_MAP_HAS_FILENAMES));
	o = w_field(o, perftools_profiles_Mapping_has_line_numbers_tag,
		    !!(m->flags & DDPROF_MAP_HAS_LINES));
	o = w_field(o, perftools_profiles_Mapping_has_inline_frames_tag,
		    !!(m->flags & DDPROF_MAP_HAS_INLINE));
	return emit_elem(e, perftools_profiles_Profile_mapping_tag, o);
}

static int enc_location(struct enc *e, uint32_t i)
{
	const struct ddprof_slocation *l = &e->st->locs[i];
	/* lineless locations only: the lines array may be NULL */
	const struct ddprof_sline *lines =
		l->nlines ? &e->st->lines[l->lines_off] : NULL;
	uint8_t *o;
	int rc = scratch(e, 40 + (size_t)l->nlines * 26);

	if (rc)
		return rc;
	o = e->scr + HDR;
	o = w_field(o, perftools_profiles_Location_id_tag, (uint64_t)i + 1);
	if (l->mapping != DDPROF_NO_MAPPING)
		o = w_field(o, perftools_profiles_Location_mapping_id_tag,
			    (uint64_t)l->mapping + 1);
	o = w_field(o, perftools_profiles_Location_address_tag, l->address);
	for (uint32_t k = 0; k < l->nlines; k++) {
		uint64_t fid = (uint64_t)lines[k].function + 1;
		uint64_t ln = (uint64_t)lines[k].line;
		size_t sz = 1 + varint_size(fid) + (ln ? 1 + varint_size(ln) : 0);

		o = w_key(o, perftools_profiles_Location_line_tag, PB_WT_STRING);
		o = w_varint(o, sz);
		o = w_field(o, perftools_profiles_Line_function_id_tag, fid);
		o = w_field(o, perftools_profiles_Line_line_tag, ln);
	}
	return emit_elem(e, perftools_profiles_Profile_location_tag, o);
}

static int enc_function(struct enc *e, uint32_t i)
{
	const struct ddprof_sfunction *f = &e->st->funcs[i];
	uint8_t *o;
	int rc = scratch(e, 64);

	if (rc)
		return rc;
	o = e->scr + HDR;
	o = w_field(o, perftools_profiles_Function_id_tag, (uint64_t)i + 1);
	o = w_field(o, perftools_profiles_Function_name_tag, f->name);
	o = w_field(o, perftools_profiles_Function_system_name_tag, f->system_name);
	o = w_field(o, perftools_profiles_Function_filename_tag, f->filename);
	o = w_field(o, perftools_profiles_Function_start_line_tag,
		    (uint64_t)f->start_line);
	return emit_elem(e, perftools_profiles_Profile_function_tag, o);
}

static int enc_strings(struct enc *e)
{
	for (size_t i = 0; i < e->st->nstrs; i++) {
		const struct ddprof_pstr *s = &e->st->strs[i];

		if (!pb_encode_tag(&e->os, PB_WT_STRING,
				   perftools_profiles_Profile_string_table_tag) ||
		    !pb_encode_string(&e->os, (const pb_byte_t *)s->ptr, s->len))
			return e->sink->err ? e->sink->err : -DDPROF_ERR_ENCODE;
	}
	return 0;
}

static int enc_scalar(struct enc *e, uint32_t field, int64_t v)
{
	if (!v)
		return 0;
	if (!pb_encode_tag(&e->os, PB_WT_VARINT, field) ||
	    !pb_encode_varint(&e->os, (uint64_t)v))
		return e->sink->err ? e->sink->err : -DDPROF_ERR_ENCODE;
	return 0;
}

static int encode_all(struct enc *e, int64_t end_ns)
{
	const struct ddprof_profile *p = e->p;
	const struct ddprof_pbox *b = p->box;
	const struct ddprof_store *st = e->st;
	uint32_t nv = st->nvalues;
	int rc = 0;

	for (size_t i = 0; i < p->ntypes && !rc; i++)
		rc = enc_value_type(e, perftools_profiles_Profile_sample_type_tag,
				    b->type_strs[2 * i], b->type_strs[2 * i + 1]);
	for (size_t i = 0; i < st->nrows && !rc; i++)
		rc = enc_sample(e, st->rows[i].stack, st->rows[i].labels,
				&st->row_vals[i * nv], 0);
	for (size_t i = 0; i < st->ntl && !rc; i++)
		rc = enc_sample(e, st->tl[i].stack, st->tl[i].labels,
				&st->tl_vals[i * nv], st->tl[i].ts);
	for (uint32_t i = 0; i < st->nmaps && !rc; i++)
		rc = enc_mapping(e, i);
	for (uint32_t i = 0; i < st->nlocs && !rc; i++)
		rc = enc_location(e, i);
	for (uint32_t i = 0; i < st->nfuncs && !rc; i++)
		rc = enc_function(e, i);
	if (!rc)
		rc = enc_strings(e);
	if (!rc)
		rc = enc_scalar(e, perftools_profiles_Profile_time_nanos_tag, p->start_ns);
	if (!rc && end_ns > p->start_ns)
		rc = enc_scalar(e, perftools_profiles_Profile_duration_nanos_tag,
				end_ns - p->start_ns);
	if (!rc && p->has_period) {
		rc = enc_value_type(e, perftools_profiles_Profile_period_type_tag,
				    b->period_strs[0], b->period_strs[1]);
		if (!rc)
			rc = enc_scalar(e, perftools_profiles_Profile_period_tag, p->period);
	}
	if (!rc)
		rc = enc_scalar(e, perftools_profiles_Profile_default_sample_type_tag,
				b->type_strs[2 * p->default_type]);
	return rc;
}

static int serialize(const struct ddprof_profile *p,
		     const struct ddprof_serialize_opts *opts, int fd,
		     struct ddprof_sink *sink)
{
	struct ddprof_serialize_opts def = { .compression = DDPROF_COMPRESS_GZIP };
	struct enc e = { 0 };
	int rc;

	if (!p)
		return -DDPROF_ERR_INVALID;
	if (!opts)
		opts = &def;
	rc = ddprof_sink_open(sink, opts, fd);
	if (rc)
		return rc;
	e.p = p;
	e.st = &p->box->st;
	e.sink = sink;
	e.os.callback = stream_cb;
	e.os.state = &e;
	e.os.max_size = SIZE_MAX;
	e.vals = ddprof_palloc(p->ntypes * sizeof(*e.vals));
	if (!e.vals) {
		rc = -ENOMEM;
		goto out;
	}
	/* the resolution cache of the rules is scratch state of this call */
	ddprof_upscaling_resolve((struct ddprof_upscaling *)&p->up, e.st);
	rc = encode_all(&e, opts->end_time_ns ? opts->end_time_ns : ddprof_now_ns());
	if (!rc)
		rc = ddprof_sink_finish(sink);
out:
	ddprof_pfree(e.vals);
	ddprof_pfree(e.scr);
	return rc;
}

int ddprof_profile_serialize(const struct ddprof_profile *p,
			     const struct ddprof_serialize_opts *opts,
			     void **out, size_t *out_len)
{
	struct ddprof_sink sink;
	int rc;

	if (!out || !out_len)
		return -DDPROF_ERR_INVALID;
	*out = NULL;
	*out_len = 0;
	memset(&sink, 0, sizeof(sink));
	rc = serialize(p, opts, -1, &sink);
	if (!rc) {
		*out = ddprof_sink_take(&sink, out_len);
		if (!*out)
			rc = -ENOMEM;
	}
	ddprof_sink_close(&sink);
	return rc;
}

int ddprof_profile_serialize_fd(const struct ddprof_profile *p,
				const struct ddprof_serialize_opts *opts,
				int fd, size_t *written)
{
	struct ddprof_sink sink;
	int rc;

	if (fd < 0)
		return -DDPROF_ERR_INVALID;
	memset(&sink, 0, sizeof(sink));
	rc = serialize(p, opts, fd, &sink);
	if (written)
		*written = sink.total;
	ddprof_sink_close(&sink);
	return rc;
}
