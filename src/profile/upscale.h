/* Upscaling rules of a profile: validated and checked for conflicts when
 * added, resolved against a store's strings and applied to each sample's
 * values at serialization. */
#ifndef DDPROF_PROFILE_UPSCALE_H
#define DDPROF_PROFILE_UPSCALE_H

#include <stddef.h>
#include <stdint.h>

#include "ddprof/profile.h"
#include "store.h"

struct ddprof_urule {
	enum ddprof_upscaling_kind kind;
	uint64_t columns;     /* bit i: scales value column i */
	char *key, *value;    /* both NULL: every sample */
	double scale;         /* PROPORTIONAL */
	size_t sum_index, count_index;
	uint64_t count;       /* POISSON_FIXED_COUNT */
	double distance;
	/* resolved at serialization against the store's strings */
	uint32_t key_idx, value_idx;
	int resolved;         /* 0: the label cannot occur in this store */
};

struct ddprof_upscaling {
	struct ddprof_urule *rules;
	size_t n, cap;
};

/* Validates r for ntypes columns, checks conflicts, copies it in.
 * Returns 0, -DDPROF_ERR_INVALID, -DDPROF_ERR_CONFLICT or -ENOMEM. */
int ddprof_upscaling_add(struct ddprof_upscaling *u, size_t ntypes,
			 const struct ddprof_upscaling_rule *r);

/* Deep copy of src into the empty dst. Returns 0 or -ENOMEM. */
int ddprof_upscaling_copy(struct ddprof_upscaling *dst,
			  const struct ddprof_upscaling *src);

void ddprof_upscaling_fini(struct ddprof_upscaling *u);

/* Looks up each rule's label strings in s (u's resolution cache is
 * mutable state used only during one serialization). */
void ddprof_upscaling_resolve(struct ddprof_upscaling *u,
			      const struct ddprof_store *s);

/* Scales vals[0..nv-1] (a copy of a sample's values) by every rule that
 * matches the sample's labels; scales come from the unscaled values. */
void ddprof_upscaling_apply(const struct ddprof_upscaling *u,
			    const struct ddprof_slabel *labels, uint32_t nlabels,
			    int64_t *vals, uint32_t nv);

#endif
