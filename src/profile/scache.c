/* Sample cache of the simple add path (see scache.h): a stack seen before
 * costs one hashing pass, one memcmp of the caller's location array, one
 * comparison per line and one strcmp per distinct string instead of a
 * string-cache probe per string, a location probe per frame and a stack
 * probe. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "scache.h"

uint64_t ddprof__scache_force_hash;
int ddprof__scache_off;

/* An entry's blob: a copy of the caller's n locations as they were, then
 * a copy of their lines in frame order, then the check list. Comparing
 * the caller's array with one memcmp is far cheaper than flattening it
 * word by word; the copies hold no padding, so equal bytes mean equal
 * fields. */
_Static_assert(sizeof(struct ddprof_location) == 8 * sizeof(uint64_t) &&
		       offsetof(struct ddprof_location, lines) == 6 * sizeof(uint64_t),
	       "struct ddprof_location has padding");
_Static_assert(sizeof(struct ddprof_line) == 5 * sizeof(uint64_t),
	       "struct ddprof_line has padding");

int ddprof_scache_init(struct ddprof_scache *c)
{
	memset(c, 0, sizeof(*c));
	c->ents = ddprof_pcalloc(1u << DDPROF_SCACHE_BITS, sizeof(*c->ents));
	c->chk = ddprof_palloc(DDPROF_SCACHE_MAX_STRS * sizeof(*c->chk));
	if (!c->ents || !c->chk) {
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
	ddprof_pfree(c->chk);
	memset(c, 0, sizeof(*c));
}

void ddprof_scache_clear_stamps(struct ddprof_scache *c)
{
	if (c->ents)
		for (size_t i = 0; i < 1u << DDPROF_SCACHE_BITS; i++)
			c->ents[i].stamp = 0;
}

/* Hashes the n locations into c->h and notes them for the comparison and
 * ddprof_scache_insert(); c->locs = NULL when the stack is empty, does
 * not fit, or is malformed (the slow path reports that). */
static void prepare(struct ddprof_scache *c, const struct ddprof_location *locs,
		    size_t n)
{
	uint64_t h = n;
	size_t nlines = 0;

	c->locs = NULL;
	if (!n) /* an empty stack is cheap without the cache, and no blob */
		return;
	for (size_t i = 0; i < n; i++) {
		const struct ddprof_location *l = &locs[i];

		if (l->nlines > DDPROF_PROFILE_MAX_LINES || (l->nlines && !l->lines))
			return;
		nlines += l->nlines;
		/* only addresses and the first names select the bucket (the
		 * comparison of every field decides); independent multiplies
		 * keep the dependency chain short */
		h = (h << 7 | h >> 57) ^ (l->address * 0x9e3779b97f4a7c15ULL) ^
		    ((l->nlines ? (uintptr_t)l->lines[0].function.name : 0) *
		     0xc2b2ae3d27d4eb4fULL);
	}
	if (n * sizeof(*locs) + nlines * sizeof(*locs->lines) > DDPROF_SCACHE_MAX_BYTES)
		return;
	h ^= h >> 31;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	c->h = ddprof__scache_force_hash ? ddprof__scache_force_hash : h;
	c->locs = locs;
	c->n = (uint32_t)n;
	c->nlines = (uint32_t)nlines;
}

/* The first way of the bucket of c's stack. */
static inline struct ddprof_scache_ent *bucket(struct ddprof_scache *c)
{
	return &c->ents[(c->h >> (64 - DDPROF_SCACHE_BITS)) &
			~(uint64_t)(DDPROF_SCACHE_WAYS - 1)];
}

static inline bool same_line(const struct ddprof_line *a, const struct ddprof_line *b)
{
	return !(((uintptr_t)a->function.name ^ (uintptr_t)b->function.name) |
		 ((uintptr_t)a->function.system_name ^ (uintptr_t)b->function.system_name) |
		 ((uintptr_t)a->function.filename ^ (uintptr_t)b->function.filename) |
		 (uint64_t)(a->function.start_line ^ b->function.start_line) |
		 (uint64_t)(a->line ^ b->line));
}

static bool hit(const struct ddprof_scache *c, const struct ddprof_store *st,
		const struct ddprof_scache_ent *e)
{
	const struct ddprof_location *locs = c->locs, *copy;
	const struct ddprof_line *lines;
	const uint32_t (*chk)[2];

	if (e->n != c->n || e->nlines != c->nlines)
		return false;
	copy = (const void *)e->blob;
	lines = (const void *)(copy + e->n);
	/* the usual case: the caller hands the same lines arrays again, so
	 * the whole array compares as bytes; otherwise frame by frame, all
	 * but the lines pointer */
	if (memcmp(locs, copy, e->n * sizeof(*locs)))
		for (uint32_t i = 0; i < e->n; i++)
			if (memcmp(&locs[i], &copy[i], offsetof(struct ddprof_location, lines)) ||
			    locs[i].nlines != copy[i].nlines)
				return false;
	for (uint32_t i = 0; i < e->n; i++)
		for (size_t j = 0; j < locs[i].nlines; j++)
			if (!same_line(&locs[i].lines[j], lines++))
				return false;
	/* same pointers as when the entry was filled: compare each distinct
	 * one's current content with the interned copy (a pointer repeated
	 * within this call has the same content every time); the pointers
	 * are read from the blob, now known equal to the caller's */
	chk = (const void *)(lines);
	for (uint32_t i = 0; i < e->nchk; i++) {
		const char *s;

		memcpy(&s, e->blob + chk[i][0], sizeof(s));
		if (strcmp(s, st->strs[chk[i][1]].ptr))
			return false;
	}
	return true;
}

int ddprof_scache_lookup(struct ddprof_scache *c, const struct ddprof_store *st,
			 const struct ddprof_location *locs, size_t n,
			 uint32_t epoch, uint32_t stamp, uint32_t *sidx)
{
	struct ddprof_scache_ent *e;

	prepare(c, locs, n);
	if (!c->locs)
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

/* Where to put c's stack: a stale way, else the least recently used. */
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

/* Appends the string s found at byte off of the blob to the check list
 * unless it is NULL or a pointer already listed (a small table of seen
 * pointers; a duplicate that slips through only costs one more
 * comparison). Returns 0 or str_idx's error. */
static int add_check(struct ddprof_scache *c, const void **seen, const char *s,
		     size_t off, uint32_t *nchk, ddprof_scache_str_fn str_idx,
		     void *ctx)
{
	size_t b;

	if (!s)
		return 0;
	b = ((uintptr_t)s * 0x9e3779b97f4a7c15ULL) >> 58;
	if (seen[b] == s)
		return 0;
	seen[b] = s;
	c->chk[*nchk][0] = (uint32_t)off;
	(*nchk)++;
	return str_idx(ctx, s, &c->chk[*nchk - 1][1]);
}

#define LOC_OFF(i, field) ((i) * sizeof(struct ddprof_location) + \
			   offsetof(struct ddprof_location, field))
#define LINE_OFF(base, k, field) ((base) + (k) * sizeof(struct ddprof_line) + \
				  offsetof(struct ddprof_line, field))

