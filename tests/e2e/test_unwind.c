/* End-to-end unwinding: samples real workloads (built -O2
 * -fomit-frame-pointer) with a minimal perf_event_open sampler (regs +
 * stack copy + callchain), unwinds and symbolizes every sample while the
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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/perf_event.h>

#include "symbols/symbolizer.h"
#include "unwind/unwind.h"

#define RING_PAGES 512
#define MAX_CPUS 64
#define STACK_BYTES 32768
#define MAX_NAMES 64

static char wl_dir[4096];

/* ---- process maps from MMAP2/FORK/COMM records ---------------------- */
struct pmaps {
	pid_t pid;
	struct ddprof_map *m;
	size_t n, cap;
};
static struct pmaps procs[64];
static size_t nprocs;

static struct pmaps *proc_get(pid_t pid)
{
	for (size_t i = 0; i < nprocs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	if (nprocs == 64)
		return NULL;
	procs[nprocs] = (struct pmaps){ .pid = pid };
	return &procs[nprocs++];
}

static void proc_add(struct pmaps *p, const struct ddprof_map *m)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->m = realloc(p->m, p->cap * sizeof(*p->m));
	}
	p->m[p->n] = *m;
	p->m[p->n].path = strdup(m->path);
	p->n++;
}

static void proc_clear(struct pmaps *p)
{
	for (size_t i = 0; i < p->n; i++)
		free((char *)p->m[i].path);
	p->n = 0;
}

