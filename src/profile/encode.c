/* pprof encoder. Elements (samples, mappings, locations, functions,
 * strings) are sized first and then written in place into the sink's
 * staging block, which is compressed block by block: the encoded profile
 * never exists in memory as a whole, and no element is copied twice.
 * Profile-level fields go through a nanopb output stream on the same sink,
 * encoded from the generated message descriptors. */
#include <errno.h>
#include <pb_encode.h>
#include <string.h>

#include "alloc.h"
#include "ddprof/error.h"
#include "profile.pb.h"
#include "pbsize.h"
#include "profile_int.h"
#include "sink.h"

struct enc {
	const struct ddprof_profile *p;
	const struct ddprof_store *st;
	pb_ostream_t os;
	struct ddprof_sink *sink;
	int64_t *vals;
};

#define vsize ddprof_vsize
#define fsize ddprof_fsize

#define w_varint ddprof_put_varint
#define w_key ddprof_put_key
#define w_field ddprof_put_field

/* Starts an element of `size` body bytes: reserves room and writes its
 * key and length. NULL on a sink error. */
static inline uint8_t *elem_begin(struct enc *e, uint32_t field, size_t size)
{
	uint8_t *o = ddprof_sink_reserve(e->sink, 6 + size);

	if (!o)
		return NULL;
	return w_varint(w_key(o, field, PB_WT_STRING), size);
}

static inline int sink_err(const struct enc *e)
{
	return e->sink->err ? e->sink->err : -DDPROF_ERR_ENCODE;
}

static inline size_t label_size(const struct ddprof_slabel *l)
{
	return ddprof_label_enc_size(l);
}

static int enc_sample(struct enc *e, uint32_t stack, uint32_t lset,
		      const int64_t *raw, int64_t ts)
{
	const struct ddprof_store *st = e->st;
	const struct ddprof_span *sp = &st->stacks[stack];
	const struct ddprof_span *ls = &st->lsets[lset];
	/* an empty label set may have no array behind it yet */
	const struct ddprof_slabel *labels = ls->n ? &st->labels[ls->off] : NULL;
	const int64_t *vals = raw;
	struct ddprof_slabel tsl = { .key = st->end_ts_key, .num = ts };
	uint32_t nv = st->nvalues;
	/* packed location ids and labels were sized when interned */
	size_t lsz = sp->enc_size, vsz = 0, size, tsz = ts ? label_size(&tsl) : 0;
	uint8_t *o;

	if (e->p->up.n) {
		memcpy(e->vals, raw, nv * sizeof(*raw));
		ddprof_upscaling_apply(&e->p->up, labels, ls->n, e->vals, nv);
		vals = e->vals;
	}
	for (uint32_t i = 0; i < nv; i++)
		vsz += vsize((uint64_t)vals[i]);
	size = (sp->n ? 1 + vsize(lsz) + lsz : 0) + 1 + vsize(vsz) + vsz + ls->enc_size;
	if (ts)
		size += 1 + vsize(tsz) + tsz;

	o = elem_begin(e, perftools_profiles_Profile_sample_tag, size);
	if (!o)
		return sink_err(e);
	if (sp->n) { /* location ids and labels come encoded from the store */
		o = w_key(o, perftools_profiles_Sample_location_id_tag, PB_WT_STRING);
		o = w_varint(o, lsz);
		memcpy(o, &st->enc[sp->enc_off], lsz);
		o += lsz;
	}
	o = w_key(o, perftools_profiles_Sample_value_tag, PB_WT_STRING);
	o = w_varint(o, vsz);
	for (uint32_t i = 0; i < nv; i++)
		o = w_varint(o, (uint64_t)vals[i]);
	if (ls->n) {
		memcpy(o, &st->enc[ls->enc_off], ls->enc_size);
		o += ls->enc_size;
	}
	if (ts)
		o = ddprof_label_put(o, &tsl);
	ddprof_sink_commit(e->sink, o);
	return 0;
}

