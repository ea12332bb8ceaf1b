/* Frame-pointer continuation: the kernel walked rbp links at sample time,
 * reading user memory directly, so its chain goes past the stack copy; it
 * is only trusted where it agrees with the DWARF-unwound frames. */
#include <stdbool.h>
#include <stdio.h>
#include <sys/mman.h>

#include "unwind/unwind_fp.h"

/* the kernel's default perf_event_max_stack */
#define FP_KERNEL_MAX 127
/* frames compared to accept an alignment of chain and unwound frames */
#define FP_AGREE 4

static bool agrees(const struct ddprof_unwind_result *res, unsigned first,
		   unsigned k, const uint64_t *chain, uint64_t n, int64_t j)
{
	if (j < 0 || (uint64_t)j >= n)
		return false;
	for (unsigned i = 0; i < FP_AGREE && i < k && i <= j; i++) {
		/* the chain's first entry is the ip: a leaf without a frame
		 * may drop its caller from the chain, so stop comparing there */
		if (j - i == 0 && k - 1 - i == 0)
			return chain[0] == res->frames[first].pc;
		if (chain[j - i] != res->frames[first + k - 1 - i].pc)
			return i > 0 && j - i == 0;
	}
	return true;
}

unsigned ddprof_unwind_fp_continue(struct ddprof_unwind_result *res,
				   unsigned first_user, const uint64_t *chain,
				   uint64_t n, uint64_t total, uint64_t max_stack,
				   ddprof_find_map_fn find_map, void *arg)
{
	static const int deltas[] = { 0, 1, -1, 2, -2 };
	unsigned k = res->nr - first_user, added = 0;
	int64_t j = -1;
	uint64_t i;

	if (!k || !n)
		return 0;
	for (unsigned d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++)
		if (agrees(res, first_user, k, chain, n, (int64_t)k - 1 + deltas[d])) {
			j = (int64_t)k - 1 + deltas[d];
			break;
		}
	if (j < 0)
		return 0;
	for (i = j + 1; i < n && res->nr < DDPROF_UNWIND_MAX_DEPTH; i++) {
		const struct ddprof_map *map = find_map(arg, chain[i]);

		if (chain[i] >= (uint64_t)-4095 || !map || !(map->prot & PROT_EXEC))
			break;
		res->frames[res->nr++] = (struct ddprof_frame){
			.pc = chain[i], .map = map, .kind = DDPROF_FRAME_USER,
			.call_site = true, .from_fp = true,
		};
		added++;
	}
	res->nr_fp += added;
	/* the kernel stops at a zero frame pointer, the end of the chain,
	 * unless it stopped at its limit (markers count against it too) */
	if (added && i == n && total < max_stack)
		res->complete = true;
	if (res->nr == DDPROF_UNWIND_MAX_DEPTH && i < n)
		res->stop = DDPROF_UNWIND_STOP_DEPTH;
	return added;
}

uint64_t ddprof_unwind_fp_max_stack(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_stack", "re");
	unsigned long long v = FP_KERNEL_MAX;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = FP_KERNEL_MAX;
		fclose(f);
	}
	return v;
}
