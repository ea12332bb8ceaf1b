/* Live tests of the sampler (skipped with 77 where perf_event_open is not
 * permitted): wrap a threaded workload that forks and execs a child,
 * attach to a running one, and sample the whole system while two run.
 * Each checks that samples reach the right pids and tids with registers
 * and stack copies, that every user pc has a known mapping, and that
 * nothing is lost at 999 Hz. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../lib/perf_access.h"
#include "ddprof/error.h"
#include "ddprof/log.h"
#include "perf/sampler.h"

#define MAX_TIDS 256

struct tid_seen {
	uint32_t pid, tid;
	uint64_t samples;
	char thread[16], proc[16];
};

struct collect {
	struct tid_seen tids[MAX_TIDS];
	size_t nr;
	uint64_t user, kernel, no_map, bad_regs, bad_stack, lost, exits;
	uint64_t own_binary;   /* user pcs in the workload's own file */
	uint32_t stack_size;
	uint32_t ours[2];      /* when set, stacks are checked for these only */
	unsigned nr_ours;
};

static void on_sample(void *ctx, const struct ddprof_perf_sample *s,
		      struct ddprof_proc *p)
{
	struct collect *c = ctx;
	struct tid_seen *t = NULL;
	const struct ddprof_map *m;
	bool ours;

	for (size_t i = 0; i < c->nr; i++)
		if (c->tids[i].tid == s->tid && c->tids[i].pid == s->pid)
			t = &c->tids[i];
	if (!t && c->nr < MAX_TIDS) {
		t = &c->tids[c->nr++];
		t->pid = s->pid;
		t->tid = s->tid;
	}
	if (t) {
		t->samples++;
		snprintf(t->thread, sizeof(t->thread), "%s",
			 ddprof_proc_thread_name(p, (pid_t)s->tid));
		snprintf(t->proc, sizeof(t->proc), "%s", ddprof_proc_name(p));
	}
	assert_int_equal(ddprof_proc_pid(p), (pid_t)s->pid);
	if (!s->abi) {
		c->kernel++; /* kernel thread, or no user context */
		return;
	}
	/* kernel-mode samples may carry no stack (e.g. in the middle of an
	 * exec, the user sp belongs to the old image) */
	if (s->ip >= 0xffff800000000000ULL) {
		c->kernel++;
		return;
	}
	c->user++;
	if (s->regs[DDPROF_PERF_REG_IP] != s->ip)
		c->bad_regs++;
	/* other processes (system-wide) may be sampled with a stack page not
	 * faulted in yet: the kernel copies nothing then */
	ours = !c->nr_ours || s->pid == c->ours[0] || s->pid == c->ours[1];
	if (ours &&
	    (!s->regs[DDPROF_PERF_REG_SP] || s->stack_size != c->stack_size ||
	     !s->dyn_size || s->dyn_size > s->stack_size || !s->stack)) {
		if (c->bad_stack++ < 5)
			fprintf(stderr, "  bad stack: pid %u (%s) ip %#llx sp "
				"%#llx size %llu dyn %llu\n", s->pid,
				ddprof_proc_name(p), (unsigned long long)s->ip,
				(unsigned long long)s->regs[DDPROF_PERF_REG_SP],
				(unsigned long long)s->stack_size,
				(unsigned long long)s->dyn_size);
	}
	m = ddprof_proc_find_map(p, s->ip);
	if (!m) {
		c->no_map++;
		fprintf(stderr, "  no mapping: pid %u (%s) tid %u ip %#llx\n",
			s->pid, ddprof_proc_name(p), s->tid,
			(unsigned long long)s->ip);
	} else if (strstr(m->path, "sampler_work")) {
		c->own_binary++;
	}
}

static void on_lost(void *ctx, uint64_t count, uint64_t period, uint32_t cpu)
{
	struct collect *c = ctx;

	c->lost += count;
	assert_true(period > 0);
}

static void on_exit_cb(void *ctx, struct ddprof_proc *p)
{
	((struct collect *)ctx)->exits++;
}

