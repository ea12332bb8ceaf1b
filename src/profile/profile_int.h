/* The profile object behind include/ddprof/profile.h, shared by the
 * add paths (profile.c), the read helpers and the pprof encoder. */
#ifndef DDPROF_PROFILE_INT_H
#define DDPROF_PROFILE_INT_H

#include "ddprof/profile.h"
#include "store.h"
#include "upscale.h"

#define DDPROF_MAX_TYPES 64

/* A store plus the indices of the configuration strings interned in it. */
struct ddprof_pbox {
	struct ddprof_store st;
	uint32_t type_strs[2 * DDPROF_MAX_TYPES]; /* type, unit per column */
	uint32_t period_strs[2];
};

/* scratch string reference of the simple add path */
struct ddprof_sref {
	const char *p;
	uint32_t len;
	uint64_t hash;
};

struct ddprof_profile {
	struct ddprof_pbox *box;
	uint32_t gen; /* id generation of box */
	size_t ntypes;
	struct ddprof_value_type *types; /* owned copies */
	struct ddprof_value_type period_type;
	int has_period;
	int64_t period;
	size_t default_type;
	int64_t start_ns;
	struct ddprof_upscaling up;
	/* scratch of the add paths, sized for the maxima of profile.h */
	uint32_t *scr_locs;
	struct ddprof_slabel *scr_labels;
	struct ddprof_sline *scr_lines;
	struct ddprof_sref *scr_refs;
};

int64_t ddprof_now_ns(void);

/* Interns the end_timestamp_ns label key once timeline samples exist.
 * Returns 0 or -ENOMEM. */
int ddprof_profile_prepare_timeline(struct ddprof_profile *p);

#endif
