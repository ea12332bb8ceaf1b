/* Sample cache of the simple add path (see scache.h): a stack seen before
 * costs one flattening pass, one memcmp of the flattened key and one
 * strcmp per distinct string instead of a string-cache probe per string,
 * a location probe per frame and a stack probe. */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "scache.h"

uint64_t ddprof__scache_force_hash;
int ddprof__scache_off;

/* Words of a location in the key, then words per line; the pointer words
 * are 5 and 6 of a location and 0 to 2 of a line. */
#define LOC_WORDS 7
#define LINE_WORDS 5

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

		if (l->nlines > DDPROF_PROFILE_MAX_LINES || (l->nlines && !l->lines) ||
		    nw + LOC_WORDS + LINE_WORDS * l->nlines > DDPROF_SCACHE_MAX_WORDS)
			return;
		w[nw + 0] = l->nlines;
		w[nw + 1] = l->address;
		w[nw + 2] = l->mapping.start;
		w[nw + 3] = l->mapping.limit;
		w[nw + 4] = l->mapping.offset;
		w[nw + 5] = (uintptr_t)l->mapping.filename;
		w[nw + 6] = (uintptr_t)l->mapping.build_id;
		nw += LOC_WORDS;
		for (size_t j = 0; j < l->nlines; j++) {
			const struct ddprof_line *ln = &l->lines[j];

			w[nw + 0] = (uintptr_t)ln->function.name;
			w[nw + 1] = (uintptr_t)ln->function.system_name;
			w[nw + 2] = (uintptr_t)ln->function.filename;
			w[nw + 3] = (uint64_t)ln->line;
			w[nw + 4] = (uint64_t)ln->function.start_line;
			nw += LINE_WORDS;
		}
		/* only addresses and the first name select the slot (the
		 * comparison of every word decides); independent multiplies
		 * keep the chain short */
		h = (h << 7 | h >> 57) ^ (l->address * 0x9e3779b97f4a7c15ULL) ^
		    ((l->nlines ? (uintptr_t)l->lines[0].function.name : 0) *
		     0xc2b2ae3d27d4eb4fULL);
	}
	h ^= h >> 31;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	c->h = ddprof__scache_force_hash ? ddprof__scache_force_hash : h;
	c->nwords = (uint32_t)nw;
}

static inline struct ddprof_scache_ent *slot(struct ddprof_scache *c)
{
	return &c->ents[c->h >> (64 - DDPROF_SCACHE_BITS)];
}

int ddprof_scache_lookup(struct ddprof_scache *c,
			 const struct ddprof_location *locs, size_t n,
			 uint32_t epoch, uint32_t *sidx)
{
	const struct ddprof_scache_ent *e;
	const uint32_t (*chk)[2];
	const char *copies;

	flatten(c, locs, n);
	if (!c->nwords)
		return 0;
	e = slot(c);
	if (e->stamp <= epoch || e->h != c->h || e->nwords != c->nwords ||
	    memcmp(e->blob, c->key, c->nwords * sizeof(*c->key)))
		return 0;
	/* same pointers as when the entry was filled: compare each distinct
	 * one's current content with the copy (a pointer repeated within
	 * this call has the same content every time) */
	chk = (const void *)(e->blob + e->nwords * sizeof(*c->key));
	copies = (const char *)(chk + e->nchk);
	for (uint32_t i = 0; i < e->nchk; i++)
		if (strcmp((const char *)(uintptr_t)c->key[chk[i][0]], copies + chk[i][1]))
			return 0;
	*sidx = e->sidx;
	return 1;
}

/* Appends key word wi to the check list unless it is NULL or a pointer
 * already listed (a small table of seen pointers; a duplicate that slips
 * through only costs one more comparison). */
static void add_check(struct ddprof_scache *c, const void **seen, uint32_t wi,
		      uint32_t *nchk, size_t *bytes)
{
	const char *s = (const char *)(uintptr_t)c->key[wi];
	size_t b;

	if (!s)
		return;
	b = ((uintptr_t)s * 0x9e3779b97f4a7c15ULL) >> 58;
	if (seen[b] == s)
		return;
	seen[b] = s;
	c->chk[*nchk][0] = wi;
	c->chk[*nchk][1] = (uint32_t)*bytes;
	(*nchk)++;
	*bytes += strlen(s) + 1;
}

void ddprof_scache_insert(struct ddprof_scache *c, uint32_t sidx,
			  uint32_t stamp)
{
	const void *seen[64] = { 0 };
	struct ddprof_scache_ent *e;
	uint32_t nchk = 0;
	size_t sbytes = 0, size, off;
	unsigned char *blob;

	if (!c->nwords)
		return;
	for (size_t nw = 1; nw < c->nwords;) {
		uint64_t nlines = c->key[nw];

		add_check(c, seen, (uint32_t)(nw + 5), &nchk, &sbytes);
		add_check(c, seen, (uint32_t)(nw + 6), &nchk, &sbytes);
		nw += LOC_WORDS;
		for (uint64_t j = 0; j < nlines; j++, nw += LINE_WORDS)
			for (uint32_t k = 0; k < 3; k++)
				add_check(c, seen, (uint32_t)(nw + k), &nchk, &sbytes);
	}
	size = c->nwords * sizeof(*c->key) + nchk * sizeof(*c->chk) + sbytes;
	e = slot(c);
	if (size > UINT32_MAX)
		return;
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
	off = c->nwords * sizeof(*c->key);
	memcpy(e->blob, c->key, off);
	memcpy(e->blob + off, c->chk, nchk * sizeof(*c->chk));
	off += nchk * sizeof(*c->chk);
	for (uint32_t i = 0; i < nchk; i++) {
		const char *s = (const char *)(uintptr_t)c->key[c->chk[i][0]];

		memcpy(e->blob + off + c->chk[i][1], s, strlen(s) + 1);
	}
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
