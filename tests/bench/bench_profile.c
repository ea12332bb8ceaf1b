/* Benchmarks of the profile store: the add paths (strings, interned,
 * timestamped) on 18-frame stacks with the CLI's two thread labels, and
 * serialization of 1000 timeline samples and of 100k aggregated rows.
 * add_sample_strings_uncached is the same work with the sample and label
 * caches off (every string hashed and looked up, each frame probed, as
 * libdatadog's add path does), measured in the same run: on this shared
 * machine a busy neighbour slows both, and their ratio stays.
 * Each figure is the median of several timed repetitions of the thread's
 * CPU time (clock_gettime(CLOCK_THREAD_CPUTIME_ID), so other processes on
 * the shared machine do not count), printed as `bench: NAME VALUE UNIT`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddprof/error.h"
#include "ddprof/profile.h"
#include "../lib/profile_fixture.h"
#include "profile/scache.h"

#define DEPTH 18
#define NSTACKS 1000
#define REPS 7

static const char *const thread_names[4] = { "main", "worker-1", "worker-2", "io" };

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_profile: %s: %s\n", what, ddprof_strerror(rc));
	exit(1);
}

static struct ddprof_profile *new_profile(size_t ntypes)
{
	static const struct ddprof_value_type t[2] = { { "cpu-samples", "count" },
						       { "cpu-time", "nanoseconds" } };
	struct ddprof_profile *p;
	int rc = ddprof_profile_new(&p, t, ntypes, &t[1], 10000000);

	if (rc)
		die("new", rc);
	return p;
}

/* Adds n samples through the strings path, cycling stacks and threads;
 * timestamped when ts0 != 0. */
static void add_strings(struct ddprof_profile *p, const struct fx_stacks *fx,
			size_t first, size_t n, int64_t ts0)
{
	struct ddprof_label labels[2] = { { .key = "thread id" },
					  { .key = "thread_name" } };
	int64_t v = 1;

	for (size_t i = first; i < first + n; i++) {
		struct ddprof_sample s = { fx_stack(fx, i), DEPTH, &v, 1, labels, 2 };
		int rc;

		labels[0].num = 1000 + (int64_t)(i % 4);
		labels[1].str = thread_names[i % 4];
		rc = ddprof_profile_add(p, &s, ts0 ? ts0 + (int64_t)i : 0);
		if (rc)
			die("add", rc);
	}
}

/* mode 0: default, 1: static strings, 2: caches off (uncached) */
static double bench_add_strings(const struct fx_stacks *fx, int mode)
{
	static const char *const names[3] = { "", "_static", "_uncached" };
	struct ddprof_profile *p = new_profile(1);
	const size_t n = 200000;
	double r[REPS], m;

	if (ddprof_profile_set_static_strings(p, mode == 1))
		die("static strings", -12);
	ddprof__scache_off = mode == 2;
	add_strings(p, fx, 0, NSTACKS * 4, 0); /* warm: everything interned */
	for (int k = 0; k < REPS; k++) {
		double t0 = cpu_ns();

		add_strings(p, fx, 0, n, 0);
		r[k] = (cpu_ns() - t0) / (double)n;
	}
	m = median(r, REPS);
	printf("bench: add_sample_strings%s %.1f ns\n", names[mode], m);
	ddprof__scache_off = 0;
	ddprof_profile_free(p);
	return m;
}

static void bench_add_timestamped(const struct fx_stacks *fx)
{
	struct ddprof_profile *p = new_profile(1);
	const size_t n = 100000;
	double r[REPS];

	for (int k = 0; k < REPS; k++) {
		double t0;

		ddprof_profile_reset(p, NULL);
		add_strings(p, fx, 0, NSTACKS * 4, 0);
		t0 = cpu_ns();
		add_strings(p, fx, 0, n, 1700000000000000000LL);
		r[k] = (cpu_ns() - t0) / (double)n;
	}
	printf("bench: add_sample_timestamped %.1f ns\n", median(r, REPS));
	ddprof_profile_free(p);
}

