/* Allocation wrappers of the profile store. Every heap allocation of
 * src/profile goes through them so tests can inject failures and check that
 * each one is reported as -ENOMEM instead of crashing. */
#ifndef DDPROF_PROFILE_ALLOC_H
#define DDPROF_PROFILE_ALLOC_H

#include <stddef.h>

/* Countdown of allocations left before the injected failure; negative
 * means never fail. Internal test hook, not part of the public API. */
extern long ddprof__palloc_fail_after;

void *ddprof_palloc(size_t size);
void *ddprof_pcalloc(size_t n, size_t size);
/* Like realloc(): on failure returns NULL and leaves ptr intact. */
void *ddprof_prealloc(void *ptr, size_t size);
void ddprof_pfree(void *ptr);

/* Arms the failure injection: the (n+1)-th allocation from now fails and so
 * do all later ones until the hook is disarmed with n = -1. */
void ddprof_palloc_fail_after(long n);

/* Grows the array *arr of elem-sized items so it holds at least need items
 * (capacity doubles). Returns 0 or -ENOMEM (array untouched). */
int ddprof_pgrow(void **arr, size_t *cap, size_t need, size_t elem);

#endif
