/* Sample cache of the simple add path (see scache.h): a stack seen before
 * costs one flattening pass, one memcmp of the flattened key and one
 * strcmp per distinct string instead of a string-cache probe per string,
 * a location probe per frame and a stack probe. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "scache.h"

uint64_t ddprof__scache_force_hash;
int ddprof__scache_off;

/* Key layout: the frame count, then per location a header word (nlines,
 * bit 63: mapping differs from the previous location's), the address, the
 * mapping's start, limit, offset, filename, build_id when bit 63 is set,
 * then per line name, system_name, filename, line, start_line, or for the
 * usual frame (bit 62: one line, no system name, line numbers under 2^31)
 * name, filename and both numbers in one word. Mapping words of a run of
 * frames in one mapping are written once. Small entries compare faster
 * and stay in cache; the layout decodes unambiguously, so equal keys mean
 * equal stacks. */
#define MAP_NEW (1ULL << 63)
#define SHORT_LINE (1ULL << 62)
#define MAP_WORDS 5
#define LINE_WORDS 5
#define SHORT_WORDS 3

int ddprof_scache_init(struct ddprof_scache *c)
{
	memset(c, 0, sizeof(*c));
	c->ents = ddprof_pcalloc(1u << DDPROF_SCACHE_BITS, sizeof(*c->ents));
	c->key = ddprof_palloc(DDPROF_SCACHE_MAX_WORDS * sizeof(*c->key));
	c->chk = ddprof_palloc(DDPROF_SCACHE_MAX_WORDS * sizeof(*c->chk));
	if (!c->ents || !c->key || !c->chk) {
		ddprof_scache_fini(c);
		return -ENOMEM;
	}
	return 0;
}

void ddprof_scache_fini(struct ddprof_scache *c)
{
	if (c->ents)
		for (size_t i = 0; i < 1u << DDPROF_SCACHE_BITS; i++)
			ddprof_pfree(c->ents[i].blob);
	ddprof_pfree(c->ents);
	ddprof_pfree(c->key);
	ddprof_pfree(c->chk);
	memset(c, 0, sizeof(*c));
}

void ddprof_scache_clear_stamps(struct ddprof_scache *c)
{
	if (c->ents)
		for (size_t i = 0; i < 1u << DDPROF_SCACHE_BITS; i++)
			c->ents[i].stamp = 0;
}

static inline bool same_mapping(const struct ddprof_mapping *a,
				const struct ddprof_mapping *b)
{
	return a->start == b->start && a->limit == b->limit &&
	       a->offset == b->offset && a->filename == b->filename &&
	       a->build_id == b->build_id;
}

/* Flattens locs into c->key and hashes it; c->nwords = 0 when the stack
 * does not fit (or is malformed: the slow path reports that). */
static void flatten(struct ddprof_scache *c, const struct ddprof_location *locs,
		    size_t n)
{
	uint64_t *w = c->key, h = n;
	size_t nw = 1;

	c->nwords = 0;
	w[0] = n;
	for (size_t i = 0; i < n; i++) {
		const struct ddprof_location *l = &locs[i];
		bool newmap = !i || !same_mapping(&l->mapping, &locs[i - 1].mapping);
		uint64_t hdr;

		if (l->nlines > DDPROF_PROFILE_MAX_LINES || (l->nlines && !l->lines) ||
		    nw + 2 + MAP_WORDS + LINE_WORDS * l->nlines > DDPROF_SCACHE_MAX_WORDS)
			return;
		hdr = l->nlines | (newmap ? MAP_NEW : 0);
		if (l->nlines == 1 && !l->lines[0].function.system_name &&
		    (uint64_t)l->lines[0].line < 1u << 31 &&
		    (uint64_t)l->lines[0].function.start_line < 1u << 31)
			hdr |= SHORT_LINE;
		w[nw++] = hdr;
		w[nw++] = l->address;
		/* only addresses and the first names select the bucket (the
		 * comparison of every word decides); independent multiplies
		 * keep the dependency chain short */
		h = (h << 7 | h >> 57) ^ (l->address * 0x9e3779b97f4a7c15ULL) ^
		    ((l->nlines ? (uintptr_t)l->lines[0].function.name : 0) *
		     0xc2b2ae3d27d4eb4fULL);
		if (newmap) {
			w[nw + 0] = l->mapping.start;
			w[nw + 1] = l->mapping.limit;
			w[nw + 2] = l->mapping.offset;
			w[nw + 3] = (uintptr_t)l->mapping.filename;
			w[nw + 4] = (uintptr_t)l->mapping.build_id;
			nw += MAP_WORDS;
		}
		if (hdr & SHORT_LINE) {
			const struct ddprof_line *ln = l->lines;

			w[nw + 0] = (uintptr_t)ln->function.name;
			w[nw + 1] = (uintptr_t)ln->function.filename;
			w[nw + 2] = (uint64_t)ln->line << 32 | (uint64_t)ln->function.start_line;
			nw += SHORT_WORDS;
			continue;
		}
		for (size_t j = 0; j < l->nlines; j++) {
			const struct ddprof_line *ln = &l->lines[j];

			w[nw + 0] = (uintptr_t)ln->function.name;
			w[nw + 1] = (uintptr_t)ln->function.system_name;
			w[nw + 2] = (uintptr_t)ln->function.filename;
			w[nw + 3] = (uint64_t)ln->line;
			w[nw + 4] = (uint64_t)ln->function.start_line;
			nw += LINE_WORDS;
		}
	}
	h ^= h >> 31;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	c->h = ddprof__scache_force_hash ? ddprof__scache_force_hash : h;
	c->nwords = (uint32_t)nw;
}

