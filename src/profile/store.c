/* Interning and aggregation of the profile store. Every insert reserves
 * all memory it needs before changing anything, so -ENOMEM leaves the
 * store as it was (an unused spare capacity at most). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "ddprof/error.h"
#include "fasthash.h"
#include "pbsize.h"
#include "store.h"

#define CHUNK_SIZE (64u << 10)
#define MAX_STRING (1u << 30)

struct ddprof_chunk {
	struct ddprof_chunk *next;
	size_t used, size;
	char data[];
};

#define GROW(arr, cap, need)                                                   \
	ddprof_pgrow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

int ddprof_store_init(struct ddprof_store *s, uint32_t nvalues)
{
	memset(s, 0, sizeof(*s));
	s->nvalues = nvalues;
	if (GROW(s->strs, s->cap_strs, 64))
		return -ENOMEM;
	s->strs[0].ptr = "";
	s->strs[0].len = 0;
	s->nstrs = 1;
	return 0;
}

void ddprof_store_fini(struct ddprof_store *s)
{
	struct ddprof_chunk *c = s->chunks, *n;

	for (; c; c = n) {
		n = c->next;
		ddprof_pfree(c);
	}
	ddprof_pfree(s->strs);
	ddprof_idtab_fini(&s->str_tab);
	ddprof_pfree(s->maps);
	ddprof_idtab_fini(&s->map_tab);
	ddprof_pfree(s->funcs);
	ddprof_idtab_fini(&s->func_tab);
	ddprof_pfree(s->locs);
	ddprof_pfree(s->lines);
	ddprof_idtab_fini(&s->loc_tab);
	ddprof_idtab_fini(&s->loc_content_tab);
	ddprof_pfree(s->stacks);
	ddprof_pfree(s->stack_locs);
	ddprof_idtab_fini(&s->stack_tab);
	ddprof_pfree(s->enc);
	ddprof_pfree(s->lsets);
	ddprof_pfree(s->labels);
	ddprof_idtab_fini(&s->lset_tab);
	ddprof_pfree(s->rows);
	ddprof_pfree(s->row_vals);
	ddprof_idtab_fini(&s->row_tab);
	ddprof_pfree(s->tl);
	ddprof_pfree(s->tl_vals);
	memset(s, 0, sizeof(*s));
}

/* ---- strings ---------------------------------------------------------- */

uint64_t ddprof_store_str_hash(const char *p, size_t len)
{
	return ddprof_fasthash(p, len, 0x2d358dccaa6c78a5ULL);
}

struct str_key {
	const struct ddprof_store *s;
	const char *p;
	size_t len;
};

static bool str_eq(const void *ctx, uint32_t idx)
{
	const struct str_key *k = ctx;
	const struct ddprof_pstr *e = &k->s->strs[idx];

	return e->len == k->len && memcmp(e->ptr, k->p, k->len) == 0;
}

/* Copies len bytes plus a NUL into the arena; NULL when out of memory. */
static char *arena_copy(struct ddprof_store *s, const char *p, size_t len)
{
	struct ddprof_chunk *c = s->chunks;
	char *dst;

	if (!c || c->size - c->used < len + 1) {
		size_t size = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;

		c = ddprof_palloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		/* a big string gets its own chunk behind the current one so
		 * the current chunk's free tail is not wasted */
		if (size > CHUNK_SIZE && s->chunks) {
			c->next = s->chunks->next;
			s->chunks->next = c;
		} else {
			c->next = s->chunks;
			s->chunks = c;
		}
		s->chunk_bytes += sizeof(*c) + size;
	}
	dst = c->data + c->used;
	memcpy(dst, p, len);
	dst[len] = '\0';
	c->used += len + 1;
	return dst;
}

