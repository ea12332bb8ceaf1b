/* Aggregation glue of ddprof-perf: turns unwound, symbolized samples into
 * the current period's profile through the store's fast path, with
 * per-period caches of interned ids (label keys, frame -> location), the
 * `[lost]` frame for dropped samples, and timeline timestamps. */
#ifndef DDPROF_CLI_AGG_H
#define DDPROF_CLI_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/u64map.h"

/* Only a pointer to the store is kept here: the CLI reaches the store
 * through agg.c and sink.c alone. */
struct ddprof_profile;

struct ddprof_cli_agg {
	struct ddprof_profile *prof;  /* the current period (owned) */
	bool timeline;                /* keep timestamped samples */
	int64_t mono_to_real;         /* add to a perf (monotonic) time for
	                                 ns since the epoch */
	bool ids_ready;               /* the ids below belong to this period */
	uint64_t k_pid, k_tid, k_tname, k_pname; /* label key string ids */
	uint64_t lost_stack;          /* stack of the [lost] frame */
	struct ddprof_u64map locs;    /* frame key -> location id, this period */
	uint64_t period_samples;      /* samples added this period */
};

/* Sample types of a profile: cpu-samples/count and cpu-time/nanoseconds
 * for the clock events; for other events, samples/count and
 * events/count. The second column is the weight (the sample's period). */
bool ddprof_cli_agg_event_is_time(const char *event);

/* Creates the first period's profile. freq (Hz) sets the pprof period of
 * time events. Returns 0, -DDPROF_ERR_INVALID or -ENOMEM. */
int ddprof_cli_agg_init(struct ddprof_cli_agg *a, const char *event,
			uint32_t freq, bool timeline);

/* Marks now as the start of the first period (sampling starts now, not
 * when the profile was created during setup). */
void ddprof_cli_agg_start(struct ddprof_cli_agg *a);

/* Frees the profile and caches; a zeroed or already-finished a is fine. */
void ddprof_cli_agg_fini(struct ddprof_cli_agg *a);

/* Looks up the location id cached for frame key (see frames.h): returns
 * true and sets *loc when present. */
static inline bool ddprof_cli_agg_loc_get(const struct ddprof_cli_agg *a,
					  uint64_t key, uint64_t *loc)
{
	uint64_t *v = ddprof_u64map_get(&a->locs, key);

	if (v)
		*loc = *v;
	return v != NULL;
}

/* Remembers key -> location id for the rest of the period. Returns 0 or
 * -ENOMEM (the id is then simply not cached). */
int ddprof_cli_agg_loc_put(struct ddprof_cli_agg *a, uint64_t key,
			   uint64_t loc);

/* One symbolized frame, in the CLI's own terms (the symbolizer's types
 * come with perf/sample.h, see above). lines[0] is the innermost inlined
 * function, lines[nr_lines - 1] the one they were inlined into. */
struct ddprof_cli_line {
	const char *name, *system_name, *file;
	uint32_t line, start_line;
};

struct ddprof_cli_sym {
	uint64_t start, limit, file_offset; /* its mapping */
	const char *path, *build_id;
	uint64_t address;
	const struct ddprof_cli_line *lines;
	unsigned nr_lines;
};

/* Most inline lines kept per location (the outermost ones). */
#define DDPROF_CLI_MAX_LINES 256

/* Interns s as a location of the current period (with no_inline, only
 * its outermost function). Returns 0 and *loc, or a store error. */
int ddprof_cli_agg_intern_location(struct ddprof_cli_agg *a,
				   const struct ddprof_cli_sym *s,
				   bool no_inline, uint64_t *loc);

/* Adds one sample: locs[0..n) leaf first; count and weight (period) as
 * values; labels from pid/tid and the names (NULL: no such label);
 * time_ns is the perf time, used in timeline mode. Returns 0 or a
 * negative code of the store. */
int ddprof_cli_agg_add(struct ddprof_cli_agg *a, const uint64_t *locs,
		       size_t n, pid_t pid, pid_t tid, const char *pname,
		       const char *tname, int64_t weight, uint64_t time_ns);

/* Accounts count dropped samples of weight period each as one `[lost]`
 * frame with values count and count x period. Returns 0 or an error. */
int ddprof_cli_agg_add_lost(struct ddprof_cli_agg *a, uint64_t count,
			    uint64_t period);

/* Ends the period: *prev receives the finished profile (caller serializes
 * and frees it), the store starts empty and the caches are cleared.
 * Returns 0 or -ENOMEM (nothing changed). */
int ddprof_cli_agg_rotate(struct ddprof_cli_agg *a,
			  struct ddprof_profile **prev);

#endif