/* newest mapping first: a later mmap replaces what it overlaps */
static const struct ddprof_map *proc_find(void *arg, uint64_t addr)
{
	struct pmaps *p = arg;

	for (size_t i = p->n; i > 0; i--)
		if (addr >= p->m[i - 1].start && addr < p->m[i - 1].end)
			return &p->m[i - 1];
	return NULL;
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
		      pid_t child)
{
	struct pmaps *p = proc_get(s->pid);
	bool rooted = false, hot;
	const char *leaf = NULL;

	/* the workload and what it forked (known from FORK records) */
	if (!p || !p->n)
		return;
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

/* ---- minimal sampler ------------------------------------------------- */
struct ring {
	int fd;
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	size_t size;
};

static int perf_open(struct perf_event_attr *a, pid_t pid, int cpu)
{
	return syscall(SYS_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void fill_attr(struct perf_event_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = PERF_TYPE_SOFTWARE;
	a->config = PERF_COUNT_SW_CPU_CLOCK;
	a->sample_period = 1000000; /* 1 ms */
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			 PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
			 PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
			 PERF_SAMPLE_STACK_USER;
	a->sample_regs_user = DDPROF_PERF_REGS_MASK;
	a->sample_stack_user = STACK_BYTES;
	a->mmap = a->mmap2 = a->comm = a->task = 1;
	a->comm_exec = 1;
	a->inherit = 1;
	a->disabled = 1;
	a->enable_on_exec = 1;
	a->exclude_hv = 1;
}

static void parse_sample(const uint8_t *p, struct ddprof_perf_sample *s)
{
	const uint64_t *w = (const void *)p;
	uint64_t mask = DDPROF_PERF_REGS_MASK;

	memset(s, 0, sizeof(*s));
	s->ip = *w++;
	s->pid = (uint32_t)*w;
	s->tid = (uint32_t)(*w++ >> 32);
	s->time = *w++;
	s->cpu = (uint32_t)*w++;
	s->period = *w++;
	s->nr_callchain = *w++;
	s->callchain = w;
	w += s->nr_callchain;
	s->abi = *w++;
	if (s->abi)
		for (unsigned b = 0; b < 64; b++)
			if (mask & (1ULL << b))
				s->regs[b] = *w++;
	s->stack_size = *w++;
	if (s->stack_size) {
		s->stack = (const uint8_t *)w;
		w += s->stack_size / 8;
		s->dyn_size = *w++;
	}
}

static void on_record(struct tally *t, const struct perf_event_header *h,
		      pid_t child)
{
	const uint8_t *p = (const uint8_t *)(h + 1);

	if (h->type == PERF_RECORD_SAMPLE) {
		struct ddprof_perf_sample s;

		parse_sample(p, &s);
		on_sample(t, &s, child);
	} else if (h->type == PERF_RECORD_LOST) {
		t->lost += ((const uint64_t *)p)[1];
	} else if (h->type == PERF_RECORD_MMAP2) {
		struct {
			uint32_t pid, tid;
			uint64_t addr, len, pgoff;
			uint32_t maj, min;
			uint64_t ino, ino_gen;
			uint32_t prot, flags;
			char name[];
		} const *r = (const void *)p;
		struct pmaps *pm = proc_get(r->pid);
		struct ddprof_map m = {
			.start = r->addr, .end = r->addr + r->len,
			.pgoff = r->pgoff, .prot = r->prot, .flags = r->flags,
			.dev = makedev(r->maj, r->min), .ino = r->ino,
			.path = r->name,
		};

		if (pm)
			proc_add(pm, &m);
	} else if (h->type == PERF_RECORD_FORK) {
		const uint32_t *r = (const void *)p; /* pid, ppid, tid, ptid */
		struct pmaps *parent = proc_get(r[1]), *c;

		if (r[0] != r[2] || r[0] == r[1])
			return; /* a thread */
		c = proc_get(r[0]);
		if (!c || !parent)
			return;
		proc_clear(c);
		for (size_t i = 0; i < parent->n; i++)
			proc_add(c, &parent->m[i]);
	} else if (h->type == PERF_RECORD_COMM && (h->misc & PERF_RECORD_MISC_COMM_EXEC)) {
		const uint32_t *r = (const void *)p;
		struct pmaps *pm = proc_get(r[0]);

		if (pm)
			proc_clear(pm);
		ddprof_unwind_forget_pid(uw, r[0]);
	} else if (h->type == PERF_RECORD_COMM && strncmp((const char *)p + 8, "uw_worker", 9) == 0) {
		t->thread_named = true;
	}
}

static void drain(struct ring *r, struct tally *t, pid_t child)
{
	static uint8_t tmp[70000];
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;

	while (tail < head) {
		struct perf_event_header h;
		size_t off = tail % r->size;

		if (r->size - off >= sizeof(h))
			memcpy(&h, r->data + off, sizeof(h));
		else {
			memcpy(&h, r->data + off, r->size - off);
			memcpy((uint8_t *)&h + (r->size - off), r->data,
			       sizeof(h) - (r->size - off));
		}
		if (!h.size)
			break;
		if (r->size - off >= h.size) {
			on_record(t, (const void *)(r->data + off), child);
		} else {
			memcpy(tmp, r->data + off, r->size - off);
			memcpy(tmp + (r->size - off), r->data, h.size - (r->size - off));
			on_record(t, (const void *)tmp, child);
		}
		tail += h.size;
	}
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
}

static int perf_allowed(void)
{
	struct perf_event_attr a;
	int fd;

	fill_attr(&a);
	a.enable_on_exec = 0;
	a.inherit = 0;
	fd = perf_open(&a, 0, -1);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Runs workload args[0] (in wl_dir) under the sampler; fills t. */
static void profile(char *const args[], struct tally *t)
{
	int go[2], out[2], ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct ring rings[MAX_CPUS];
	struct perf_event_attr a;
	char path[4200], buf[256];
	size_t got = 0;
	pid_t child;
	double deadline;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/%s", wl_dir, args[0]);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(out), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		char c;

		setpgid(0, 0); /* so that the whole tree can be killed */
		dup2(out[1], 1);
		close(out[0]);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(126);
		execv(path, args);
		_exit(127);
	}
	close(go[0]);
	close(out[1]);
	proc_get(child);
	fill_attr(&a);
	for (int c = 0; c < ncpu && c < MAX_CPUS; c++) {
		size_t len = (RING_PAGES + 1) * 4096;

		rings[c].fd = perf_open(&a, child, c);
		assert_true(rings[c].fd >= 0);
		rings[c].meta = mmap(NULL, len, PROT_READ | PROT_WRITE,
				     MAP_SHARED, rings[c].fd, 0);
		assert_true(rings[c].meta != MAP_FAILED);
		rings[c].data = (uint8_t *)rings[c].meta + 4096;
		rings[c].size = RING_PAGES * 4096;
	}
	assert_int_equal(write(go[1], "x", 1), 1);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	deadline = time(NULL) + 60;
	while (time(NULL) < deadline) {
		ssize_t n;

		poll(NULL, 0, 20);
		for (int c = 0; c < ncpu && c < MAX_CPUS; c++)
			drain(&rings[c], t, child);
		n = read(out[0], buf + got, sizeof(buf) - 1 - got);
		if (n > 0)
			got += n;
		buf[got] = 0;
		if (strstr(buf, "done") || n == 0)
			break;
	}
	for (int c = 0; c < ncpu && c < MAX_CPUS; c++) {
		drain(&rings[c], t, child);
		munmap(rings[c].meta, (RING_PAGES + 1) * 4096);
		close(rings[c].fd);
	}
	kill(-child, SIGKILL);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(go[1]);
	close(out[0]);
	ddprof_symbolizer_forget_pid(sym, child);
	ddprof_unwind_forget_pid(uw, child);
	for (size_t i = 0; i < nprocs; i++) {
		proc_clear(&procs[i]);
		free(procs[i].m);
	}
	nprocs = 0;
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

	if (!perf_allowed()) {
		fprintf(stderr, "perf_event_open not permitted: skipped\n");
		return 77;
	}
	snprintf(wl_dir, sizeof(wl_dir), "%s/workloads",
		 b && b[0] == '/' ? b : DDPROF_TEST_BUILD_DIR);
	return cmocka_run_group_tests(tests, setup, teardown);
}
