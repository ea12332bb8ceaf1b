/* Allocation wrappers with a failure-injection countdown for tests. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc.h"

long ddprof__palloc_fail_after = -1;

void ddprof_palloc_fail_after(long n)
{
	ddprof__palloc_fail_after = n;
}

/* Returns 1 when this allocation must fail. */
static inline int injected_failure(void)
{
	if (__builtin_expect(ddprof__palloc_fail_after < 0, 1))
		return 0;
	if (ddprof__palloc_fail_after == 0)
		return 1;
	ddprof__palloc_fail_after--;
	return 0;
}

void *ddprof_palloc(size_t size)
{
	return injected_failure() ? NULL : malloc(size ? size : 1);
}

void *ddprof_pcalloc(size_t n, size_t size)
{
	return injected_failure() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *ddprof_prealloc(void *ptr, size_t size)
{
	return injected_failure() ? NULL : realloc(ptr, size ? size : 1);
}

void ddprof_pfree(void *ptr)
{
	free(ptr);
}

int ddprof_pgrow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 16;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		ncap *= 2;
	}
	n = ddprof_prealloc(*arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}
