/* libuw_shared.so: hot code in a shared library linked at start-up. */
#include <stdint.h>

__attribute__((noinline)) static uint64_t uw_lib_inner(uint64_t n)
{
	uint64_t x = n;

	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	return x;
}

__attribute__((noinline)) uint64_t uw_lib_work(uint64_t n)
{
	return uw_lib_inner(n) ^ n;
}
