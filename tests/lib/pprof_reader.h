/* Test helper: decompresses (gzip or LZ4 frame) and decodes pprof bytes
 * with nanopb into plain arrays, so tests of any module can check the
 * profiles they produce; also runs `go tool pprof` on a profile. */
#ifndef DDPROF_TESTS_PPROF_READER_H
#define DDPROF_TESTS_PPROF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pprof_value_type {
	int64_t type, unit; /* string ids */
};

struct pprof_label {
	int64_t key, str, num, num_unit;
};

struct pprof_sample {
	uint64_t *location_ids; /* leaf first */
	size_t nlocations;
	int64_t *values;
	size_t nvalues;
	struct pprof_label *labels;
	size_t nlabels;
};

struct pprof_mapping {
	uint64_t id, start, limit, offset;
	int64_t filename, build_id;
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct pprof_line {
	uint64_t function_id;
	int64_t line;
};

struct pprof_location {
	uint64_t id, mapping_id, address;
	struct pprof_line *lines;
	size_t nlines;
};

struct pprof_function {
	uint64_t id;
	int64_t name, system_name, filename, start_line;
};

struct pprof_profile {
	struct pprof_value_type *sample_types;
	size_t nsample_types;
	struct pprof_sample *samples;
	size_t nsamples;
	struct pprof_mapping *mappings;
	size_t nmappings;
	struct pprof_location *locations;
	size_t nlocations;
	struct pprof_function *functions;
	size_t nfunctions;
	char **strings; /* NUL-terminated copies */
	size_t nstrings;
	int64_t time_nanos, duration_nanos, period, default_sample_type;
	bool has_period_type;
	struct pprof_value_type period_type;
};

/* Decompresses buf: gzip (1f 8b) or LZ4 frame (04 22 4d 18); anything else
 * is copied as is. *out is malloc'd (caller frees). Returns 0 or -1. */
int pprof_decompress(const void *buf, size_t len, void **out, size_t *out_len);

/* Decodes raw protobuf bytes into *p (zeroed first). Returns 0 or -1 (a
 * malformed message; *p is freed). */
int pprof_decode(const void *buf, size_t len, struct pprof_profile *p);

/* pprof_decompress + pprof_decode. */
int pprof_read(const void *buf, size_t len, struct pprof_profile *p);

void pprof_profile_free(struct pprof_profile *p);

/* Lookups; NULL / "<bad string id>" when absent. */
const char *pprof_str(const struct pprof_profile *p, int64_t id);
const struct pprof_location *pprof_location(const struct pprof_profile *p,
					    uint64_t id);
const struct pprof_function *pprof_function(const struct pprof_profile *p,
					    uint64_t id);
const struct pprof_mapping *pprof_mapping(const struct pprof_profile *p,
					  uint64_t id);
/* The label of sample s with key `key`, or NULL. */
const struct pprof_label *pprof_label(const struct pprof_profile *p,
				      const struct pprof_sample *s,
				      const char *key);

/* Reads the whole file at path into a NUL-terminated malloc'd buffer
 * (caller frees); *len (if non-NULL) gets its size. NULL on failure. */
char *pprof_slurp(const char *path, size_t *len);

/* pprof_slurp + pprof_read. Returns 0 or -1. */
int pprof_read_file(const char *path, struct pprof_profile *p);

/* Sum of value column `column` over the samples whose leaf frame's
 * innermost function is name. */
int64_t pprof_leaf_sum(const struct pprof_profile *p, const char *name,
		       size_t column);

/* Writes len bytes to path (created or truncated). Returns 0 or -1. */
int pprof_write_file(const char *path, const void *buf, size_t len);

/* Writes buf to a temporary file and runs `go tool pprof <args> FILE`
 * (args e.g. "-raw" or "-top"), with GOCACHE/HOME pointed at a temporary
 * directory when HOME is unset. *output (malloc'd, NUL-terminated, caller
 * frees) gets stdout+stderr. Returns the exit status, 77 if go is missing,
 * or -1 on a local failure. */
int pprof_go_tool(const void *buf, size_t len, const char *args, char **output);

#endif
