/* The profile store: interned strings (index 0 is ""), mappings,
 * functions, locations, stacks and label sets, each deduplicated through an
 * idtab, plus aggregated rows keyed by (stack, label set) and timeline
 * samples kept one by one. Indices here are 0-based uint32_t; the public
 * ids and the pprof ids are built from them elsewhere. */
#ifndef DDPROF_PROFILE_STORE_H
#define DDPROF_PROFILE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "idtab.h"
#include "pbsize.h"
#include "profile.pb.h"

#define DDPROF_NO_MAPPING UINT32_MAX

struct ddprof_pstr {
	const char *ptr; /* NUL-terminated, in a chunk of the arena */
	uint32_t len;
};

/* mapping flags, set from the locations that point at the mapping */
#define DDPROF_MAP_HAS_FUNCTIONS 1u
#define DDPROF_MAP_HAS_FILENAMES 2u
#define DDPROF_MAP_HAS_LINES 4u
#define DDPROF_MAP_HAS_INLINE 8u

struct ddprof_smapping {
	uint64_t start, limit, offset;
	uint32_t filename, build_id;
	uint32_t flags;
};

struct ddprof_sfunction {
	uint32_t name, system_name, filename;
	int64_t start_line;
};

struct ddprof_sline {
	uint32_t function;
	int64_t line;
};

struct ddprof_slocation {
	uint64_t address;
	uint32_t mapping; /* index or DDPROF_NO_MAPPING */
	uint32_t lines_off, nlines;
};

struct ddprof_slabel {
	uint32_t key, str, unit; /* string indices; str 0: numeric label */
	int64_t num;
};

struct ddprof_span {
	uint32_t off, n; /* a run inside a pool array */
	uint32_t enc_off, enc_size; /* its pprof bytes in the store's enc
				     * pool: the packed location ids of a
				     * stack, or all Label fields (keys and
				     * lengths included) of a label set */
};

/* Encoded size of one Label message body. */
static inline size_t ddprof_label_enc_size(const struct ddprof_slabel *l)
{
	return ddprof_fsize(l->key) + ddprof_fsize(l->str) +
	       ddprof_fsize((uint64_t)l->num) + ddprof_fsize(l->unit);
}

/* Writes l as a Sample.label field (key, length, body) at o, returns the
 * end: 1 + ddprof_vsize(size) + size bytes for size =
 * ddprof_label_enc_size(l). */
static inline uint8_t *ddprof_label_put(uint8_t *o, const struct ddprof_slabel *l)
{
	o = ddprof_put_key(o, perftools_profiles_Sample_label_tag, PB_WT_STRING);
	o = ddprof_put_varint(o, ddprof_label_enc_size(l));
	o = ddprof_put_field(o, perftools_profiles_Label_key_tag, l->key);
	o = ddprof_put_field(o, perftools_profiles_Label_str_tag, l->str);
	o = ddprof_put_field(o, perftools_profiles_Label_num_tag, (uint64_t)l->num);
	return ddprof_put_field(o, perftools_profiles_Label_num_unit_tag, l->unit);
}

struct ddprof_srow {
	uint32_t stack, labels;
};

struct ddprof_stl {
	uint32_t stack, labels;
	int64_t ts;
};

struct ddprof_chunk;

struct ddprof_store {
	uint32_t nvalues; /* values per sample */

	struct ddprof_pstr *strs;
	size_t nstrs, cap_strs;
	struct ddprof_idtab str_tab;
	struct ddprof_chunk *chunks;
	size_t chunk_bytes;

	struct ddprof_smapping *maps;
	size_t nmaps, cap_maps;
	struct ddprof_idtab map_tab;

	struct ddprof_sfunction *funcs;
	size_t nfuncs, cap_funcs;
	struct ddprof_idtab func_tab;

	struct ddprof_slocation *locs;
	size_t nlocs, cap_locs;
	struct ddprof_sline *lines;
	size_t nlines, cap_lines;
	struct ddprof_idtab loc_tab;
	struct ddprof_idtab loc_content_tab; /* simple path: by string content */

	struct ddprof_span *stacks;
	size_t nstacks, cap_stacks;
	uint32_t *stack_locs;
	size_t nstack_locs, cap_stack_locs;
	struct ddprof_idtab stack_tab;

	uint8_t *enc; /* pprof bytes of stacks and label sets (see span) */
	size_t nenc, cap_enc;

	struct ddprof_span *lsets;
	size_t nlsets, cap_lsets;
	struct ddprof_slabel *labels;
	size_t nlabels, cap_labels;
	struct ddprof_idtab lset_tab;

	struct ddprof_srow *rows;
	size_t nrows, cap_rows;
	int64_t *row_vals;
	size_t cap_row_vals;
	struct ddprof_idtab row_tab;

	struct ddprof_stl *tl;
	size_t ntl, cap_tl;
	int64_t *tl_vals;
	size_t cap_tl_vals;

	uint32_t end_ts_key; /* "end_timestamp_ns" once a timeline sample exists */
	uint64_t samples_added;
};

/* Initializes an empty store for nvalues values per sample. Returns 0 or
 * -ENOMEM. */
int ddprof_store_init(struct ddprof_store *s, uint32_t nvalues);
void ddprof_store_fini(struct ddprof_store *s);

/* Hash of a string, as the string table computes it. */
uint64_t ddprof_store_str_hash(const char *p, size_t len);

/* Interns len bytes at p whose hash is ddprof_store_str_hash(p, len). */
int ddprof_store_intern_str(struct ddprof_store *s, const char *p, size_t len,
			    uint64_t hash, uint32_t *idx);

/* Looks a string up without interning; returns 1 and *idx if present. */
int ddprof_store_find_str(const struct ddprof_store *s, const char *p,
			  size_t len, uint32_t *idx);

int ddprof_store_intern_mapping(struct ddprof_store *s,
				const struct ddprof_smapping *m, uint32_t *idx);
int ddprof_store_intern_function(struct ddprof_store *s,
				 const struct ddprof_sfunction *f,
				 uint32_t *idx);
/* lines[] hold function indices; mapping may be DDPROF_NO_MAPPING. */
int ddprof_store_intern_location(struct ddprof_store *s, uint32_t mapping,
				 uint64_t address,
				 const struct ddprof_sline *lines,
				 uint32_t nlines, uint32_t *idx);
int ddprof_store_intern_stack(struct ddprof_store *s, const uint32_t *locs,
			      uint32_t n, uint32_t *idx);
int ddprof_store_intern_labels(struct ddprof_store *s,
			       const struct ddprof_slabel *labels, uint32_t n,
			       uint32_t *idx);

/* Adds a sample (values has nvalues entries): aggregated when ts == 0,
 * else appended to the timeline. Returns 0 or -ENOMEM (nothing added). */
int ddprof_store_add(struct ddprof_store *s, uint32_t stack, uint32_t labels,
		     const int64_t *values, int64_t ts);

/* Approximate heap bytes held by the store. */
uint64_t ddprof_store_memory(const struct ddprof_store *s);

/* Saturating add of int64 values. */
static inline int64_t ddprof_sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return a > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

#endif
