/* The profile store of the ddprof library (C counterpart of libdatadog's
 * libdd-profiling): interns strings, mappings, functions, locations, stacks
 * and label sets, aggregates samples, keeps timeline samples, upscales and
 * serializes to (compressed) pprof.
 *
 * Threading: a profile is NOT thread-safe. One thread at a time may call
 * any function on a given profile; different profiles are independent.
 * The library never prints, aborts or exits; errors are returned as 0 or a
 * negative code (-errno or -DDPROF_ERR_*, see ddprof/error.h). Every
 * allocation failure is reported as -ENOMEM and leaves the profile usable:
 * the failed sample is not added (strings, functions or locations it had
 * already interned may stay, unreferenced, which is harmless). */
#ifndef DDPROF_PROFILE_H
#define DDPROF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ddprof_profile;

/* ------------------------------------------------------------------ */
/* Lifecycle                                                          */

/* A (type, unit) pair, e.g. ("cpu-time", "nanoseconds"). */
struct ddprof_value_type {
	const char *type;
	const char *unit;
};

/* Creates an empty profile in *out with ntypes sample types (1..64, each
 * type non-NULL; unit NULL means ""), copied. period_type may be NULL (no
 * period); otherwise it and period are written to the pprof period_type and
 * period fields. The start time is set to the current CLOCK_REALTIME.
 * Returns 0, -DDPROF_ERR_INVALID or -ENOMEM (*out untouched on error).
 * Free with ddprof_profile_free(). */
int ddprof_profile_new(struct ddprof_profile **out,
		       const struct ddprof_value_type *types, size_t ntypes,
		       const struct ddprof_value_type *period_type,
		       int64_t period);

/* Frees p and everything it owns; NULL is accepted. Pointers returned by
 * the read helpers below become invalid. */
void ddprof_profile_free(struct ddprof_profile *p);

/* Swaps an empty store into p, cheaply (no copy of the samples): p keeps
 * its sample types, period, default sample type and upscaling rules, gets a
 * new start time (now) and a new id generation, so every id interned
 * before is stale afterwards (-DDPROF_ERR_STALE_ID, never a crash).
 * If prev is non-NULL, *prev receives a new profile object holding the
 * previous contents (same configuration and start time) that the caller
 * serializes and frees with ddprof_profile_free(); if prev is NULL the
 * previous contents are freed. Returns 0 or -ENOMEM (p unchanged). */
int ddprof_profile_reset(struct ddprof_profile *p,
			 struct ddprof_profile **prev);

/* Sets the start of the profiled interval (ns since the Unix epoch),
 * written as time_nanos; duration_nanos is end - start at serialization. */
void ddprof_profile_set_start_time(struct ddprof_profile *p, int64_t ns);

/* Returns the start time (ns since the Unix epoch). */
int64_t ddprof_profile_start_time(const struct ddprof_profile *p);

/* Chooses the sample type written as default_sample_type (default: the
 * last one, as go tool pprof would pick). Returns 0 or -DDPROF_ERR_INVALID
 * when index >= number of sample types. */
int ddprof_profile_set_default_sample_type(struct ddprof_profile *p,
					   size_t index);

/* ------------------------------------------------------------------ */
/* Simple path: strings in, dedup inside                              */

/* A memory mapping. A mapping whose fields are all zero / NULL / "" means
 * "no mapping" (pprof mapping_id 0). Strings are copied; NULL means "". */
struct ddprof_mapping {
	uint64_t start;    /* memory_start */
	uint64_t limit;    /* memory_limit (exclusive) */
	uint64_t offset;   /* file_offset */
	const char *filename;
	const char *build_id; /* hex build id (or any identifier), or NULL */
};

struct ddprof_function {
	const char *name;        /* human-readable (demangled) name */
	const char *system_name; /* mangled / linker name, or NULL */
	const char *filename;    /* source file, or NULL */
	int64_t start_line;      /* 0 if unknown */
};

