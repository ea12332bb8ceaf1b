/* Sample cache of the simple add path: a whole stack, flattened to its
 * numbers and string pointers, maps to its interned stack index. A hit is
 * trusted only after every distinct string of the stack has been compared
 * with the copy stored in the entry, so callers may reuse their buffers. */
#ifndef DDPROF_PROFILE_SCACHE_H
#define DDPROF_PROFILE_SCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ddprof/profile.h"

#define DDPROF_SCACHE_BITS 16
/* Stacks whose flattened key exceeds this many words are not cached. */
#define DDPROF_SCACHE_MAX_WORDS 2048
/* Total bytes of all entries' copies; beyond it new stacks are not cached. */
#define DDPROF_SCACHE_BUDGET (8u << 20)

/* One cached stack. blob holds the key words, then the check list (word
 * index of a pointer, offset of its copy), then the copies of the strings
 * (NUL included). */
struct ddprof_scache_ent {
	uint64_t h;
	unsigned char *blob;
	uint32_t nwords, nchk, cap;
	uint32_t sidx;  /* stack index in the store */
	uint32_t stamp; /* add call that filled the entry */
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
/* Test hook: when nonzero the simple path bypasses the cache. */
extern int ddprof__scache_off;

/* Allocates the cache. Returns 0 or -ENOMEM. */
int ddprof_scache_init(struct ddprof_scache *c);
void ddprof_scache_fini(struct ddprof_scache *c);

/* Forgets every entry's stamp (after the add-call counter wrapped). */
void ddprof_scache_clear_stamps(struct ddprof_scache *c);

/* Flattens the n locations into c's key and looks it up among entries
 * stamped after epoch. Returns 1 and sets *sidx on a verified hit, 0
 * otherwise (the key stays ready for ddprof_scache_insert()). */
int ddprof_scache_lookup(struct ddprof_scache *c,
			 const struct ddprof_location *locs, size_t n,
			 uint32_t epoch, uint32_t *sidx);

/* Remembers the key of the last lookup as stack sidx, stamped stamp. A
 * stack too large for the cache or an allocation failure leaves it
 * uncached (the cache is only an accelerator); returns nothing. */
void ddprof_scache_insert(struct ddprof_scache *c, uint32_t sidx,
			  uint32_t stamp);

size_t ddprof_scache_memory(const struct ddprof_scache *c);

#endif
