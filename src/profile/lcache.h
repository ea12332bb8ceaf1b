/* Label-set cache of the simple add path: the labels of a sample (up to
 * DDPROF_LCACHE_MAX_LABELS), as the caller's pointers and numbers, map to
 * their interned label set. A hit is trusted only after each string has
 * been compared with its interned copy, so callers may reuse buffers. */
#ifndef DDPROF_PROFILE_LCACHE_H
#define DDPROF_PROFILE_LCACHE_H

#include <stdint.h>

#include "ddprof/profile.h"
#include "store.h"

#define DDPROF_LCACHE_BITS 8
#define DDPROF_LCACHE_MAX_LABELS 4

/* Per label: key pointer and value pointer (the string, or the unit of a
 * number) with their string indices, and the number (0 for a string). */
struct ddprof_lcache_ent {
	const char *ptr[DDPROF_LCACHE_MAX_LABELS][2];
	int64_t num[DDPROF_LCACHE_MAX_LABELS];
	uint32_t idx[DDPROF_LCACHE_MAX_LABELS][2];
	uint32_t n, isstr; /* isstr: bit i set when label i is a string */
	uint32_t lset;     /* label set index in the store */
	uint32_t stamp;    /* add call that filled the entry */
};

/* Looks labels up in the 1 << DDPROF_LCACHE_BITS entries of c among those
 * stamped after epoch (entries of the current store st). Returns 1 and
 * sets *lset on a verified hit, else 0. */
int ddprof_lcache_lookup(const struct ddprof_lcache_ent *c,
			 const struct ddprof_store *st,
			 const struct ddprof_label *labels, size_t n,
			 uint32_t epoch, uint32_t *lset);

/* Remembers labels (resolved to sl) as label set lset, stamped stamp;
 * more labels than DDPROF_LCACHE_MAX_LABELS are not cached. */
void ddprof_lcache_insert(struct ddprof_lcache_ent *c,
			  const struct ddprof_label *labels, size_t n,
			  const struct ddprof_slabel *sl, uint32_t lset,
			  uint32_t stamp);

#endif
