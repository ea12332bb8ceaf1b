/* End-to-end unwinding: samples real workloads (built -O2
 * -fomit-frame-pointer) with the project's sampler (regs + stack copy +
 * callchain, process table in time order), unwinds and symbolizes every sample while the
 * workload lives, and checks completeness, names and the split against
 * `perf record --call-graph dwarf`. Exits 77 without perf_event access. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/perf_event.h>

#include "../lib/perf_access.h"
#include "perf/sampler.h"
#include "proc/proc.h"
#include "symbols/symbolizer.h"
#include "unwind/unwind.h"

#define STACK_BYTES 32768
#define MAX_NAMES 64

static char wl_dir[4096];

/* pids seen (the workload and what it forked), killed at the end */
static pid_t seen[64];
static size_t nseen;

static void seen_add(pid_t pid)
{
	for (size_t i = 0; i < nseen; i++)
		if (seen[i] == pid)
			return;
	if (nseen < 64)
		seen[nseen++] = pid;
}

static const struct ddprof_map *proc_find(void *arg, uint64_t addr)
{
	return ddprof_proc_find_map(arg, addr);
}

/* ---- counting --------------------------------------------------------- */
struct tally {
	unsigned samples, user, complete, hot, hot_rooted, kernel, fp_used;
	unsigned inline_seen, leaf_named;
	unsigned nleaf, lost, stops[8];
	struct { char name[160]; unsigned n; } leaf[MAX_NAMES];
	bool thread_named, in_exec_child;
};

static void tally_leaf(struct tally *t, const char *name)
{
	for (unsigned i = 0; i < t->nleaf; i++)
		if (!strcmp(t->leaf[i].name, name)) {
			t->leaf[i].n++;
			return;
		}
	if (t->nleaf < MAX_NAMES) {
		snprintf(t->leaf[t->nleaf].name, 160, "%s", name);
		t->leaf[t->nleaf++].n = 1;
	}
}

static unsigned leaf_count(const struct tally *t, const char *name)
{
	for (unsigned i = 0; i < t->nleaf; i++)
		if (!strcmp(t->leaf[i].name, name))
			return t->leaf[i].n;
	return 0;
}

static struct ddprof_unwind *uw;
static struct ddprof_symbolizer *sym;
static struct ddprof_unwind_result res;

static void on_sample(struct tally *t, const struct ddprof_perf_sample *s,
		      pid_t child, struct ddprof_proc *p)
{
	const char *tname = ddprof_proc_thread_name(p, s->tid);
	bool rooted = false, hot;
	const char *leaf = NULL;

	seen_add(s->pid);
	if (tname && !strncmp(tname, "uw_worker", 9))
		t->thread_named = true;
	t->samples++;
	assert_int_equal(ddprof_unwind_sample(uw, s, proc_find, p, &res), 0);
	if (!s->abi)
		return;
	t->user++;
	t->complete += res.complete;
	t->stops[res.stop & 7]++;
	t->kernel += res.nr_kernel > 0;
	t->fp_used += res.nr_fp > 0;
	for (unsigned i = res.nr_kernel; i < res.nr; i++) {
		struct ddprof_symbol y;
		const char *name;

		assert_int_equal(ddprof_symbolizer_lookup(sym, s->pid,
							  &res.frames[i], &y), 0);
		name = y.lines[y.nr_lines - 1].name;
		if (i == res.nr_kernel) {
			leaf = name;
			tally_leaf(t, name);
			t->inline_seen += y.nr_lines > 1 &&
					  !strcmp(y.lines[0].name, "uw_inl_mix");
		}
		if (!strcmp(name, "main") || !strcmp(name, "uw_thread_body"))
			rooted = true;
		if (!strcmp(name, "uw_deep_recurse") && s->pid != (uint32_t)child)
			t->in_exec_child = true;
	}
	/* samples in the workload's own code must reach main or the thread
	 * body; start-up (ld.so) and exit are not held to it */
	hot = leaf && (!strncmp(leaf, "uw_", 3) || strstr(leaf, "uw::"));
	t->hot += hot;
	t->hot_rooted += hot && rooted;
	ddprof_symbolizer_trim(sym);
}

/* ---- the sampler ---------------------------------------------------- */
struct run_ctx {
	struct tally *t;
	pid_t child;
};

static void cb_sample(void *ctx, const struct ddprof_perf_sample *s,
		      struct ddprof_proc *p)
{
	struct run_ctx *c = ctx;

