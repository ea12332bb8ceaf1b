/* Sample cache of the simple add path: a whole stack, flattened to its
 * numbers and string pointers, maps to its interned stack index. A hit is
 * trusted only after every distinct string of the stack has been compared
 * with its interned copy in the store, so callers may reuse their buffers. */
#ifndef DDPROF_PROFILE_SCACHE_H
#define DDPROF_PROFILE_SCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ddprof/profile.h"
#include "store.h"

#define DDPROF_SCACHE_BITS 12
#define DDPROF_SCACHE_WAYS 8 /* entries of a bucket: 1 << BITS in all */
/* Stacks whose flattened key exceeds this many words are not cached. */
#define DDPROF_SCACHE_MAX_WORDS 2048
/* Total bytes of all entries' blobs; beyond it new stacks are not cached. */
#define DDPROF_SCACHE_BUDGET (8u << 20)

/* One cached stack. blob holds the key words, then the check list: per
 * distinct string pointer of the key, its word index and the index of its
 * string in the store. */
struct ddprof_scache_ent {
	uint64_t h;
	unsigned char *blob;
	uint32_t nwords, nchk, cap;
	uint32_t sidx;  /* stack index in the store */
	uint32_t stamp; /* add call that last filled or hit the entry */
};

struct ddprof_scache {
	struct ddprof_scache_ent *ents; /* 1 << DDPROF_SCACHE_BITS */
	uint64_t *key;                  /* scratch: the key being looked up */
	uint32_t (*chk)[2];             /* scratch of ddprof_scache_insert() */
	uint32_t nwords;                /* words of key, 0: not cacheable */
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

/* Flattens the n locations into c's key and looks it up among entries
 * stamped after epoch (entries of the current store st). Returns 1, sets
 * *sidx and restamps the entry with stamp on a verified hit, 0 otherwise
 * (the key stays ready for ddprof_scache_insert()). */
int ddprof_scache_lookup(struct ddprof_scache *c, const struct ddprof_store *st,
			 const struct ddprof_location *locs, size_t n,
			 uint32_t epoch, uint32_t stamp, uint32_t *sidx);

/* Gives the store index of string s, already interned (0 for NULL or "").
 * Returns 0 or a negative error. */
typedef int (*ddprof_scache_str_fn)(void *ctx, const char *s, uint32_t *idx);

/* Remembers the key of the last lookup as stack sidx, stamped stamp, in
 * place of a way older than epoch or else the least recently used one;
 * str_idx(ctx, ...) names the key's strings. A stack too large for the
 * cache, an exhausted budget, an allocation or str_idx failure leave it
 * uncached (the cache is only an accelerator). */
void ddprof_scache_insert(struct ddprof_scache *c, uint32_t sidx,
			  uint32_t epoch, uint32_t stamp,
			  ddprof_scache_str_fn str_idx, void *ctx);

size_t ddprof_scache_memory(const struct ddprof_scache *c);

#endif
