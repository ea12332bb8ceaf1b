/* The profile object behind include/ddprof/profile.h, shared by the
 * add paths (profile.c), the read helpers and the pprof encoder. */
#ifndef DDPROF_PROFILE_INT_H
#define DDPROF_PROFILE_INT_H

#include "ddprof/profile.h"
#include "lcache.h"
#include "scache.h"
#include "store.h"
#include "upscale.h"

#define DDPROF_MAX_TYPES 64

/* A store plus the indices of the configuration strings interned in it. */
struct ddprof_pbox {
	struct ddprof_store st;
	uint32_t type_strs[2 * DDPROF_MAX_TYPES]; /* type, unit per column */
	uint32_t period_strs[2];
};

/* Entry of the simple path's string cache: the caller's pointer last seen
 * in this slot and the string index its content had. Only the pointer value
 * is kept; a hit is always verified against the stored copy (strcmp),
 * except for a pointer already verified during the same add call. */
struct ddprof_pcache_ent {
	const char *ptr;
	uint32_t idx;
	uint32_t stamp; /* add call that last verified ptr */
};

#define DDPROF_PCACHE_BITS 12

/* Frame cache of the static-strings mode: a frame with at most one line,
 * keyed by its numbers and string pointers (whose content the caller
 * promised not to change), maps to its location without any lookup of its
 * strings. Valid for stamps after the last reset, like the string cache. */
struct ddprof_fcache_ent {
	const char *mfile, *mbid, *name, *sys, *file;
	uint64_t address, start, limit, offset;
	int64_t line, start_line;
	uint32_t nlines, loc, stamp;
};

#define DDPROF_FCACHE_BITS 11

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
	uint32_t *scr_strs; /* string indices of one location */
	struct ddprof_pcache_ent *pcache;
	struct ddprof_fcache_ent *fcache;
	struct ddprof_scache sc; /* default mode only, allocated on first use */
	struct ddprof_lcache_ent *lcache; /* 1 << DDPROF_LCACHE_BITS */
	uint32_t stamp;     /* number of simple add calls, wraps */
	uint32_t epoch;     /* stamp of the last call before the last reset */
	int static_strings; /* see ddprof_profile_set_static_strings() */
};

int64_t ddprof_now_ns(void);

/* Interns the end_timestamp_ns label key once timeline samples exist.
 * Returns 0 or -ENOMEM. */
int ddprof_profile_prepare_timeline(struct ddprof_profile *p);

#endif
