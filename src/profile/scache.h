/* Sample cache of the simple add path: a whole stack, as the caller's
 * locations and lines (numbers and string pointers), maps to its interned
 * stack index. A hit is trusted only after every distinct string of the
 * stack has been compared with its interned copy in the store, so callers
 * may reuse their buffers. */
#ifndef DDPROF_PROFILE_SCACHE_H
#define DDPROF_PROFILE_SCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ddprof/profile.h"
#include "store.h"

#define DDPROF_SCACHE_BITS 12
#define DDPROF_SCACHE_WAYS 8 /* entries of a bucket: 1 << BITS in all */
/* Stacks whose locations and lines exceed this many bytes are not cached. */
#define DDPROF_SCACHE_MAX_BYTES (16u << 10)
/* Bound of a check list: every string pointer is a word of the blob. */
#define DDPROF_SCACHE_MAX_STRS (DDPROF_SCACHE_MAX_BYTES / 8)
/* Total bytes of all entries' blobs; beyond it new stacks are not cached. */
#define DDPROF_SCACHE_BUDGET (8u << 20)

/* One cached stack. blob holds a copy of the n locations, a copy of their
 * nlines lines in frame order, then the check list: per distinct string
 * pointer of the copies, its byte offset in the blob and the index of its
 * string in the store. */
struct ddprof_scache_ent {
	uint64_t h;
	unsigned char *blob;
	uint32_t n, nlines, nchk, cap;
	uint32_t sidx;  /* stack index in the store */
	uint32_t stamp; /* add call that last filled or hit the entry */
};

struct ddprof_scache {
	struct ddprof_scache_ent *ents; /* 1 << DDPROF_SCACHE_BITS */
	uint32_t (*chk)[2];             /* scratch of ddprof_scache_insert() */
	/* the stack of the last lookup (the caller's, valid during the add
	 * call), NULL: not cacheable */
	const struct ddprof_location *locs;
	uint32_t n, nlines;
	uint64_t h;
	size_t bytes; /* sum of the entries' cap */
};

/* Test hook: when nonzero every stack hashes to this value, so lookups
 * rest on the comparison alone. Not part of the public API. */
extern uint64_t ddprof__scache_force_hash;
/* Test hook: when nonzero the simple path bypasses this cache and the
 * label-set cache (lcache.h). */
extern int ddprof__scache_off;

/* Allocates the cache. Returns 0 or -ENOMEM. */
int ddprof_scache_init(struct ddprof_scache *c);
void ddprof_scache_fini(struct ddprof_scache *c);

/* Forgets every entry's stamp (after the add-call counter wrapped). */
void ddprof_scache_clear_stamps(struct ddprof_scache *c);

/* Hashes the n locations and looks them up among entries
 * stamped after epoch (entries of the current store st). Returns 1, sets
 * *sidx and restamps the entry with stamp on a verified hit, 0 otherwise
 * (the stack stays noted for ddprof_scache_insert() in the same add
 * call). */
int ddprof_scache_lookup(struct ddprof_scache *c, const struct ddprof_store *st,
			 const struct ddprof_location *locs, size_t n,
			 uint32_t epoch, uint32_t stamp, uint32_t *sidx);

/* Gives the store index of string s, already interned (0 for NULL or "").
 * Returns 0 or a negative error. */
typedef int (*ddprof_scache_str_fn)(void *ctx, const char *s, uint32_t *idx);

/* Remembers the stack of the last lookup as stack sidx, stamped stamp, in
 * place of a way older than epoch or else the least recently used one;
 * str_idx(ctx, ...) names the stack's strings. A stack too large for the
 * cache, an exhausted budget, an allocation or str_idx failure leave it
 * uncached (the cache is only an accelerator). */
void ddprof_scache_insert(struct ddprof_scache *c, uint32_t sidx,
			  uint32_t epoch, uint32_t stamp,
			  ddprof_scache_str_fn str_idx, void *ctx);

size_t ddprof_scache_memory(const struct ddprof_scache *c);

#endif