int ddprof_store_intern_str(struct ddprof_store *s, const char *p, size_t len,
			    uint64_t hash, uint32_t *idx)
{
	struct str_key k = { s, p, len };
	uint64_t *slot;
	char *copy;

	if (len == 0) {
		*idx = 0;
		return 0;
	}
	if (len > MAX_STRING)
		return -DDPROF_ERR_TOO_BIG;
	if (ddprof_idtab_find(&s->str_tab, hash, str_eq, &k, idx, &slot))
		return 0;
	if (ddprof_idtab_reserve(&s->str_tab) ||
	    GROW(s->strs, s->cap_strs, s->nstrs + 1))
		return -ENOMEM;
	copy = arena_copy(s, p, len);
	if (!copy)
		return -ENOMEM;
	/* reserve may have resized the table: find the empty slot again */
	ddprof_idtab_find(&s->str_tab, hash, str_eq, &k, idx, &slot);
	s->strs[s->nstrs].ptr = copy;
	s->strs[s->nstrs].len = (uint32_t)len;
	*idx = (uint32_t)s->nstrs++;
	ddprof_idtab_insert(&s->str_tab, slot, hash, *idx);
	return 0;
}

int ddprof_store_find_str(const struct ddprof_store *s, const char *p,
			  size_t len, uint32_t *idx)
{
	struct str_key k = { s, p, len };
	uint64_t *slot;

	if (len == 0) {
		*idx = 0;
		return 1;
	}
	return ddprof_idtab_find(&s->str_tab, ddprof_store_str_hash(p, len),
				 str_eq, &k, idx, &slot);
}

/* ---- mappings and functions ------------------------------------------ */

struct map_key {
	const struct ddprof_store *s;
	const struct ddprof_smapping *m;
};

static bool map_eq(const void *ctx, uint32_t idx)
{
	const struct map_key *k = ctx;
	const struct ddprof_smapping *a = &k->s->maps[idx], *b = k->m;

	return a->start == b->start && a->limit == b->limit &&
	       a->offset == b->offset && a->filename == b->filename &&
	       a->build_id == b->build_id;
}

int ddprof_store_intern_mapping(struct ddprof_store *s,
				const struct ddprof_smapping *m, uint32_t *idx)
{
	struct map_key k = { s, m };
	uint64_t h = ddprof_fh_u64(ddprof_fh_u64(m->start, m->limit),
				   m->offset ^ ((uint64_t)m->filename << 32 | m->build_id));
	uint64_t *slot;

	if (ddprof_idtab_find(&s->map_tab, h, map_eq, &k, idx, &slot))
		return 0;
	if (ddprof_idtab_reserve(&s->map_tab) ||
	    GROW(s->maps, s->cap_maps, s->nmaps + 1))
		return -ENOMEM;
	ddprof_idtab_find(&s->map_tab, h, map_eq, &k, idx, &slot);
	s->maps[s->nmaps] = *m;
	s->maps[s->nmaps].flags = 0;
	*idx = (uint32_t)s->nmaps++;
	ddprof_idtab_insert(&s->map_tab, slot, h, *idx);
	return 0;
}

struct func_key {
	const struct ddprof_store *s;
	const struct ddprof_sfunction *f;
};

static bool func_eq(const void *ctx, uint32_t idx)
{
	const struct func_key *k = ctx;
	const struct ddprof_sfunction *a = &k->s->funcs[idx], *b = k->f;

	return a->name == b->name && a->system_name == b->system_name &&
	       a->filename == b->filename && a->start_line == b->start_line;
}

int ddprof_store_intern_function(struct ddprof_store *s,
				 const struct ddprof_sfunction *f,
				 uint32_t *idx)
{
	struct func_key k = { s, f };
	uint64_t h = ddprof_fh_u64(((uint64_t)f->name << 32) | f->system_name,
				   ((uint64_t)f->filename << 32) ^ (uint64_t)f->start_line);
	uint64_t *slot;

	if (ddprof_idtab_find(&s->func_tab, h, func_eq, &k, idx, &slot))
		return 0;
	if (ddprof_idtab_reserve(&s->func_tab) ||
	    GROW(s->funcs, s->cap_funcs, s->nfuncs + 1))
		return -ENOMEM;
	ddprof_idtab_find(&s->func_tab, h, func_eq, &k, idx, &slot);
	s->funcs[s->nfuncs] = *f;
	*idx = (uint32_t)s->nfuncs++;
	ddprof_idtab_insert(&s->func_tab, slot, h, *idx);
	return 0;
}

