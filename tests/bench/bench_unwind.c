/* Benchmarks of the unwinder and symbolizer on stacks captured from this
 * process at 20-30 frames deep (-O2, no frame pointers), warm caches:
 * prints `bench: unwind_per_sample US us` and
 * `bench: symbolize_per_frame NS ns`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/uw_capture.h"
#include "symbols/symbolizer.h"
#include "unwind/unwind.h"

#define NSTACKS 8
#define ROUNDS 20000

static struct uw_capture caps[NSTACKS];
static volatile int sink;

__attribute__((noinline)) static void bench_a(int n, struct uw_capture *c);

__attribute__((noinline)) static void bench_b(int n, struct uw_capture *c)
{
	if (n)
		bench_a(n - 1, c);
	else
		uw_capture_here(c, UW_CAPTURE_STACK);
	sink++;
}

__attribute__((noinline)) static void bench_a(int n, struct uw_capture *c)
{
	if (n)
		bench_b(n - 1, c);
	else
		uw_capture_here(c, UW_CAPTURE_STACK);
	sink += 2;
}

static double now(void)
{
	struct timespec ts;

	/* CPU time of this thread: on a shared machine wall time mostly
	 * measures the other tenants */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	static struct ddprof_unwind_result res[NSTACKS];
	struct ddprof_perf_sample smp[NSTACKS];
	struct ddprof_symbolizer *sym;
	struct ddprof_unwind *u;
	struct uw_maps maps;
	unsigned frames = 0, complete = 0;
	double t0, us, ns;
	pid_t pid = getpid();

	/* 20..27 frames below main + main, libc start, _start */
	for (int i = 0; i < NSTACKS; i++) {
		bench_a(16 + i, &caps[i]);
		uw_capture_to_sample(&caps[i], &smp[i]);
	}
	if (uw_maps_load(&maps, 0) || ddprof_unwind_new(&u) ||
	    ddprof_symbolizer_new(&sym))
		return 1;
	for (int i = 0; i < NSTACKS; i++) { /* warm up */
		ddprof_unwind_sample(u, &smp[i], uw_maps_find, &maps, &res[i]);
		frames += res[i].nr;
		complete += res[i].complete;
	}
	t0 = now();
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < NSTACKS; i++)
			ddprof_unwind_sample(u, &smp[i], uw_maps_find, &maps,
					     &res[i]);
	us = (now() - t0) * 1e6 / (ROUNDS * NSTACKS);
	fprintf(stderr, "bench_unwind: %u frames in %d stacks, %u complete\n",
		frames, NSTACKS, complete);
	for (int i = 0; i < NSTACKS; i++) { /* warm up */
		for (unsigned f = 0; f < res[i].nr; f++) {
			struct ddprof_symbol y;

			ddprof_symbolizer_lookup(sym, pid, &res[i].frames[f], &y);
		}
	}
	t0 = now();
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < NSTACKS; i++)
			for (unsigned f = 0; f < res[i].nr; f++) {
				struct ddprof_symbol y;

				ddprof_symbolizer_lookup(sym, pid,
							 &res[i].frames[f], &y);
			}
	ns = (now() - t0) * 1e9 / ((double)ROUNDS * frames);
	printf("bench: unwind_per_sample %.2f us\n", us);
	printf("bench: symbolize_per_frame %.1f ns\n", ns);
	ddprof_symbolizer_free(sym);
	ddprof_unwind_free(u);
	uw_maps_free(&maps);
	return complete == NSTACKS ? 0 : 1;
}