/* One line of a location: the function and the line inside it. */
struct ddprof_line {
	struct ddprof_function function;
	int64_t line; /* 0 if unknown */
};

/* One frame. lines[0] is the innermost inlined callee, lines[nlines-1]
 * the function they were inlined into; nlines may be 0 (unsymbolized).
 * Set every field, lines too (NULL when nlines is 0): the add path
 * compares whole structs with those of earlier calls, and an
 * uninitialised field, though harmless, shows up under valgrind. */
struct ddprof_location {
	struct ddprof_mapping mapping;
	uint64_t address;
	const struct ddprof_line *lines;
	size_t nlines; /* at most DDPROF_PROFILE_MAX_LINES */
};

/* A label: a string label if str is non-NULL (num and num_unit ignored),
 * else a number with an optional unit (NULL: none). key must be a
 * non-empty string. */
struct ddprof_label {
	const char *key;
	const char *str;
	int64_t num;
	const char *num_unit;
};

/* A sample: locations leaf first, one value per sample type, labels. */
struct ddprof_sample {
	const struct ddprof_location *locations;
	size_t nlocations; /* at most DDPROF_PROFILE_MAX_FRAMES */
	const int64_t *values;
	size_t nvalues; /* must equal the number of sample types */
	const struct ddprof_label *labels;
	size_t nlabels; /* at most DDPROF_PROFILE_MAX_LABELS */
};

#define DDPROF_PROFILE_MAX_FRAMES 4096
#define DDPROF_PROFILE_MAX_LINES 256
#define DDPROF_PROFILE_MAX_LABELS 64

/* Adds a sample. With timestamp_ns == 0 it is aggregated: a sample with the
 * same stack and the same labels (same keys and values in the same order)
 * already present gets the values added element-wise, saturating at
 * INT64_MAX / INT64_MIN. With timestamp_ns != 0 (ns since the epoch) it
 * is a timeline sample: kept on its own, never merged, and written with an
 * extra label `end_timestamp_ns` (num = timestamp_ns, no unit).
 * Nothing is retained from the caller's memory. Returns 0,
 * -DDPROF_ERR_INVALID (bad counts, NULL or empty label key) or -ENOMEM. */
int ddprof_profile_add(struct ddprof_profile *p,
		       const struct ddprof_sample *sample,
		       int64_t timestamp_ns);

/* Opt-in speed contract of the simple path. By default every string
 * pointer is read and compared with the stored copy on each call (a pointer
 * met twice in one call is read once), so callers may reuse their buffers
 * freely. With on != 0 the caller promises that the content behind every
 * string pointer it passes to ddprof_profile_add() stays unchanged until
 * the next reset or free (e.g. strings owned by a symbol cache that lives
 * at least that long); known pointers are then recognized without reading
 * them. Breaking the promise yields wrong names, never a crash: the
 * library does not dereference remembered pointers. Survives resets.
 * Returns 0 or -ENOMEM (turning it on allocates a frame cache). */
int ddprof_profile_set_static_strings(struct ddprof_profile *p, int on);

/* ------------------------------------------------------------------ */
/* Fast path: intern once, add by id                                  */
/*
 * Ids are opaque 64-bit values, valid in p until the next reset or free.
 * They carry p's generation: an id from before a reset, from another
 * profile, or never issued makes the call fail with -DDPROF_ERR_STALE_ID.
 * The value 0 is always valid and means "" for a string id and "no
 * mapping" for a mapping id. Interning the same content twice returns the
 * same id. */

/* Interns len bytes at s (need not be NUL-terminated; s may be NULL when
 * len is 0). Returns 0 and sets *id, -DDPROF_ERR_TOO_BIG for strings over
 * 1 GiB, or -ENOMEM. */
int ddprof_profile_intern_string(struct ddprof_profile *p, const char *s,
				 size_t len, uint64_t *id);

/* Interns a NUL-terminated string (NULL means ""). Same returns. */
int ddprof_profile_intern_cstr(struct ddprof_profile *p, const char *s,
			       uint64_t *id);