/* ---- locations -------------------------------------------------------- */

struct loc_key {
	const struct ddprof_store *s;
	uint32_t mapping;
	uint64_t address;
	const struct ddprof_sline *lines;
	uint32_t nlines;
};

static bool loc_eq(const void *ctx, uint32_t idx)
{
	const struct loc_key *k = ctx;
	const struct ddprof_slocation *l = &k->s->locs[idx];
	const struct ddprof_sline *ll = l->nlines ? &k->s->lines[l->lines_off] : NULL;

	if (l->address != k->address || l->mapping != k->mapping ||
	    l->nlines != k->nlines)
		return false;
	for (uint32_t i = 0; i < k->nlines; i++)
		if (ll[i].function != k->lines[i].function ||
		    ll[i].line != k->lines[i].line)
			return false;
	return true;
}

int ddprof_store_intern_location(struct ddprof_store *s, uint32_t mapping,
				 uint64_t address,
				 const struct ddprof_sline *lines,
				 uint32_t nlines, uint32_t *idx)
{
	struct loc_key k = { s, mapping, address, lines, nlines };
	uint64_t h = ddprof_fh_u64(address, ((uint64_t)mapping << 32) | nlines);
	struct ddprof_slocation *l;
	uint64_t *slot;
	uint32_t flags = 0;

	for (uint32_t i = 0; i < nlines; i++)
		h = ddprof_fh_u64(h ^ lines[i].function, (uint64_t)lines[i].line);
	if (ddprof_idtab_find(&s->loc_tab, h, loc_eq, &k, idx, &slot))
		return 0;
	if (ddprof_idtab_reserve(&s->loc_tab) ||
	    GROW(s->locs, s->cap_locs, s->nlocs + 1) ||
	    GROW(s->lines, s->cap_lines, s->nlines + nlines))
		return -ENOMEM;
	ddprof_idtab_find(&s->loc_tab, h, loc_eq, &k, idx, &slot);
	l = &s->locs[s->nlocs];
	l->address = address;
	l->mapping = mapping;
	l->lines_off = (uint32_t)s->nlines;
	l->nlines = nlines;
	/* a first location without lines meets s->lines still NULL */
	if (nlines)
		memcpy(&s->lines[s->nlines], lines, nlines * sizeof(*lines));
	s->nlines += nlines;
	*idx = (uint32_t)s->nlocs++;
	ddprof_idtab_insert(&s->loc_tab, slot, h, *idx);

	if (mapping == DDPROF_NO_MAPPING)
		return 0;
	if (nlines > 1)
		flags |= DDPROF_MAP_HAS_INLINE;
	for (uint32_t i = 0; i < nlines; i++) {
		const struct ddprof_sfunction *f = &s->funcs[lines[i].function];

		if (f->name || f->system_name)
			flags |= DDPROF_MAP_HAS_FUNCTIONS;
		if (f->filename)
			flags |= DDPROF_MAP_HAS_FILENAMES;
		if (lines[i].line)
			flags |= DDPROF_MAP_HAS_LINES;
	}
	s->maps[mapping].flags |= flags;
	return 0;
}

/* ---- stacks and label sets -------------------------------------------- */

/* Makes room for size more bytes in the enc pool, whose offsets are 32-bit.
 * Returns 0 or -ENOMEM. */
static int reserve_enc(struct ddprof_store *s, size_t size)
{
	if (size > UINT32_MAX - s->nenc)
		return -ENOMEM;
	return GROW(s->enc, s->cap_enc, s->nenc + size);
}

/* Gives sp the next size bytes of the enc pool (reserved before) and
 * returns where to write them; NULL when size is 0 (an empty stack or
 * label set may come before the pool exists). */
static uint8_t *take_enc(struct ddprof_store *s, struct ddprof_span *sp, size_t size)
{
	sp->enc_off = (uint32_t)s->nenc;
	sp->enc_size = (uint32_t)size;
	if (!size)
		return NULL;
	s->nenc += size;
	return s->enc + sp->enc_off;
}

struct stack_key {
	const struct ddprof_store *s;
	const uint32_t *locs;
	uint32_t n;
};

