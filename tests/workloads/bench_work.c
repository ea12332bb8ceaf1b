/* Fixed-work workload of the overhead benchmark (tests/bench/overhead.sh):
 * two busy threads walk deep, varied call paths (10-30 frames through several
 * mutually recursive functions) and print their own wall and CPU time, so the
 * benchmark can tell the workload's cost from the profiler's. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* noclone too: a specialised clone would rename frames and merge paths. */
#define WORK_NOINLINE __attribute__((noinline, noclone))

#define WORK_THREADS 2
/* Walk depth per task, drawn between these bounds. A walk of depth d puts
 * 2*d+1 frames on the stack (walk_next and a walk_* function per level); with
 * clone3, start_thread, the thread, task, work_leaf and leaf frames a sampled
 * stack is 2*d+7 or 2*d+8 frames deep: 11 to 30. */
#define WORK_DEPTH_MIN 2
#define WORK_DEPTH_MAX 11
/* Leaf iterations per call: ~20-60 us, so stacks change many times between
 * two samples at 999 Hz and every path gets sampled. */
#define WORK_LEAF_ITERS 16000
/* Tasks per thread per unit of SIZE. */
#define WORK_TASKS_PER_UNIT 1024

struct work_path {
	uint64_t rng;
	uint64_t sum;
};

static uint64_t work_rand(struct work_path *p)
{
	/* xorshift64*: deterministic per thread, so the work is fixed. */
	p->rng ^= p->rng >> 12;
	p->rng ^= p->rng << 25;
	p->rng ^= p->rng >> 27;
	return p->rng * 0x2545F4914F6CDD1DULL;
}

WORK_NOINLINE static uint64_t leaf_mix(uint64_t x, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdULL;
		x ^= x >> 29;
	}
	return x;
}

WORK_NOINLINE static uint64_t leaf_sort(uint64_t x, unsigned n)
{
	/* A stack array: frames of different sizes, like real code. */
	uint32_t a[48];
	uint64_t acc = 0;

	for (unsigned round = 0; round < n / 400; round++) {
		for (unsigned i = 0; i < 48; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			a[i] = (uint32_t)(x >> 32);
		}
		for (unsigned i = 1; i < 48; i++) {
			uint32_t v = a[i];
			unsigned j = i;
			while (j > 0 && a[j - 1] > v) {
				a[j] = a[j - 1];
				j--;
			}
			a[j] = v;
		}
		acc += a[round % 48];
	}
	return acc ^ x;
}

WORK_NOINLINE static uint64_t leaf_float(uint64_t x, unsigned n)
{
	double s = (double)(x & 0xffff) + 1.0, t = 0.5;

	/* A division per step: a quarter of the steps of the other leaves
	 * keeps the leaves' shares of the samples alike. */
	for (unsigned i = 0; i < n / 4; i++) {
		t = t * 0.999 + s / (t + 1.0);
		s += 0.25;
	}
	return x + (uint64_t)t;
}

/* A leaf that calls one more level: some stacks end two frames below walk. */
WORK_NOINLINE static uint64_t leaf_nested(uint64_t x, unsigned n)
{
	uint64_t a = leaf_mix(x, n / 2);
	return leaf_float(a, n / 2) ^ a;
}

/* The dispatchers mix the callee's result with their own state instead of
 * returning it: no sibling calls, so every level keeps its frame. */
WORK_NOINLINE static uint64_t work_leaf(struct work_path *p)
{
	uint64_t r = work_rand(p), v;

	switch (r % 4) {
	case 0:
		v = leaf_mix(r, WORK_LEAF_ITERS);
		break;
	case 1:
		v = leaf_sort(r, WORK_LEAF_ITERS);
		break;
	case 2:
		v = leaf_float(r, WORK_LEAF_ITERS);
		break;
	default:
		v = leaf_nested(r, WORK_LEAF_ITERS);
		break;
	}
	return v ^ p->rng;
}

static uint64_t walk_next(struct work_path *p, int depth);

/* The walk_* functions call each other in a random order chosen per task;
 * each keeps a different amount of live stack across the call, so neither a
 * tail call nor a shared frame layout can flatten the path. */
WORK_NOINLINE static uint64_t walk_alpha(struct work_path *p, int depth)
{
	volatile uint64_t keep[4] = { depth, p->rng };
	uint64_t r = walk_next(p, depth - 1);
	return r ^ keep[0] ^ (keep[1] << 1);
}

