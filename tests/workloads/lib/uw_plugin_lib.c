/* libuw_plugin.so: hot code in a library dlopen'ed after start-up. */
#include <stdint.h>

__attribute__((noinline)) static uint64_t uw_plugin_inner(uint64_t n)
{
	uint64_t x = n | 1;

	for (uint64_t i = 0; i < n; i++)
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return x;
}

__attribute__((noinline)) uint64_t uw_plugin_work(uint64_t n)
{
	return uw_plugin_inner(n) + 1;
}