struct ddprof_mapping_ids {
	uint64_t start, limit, offset;
	uint64_t filename; /* string id */
	uint64_t build_id; /* string id */
};

struct ddprof_function_ids {
	uint64_t name, system_name, filename; /* string ids */
	int64_t start_line;
};

struct ddprof_line_ids {
	uint64_t function; /* function id */
	int64_t line;
};

/* Interns a mapping / function from string ids. Returns 0 and sets *id,
 * -DDPROF_ERR_STALE_ID or -ENOMEM. */
int ddprof_profile_intern_mapping(struct ddprof_profile *p,
				  const struct ddprof_mapping_ids *m,
				  uint64_t *id);
int ddprof_profile_intern_function(struct ddprof_profile *p,
				   const struct ddprof_function_ids *f,
				   uint64_t *id);

/* Interns a location: mapping id (0: none), address and an inline chain of
 * nlines lines, innermost first (nlines <= DDPROF_PROFILE_MAX_LINES).
 * Returns 0, -DDPROF_ERR_STALE_ID, -DDPROF_ERR_INVALID or -ENOMEM. */
int ddprof_profile_intern_location(struct ddprof_profile *p, uint64_t mapping,
				   uint64_t address,
				   const struct ddprof_line_ids *lines,
				   size_t nlines, uint64_t *id);

/* Interns a whole stack: n location ids, leaf first (n may be 0,
 * n <= DDPROF_PROFILE_MAX_FRAMES). Same returns as above. */
int ddprof_profile_intern_stack(struct ddprof_profile *p,
				const uint64_t *locations, size_t n,
				uint64_t *id);

/* A label by string ids: a string label when str != 0, else a number
 * (num) with an optional unit (num_unit, 0: none). key must not be 0 (""). */
struct ddprof_label_ids {
	uint64_t key;
	uint64_t str;
	int64_t num;
	uint64_t num_unit;
};

/* Adds a sample by stack id; same aggregation and timeline rules as
 * ddprof_profile_add(). Returns 0, -DDPROF_ERR_STALE_ID,
 * -DDPROF_ERR_INVALID or -ENOMEM. */
int ddprof_profile_add_interned(struct ddprof_profile *p, uint64_t stack,
				const int64_t *values, size_t nvalues,
				const struct ddprof_label_ids *labels,
				size_t nlabels, int64_t timestamp_ns);

/* ------------------------------------------------------------------ */
/* Upscaling (applied at serialization, never to stored values)       */

enum ddprof_upscaling_kind {
	/* value *= total_real / total_sampled */
	DDPROF_UPSCALE_PROPORTIONAL = 1,
	/* value *= 1 / (1 - exp(-(sum / count) / sampling_distance)) with sum
	 * and count read from the sample's own columns sum_index and
	 * count_index (no scaling when count is 0) */
	DDPROF_UPSCALE_POISSON,
	/* same with a fixed count instead of a count column */
	DDPROF_UPSCALE_POISSON_FIXED_COUNT,
};

struct ddprof_upscaling_rule {
	enum ddprof_upscaling_kind kind;
	const size_t *values; /* the value columns to scale */
	size_t nvalues;       /* 1..number of sample types */
	/* Both NULL: the rule applies to every sample. Otherwise only to
	 * samples carrying a string label key=label_value. Copied. */
	const char *label_key;
	const char *label_value;
	uint64_t total_sampled, total_real; /* PROPORTIONAL (total_sampled > 0) */
	size_t sum_index;                   /* POISSON, POISSON_FIXED_COUNT */
	size_t count_index;                 /* POISSON */
	uint64_t count;                     /* POISSON_FIXED_COUNT (> 0) */
	uint64_t sampling_distance;         /* POISSON* (> 0) */
};

/* Registers a rule; it survives resets. Two rules conflict when they scale
 * a common column and either applies to every sample or they select the
 * same label key (a sample could carry both). Returns 0,
 * -DDPROF_ERR_INVALID (bad index, zero divisor, key without value),
 * -DDPROF_ERR_CONFLICT or -ENOMEM. */