static bool stack_eq(const void *ctx, uint32_t idx)
{
	const struct stack_key *k = ctx;
	const struct ddprof_span *sp = &k->s->stacks[idx];

	if (sp->n != k->n)
		return false;
	return k->n == 0 || memcmp(&k->s->stack_locs[sp->off], k->locs, k->n * sizeof(*k->locs)) == 0;
}

int ddprof_store_intern_stack(struct ddprof_store *s, const uint32_t *locs,
			      uint32_t n, uint32_t *idx)
{
	struct stack_key k = { s, locs, n };
	uint64_t h = ddprof_fasthash(locs, n * sizeof(*locs), 0x51ed270b27b8f0c5ULL);
	uint64_t *slot;
	struct ddprof_span *sp;
	size_t size = 0;
	uint8_t *o;

	if (ddprof_idtab_find(&s->stack_tab, h, stack_eq, &k, idx, &slot))
		return 0;
	for (uint32_t i = 0; i < n; i++) /* pprof location ids are index + 1 */
		size += ddprof_vsize((uint64_t)locs[i] + 1);
	if (reserve_enc(s, size) || ddprof_idtab_reserve(&s->stack_tab) ||
	    GROW(s->stacks, s->cap_stacks, s->nstacks + 1) ||
	    GROW(s->stack_locs, s->cap_stack_locs, s->nstack_locs + n))
		return -ENOMEM;
	ddprof_idtab_find(&s->stack_tab, h, stack_eq, &k, idx, &slot);
	sp = &s->stacks[s->nstacks];
	sp->off = (uint32_t)s->nstack_locs;
	sp->n = n;
	o = take_enc(s, sp, size);
	for (uint32_t i = 0; i < n; i++)
		o = ddprof_put_varint(o, (uint64_t)locs[i] + 1);
	if (n)
		memcpy(&s->stack_locs[s->nstack_locs], locs, n * sizeof(*locs));
	s->nstack_locs += n;
	*idx = (uint32_t)s->nstacks++;
	ddprof_idtab_insert(&s->stack_tab, slot, h, *idx);
	return 0;
}

struct lset_key {
	const struct ddprof_store *s;
	const struct ddprof_slabel *labels;
	uint32_t n;
};

static bool lset_eq(const void *ctx, uint32_t idx)
{
	const struct lset_key *k = ctx;
	const struct ddprof_span *sp = &k->s->lsets[idx];
	const struct ddprof_slabel *a;

	if (sp->n != k->n)
		return false;
	a = k->n ? &k->s->labels[sp->off] : NULL; /* labels may be NULL */
	for (uint32_t i = 0; i < k->n; i++)
		if (a[i].key != k->labels[i].key || a[i].str != k->labels[i].str ||
		    a[i].unit != k->labels[i].unit || a[i].num != k->labels[i].num)
			return false;
	return true;
}

int ddprof_store_intern_labels(struct ddprof_store *s,
			       const struct ddprof_slabel *labels, uint32_t n,
			       uint32_t *idx)
{
	struct lset_key k = { s, labels, n };
	uint64_t h = 0x3c6ef372fe94f82bULL ^ n;
	uint64_t *slot;
	struct ddprof_span *sp;
	size_t size = 0;
	uint8_t *o;

	for (uint32_t i = 0; i < n; i++)
		h = ddprof_fh_u64(h ^ ((uint64_t)labels[i].key << 32 | labels[i].str),
				  (uint64_t)labels[i].num ^ ((uint64_t)labels[i].unit << 40));
	if (ddprof_idtab_find(&s->lset_tab, h, lset_eq, &k, idx, &slot))
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		size_t ls = ddprof_label_enc_size(&labels[i]);

		size += 1 + ddprof_vsize(ls) + ls;
	}
	if (reserve_enc(s, size) || ddprof_idtab_reserve(&s->lset_tab) ||
	    GROW(s->lsets, s->cap_lsets, s->nlsets + 1) ||
	    GROW(s->labels, s->cap_labels, s->nlabels + n))
		return -ENOMEM;
	ddprof_idtab_find(&s->lset_tab, h, lset_eq, &k, idx, &slot);
	sp = &s->lsets[s->nlsets];
	sp->off = (uint32_t)s->nlabels;
	sp->n = n;
	o = take_enc(s, sp, size);
	for (uint32_t i = 0; i < n; i++)
		o = ddprof_label_put(o, &labels[i]);
	if (n)
		memcpy(&s->labels[s->nlabels], labels, n * sizeof(*labels));
	s->nlabels += n;
	*idx = (uint32_t)s->nlsets++;
	ddprof_idtab_insert(&s->lset_tab, slot, h, *idx);
	return 0;
}