/* Interns the fixture's stacks through the fast path. */
static void intern_stacks(struct ddprof_profile *p, const struct fx_stacks *fx,
			  uint64_t *stacks)
{
	for (size_t k = 0; k < fx->n; k++) {
		const struct ddprof_location *l = fx_stack(fx, k);
		uint64_t locs[DEPTH];
		int rc = 0;

		for (size_t i = 0; i < DEPTH && !rc; i++) {
			const struct ddprof_function *f = &l[i].lines[0].function;
			struct ddprof_mapping_ids m = { l[i].mapping.start, l[i].mapping.limit,
							l[i].mapping.offset };
			struct ddprof_function_ids fi = { .start_line = f->start_line };
			struct ddprof_line_ids ln = { 0, l[i].lines[0].line };
			uint64_t mid;

			if ((rc = ddprof_profile_intern_cstr(p, l[i].mapping.filename, &m.filename)) ||
			    (rc = ddprof_profile_intern_cstr(p, l[i].mapping.build_id, &m.build_id)) ||
			    (rc = ddprof_profile_intern_mapping(p, &m, &mid)) ||
			    (rc = ddprof_profile_intern_cstr(p, f->name, &fi.name)) ||
			    (rc = ddprof_profile_intern_cstr(p, f->filename, &fi.filename)) ||
			    (rc = ddprof_profile_intern_function(p, &fi, &ln.function)))
				break;
			rc = ddprof_profile_intern_location(p, mid, l[i].address, &ln, 1, &locs[i]);
		}
		if (rc || (rc = ddprof_profile_intern_stack(p, locs, DEPTH, &stacks[k])))
			die("intern", rc);
	}
}

/* Interns the stacks and the labels of 4 threads into p. */
static void intern_all(struct ddprof_profile *p, const struct fx_stacks *fx,
		       uint64_t *stacks, struct ddprof_label_ids labels[4][2])
{
	uint64_t tid_key, tname_key;

	intern_stacks(p, fx, stacks);
	if (ddprof_profile_intern_cstr(p, "thread id", &tid_key) ||
	    ddprof_profile_intern_cstr(p, "thread_name", &tname_key))
		die("intern", -1);
	for (int t = 0; t < 4; t++) {
		labels[t][0] = (struct ddprof_label_ids){ tid_key, 0, 1000 + t, 0 };
		labels[t][1] = (struct ddprof_label_ids){ tname_key, 0, 0, 0 };
		if (ddprof_profile_intern_cstr(p, thread_names[t], &labels[t][1].str))
			die("intern", -1);
	}
}

/* The fast path; timeline samples when timestamped (the store is reset
 * before each repetition so the timeline does not grow without bound). */
static void bench_add_interned(const struct fx_stacks *fx, int timestamped)
{
	struct ddprof_profile *p = new_profile(1);
	struct ddprof_label_ids labels[4][2];
	uint64_t stacks[NSTACKS];
	const size_t n = timestamped ? 200000 : 1000000;
	double r[REPS];
	int64_t v = 1;

	intern_all(p, fx, stacks, labels);
	for (int k = -1; k < REPS; k++) { /* k == -1: warm-up */
		double t0;

		if (timestamped) {
			ddprof_profile_reset(p, NULL);
			intern_all(p, fx, stacks, labels);
		}
		t0 = cpu_ns();
		for (size_t i = 0; i < n; i++) {
			int rc = ddprof_profile_add_interned(p, stacks[i % NSTACKS], &v, 1,
							     labels[i % 4], 2,
							     timestamped ? 1700000000000000000LL + (int64_t)i : 0);
			if (rc)
				die("add_interned", rc);
		}
		if (k >= 0)
			r[k] = (cpu_ns() - t0) / (double)n;
	}
	printf("bench: add_sample_%s %.1f ns\n",
	       timestamped ? "timestamped_interned" : "interned", median(r, REPS));
	ddprof_profile_free(p);
}