/* The first way of the bucket of c's key. */
static inline struct ddprof_scache_ent *bucket(struct ddprof_scache *c)
{
	return &c->ents[(c->h >> (64 - DDPROF_SCACHE_BITS)) &
			~(uint64_t)(DDPROF_SCACHE_WAYS - 1)];
}

static bool hit(const struct ddprof_scache *c, const struct ddprof_store *st,
		const struct ddprof_scache_ent *e)
{
	const uint32_t (*chk)[2];

	if (e->nwords != c->nwords ||
	    memcmp(e->blob, c->key, c->nwords * sizeof(*c->key)))
		return false;
	/* same pointers as when the entry was filled: compare each distinct
	 * one's current content with the interned copy (a pointer repeated
	 * within this call has the same content every time) */
	chk = (const void *)(e->blob + e->nwords * sizeof(*c->key));
	for (uint32_t i = 0; i < e->nchk; i++)
		if (strcmp((const char *)(uintptr_t)c->key[chk[i][0]],
			   st->strs[chk[i][1]].ptr))
			return false;
	return true;
}

int ddprof_scache_lookup(struct ddprof_scache *c, const struct ddprof_store *st,
			 const struct ddprof_location *locs, size_t n,
			 uint32_t epoch, uint32_t stamp, uint32_t *sidx)
{
	struct ddprof_scache_ent *e;

	flatten(c, locs, n);
	if (!c->nwords)
		return 0;
	e = bucket(c);
	for (int w = 0; w < DDPROF_SCACHE_WAYS; w++, e++)
		if (e->stamp > epoch && e->h == c->h && hit(c, st, e)) {
			e->stamp = stamp;
			*sidx = e->sidx;
			return 1;
		}
	return 0;
}

/* Where to put c's key: a stale way, else the least recently used. */
static struct ddprof_scache_ent *victim(struct ddprof_scache *c, uint32_t epoch)
{
	struct ddprof_scache_ent *e = bucket(c), *v = e;

	for (int w = 0; w < DDPROF_SCACHE_WAYS; w++) {
		if (e[w].stamp <= epoch)
			return &e[w];
		if (e[w].stamp < v->stamp)
			v = &e[w];
	}
	return v;
}

/* Appends key word wi to the check list unless it is NULL or a pointer
 * already listed (a small table of seen pointers; a duplicate that slips
 * through only costs one more comparison). Returns 0 or str_idx's error. */
static int add_check(struct ddprof_scache *c, const void **seen, uint32_t wi,
		     uint32_t *nchk, ddprof_scache_str_fn str_idx, void *ctx)
{
	const char *s = (const char *)(uintptr_t)c->key[wi];
	size_t b;

	if (!s)
		return 0;
	b = ((uintptr_t)s * 0x9e3779b97f4a7c15ULL) >> 58;
	if (seen[b] == s)
		return 0;
	seen[b] = s;
	c->chk[*nchk][0] = wi;
	(*nchk)++;
	return str_idx(ctx, s, &c->chk[*nchk - 1][1]);
}

/* Builds the check list of c's key into c->chk. Returns 0 or an error. */
static int checks(struct ddprof_scache *c, uint32_t *nchk,
		  ddprof_scache_str_fn str_idx, void *ctx)
{
	const void *seen[64] = { 0 };
	int rc;

	*nchk = 0;
	for (uint32_t nw = 1; nw < c->nwords;) {
		uint64_t hdr = c->key[nw];

		nw += 2;
		if (hdr & MAP_NEW) {
			if ((rc = add_check(c, seen, nw + 3, nchk, str_idx, ctx)) ||
			    (rc = add_check(c, seen, nw + 4, nchk, str_idx, ctx)))
				return rc;
			nw += MAP_WORDS;
		}
		if (hdr & SHORT_LINE) {
			if ((rc = add_check(c, seen, nw, nchk, str_idx, ctx)) ||
			    (rc = add_check(c, seen, nw + 1, nchk, str_idx, ctx)))
				return rc;
			nw += SHORT_WORDS;
			continue;
		}
		for (uint64_t j = 0; j < (uint32_t)hdr; j++, nw += LINE_WORDS)
			for (uint32_t k = 0; k < 3; k++)
				if ((rc = add_check(c, seen, nw + k, nchk, str_idx, ctx)))
					return rc;
	}
	return 0;
}

void ddprof_scache_insert(struct ddprof_scache *c, uint32_t sidx,
			  uint32_t epoch, uint32_t stamp,
			  ddprof_scache_str_fn str_idx, void *ctx)
{
	struct ddprof_scache_ent *e;
	uint32_t nchk;
	size_t size, off;
	unsigned char *blob;

	if (!c->nwords || checks(c, &nchk, str_idx, ctx))
		return;
	off = c->nwords * sizeof(*c->key);
	size = off + nchk * sizeof(*c->chk);
	e = victim(c, epoch);
	if (size > e->cap) {
		if (c->bytes - e->cap + size > DDPROF_SCACHE_BUDGET)
			return;
		blob = ddprof_prealloc(e->blob, size);
		if (!blob)
			return;
		c->bytes = c->bytes - e->cap + size;
		e->blob = blob;
		e->cap = (uint32_t)size;
	}
	memcpy(e->blob, c->key, off);
	memcpy(e->blob + off, c->chk, nchk * sizeof(*c->chk));
	e->h = c->h;
	e->nwords = c->nwords;
	e->nchk = nchk;
	e->sidx = sidx;
	e->stamp = stamp;
}

size_t ddprof_scache_memory(const struct ddprof_scache *c)
{
	if (!c->ents)
		return 0;
	return c->bytes + (sizeof(*c->ents) << DDPROF_SCACHE_BITS) +
	       DDPROF_SCACHE_MAX_WORDS * (sizeof(*c->key) + sizeof(*c->chk));
}
