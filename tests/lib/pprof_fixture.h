/* A small known pprof for exporter tests, encoded with the nanopb code
 * generated from proto/profile.proto and LZ4-framed with liblz4: 9 strings,
 * sample types cpu-samples/count and cpu-time/nanoseconds, one mapping,
 * one function "fixture_main", one location, and n samples where sample i
 * (0-based) has values {i + 1, 10000000 * (i + 1)} and label "thread id"
 * = 42. Read it back with tests/lib/pprof_reader.h. */
#ifndef DDPROF_TESTS_PPROF_FIXTURE_H
#define DDPROF_TESTS_PPROF_FIXTURE_H

#include <stddef.h>

/* Encodes the fixture profile with n_samples samples and LZ4-frames it.
 * Returns 0 and *out (malloc'd) / *len, or -1. */
int pprof_fixture_make_lz4(unsigned n_samples, void **out, size_t *len);

#endif
