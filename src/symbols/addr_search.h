/* Binary search over arrays of structs sorted by a leading uint64_t
 * address, shared by the kernel and JIT symbol tables. */
#ifndef DDPROF_SYMBOLS_ADDR_SEARCH_H
#define DDPROF_SYMBOLS_ADDR_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Returns how many of the n elements (stride bytes each, each starting
 * with its uint64_t address, sorted ascending) start at or below addr:
 * the element containing addr, if any, is at that count minus one. */
static inline size_t ddprof_addr_upper_bound(const void *base, size_t n,
					     size_t stride, uint64_t addr)
{
	const unsigned char *p = base;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t a;

		memcpy(&a, p + mid * stride, sizeof(a));
		if (a <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#endif