static int enc_mapping(struct enc *e, uint32_t i)
{
	const struct ddprof_smapping *m = &e->st->maps[i];
	uint64_t f = m->flags;
	size_t size = fsize((uint64_t)i + 1) + fsize(m->start) + fsize(m->limit) +
		      fsize(m->offset) + fsize(m->filename) + fsize(m->build_id) +
		      2 * (size_t)__builtin_popcountll(f);
	uint8_t *o = elem_begin(e, perftools_profiles_Profile_mapping_tag, size);

	if (!o)
		return sink_err(e);
	o = w_field(o, perftools_profiles_Mapping_id_tag, (uint64_t)i + 1);
	o = w_field(o, perftools_profiles_Mapping_memory_start_tag, m->start);
	o = w_field(o, perftools_profiles_Mapping_memory_limit_tag, m->limit);
	o = w_field(o, perftools_profiles_Mapping_file_offset_tag, m->offset);
	o = w_field(o, perftools_profiles_Mapping_filename_tag, m->filename);
	o = w_field(o, perftools_profiles_Mapping_build_id_tag, m->build_id);
	o = w_field(o, perftools_profiles_Mapping_has_functions_tag,
		    !!(f & DDPROF_MAP_HAS_FUNCTIONS));
	o = w_field(o, perftools_profiles_Mapping_has_filenames_tag,
		    !!(f & DDPROF_MAP_HAS_FILENAMES));
	o = w_field(o, perftools_profiles_Mapping_has_line_numbers_tag,
		    !!(f & DDPROF_MAP_HAS_LINES));
	o = w_field(o, perftools_profiles_Mapping_has_inline_frames_tag,
		    !!(f & DDPROF_MAP_HAS_INLINE));
	ddprof_sink_commit(e->sink, o);
	return 0;
}

static int enc_location(struct enc *e, uint32_t i)
{
	const struct ddprof_slocation *l = &e->st->locs[i];
	/* no lines stored yet means no array at all: form no pointer into it */
	const struct ddprof_sline *lines = l->nlines ? &e->st->lines[l->lines_off] : NULL;
	uint64_t mid = l->mapping == DDPROF_NO_MAPPING ? 0 : (uint64_t)l->mapping + 1;
	size_t size = fsize((uint64_t)i + 1) + fsize(mid) + fsize(l->address);
	uint8_t *o;

	for (uint32_t k = 0; k < l->nlines; k++) {
		size_t s = fsize((uint64_t)lines[k].function + 1) +
			   fsize((uint64_t)lines[k].line);

		size += 1 + vsize(s) + s;
	}
	o = elem_begin(e, perftools_profiles_Profile_location_tag, size);
	if (!o)
		return sink_err(e);
	o = w_field(o, perftools_profiles_Location_id_tag, (uint64_t)i + 1);
	o = w_field(o, perftools_profiles_Location_mapping_id_tag, mid);
	o = w_field(o, perftools_profiles_Location_address_tag, l->address);
	for (uint32_t k = 0; k < l->nlines; k++) {
		uint64_t fid = (uint64_t)lines[k].function + 1;
		uint64_t ln = (uint64_t)lines[k].line;

		o = w_key(o, perftools_profiles_Location_line_tag, PB_WT_STRING);
		o = w_varint(o, fsize(fid) + fsize(ln));
		o = w_field(o, perftools_profiles_Line_function_id_tag, fid);
		o = w_field(o, perftools_profiles_Line_line_tag, ln);
	}
	ddprof_sink_commit(e->sink, o);
	return 0;
}