	on_sample(c->t, s, c->child, p);
}

static void cb_lost(void *ctx, uint64_t count, uint64_t period, uint32_t cpu)
{
	struct run_ctx *c = ctx;

	c->t->lost += count;
}

static void cb_exec(void *ctx, struct ddprof_proc *p)
{
	ddprof_unwind_forget_pid(uw, ddprof_proc_pid(p));
	ddprof_symbolizer_forget_pid(sym, ddprof_proc_pid(p));
}

/* Runs workload args[0] (in wl_dir) under the project's sampler (wrap
 * mode, 1 kHz, 32 KiB stacks) and fills t; stops when the workload says
 * "done" (or exits), then kills it and whatever it forked. */
static void profile(char *const args[], struct tally *t)
{
	char path[4200], buf[256], *argv[8];
	struct run_ctx c = { .t = t };
	struct ddprof_sampler_opts o = {
		.mode = DDPROF_SAMPLER_WRAP,
		.period = 1000000, /* 1 ms of cpu-clock */
		.stack_size = STACK_BYTES,
		.argv = argv,
		.cb = { .on_sample = cb_sample, .on_lost = cb_lost,
			.on_proc_exec = cb_exec },
		.ctx = &c,
	};
	struct ddprof_sampler *smp;
	int out[2], saved_stdout;
	size_t got = 0, i;
	double deadline;

	memset(t, 0, sizeof(*t));
	nseen = 0;
	snprintf(path, sizeof(path), "%s/%s", wl_dir, args[0]);
	argv[0] = path;
	for (i = 1; args[i] && i < 7; i++)
		argv[i] = args[i];
	argv[i] = NULL;
	/* the workload inherits our stdout: make it a pipe we read */
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	saved_stdout = dup(1);
	dup2(out[1], 1);
	assert_int_equal(ddprof_sampler_open(&smp, &o), 0);
	dup2(saved_stdout, 1);
	close(saved_stdout);
	close(out[1]);
	c.child = ddprof_sampler_child(smp);
	seen_add(c.child);
	assert_int_equal(ddprof_sampler_start(smp), 0);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	deadline = time(NULL) + 60;
	while (time(NULL) < deadline) {
		struct pollfd pfd = { .fd = ddprof_sampler_fd(smp),
				      .events = POLLIN };
		ssize_t n;

		poll(&pfd, 1, 20);
		assert_true(ddprof_sampler_drain(smp) >= 0);
		n = read(out[0], buf + got, sizeof(buf) - 1 - got);
		if (n > 0)
			got += n;
		buf[got] = 0;
		if (strstr(buf, "done") || n == 0)
			break;
	}
	ddprof_sampler_stop(smp);
	ddprof_sampler_drain(smp);
	for (i = 0; i < nseen; i++)
		kill(seen[i], SIGKILL);
	waitpid(c.child, NULL, 0);
	ddprof_sampler_child_reaped(smp);
	ddprof_sampler_close(smp);
	close(out[0]);
	for (i = 0; i < nseen; i++) {
		ddprof_symbolizer_forget_pid(sym, seen[i]);
		ddprof_unwind_forget_pid(uw, seen[i]);
	}
}

static void report(const char *name, const struct tally *t)
{
	fprintf(stderr, "e2e: %s: %u samples, %u user, complete %.2f%%, "
		"hot frames rooted %.2f%% (%u/%u), fp-continued %u, kernel %u\n",
		name, t->samples, t->user, t->user ? 100.0 * t->complete / t->user : 0,
		t->hot ? 100.0 * t->hot_rooted / t->hot : 0, t->hot_rooted,
		t->hot, t->fp_used, t->kernel);
	fprintf(stderr, "e2e:   lost %u, stops: root %u depth %u stack %u "
		"no-cfi %u unmapped %u error %u\n", t->lost, t->stops[0],
		t->stops[1], t->stops[2], t->stops[3], t->stops[4], t->stops[5]);
	for (unsigned i = 0; i < t->nleaf; i++)
		if (t->leaf[i].n * 50 >= t->user)
			fprintf(stderr, "e2e:   leaf %5.1f%% %s\n",
				100.0 * t->leaf[i].n / t->user, t->leaf[i].name);
}

/* perf's view of the same workload: self share of each of names[0..n),
 * or -1 when perf cannot run here. */
