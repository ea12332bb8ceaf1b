/* Test helper: can this process sample with perf_event_open? Live tests
 * call it first and exit 77 (skipped) with the reason when it cannot. */
#ifndef DDPROF_TESTS_PERF_ACCESS_H
#define DDPROF_TESTS_PERF_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

/* Tries to open (and close) a cpu-clock sampling event on this process.
 * Returns true if it works; otherwise false with a reason in why. */
bool ddprof_test_perf_usable(char *why, size_t len);

/* Exits 77 with the reason on stderr unless perf sampling is usable. */
void ddprof_test_require_perf(void);

#endif