static int enc_function(struct enc *e, uint32_t i)
{
	const struct ddprof_sfunction *f = &e->st->funcs[i];
	size_t size = fsize((uint64_t)i + 1) + fsize(f->name) + fsize(f->system_name) +
		      fsize(f->filename) + fsize((uint64_t)f->start_line);
	uint8_t *o = elem_begin(e, perftools_profiles_Profile_function_tag, size);

	if (!o)
		return sink_err(e);
	o = w_field(o, perftools_profiles_Function_id_tag, (uint64_t)i + 1);
	o = w_field(o, perftools_profiles_Function_name_tag, f->name);
	o = w_field(o, perftools_profiles_Function_system_name_tag, f->system_name);
	o = w_field(o, perftools_profiles_Function_filename_tag, f->filename);
	o = w_field(o, perftools_profiles_Function_start_line_tag,
		    (uint64_t)f->start_line);
	ddprof_sink_commit(e->sink, o);
	return 0;
}

/* memcpy for the many short strings of a string table: fixed-size moves
 * (inlined) that stay inside [0, n) of both buffers, a call only for long
 * strings. */
static inline void copy_short(uint8_t *d, const char *src, size_t n)
{
	if (n >= 8 && n <= 32) {
		memcpy(d, src, 8);
		if (n > 16) {
			memcpy(d + 8, src + 8, 8);
			memcpy(d + n - 16, src + n - 16, 8);
		}
		memcpy(d + n - 8, src + n - 8, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(d, src, 4);
		memcpy(d + n - 4, src + n - 4, 4);
	} else if (n < 4) {
		for (size_t i = 0; i < n; i++)
			d[i] = (uint8_t)src[i];
	} else {
		memcpy(d, src, n);
	}
}

static int enc_strings(struct enc *e)
{
	for (size_t i = 0; i < e->st->nstrs; i++) {
		const struct ddprof_pstr *s = &e->st->strs[i];
		/* strings longer than a staging block are written around it */
		int big = s->len > DDPROF_SINK_STAGE / 2;
		uint8_t *o = elem_begin(e, perftools_profiles_Profile_string_table_tag,
					big ? 0 : s->len);

		if (!o)
			return sink_err(e);
		if (big) {
			o -= 1; /* rewrite the length of the element */
			o = w_varint(o, s->len);
			ddprof_sink_commit(e->sink, o);
			if (ddprof_sink_write(e->sink, s->ptr, s->len))
				return sink_err(e);
			continue;
		}
		copy_short(o, s->ptr, s->len);
		ddprof_sink_commit(e->sink, o + s->len);
	}
	return 0;
}

static bool stream_cb(pb_ostream_t *os, const pb_byte_t *buf, size_t n)
{
	struct enc *e = os->state;

	return ddprof_sink_write(e->sink, buf, n) == 0;
}

static int enc_value_type(struct enc *e, uint32_t field, uint32_t type,
			  uint32_t unit)
{
	perftools_profiles_ValueType vt = { type, unit };

	if (!pb_encode_tag(&e->os, PB_WT_STRING, field) ||
	    !pb_encode_submessage(&e->os, perftools_profiles_ValueType_fields, &vt))
		return sink_err(e);
	return 0;
}

static int enc_scalar(struct enc *e, uint32_t field, int64_t v)
{
	if (!v)
		return 0;
	if (!pb_encode_tag(&e->os, PB_WT_VARINT, field) ||
	    !pb_encode_varint(&e->os, (uint64_t)v))
		return sink_err(e);
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
	/* a start time from the caller may be anything: saturate */
	if (!rc && end_ns > p->start_ns) {
		int64_t d;

		if (__builtin_sub_overflow(end_ns, p->start_ns, &d))
			d = INT64_MAX;
		rc = enc_scalar(e, perftools_profiles_Profile_duration_nanos_tag, d);
	}
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
	if (!e.vals)
		return -ENOMEM;
	/* the resolution cache of the rules is scratch state of this call */
	ddprof_upscaling_resolve((struct ddprof_upscaling *)&p->up, e.st);
	rc = encode_all(&e, opts->end_time_ns ? opts->end_time_ns : ddprof_now_ns());
	if (!rc)
		rc = ddprof_sink_finish(sink);
	ddprof_pfree(e.vals);
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