static int perf_shares(char *const args[], const char *const names[],
		       double *shares, unsigned n)
{
	char cmd[8192], line[1024];
	size_t len;
	FILE *f;

	len = snprintf(cmd, sizeof(cmd),
		       "cd /tmp && perf record -q --call-graph dwarf -F 999 "
		       "-o /tmp/uw_e2e.%d.data -- %s/%s", (int)getpid(), wl_dir,
		       args[0]);
	for (unsigned i = 1; args[i]; i++)
		if (strcmp(args[i], "wait"))
			len += snprintf(cmd + len, sizeof(cmd) - len, " %s", args[i]);
	snprintf(cmd + len, sizeof(cmd) - len, " >/dev/null 2>&1");
	if (system(cmd))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "perf report -q -i /tmp/uw_e2e.%d.data --stdio --no-children "
		 "--sort sym -g none 2>/dev/null; rm -f /tmp/uw_e2e.%d.data",
		 (int)getpid(), (int)getpid());
	f = popen(cmd, "r");
	if (!f)
		return -1;
	memset(shares, 0, n * sizeof(*shares));
	while (fgets(line, sizeof(line), f)) {
		char *sym = strstr(line, "] ");
		double pct;

		if (sscanf(line, " %lf%%", &pct) != 1 || !sym)
			continue;
		sym += 2;
		sym[strcspn(sym, "\n")] = 0;
		while (*sym && sym[strlen(sym) - 1] == ' ')
			sym[strlen(sym) - 1] = 0;
		/* perf prints C++ names without their parameters */
		for (unsigned i = 0; i < n; i++)
			if (!strncmp(sym, names[i], strcspn(names[i], "(")) &&
			    !sym[strcspn(names[i], "(")])
				shares[i] += pct;
	}
	pclose(f);
	return 0;
}

/* Our leaf split of names against perf's, within 10 points. */
static void check_split(char *const args[], const struct tally *t,
			const char *const names[], unsigned n)
{
	double theirs[8];

	if (perf_shares(args, names, theirs, n)) {
		fprintf(stderr, "e2e:   perf record unavailable: split not compared\n");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		double ours = 100.0 * leaf_count(t, names[i]) / t->user;

		fprintf(stderr, "e2e:   %s: ours %.1f%% perf %.1f%%\n", names[i],
			ours, theirs[i]);
		assert_true(ours > theirs[i] - 10 && ours < theirs[i] + 10);
	}
}

static void test_libs_threads(void **state)
{
	char *args[] = { "uw_libs", "2", "wait", NULL };
	struct tally t;

	profile(args, &t);
	report("uw_libs", &t);
	assert_true(t.user > 200); /* a busy machine gets fewer */
	assert_true(t.complete * 100 >= t.user * 99);
	assert_true(t.hot_rooted * 100 >= t.hot * 99);
	assert_true(leaf_count(&t, "uw_main_work") > t.user / 10);
	assert_true(leaf_count(&t, "uw_lib_inner") > t.user / 10);
	assert_true(leaf_count(&t, "uw_plugin_inner") > t.user / 10);
	assert_true(t.inline_seen > leaf_count(&t, "uw_main_work") / 2);
	check_split(args, &t, (const char *const[]){ "uw_main_work",
		"uw_lib_inner", "uw_plugin_inner" }, 3);
}

static void test_deep(void **state)
{
	char *args[] = { "uw_deep", "1", "40", "wait", NULL };
	struct tally t;

	profile(args, &t);
	report("uw_deep", &t);
	assert_true(t.user > 100);
	assert_true(t.complete * 100 >= t.user * 99);
	assert_true(t.hot_rooted * 100 >= t.hot * 99);
	assert_true(leaf_count(&t, "uw_deep_leaf") * 10 > t.user * 8);
}

/* Recursion past the 32 KiB copy: the leaf is right, the cut is counted;
 * with frame pointers the kernel's chain carries the walk further. */
static void test_deep_beyond_copy(void **state)
{
	char *args[] = { "uw_deep", "1", "3000", "wait", NULL };
	char *args_fp[] = { "uw_deep_fp", "1", "3000", "wait", NULL };
	const struct ddprof_unwind_stats *st = ddprof_unwind_stats(uw);
	uint64_t cut = st->stack_exhausted + st->truncated, fpf;
	struct tally t;

	profile(args, &t);
	report("uw_deep 3000", &t);
	/* the leaf is right even when the root is out of reach */
	assert_true((leaf_count(&t, "uw_deep_leaf") +
		     leaf_count(&t, "uw_deep_recurse")) * 100 >= t.user * 95);
	/* every sample but those that caught the recursion shallow is cut */
	assert_true(st->stack_exhausted + st->truncated - cut + t.complete >= t.user);
	fpf = st->fp_frames;
	profile(args_fp, &t);
	report("uw_deep_fp 3000", &t);
	fprintf(stderr, "e2e:   fp continuation added %.1f frames per sample\n",
		t.user ? (double)(st->fp_frames - fpf) / t.user : 0);
	assert_true(t.fp_used * 10 > t.user * 8);
}

