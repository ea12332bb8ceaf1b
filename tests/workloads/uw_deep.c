/* Unwinding workload: recursion of a given depth with the hot loop at the
 * bottom (default 40: well within a 32 KiB stack copy; 3000 goes past
 * it, before the 512-frame cap). Also built with frame pointers, without CFI, stripped.
 * Usage: uw_deep [seconds] [depth] [wait] */
#include <stdint.h>
#include <stdlib.h>

#include "uw_common.h"

static volatile uint64_t sink;

__attribute__((noinline)) void uw_deep_leaf(void)
{
	uint64_t x = sink;

	for (int i = 0; i < 100000; i++)
		x = x * 2862933555777941757ULL + 3037000493ULL;
	sink = x;
}

__attribute__((noinline)) void uw_deep_recurse(int depth)
{
	volatile char pad[256]; /* 3000 frames: past a 32 KiB copy */

	pad[0] = depth;
	if (depth > 0)
		uw_deep_recurse(depth - 1);
	else
		uw_deep_leaf();
	sink += pad[0];
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	int depth = argc > 2 ? atoi(argv[2]) : 40;
	double end = uw_now() + seconds;

	while (uw_now() < end)
		uw_deep_recurse(depth);
	uw_done(argc, argv);
	return 0;
}
