/* The demo workload of `make demo`: two threads with a known split of CPU
 * time between three named functions, measured in thread CPU time so the
 * split holds on a loaded machine too. Expected self shares: compress_block
 * 50% (thread "compressor"), parse_records 30% and render_frame 20% (main
 * thread). Usage: demo [SECONDS of CPU per thread, default 4]. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SLICE_NS 10000000ULL /* alternate functions every 10 ms of CPU */
#define CHECK_EVERY 16384    /* iterations between clock reads */

static volatile uint64_t sink; /* keeps the work from being optimized out */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Each worker runs until the thread has used ns more CPU time. The loops
 * differ so the compiler cannot fold the functions into one. */
__attribute__((noinline, noclone)) static void compress_block(uint64_t ns)
{
	uint64_t end = thread_cpu_ns() + ns, h = 0x9e3779b97f4a7c15ULL;

	do {
		for (int i = 0; i < CHECK_EVERY; i++)
			h = (h ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL + (uint64_t)i;
		sink = h;
	} while (thread_cpu_ns() < end);
}

__attribute__((noinline, noclone)) static void parse_records(uint64_t ns)
{
	uint64_t end = thread_cpu_ns() + ns, n = 1;

	do {
		for (int i = 0; i < CHECK_EVERY; i++)
			n = n * 6364136223846793005ULL + 1442695040888963407ULL +
			    (n >> 33);
		sink = n;
	} while (thread_cpu_ns() < end);
}

__attribute__((noinline, noclone)) static void render_frame(uint64_t ns)
{
	uint64_t end = thread_cpu_ns() + ns;
	uint32_t x = 2463534242u;

	do {
		for (int i = 0; i < CHECK_EVERY; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		sink = x;
	} while (thread_cpu_ns() < end);
}

static void *compressor_main(void *arg)
{
	uint64_t total = *(const uint64_t *)arg;

	for (uint64_t used = 0; used < total; used += SLICE_NS)
		compress_block(SLICE_NS);
	return NULL;
}

/* 60% parsing, 40% rendering, interleaved in 10 ms slices. */
__attribute__((noinline, noclone)) static void run_frontend(uint64_t total)
{
	for (uint64_t used = 0; used < total; used += 5 * SLICE_NS) {
		parse_records(3 * SLICE_NS);
		render_frame(2 * SLICE_NS);
	}
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 4.0;
	uint64_t total;
	pthread_t t;

	if (secs <= 0 || secs > 3600) {
		fprintf(stderr, "usage: demo [SECONDS of CPU per thread, 0-3600]\n");
		return 2;
	}
	total = (uint64_t)(secs * 1e9);
	printf("demo: 2 threads, %.1f s of CPU each; expect compress_block 50%%, "
	       "parse_records 30%%, render_frame 20%%\n", secs);
	fflush(stdout);
	if (pthread_create(&t, NULL, compressor_main, &total)) {
		fprintf(stderr, "demo: cannot create a thread\n");
		return 1;
	}
	pthread_setname_np(t, "compressor");
	run_frontend(total);
	pthread_join(t, NULL);
	return 0;
}