static void test_cxx(void **state)
{
	char *args[] = { "uw_cxx", "1", "wait", NULL };
	struct tally t;

	profile(args, &t);
	report("uw_cxx", &t);
	assert_true(t.complete * 100 >= t.user * 99);
	assert_true(leaf_count(&t, "uw::Worker<unsigned long>::run(unsigned long)") * 10 >
		    t.user * 8);
	check_split(args, &t, (const char *const[]){
		"uw::Worker<unsigned long>::run(unsigned long)" }, 1);
}

/* .debug_frame only: the walk continues through libdw's CFI. */
static void test_debug_frame(void **state)
{
	char *args[] = { "uw_deep_debugframe", "1", "40", "wait", NULL };
	struct tally t;

	profile(args, &t);
	report("uw_deep_debugframe", &t);
	assert_true(t.complete * 100 >= t.user * 99);
	assert_true(t.hot_rooted * 100 >= t.hot * 99);
}

/* No CFI at all, frame pointers kept: the kernel's chain finishes it. */
static void test_no_cfi(void **state)
{
	char *args[] = { "uw_deep_nocfi", "1", "40", "wait", NULL };
	struct tally t;

	profile(args, &t);
	report("uw_deep_nocfi", &t);
	assert_true(t.hot_rooted * 100 >= t.hot * 95);
	assert_true(t.fp_used * 10 > t.user * 8);
}

static void test_stripped(void **state)
{
	char *args[] = { "uw_deep_stripped", "1", "40", "wait", NULL };
	struct tally t;
	unsigned named = 0;

	profile(args, &t);
	report("uw_deep_stripped", &t);
	assert_true(t.complete * 100 >= t.user * 99);
	for (unsigned i = 0; i < t.nleaf; i++)
		if (!strncmp(t.leaf[i].name, "uw_deep_stripped+0x", 19))
			named += t.leaf[i].n;
	assert_true(named * 10 > t.user * 8);
}

/* fork + exec: the child's new image is unwound with its own maps */
static void test_fork_exec(void **state)
{
	char *args[] = { "uw_spawn", "1", "wait", NULL };
	struct tally t;

	profile(args, &t);
	report("uw_spawn", &t);
	assert_true(t.in_exec_child);
	assert_true(t.complete * 100 >= t.user * 99);
	assert_true(t.hot_rooted * 100 >= t.hot * 99);
	assert_true(leaf_count(&t, "uw_deep_leaf") > t.user / 5);
	assert_true(leaf_count(&t, "uw_spawn_spin") > t.user / 5);
}

static int setup(void **state)
{
	return ddprof_unwind_new(&uw) || ddprof_symbolizer_new(&sym);
}

static int teardown(void **state)
{
	const struct ddprof_unwind_stats *st = ddprof_unwind_stats(uw);

	fprintf(stderr, "e2e: unwind totals: %" PRIu64 " samples, %" PRIu64
		" complete, %" PRIu64 " stack exhausted, %" PRIu64 " no cfi, %"
		PRIu64 " fp continued (+%" PRIu64 " frames, %" PRIu64
		" completed), %" PRIu64 " tables\n", st->samples, st->complete,
		st->stack_exhausted, st->no_cfi, st->fp_used, st->fp_frames,
		st->fp_completed, st->tables_loaded);
	ddprof_unwind_free(uw);
	ddprof_symbolizer_free(sym);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libs_threads),
		cmocka_unit_test(test_deep),
		cmocka_unit_test(test_deep_beyond_copy),
		cmocka_unit_test(test_cxx),
		cmocka_unit_test(test_debug_frame),
		cmocka_unit_test(test_no_cfi),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_fork_exec),
	};
	const char *b = getenv("DDPROF_TEST_BUILD_DIR");

	ddprof_test_require_perf();
	snprintf(wl_dir, sizeof(wl_dir), "%s/workloads",
		 b && b[0] == '/' ? b : DDPROF_TEST_BUILD_DIR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