WORK_NOINLINE static uint64_t walk_beta(struct work_path *p, int depth)
{
	volatile uint64_t keep[12] = { p->rng, depth };
	uint64_t r = walk_next(p, depth - 1);
	return (r + keep[1]) * 3 + keep[0];
}

WORK_NOINLINE static uint64_t walk_gamma(struct work_path *p, int depth)
{
	volatile uint32_t keep[20] = { (uint32_t)depth };
	uint64_t r = walk_next(p, depth - 1);
	/* Two visits to the next level from here: paths branch. */
	if ((p->rng & 7) == 0)
		r += walk_next(p, depth - 2);
	return r - keep[0];
}

WORK_NOINLINE static uint64_t walk_delta(struct work_path *p, int depth)
{
	volatile uint64_t keep[2] = { depth };
	uint64_t r = walk_next(p, depth - 1);
	return (r << 3) ^ (r >> 5) ^ keep[0];
}

WORK_NOINLINE static uint64_t walk_epsilon(struct work_path *p, int depth)
{
	volatile uint8_t keep[96] = { (uint8_t)depth };
	uint64_t r = walk_next(p, depth - 1);
	return r * 0x9E3779B97F4A7C15ULL + keep[0];
}

WORK_NOINLINE static uint64_t walk_next(struct work_path *p, int depth)
{
	uint64_t v;

	if (depth <= 0)
		return work_leaf(p) + 1;
	switch (work_rand(p) % 5) {
	case 0:
		v = walk_alpha(p, depth);
		break;
	case 1:
		v = walk_beta(p, depth);
		break;
	case 2:
		v = walk_gamma(p, depth);
		break;
	case 3:
		v = walk_delta(p, depth);
		break;
	default:
		v = walk_epsilon(p, depth);
		break;
	}
	return v + (uint64_t)depth;
}

WORK_NOINLINE static uint64_t work_task(struct work_path *p)
{
	int span = WORK_DEPTH_MAX - WORK_DEPTH_MIN + 1;
	int depth = WORK_DEPTH_MIN + (int)(work_rand(p) % (uint64_t)span);
	uint64_t r = walk_next(p, depth);
	return r ^ p->sum;
}

struct work_thread {
	pthread_t tid;
	uint64_t seed;
	long tasks; /* 0: until the process is killed */
	uint64_t sum;
};

WORK_NOINLINE static void *work_thread_main(void *arg)
{
	struct work_thread *t = arg;
	struct work_path p = { .rng = t->seed, .sum = 0 };

	for (long i = 0; t->tasks == 0 || i < t->tasks; i++)
		p.sum += work_task(&p);
	t->sum = p.sum;
	return NULL;
}

static double work_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static double work_tv_ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

int main(int argc, char **argv)
{
	struct work_thread threads[WORK_THREADS];
	struct timespec t0, t1;
	struct rusage ru;
	long size = 100;
	uint64_t sum = 0;
	int err;

	if (argc > 2 || (argc == 2 && (argv[1][0] < '0' || argv[1][0] > '9'))) {
		fprintf(stderr, "usage: bench_work [SIZE]\n"
				"  fixed work on %d threads, SIZE units "
				"(default 100); 0 runs until killed\n",
			WORK_THREADS);
		return 2;
	}
	if (argc == 2)
		size = strtol(argv[1], NULL, 10);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < WORK_THREADS; i++) {
		threads[i].seed = 0x853c49e6748fea9bULL * (uint64_t)(i + 1);
		threads[i].tasks = size * WORK_TASKS_PER_UNIT;
		err = pthread_create(&threads[i].tid, NULL, work_thread_main,
				     &threads[i]);
		if (err) {
			fprintf(stderr, "bench_work: pthread_create: %s\n",
				strerror(err));
			return 1;
		}
	}
	for (int i = 0; i < WORK_THREADS; i++) {
		pthread_join(threads[i].tid, NULL);
		sum += threads[i].sum;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("work: wall_ms=%.3f cpu_ms=%.3f user_ms=%.3f sys_ms=%.3f "
	       "maxrss_kib=%ld size=%ld sum=%016" PRIx64 "\n",
	       work_ms(&t0, &t1),
	       work_tv_ms(&ru.ru_utime) + work_tv_ms(&ru.ru_stime),
	       work_tv_ms(&ru.ru_utime), work_tv_ms(&ru.ru_stime),
	       ru.ru_maxrss, size, sum);
	return 0;
}
