/* A small known pprof for exporter tests: encoded with the nanopb code
 * generated from proto/profile.proto, LZ4-framed with liblz4, and checked
 * again after a round trip (LZ4F_decompress + nanopb decode). */
#ifndef DDPROF_TESTS_PPROF_FIXTURE_H
#define DDPROF_TESTS_PPROF_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* What the fixture profile holds, as decoded. */
struct pprof_fixture_summary {
	size_t n_strings;
	size_t n_samples;
	size_t n_locations;
	size_t n_functions;
	size_t n_mappings;
	int64_t value_sum[2];   /* per sample type */
	int64_t time_nanos;
	int has_main;           /* a function named "fixture_main" */
};

/* Encodes the fixture profile (samples n_samples times) and LZ4-frames it.
 * Returns 0 and *out (malloc'd) / *len, or -1. */
int pprof_fixture_make_lz4(unsigned n_samples, void **out, size_t *len);

/* Decompresses one LZ4 frame. Returns 0 and *out (malloc'd) / *len, or -1. */
int pprof_fixture_unlz4(const void *in, size_t in_len, void **out, size_t *len);

/* Decodes a raw pprof into *sum. Returns 0, or -1 when nanopb fails. */
int pprof_fixture_decode(const void *raw, size_t len,
			 struct pprof_fixture_summary *sum);

#endif
