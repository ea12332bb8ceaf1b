/* Benchmarks of the sampler: record decoding, mapping lookups, process
 * churn in the table, and (when perf_event is usable) live sampling of a
 * workload at 999 Hz: samples, lost samples and the profiler's own CPU
 * time per sample. Prints `bench: NAME VALUE UNIT` lines. */
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/perf_access.h"
#include "perf/record.h"
#include "perf/sampler.h"
#include "proc/table.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void bench_decode(void)
{
	static uint64_t rec[(32768 + 1024) / 8];
	const struct ddprof_record_fmt fmt = {
		.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID |
			       PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
			       PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN |
			       PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER,
		.regs_mask = DDPROF_PERF_REGS_MASK,
		.sample_id_all = true,
	};
	struct perf_event_header h = { PERF_RECORD_SAMPLE, 0, 0 };
	struct ddprof_record r;
	size_t n = 1;
	const int iters = 2000000;
	uint64_t sum = 0;
	double t0;

	rec[n++] = 0x401000;                  /* ip */
	rec[n++] = 1 | (2ULL << 32);          /* pid, tid */
	rec[n++] = 12345;                     /* time */
	rec[n++] = 0;                         /* cpu */
	rec[n++] = 1000000;                   /* period */
	rec[n++] = 20;                        /* callchain */
	n += 20;
	rec[n++] = PERF_SAMPLE_REGS_ABI_64;
	n += (size_t)__builtin_popcountll(DDPROF_PERF_REGS_MASK);
	rec[n++] = 32768;
	n += 32768 / 8;
	rec[n++] = 4096;                      /* dyn_size */
	h.size = (uint16_t)(n * 8);
	memcpy(rec, &h, sizeof(h));
	t0 = now();
	for (int i = 0; i < iters; i++) {
		if (ddprof_record_decode(rec, n * 8, &fmt, &r))
			abort();
		sum += r.sample.dyn_size;
	}
	printf("bench: sampler_decode_sample %.1f ns\n",
	       (now() - t0) * 1e9 / iters + (double)(sum == 0));
}

static void bench_find_map(void)
{
	struct ddprof_proc_table *t;
	struct ddprof_proc *p;
	const int nmaps = 512, iters = 10000000;
	uint64_t found = 0, x = 88172645463325252ULL;
	double t0;

	if (ddprof_proc_table_new(&t, "/nonexistent", NULL) ||
	    ddprof_proc_table_comm(t, 1, 1, "bench", true))
		abort();
	for (int i = 0; i < nmaps; i++) {
		struct ddprof_map m = {
			.start = 0x400000 + (uint64_t)i * 0x10000,
			.end = 0x400000 + (uint64_t)i * 0x10000 + 0x8000,
			.prot = PROT_READ | PROT_EXEC, .dev = makedev(8, 1),
			.ino = 1000 + (uint64_t)i % 64, .path = "/usr/lib/libx.so",
		};
		if (ddprof_proc_table_mmap(t, 1, &m))
			abort();
	}
	p = ddprof_proc_table_find(t, 1);
	t0 = now();
	for (int i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		found += ddprof_proc_find_map(p, 0x400000 + x % (nmaps * 0x10000ULL)) != NULL;
	}
	printf("bench: sampler_find_map_512 %.1f ns\n",
	       (now() - t0) * 1e9 / iters + (double)(found == 0));
	ddprof_proc_table_free(t);
}

static void bench_churn(void)
{
	struct ddprof_proc_table *t;
	const int procs = 100000;
	double t0;

	if (ddprof_proc_table_new(&t, "/nonexistent", NULL) ||
	    ddprof_proc_table_comm(t, 1, 1, "init", true))
		abort();
	for (int i = 0; i < 40; i++) {
		struct ddprof_map m = {
			.start = 0x400000 + (uint64_t)i * 0x10000,
			.end = 0x400000 + (uint64_t)i * 0x10000 + 0x8000,
			.ino = 10 + (uint64_t)i, .dev = 1, .path = "/lib/x.so",
		};
		ddprof_proc_table_mmap(t, 1, &m);
	}
	t0 = now();
	for (int i = 0; i < procs; i++) {
		pid_t pid = 1000 + i;
		struct ddprof_map m = { .start = 0x400000, .end = 0x500000,
					.ino = 5, .dev = 1, .path = "/bin/sh" };

		ddprof_proc_table_fork(t, pid, 1, pid, 1);
		ddprof_proc_table_comm(t, pid, pid, "sh", true);
		ddprof_proc_table_mmap(t, pid, &m);
		ddprof_proc_table_exit(t, pid, pid);
		if (i % 64 == 63)
			ddprof_proc_table_flush(t);
	}
	ddprof_proc_table_flush(t);
	printf("bench: sampler_proc_lifecycle %.2f us\n",
	       (now() - t0) * 1e6 / procs);
	ddprof_proc_table_free(t);
}

static void count_sample(void *ctx, const struct ddprof_perf_sample *s,
			 struct ddprof_proc *p)
{
	ddprof_proc_find_map(p, s->ip);
}

/* Wraps the workload at 999 Hz and drains like the session loop. */
static void bench_live(const char *mode_name, enum ddprof_sampler_mode mode)
{
	const char *b = getenv("DDPROF_TEST_BUILD_DIR");
	char wl[512];
	char *argv[] = { wl, "2", "3", NULL };
	struct ddprof_sampler_opts o = { 0 };
	struct ddprof_sampler_stats st;
	struct ddprof_sampler *s;
	struct epoll_event ev = { .events = EPOLLIN }, out;
	pid_t pid;
	int ep, status;
	double c0, end;

	snprintf(wl, sizeof(wl), "%s/workloads/sampler_work",
		 b ? b : DDPROF_TEST_BUILD_DIR);
	o.mode = mode;
	o.freq = 999;
	o.argv = argv;
	o.cb.on_sample = count_sample;
	if (ddprof_sampler_open(&s, &o)) {
		printf("bench: sampler_%s_failed 1 bool\n", mode_name);
		return;
	}
	c0 = cpu_seconds();
	ddprof_sampler_start(s);
	if (mode == DDPROF_SAMPLER_WRAP) {
		pid = ddprof_sampler_child(s);
	} else {
		pid = fork();
		if (pid == 0) {
			execv(wl, argv);
			_exit(127);
		}
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, ddprof_sampler_fd(s), &ev);
	end = now() + 10;
	while (now() < end) {
		epoll_wait(ep, &out, 1, 20);
		ddprof_sampler_drain(s);
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	ddprof_sampler_child_reaped(s);
	ddprof_sampler_drain(s);
	ddprof_sampler_stats(s, &st);
	printf("bench: sampler_%s_999hz_samples %llu count\n", mode_name,
	       (unsigned long long)st.samples);
	printf("bench: sampler_%s_999hz_lost %llu count\n", mode_name,
	       (unsigned long long)st.lost);
	printf("bench: sampler_%s_cpu_per_sample %.1f us\n", mode_name,
	       st.samples ? (cpu_seconds() - c0) * 1e6 / st.samples : 0.0);
	close(ep);
	ddprof_sampler_close(s);
}

int main(void)
{
	char why[256];

	bench_decode();
	bench_find_map();
	bench_churn();
	if (!ddprof_test_perf_usable(why, sizeof(why))) {
		fprintf(stderr, "bench_sampler: live part skipped: %s\n", why);
		return 0;
	}
	bench_live("wrap", DDPROF_SAMPLER_WRAP);
	bench_live("system", DDPROF_SAMPLER_SYSTEM);
	return 0;
}