static void log_stderr(enum ddprof_log_level lvl, const char *msg, void *ctx)
{
	fprintf(stderr, "  [sampler] %s\n", msg);
}

static char workload[512];

static void set_workload(void)
{
	const char *b = getenv("DDPROF_TEST_BUILD_DIR");

	snprintf(workload, sizeof(workload), "%s/workloads/sampler_work",
		 b ? b : DDPROF_TEST_BUILD_DIR);
	if (access(workload, X_OK)) {
		fprintf(stderr, "skip: workload %s not built\n", workload);
		exit(77);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Drains like the session loop does: on wakeups and every 20 ms. Stops
 * after `secs`, or when pid (if > 0) exited: *status gets its status. */
static void pump(struct ddprof_sampler *s, double secs, pid_t pid, int *status)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	double end = now() + secs;

	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, ddprof_sampler_fd(s), &ev), 0);
	while (now() < end) {
		epoll_wait(ep, &out, 1, 20);
		assert_true(ddprof_sampler_drain(s) >= 0);
		if (pid > 0 && waitpid(pid, status, WNOHANG) == pid)
			break;
	}
	assert_true(ddprof_sampler_drain(s) >= 0);
	close(ep);
}

static pid_t spawn(const char *secs, const char *threads)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl(workload, "sampler_work", secs, threads, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void opts_init(struct ddprof_sampler_opts *o, struct collect *c)
{
	memset(o, 0, sizeof(*o));
	memset(c, 0, sizeof(*c));
	o->freq = 999;
	o->cb.on_sample = on_sample;
	o->cb.on_lost = on_lost;
	o->cb.on_proc_exit = on_exit_cb;
	o->ctx = c;
	c->stack_size = DDPROF_SAMPLER_DEFAULT_STACK;
}

static uint64_t pid_samples(const struct collect *c, uint32_t pid,
			    unsigned *tids)
{
	uint64_t n = 0;

	*tids = 0;
	for (size_t i = 0; i < c->nr; i++)
		if (c->tids[i].pid == pid) {
			n += c->tids[i].samples;
			(*tids)++;
		}
	return n;
}

static bool thread_named(const struct collect *c, uint32_t pid,
			 const char *prefix)
{
	for (size_t i = 0; i < c->nr; i++)
		if (c->tids[i].pid == pid &&
		    !strncmp(c->tids[i].thread, prefix, strlen(prefix)))
			return true;
	return false;
}

static void common_checks(const struct collect *c,
			  const struct ddprof_sampler_stats *st)
{
	fprintf(stderr, "  samples %llu (user %llu, kernel %llu, own binary "
		"%llu), lost %llu, records %llu, wrapped %llu, bad %llu\n",
		(unsigned long long)st->samples, (unsigned long long)c->user,
		(unsigned long long)c->kernel,
		(unsigned long long)c->own_binary, (unsigned long long)st->lost,
		(unsigned long long)st->records,
		(unsigned long long)st->wrapped,
		(unsigned long long)st->bad_records);
	assert_int_equal(c->no_map, 0);
	assert_int_equal(c->bad_regs, 0);
	assert_int_equal(c->bad_stack, 0);
	assert_int_equal(st->bad_records, 0);
	assert_int_equal(st->lost, 0);
	assert_int_equal(c->lost, 0);
	assert_true(c->own_binary > 50);
}

static void test_wrap(void **state)
{
	char *argv[] = { workload, "0.6", "2", "child", NULL };
	struct ddprof_sampler_opts o;
	struct ddprof_sampler_stats st;
	struct ddprof_sampler *s;
	struct collect c;
	unsigned tids = 0, child_tids;
	uint32_t child_pid = 0;
	int status = -1;
	pid_t pid;

	opts_init(&o, &c);
	o.mode = DDPROF_SAMPLER_WRAP;
	o.argv = argv;
	assert_int_equal(ddprof_sampler_open(&s, &o), 0);
	pid = ddprof_sampler_child(s);
	assert_true(pid > 0);
	assert_int_equal(ddprof_sampler_start(s), 0);
	pump(s, 20, pid, &status);
	ddprof_sampler_child_reaped(s);
	assert_true(WIFEXITED(status));
	assert_int_equal(ddprof_wait_status_code(status), 0);
	ddprof_sampler_stats(s, &st);
	common_checks(&c, &st);
	/* main + 2 workers in the wrapped process, all named */
	assert_true(pid_samples(&c, (uint32_t)pid, &tids) > 100);
	assert_true(tids >= 3);
	assert_true(thread_named(&c, (uint32_t)pid, "sw-worker-"));
	assert_true(thread_named(&c, (uint32_t)pid, "sw-main"));
	/* the fork+exec child is followed too */
	for (size_t i = 0; i < c.nr; i++)
		if (c.tids[i].pid != (uint32_t)pid &&
		    !strcmp(c.tids[i].proc, "sw-child"))
			child_pid = c.tids[i].pid;
	assert_true(child_pid != 0);
	assert_true(pid_samples(&c, child_pid, &child_tids) > 50);
	assert_true(st.execs >= 2);
	assert_true(st.forks >= 3);
	/* both processes exited and were freed after their last sample */
	assert_int_equal(st.procs_live, 0);
	/* the exited command's events no longer wake the loop (no EPOLLHUP
	 * spinning) */
	{
		struct epoll_event ev;

		assert_int_equal(ddprof_sampler_drain(s), 0);
		assert_int_equal(epoll_wait(ddprof_sampler_fd(s), &ev, 1, 0), 0);
	}
	assert_true(c.exits >= 2);
	ddprof_sampler_close(s);
}

static void test_wrap_errors(void **state)
{
	char *argv[] = { "/nonexistent/ddprof-no-such-command", NULL };
	char *argv_ok[] = { "true", NULL };
	struct ddprof_sampler_opts o;
	struct ddprof_sampler_stats st;
	struct ddprof_sampler *s;
	struct collect c;
	pid_t pid;

	opts_init(&o, &c);
	o.mode = DDPROF_SAMPLER_WRAP;
	o.argv = argv;
	assert_int_equal(ddprof_sampler_open(&s, &o), 0);
	pid = ddprof_sampler_child(s);
	assert_int_equal(ddprof_sampler_start(s), -ENOENT);
	/* reaped already: nothing left behind */
	assert_int_equal(ddprof_sampler_child(s), 0);
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	ddprof_sampler_close(s);

	/* closing without start kills the parked child */
	o.argv = argv_ok;
	assert_int_equal(ddprof_sampler_open(&s, &o), 0);
	pid = ddprof_sampler_child(s);
	ddprof_sampler_close(s);
	assert_int_equal(kill(pid, 0), -1);

	/* bad options and events */
	o.stack_size = 100;
	assert_int_equal(ddprof_sampler_open(&s, &o), -DDPROF_ERR_INVALID);
	o.stack_size = 65536;
	assert_int_equal(ddprof_sampler_open(&s, &o), -DDPROF_ERR_INVALID);
	o.stack_size = 0;
	o.event = "no-such-event";
	assert_int_equal(ddprof_sampler_open(&s, &o), -DDPROF_ERR_UNSUPPORTED);
	/* a frequency the kernel refuses */
	o.event = NULL;
	o.freq = 100000000;
	assert_int_equal(ddprof_sampler_open(&s, &o), -EINVAL);
	o.freq = 999;
	/* hardware events fall back to cpu-clock where there is no PMU */
	o.event = "cycles";
	assert_int_equal(ddprof_sampler_open(&s, &o), 0);
	ddprof_sampler_stats(s, &st);
	assert_true(!strcmp(st.event, "cycles") || !strcmp(st.event, "cpu-clock"));
	ddprof_sampler_close(s);
}

static void test_attach(void **state)
{
	struct ddprof_sampler_opts o;
	struct ddprof_sampler_stats st;
	struct ddprof_sampler *s;
	struct collect c;
	pid_t pid = spawn("3", "2"), missing = pid;
	unsigned tids = 0;
	int status;

	usleep(200 * 1000); /* let it start its threads */
	opts_init(&o, &c);
	o.mode = DDPROF_SAMPLER_ATTACH;
	o.pids = &pid;
	o.nr_pids = 1;
	assert_int_equal(ddprof_sampler_open(&s, &o), 0);
	assert_int_equal(ddprof_sampler_start(s), 0);
	pump(s, 1.0, 0, NULL);
	ddprof_sampler_stats(s, &st);
	assert_true(st.nr_fds >= 3 * st.nr_cpus); /* 3 threads x CPUs */
	assert_true(pid_samples(&c, (uint32_t)pid, &tids) > 100);
	assert_true(tids >= 3);
	assert_true(thread_named(&c, (uint32_t)pid, "sw-worker-"));
	/* nothing from anyone else */
	for (size_t i = 0; i < c.nr; i++)
		assert_int_equal(c.tids[i].pid, (uint32_t)pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	pump(s, 0.05, 0, NULL);
	ddprof_sampler_stats(s, &st);
	common_checks(&c, &st);
	ddprof_sampler_close(s);

	/* a pid that does not exist any more */
	o.pids = &missing;
	assert_int_equal(ddprof_sampler_open(&s, &o), -ESRCH);
}

/* One fd per thread and CPU: a low fd limit is reported as such. */
static void test_attach_fd_limit(void **state)
{
	pid_t pid = spawn("2", "8"), tester;
	int status;

	usleep(200 * 1000);
	tester = fork();
	assert_true(tester >= 0);
	if (tester == 0) {
		struct rlimit rl = { 16, 16 };
		struct ddprof_sampler_opts o;
		struct ddprof_sampler *s;
		struct collect c;
		int err;

		opts_init(&o, &c);
		o.mode = DDPROF_SAMPLER_ATTACH;
		o.pids = &pid;
		o.nr_pids = 1;
		setrlimit(RLIMIT_NOFILE, &rl);
		err = ddprof_sampler_open(&s, &o);
		_exit(err == -EMFILE ? 0 : 1);
	}
	waitpid(tester, &status, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_system(void **state)
{
	struct ddprof_sampler_opts o;
	struct ddprof_sampler_stats st;
	struct ddprof_sampler *s;
	struct collect c;
	pid_t a, b;
	unsigned tids;
	int status;

	opts_init(&o, &c);
	o.mode = DDPROF_SAMPLER_SYSTEM;
	assert_int_equal(ddprof_sampler_open(&s, &o), 0);
	assert_int_equal(ddprof_sampler_start(s), 0);
	a = spawn("0.8", "0");
	b = spawn("0.8", "1");
	c.ours[0] = (uint32_t)a;
	c.ours[1] = (uint32_t)b;
	c.nr_ours = 2;
	pump(s, 20, a, &status);
	pump(s, 20, b, &status);
	ddprof_sampler_stats(s, &st);
	assert_true(pid_samples(&c, (uint32_t)a, &tids) > 50);
	assert_true(pid_samples(&c, (uint32_t)b, &tids) > 50);
	assert_true(tids >= 2);
	common_checks(&c, &st);
	ddprof_sampler_close(s);
}

/* Period instead of frequency, another event, a smaller stack copy and
 * no kernel frames: each sample shows it. */
static void test_options(void **state)
{
	char *argv[] = { workload, "0.3", "0", NULL };
	const char *events[] = { "page-faults", "context-switches" };
	struct ddprof_sampler_opts o;
	struct ddprof_sampler_stats st;
	struct ddprof_sampler *s;
	struct collect c;
	unsigned tids;
	int status;

	opts_init(&o, &c);
	o.mode = DDPROF_SAMPLER_WRAP;
	o.argv = argv;
	o.event = "task-clock";
	o.period = 2000000; /* 2 ms of task time */
	o.freq = 0;
	o.stack_size = 8192;
	o.no_kernel = true;
	c.stack_size = 8192;
	assert_int_equal(ddprof_sampler_open(&s, &o), 0);
	assert_int_equal(ddprof_sampler_start(s), 0);
	pump(s, 20, ddprof_sampler_child(s), &status);
	ddprof_sampler_child_reaped(s);
	ddprof_sampler_stats(s, &st);
	assert_string_equal(st.event, "task-clock");
	assert_false(st.kernel_frames);
	assert_int_equal(c.kernel, 0);
	assert_int_equal(c.bad_stack, 0);
	assert_int_equal(c.no_map, 0);
	/* 0.3 s of CPU at one sample per 2 ms */
	assert_in_range(pid_samples(&c, c.tids[0].pid, &tids), 100, 200);
	ddprof_sampler_close(s);

	for (size_t i = 0; i < 2; i++) {
		opts_init(&o, &c);
		o.mode = DDPROF_SAMPLER_WRAP;
		o.argv = argv;
		o.event = events[i];
		assert_int_equal(ddprof_sampler_open(&s, &o), 0);
		ddprof_sampler_stats(s, &st);
		assert_string_equal(st.event, events[i]);
		assert_int_equal(ddprof_sampler_start(s), 0);
		pump(s, 20, ddprof_sampler_child(s), &status);
		ddprof_sampler_child_reaped(s);
		assert_int_equal(ddprof_wait_status_code(status), 0);
		ddprof_sampler_close(s);
	}
}

/* As an unprivileged user (nobody): whole-system mode is refused with
 * advice, kernel frames are dropped with a note, and a ring larger than
 * the locked-memory allowance is shrunk instead of failing. */
static void test_unprivileged(void **state)
{
	long paranoid = 2;
	pid_t tester;
	int status;
	FILE *f;

	if (getuid() != 0) {
		skip(); /* already unprivileged: the other tests cover it */
		return;
	}
	f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	if (f) {
		if (fscanf(f, "%ld", &paranoid) != 1)
			paranoid = 2;
		fclose(f);
	}
	tester = fork();
	assert_true(tester >= 0);
	if (tester == 0) {
		char *argv[] = { "/bin/true", NULL };
		struct rlimit no_lock = { 0, 0 };
		struct ddprof_sampler_opts o;
		struct ddprof_sampler_stats st;
		struct ddprof_sampler *s;
		struct collect c;
		int err, rc = 0;

		if (setgid(65534) || setuid(65534))
			_exit(70);
		/* setuid made us non-dumpable, which a real user is not:
		 * perf_event_open on our own child would be refused */
		prctl(PR_SET_DUMPABLE, 1);
		setrlimit(RLIMIT_MEMLOCK, &no_lock);
		opts_init(&o, &c);
		o.mode = DDPROF_SAMPLER_SYSTEM;
		err = ddprof_sampler_open(&s, &o);
		if (paranoid >= 1 && err != -EACCES && err != -EPERM)
			rc |= 1;
		if (!err)
			ddprof_sampler_close(s);
		o.mode = DDPROF_SAMPLER_WRAP;
		o.argv = argv;
		err = ddprof_sampler_open(&s, &o);
		if (err)
			_exit(64 | 2);
		ddprof_sampler_stats(s, &st);
		if (paranoid >= 2 && st.kernel_frames)
			rc |= 4;
		if (st.ring_pages > 128)
			rc |= 8;
		if (ddprof_sampler_start(s))
			rc |= 16;
		waitpid(ddprof_sampler_child(s), &status, 0);
		ddprof_sampler_child_reaped(s);
		ddprof_sampler_drain(s);
		ddprof_sampler_close(s);
		_exit(rc);
	}
	waitpid(tester, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wrap_errors),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_attach_fd_limit),
		cmocka_unit_test(test_system),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_unprivileged),
	};

	ddprof_test_require_perf();
	set_workload();
	ddprof_log_set(log_stderr, NULL, DDPROF_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