/* Builds the check list of c's stack into c->chk. Returns 0 or an error. */
static int checks(struct ddprof_scache *c, uint32_t *nchk,
		  ddprof_scache_str_fn str_idx, void *ctx)
{
	const void *seen[64] = { 0 };
	size_t base = c->n * sizeof(*c->locs), k = 0;
	int rc;

	*nchk = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct ddprof_location *l = &c->locs[i];

		if ((rc = add_check(c, seen, l->mapping.filename,
				    LOC_OFF(i, mapping.filename), nchk, str_idx, ctx)) ||
		    (rc = add_check(c, seen, l->mapping.build_id,
				    LOC_OFF(i, mapping.build_id), nchk, str_idx, ctx)))
			return rc;
		for (size_t j = 0; j < l->nlines; j++, k++) {
			const struct ddprof_function *f = &l->lines[j].function;

			if ((rc = add_check(c, seen, f->name, LINE_OFF(base, k, function.name),
					    nchk, str_idx, ctx)) ||
			    (rc = add_check(c, seen, f->system_name,
					    LINE_OFF(base, k, function.system_name),
					    nchk, str_idx, ctx)) ||
			    (rc = add_check(c, seen, f->filename,
					    LINE_OFF(base, k, function.filename),
					    nchk, str_idx, ctx)))
				return rc;
		}
	}
	return 0;
}

void ddprof_scache_insert(struct ddprof_scache *c, uint32_t sidx,
			  uint32_t epoch, uint32_t stamp,
			  ddprof_scache_str_fn str_idx, void *ctx)
{
	struct ddprof_scache_ent *e;
	struct ddprof_line *lines;
	uint32_t nchk;
	size_t size, off;
	unsigned char *blob;

	if (!c->locs || checks(c, &nchk, str_idx, ctx))
		return;
	off = c->n * sizeof(*c->locs) + c->nlines * sizeof(*c->locs->lines);
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
	memcpy(e->blob, c->locs, c->n * sizeof(*c->locs));
	lines = (void *)(e->blob + c->n * sizeof(*c->locs));
	for (uint32_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < c->locs[i].nlines; j++)
			*lines++ = c->locs[i].lines[j];
	memcpy(e->blob + off, c->chk, nchk * sizeof(*c->chk));
	e->h = c->h;
	e->n = c->n;
	e->nlines = c->nlines;
	e->nchk = nchk;
	e->sidx = sidx;
	e->stamp = stamp;
}

size_t ddprof_scache_memory(const struct ddprof_scache *c)
{
	if (!c->ents)
		return 0;
	return c->bytes + (sizeof(*c->ents) << DDPROF_SCACHE_BITS) +
	       DDPROF_SCACHE_MAX_STRS * sizeof(*c->chk);
}