/* ---- samples ---------------------------------------------------------- */

struct row_key {
	const struct ddprof_store *s;
	uint32_t stack, labels;
};

static bool row_eq(const void *ctx, uint32_t idx)
{
	const struct row_key *k = ctx;

	return k->s->rows[idx].stack == k->stack &&
	       k->s->rows[idx].labels == k->labels;
}

int ddprof_store_add(struct ddprof_store *s, uint32_t stack, uint32_t labels,
		     const int64_t *values, int64_t ts)
{
	uint32_t nv = s->nvalues, idx;
	uint64_t *slot;

	if (ts) {
		if (GROW(s->tl, s->cap_tl, s->ntl + 1) ||
		    GROW(s->tl_vals, s->cap_tl_vals, (s->ntl + 1) * nv))
			return -ENOMEM;
		s->tl[s->ntl].stack = stack;
		s->tl[s->ntl].labels = labels;
		s->tl[s->ntl].ts = ts;
		memcpy(&s->tl_vals[s->ntl * nv], values, nv * sizeof(*values));
		s->ntl++;
		s->samples_added++;
		return 0;
	}

	struct row_key k = { s, stack, labels };
	uint64_t h = ddprof_fh_u64(stack, labels);

	if (ddprof_idtab_find(&s->row_tab, h, row_eq, &k, &idx, &slot)) {
		int64_t *v = &s->row_vals[(size_t)idx * nv];

		for (uint32_t i = 0; i < nv; i++)
			v[i] = ddprof_sat_add(v[i], values[i]);
		s->samples_added++;
		return 0;
	}
	if (ddprof_idtab_reserve(&s->row_tab) ||
	    GROW(s->rows, s->cap_rows, s->nrows + 1) ||
	    GROW(s->row_vals, s->cap_row_vals, (s->nrows + 1) * nv))
		return -ENOMEM;
	ddprof_idtab_find(&s->row_tab, h, row_eq, &k, &idx, &slot);
	s->rows[s->nrows].stack = stack;
	s->rows[s->nrows].labels = labels;
	memcpy(&s->row_vals[s->nrows * nv], values, nv * sizeof(*values));
	ddprof_idtab_insert(&s->row_tab, slot, h, (uint32_t)s->nrows++);
	s->samples_added++;
	return 0;
}

uint64_t ddprof_store_memory(const struct ddprof_store *s)
{
	uint64_t b = s->chunk_bytes;

	b += s->cap_strs * sizeof(*s->strs) + s->cap_maps * sizeof(*s->maps) +
	     s->cap_funcs * sizeof(*s->funcs) + s->cap_locs * sizeof(*s->locs) +
	     s->cap_lines * sizeof(*s->lines) +
	     s->cap_stacks * sizeof(*s->stacks) +
	     s->cap_stack_locs * sizeof(*s->stack_locs) + s->cap_enc +
	     s->cap_lsets * sizeof(*s->lsets) +
	     s->cap_labels * sizeof(*s->labels) +
	     s->cap_rows * sizeof(*s->rows) +
	     s->cap_row_vals * sizeof(*s->row_vals) +
	     s->cap_tl * sizeof(*s->tl) + s->cap_tl_vals * sizeof(*s->tl_vals);
	const struct ddprof_idtab *tabs[] = {
		&s->str_tab, &s->map_tab, &s->func_tab, &s->loc_tab,
		&s->loc_content_tab, &s->stack_tab, &s->lset_tab, &s->row_tab,
	};
	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
		if (tabs[i]->slots)
			b += ((uint64_t)tabs[i]->mask + 1) * sizeof(uint64_t);
	return b;
}