/* Median time in ns of serializing p with compression c; *bytes gets the
 * output size. */
static double time_serialize(const struct ddprof_profile *p,
			     enum ddprof_compression c, int reps, size_t *bytes)
{
	struct ddprof_serialize_opts o = { .compression = c };
	double r[31];

	for (int k = 0; k < reps; k++) {
		void *buf;
		double t0 = cpu_ns();
		int rc = ddprof_profile_serialize(p, &o, &buf, bytes);

		r[k] = cpu_ns() - t0;
		if (rc)
			die("serialize", rc);
		free(buf);
	}
	return median(r, reps);
}

static void bench_serialize(const struct fx_stacks *fx)
{
	struct ddprof_profile *p = new_profile(2);
	struct ddprof_label labels[2] = { { .key = "thread id" },
					  { .key = "thread_name", .str = "worker" } };
	size_t lz, gz;
	double t;

	/* 1000 timeline samples, one per stack, as a 60 s CPU profile has */
	for (size_t i = 0; i < 1000; i++) {
		int64_t v[2] = { 1, 10000000 };
		struct ddprof_sample s = { fx_stack(fx, i), DEPTH, v, 2, labels, 2 };

		labels[0].num = 1000 + (int64_t)(i % 4);
		if (ddprof_profile_add(p, &s, 1700000000000000000LL + (int64_t)i))
			die("add", -1);
	}
	t = time_serialize(p, DDPROF_COMPRESS_LZ4, 31, &lz);
	printf("bench: serialize_1000_timestamped %.1f us\n", t / 1e3);
	t = time_serialize(p, DDPROF_COMPRESS_GZIP, 31, &gz);
	printf("bench: serialize_1000_timestamped_gzip %.1f us\n", t / 1e3);
	t = time_serialize(p, DDPROF_COMPRESS_NONE, 31, &gz);
	printf("bench: serialize_1000_timestamped_raw %.1f us\n", t / 1e3);
	ddprof_profile_free(p);

	/* 100k distinct rows: 1000 stacks x 100 threads */
	p = new_profile(2);
	for (size_t i = 0; i < 100000; i++) {
		int64_t v[2] = { 1 + (int64_t)(i % 7), 10000000 * (1 + (int64_t)(i % 7)) };
		struct ddprof_sample s = { fx_stack(fx, i), DEPTH, v, 2, labels, 2 };

		labels[0].num = 1000 + (int64_t)(i / NSTACKS);
		if (ddprof_profile_add(p, &s, 0))
			die("add", -1);
	}
	t = time_serialize(p, DDPROF_COMPRESS_LZ4, 5, &lz);
	printf("bench: serialize_100k_samples %.2f ms\n", t / 1e6);
	t = time_serialize(p, DDPROF_COMPRESS_GZIP, 5, &gz);
	printf("bench: serialize_100k_samples_gzip %.2f ms\n", t / 1e6);
	printf("bench: serialize_100k_samples_lz4_bytes %zu bytes\n", lz);
	printf("bench: serialize_100k_samples_gzip_bytes %zu bytes\n", gz);
	ddprof_profile_free(p);
}

int main(void)
{
	struct fx_stacks fx;

	if (fx_stacks_new(&fx, NSTACKS, DEPTH)) {
		fprintf(stderr, "bench_profile: out of memory\n");
		return 1;
	}
	double cached = bench_add_strings(&fx, 0);

	bench_add_strings(&fx, 1);
	printf("bench: add_sample_strings_vs_uncached_ratio %.2f ratio\n",
	       cached / bench_add_strings(&fx, 2));
	bench_add_interned(&fx, 0);
	bench_add_timestamped(&fx);
	bench_add_interned(&fx, 1);
	bench_serialize(&fx);
	fx_stacks_free(&fx);
	return 0;
}