int ddprof_profile_add_upscaling_rule(struct ddprof_profile *p,
				      const struct ddprof_upscaling_rule *rule);

/* ------------------------------------------------------------------ */
/* Serialization                                                      */

enum ddprof_compression {
	DDPROF_COMPRESS_NONE = 0, /* raw protobuf */
	DDPROF_COMPRESS_GZIP,     /* gzip (zlib); what go tool pprof reads */
	DDPROF_COMPRESS_LZ4,      /* LZ4 frame (magic 04 22 4D 18), for upload */
};

#define DDPROF_PROFILE_DEFAULT_MAX_SIZE (64u << 20)

struct ddprof_serialize_opts {
	enum ddprof_compression compression;
	int level;          /* gzip 1..9 (0: 1); LZ4: below 0 faster and
			     * larger (acceleration -level), 0..2 fast, 3..12
			     * high compression (above 12: 12) */
	size_t max_size;    /* hard cap on output bytes; 0: DEFAULT_MAX_SIZE */
	int64_t end_time_ns; /* end of the interval; 0: now (CLOCK_REALTIME) */
};

/* Encodes p as pprof (streamed through the compressor: the profile is never
 * held twice in memory). opts NULL means gzip with defaults. On success
 * returns 0, *out is a malloc'd buffer owned by the caller (free() it) and
 * *out_len its size. On error *out is NULL and the return is
 * -DDPROF_ERR_TOO_BIG (output would exceed max_size), -DDPROF_ERR_ENCODE,
 * -DDPROF_ERR_COMPRESS, -DDPROF_ERR_INVALID or -ENOMEM. p is not modified. */
int ddprof_profile_serialize(const struct ddprof_profile *p,
			     const struct ddprof_serialize_opts *opts,
			     void **out, size_t *out_len);

/* Same, writing to fd (which stays open; the caller closes it). On error
 * some bytes may already have been written. *written (if non-NULL) gets the
 * byte count. Also returns -errno of a failed write(). */
int ddprof_profile_serialize_fd(const struct ddprof_profile *p,
				const struct ddprof_serialize_opts *opts,
				int fd, size_t *written);

/* ------------------------------------------------------------------ */
/* Read helpers (raw stored values, not upscaled)                     */

struct ddprof_profile_stats {
	uint64_t samples_added;  /* successful add calls since new/reset */
	uint64_t aggregated;     /* distinct (stack, labels) rows */
	uint64_t timeline;       /* timeline samples kept */
	uint64_t strings, mappings, functions, locations, stacks, label_sets;
	uint64_t memory_bytes;   /* approximate heap bytes held */
};

/* Fills *st. Never fails. */
void ddprof_profile_stats(const struct ddprof_profile *p,
			  struct ddprof_profile_stats *st);

/* Number of sample types; their (type, unit) strings are valid until free. */
size_t ddprof_profile_sample_types(const struct ddprof_profile *p,
				   const struct ddprof_value_type **types);

/* Writes the total of each value column over every sample (aggregated and
 * timeline), saturating, into totals[0..n-1]; n must equal the number of
 * sample types. Returns 0 or -DDPROF_ERR_INVALID. */
int ddprof_profile_totals(const struct ddprof_profile *p, int64_t *totals,
			  size_t n);

struct ddprof_profile_top {
	const char *function; /* leaf frame's innermost function name ("" if
			       * unsymbolized); valid until reset or free */
	int64_t value;        /* sum of column `column` (self value) */
};

/* Fills out[0..n-1] with the n functions of largest self value in column
 * `column`, in decreasing order (ties by name). Returns the number of
 * entries written (<= n), -DDPROF_ERR_INVALID or -ENOMEM. */
int ddprof_profile_top_functions(const struct ddprof_profile *p,
				 size_t column, struct ddprof_profile_top *out,
				 size_t n);

#ifdef __cplusplus
}
#endif

#endif
