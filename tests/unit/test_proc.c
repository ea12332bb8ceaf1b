/* Unit tests of src/proc without privileges: the maps line parser, and the
 * process table driven by hand-made events over a fake procfs tree (seed,
 * MMAP2 overlap, fork copy, exec reset, exit deferral, thread names, and
 * 10000 short-lived processes with bounded memory). */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "ddprof/error.h"
#include "proc/maps.h"
#include "proc/table.h"

static char procfs[256];

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", procfs, rel);
	for (char *s = strchr(path + strlen(procfs) + 1, '/'); s;
	     s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(path, 0700);
		*s = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	snprintf(procfs, sizeof(procfs), "/tmp/ddprof-test-proc-XXXXXX");
	if (!mkdtemp(procfs))
		return -1;
	write_file("100/maps",
		   "00400000-00401000 r--p 00000000 08:01 1001 /usr/bin/app\n"
		   "00401000-00405000 r-xp 00001000 08:01 1001 /usr/bin/app\n"
		   "01000000-01021000 rw-p 00000000 00:00 0 [heap]\n"
		   "7f0000000000-7f0000100000 r-xp 00028000 08:01 2002 /usr/lib/libc.so.6\n"
		   "7f0000200000-7f0000201000 r-xp 00000000 08:01 3003 /tmp/my lib (deleted)\n"
		   "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n"
		   "7ffc000ff000-7ffc00101000 r-xp 00000000 00:00 0                          [vdso]\n");
	write_file("100/comm", "app\n");
	write_file("100/task/101/comm", "worker-1\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", procfs);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_maps_parse(void **state)
{
	const char *l = "7f0000000000-7f0000100000 r-xp 00028000 fd:01 2002   /a b/c.so\n";
	struct ddprof_map m;
	const char *path;
	size_t plen;

	assert_int_equal(ddprof_maps_parse_line(l, strlen(l), &m, &path, &plen), 0);
	assert_int_equal(m.start, 0x7f0000000000ULL);
	assert_int_equal(m.end, 0x7f0000100000ULL);
	assert_int_equal(m.pgoff, 0x28000);
	assert_int_equal(m.prot, PROT_READ | PROT_EXEC);
	assert_int_equal(m.flags, MAP_PRIVATE);
	assert_int_equal(m.dev, makedev(0xfd, 1));
	assert_int_equal(m.ino, 2002);
	assert_int_equal(plen, strlen("/a b/c.so"));
	assert_memory_equal(path, "/a b/c.so", plen);

	l = "1000-2000 rw-s 00000000 00:05 0";
	assert_int_equal(ddprof_maps_parse_line(l, strlen(l), &m, &path, &plen), 0);
	assert_int_equal(m.flags, MAP_SHARED);
	assert_int_equal(plen, 0);

	const char *bad[] = {
		"", "1000", "1000-", "1000-2000", "1000-2000 r-xp",
		"2000-1000 r-xp 0 00:00 0", "1000-2000 r-xq 0 00:00 0",
		"1000-2000 r-xp 0 0000 0", "1000-2000 r-xp 0 00:00 x",
		"1000-2000 r-xp 0 00:00 12x /p",
		"10000000000000000-2 r-xp 0 00:00 0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ddprof_maps_parse_line(bad[i], strlen(bad[i]),
							&m, &path, &plen),
				 -DDPROF_ERR_FORMAT);
	/* length bounds the parse: the same line cut short is refused */
	l = "1000-2000 r-xp 00000000 00:00 0";
	assert_int_equal(ddprof_maps_parse_line(l, 12, &m, &path, &plen),
			 -DDPROF_ERR_FORMAT);
}

struct events {
	int exits, execs, unused;
	pid_t last_exit;
};

static void on_exit_cb(void *ctx, struct ddprof_proc *p)
{
	struct events *e = ctx;

	e->exits++;
	e->last_exit = ddprof_proc_pid(p);
}

static void on_exec_cb(void *ctx, struct ddprof_proc *p)
{
	((struct events *)ctx)->execs++;
}

static void on_unused_cb(void *ctx, uint64_t dev, uint64_t ino)
{
	((struct events *)ctx)->unused++;
}

static struct ddprof_proc_table *new_table(struct events *e)
{
	struct ddprof_proc_table_cb cb = {
		.on_exec = on_exec_cb, .on_exit = on_exit_cb,
		.on_file_unused = on_unused_cb, .ctx = e,
	};
	struct ddprof_proc_table *t;

	memset(e, 0, sizeof(*e));
	assert_int_equal(ddprof_proc_table_new(&t, procfs, &cb), 0);
	return t;
}

static struct ddprof_map mk(uint64_t s, uint64_t e, uint64_t off,
			    uint64_t ino, const char *path)
{
	struct ddprof_map m = {
		.start = s, .end = e, .pgoff = off, .prot = PROT_READ | PROT_EXEC,
		.flags = MAP_PRIVATE, .dev = ino ? makedev(8, 1) : 0,
		.ino = ino, .path = path,
	};
	return m;
}

static void test_seed_and_lookup(void **state)
{
	struct ddprof_proc_table *t;
	struct ddprof_proc *p;
	const struct ddprof_map *m;
	struct events e;
	char buf[512];
	size_t nr;

	t = new_table(&e);
	assert_int_equal(ddprof_proc_table_get(t, 100, &p), 0);
	assert_string_equal(ddprof_proc_name(p), "app");
	ddprof_proc_maps(p, &nr);
	assert_int_equal(nr, 7);
	m = ddprof_proc_find_map(p, 0x401234);
	assert_non_null(m);
	assert_string_equal(m->path, "/usr/bin/app");
	assert_int_equal(m->pgoff, 0x1000);
	assert_null(ddprof_proc_find_map(p, 0x3fffff));
	assert_null(ddprof_proc_find_map(p, 0x405000));
	assert_int_equal(ddprof_proc_find_map(p, 0x400000)->start, 0x400000);
	m = ddprof_proc_find_map(p, 0x7f00000fffffULL);
	assert_string_equal(m->path, "/usr/lib/libc.so.6");
	assert_int_equal(m->dev, makedev(8, 1));
	m = ddprof_proc_find_map(p, 0x7f0000200010ULL);
	assert_string_equal(m->path, "/tmp/my lib (deleted)");
	assert_string_equal(ddprof_proc_find_map(p, 0x7ffc00100000ULL)->path,
			    "[vdso]");
	assert_int_equal(ddprof_proc_map_path(p, m, buf, sizeof(buf)),
			 (int)(strlen(procfs) + strlen("/100/root/tmp/my lib (deleted)")));
	assert_non_null(strstr(buf, "/100/root/tmp/my lib"));
	assert_int_equal(ddprof_proc_map_path(p, ddprof_proc_find_map(p, 0x1000000),
					      buf, sizeof(buf)),
			 -DDPROF_ERR_NOT_FOUND);
	assert_int_equal(ddprof_proc_table_files(t), 3);
	/* thread names: /proc fallback, then COMM records */
	assert_string_equal(ddprof_proc_thread_name(p, 101), "worker-1");
	assert_string_equal(ddprof_proc_thread_name(p, 102), "app");
	assert_int_equal(ddprof_proc_table_comm(t, 100, 102, "io", false), 0);
	assert_string_equal(ddprof_proc_thread_name(p, 102), "io");
	ddprof_proc_table_exit(t, 100, 102);
	assert_string_equal(ddprof_proc_thread_name(p, 102), "app");
	/* user slot */
	ddprof_proc_set_user(p, &e);
	assert_ptr_equal(ddprof_proc_user(p), &e);
	/* a pid procfs does not know: served empty, freed at flush */
	assert_int_equal(ddprof_proc_table_get(t, 999, &p), 0);
	assert_null(ddprof_proc_find_map(p, 0x401000));
	assert_int_equal(ddprof_proc_table_live(t), 2);
	ddprof_proc_table_flush(t);
	assert_int_equal(ddprof_proc_table_live(t), 1);
	assert_int_equal(e.last_exit, 999);
	ddprof_proc_table_free(t);
	assert_int_equal(e.exits, 2);
	assert_int_equal(e.unused, 3);
}

static void test_mmap_overlap(void **state)
{
	struct ddprof_proc_table *t;
	struct ddprof_proc *p;
	const struct ddprof_map *m;
	struct ddprof_map nm;
	struct events e;
	size_t nr;
	uint64_t gen;

	t = new_table(&e);
	/* exec'd process: no seeding, maps come from MMAP2 only */
	assert_int_equal(ddprof_proc_table_comm(t, 200, 200, "prog", true), 0);
	p = ddprof_proc_table_find(t, 200);
	assert_non_null(p);
	assert_int_equal(e.execs, 1);
	nm = mk(0x10000, 0x20000, 0x1000, 11, "/a");
	assert_int_equal(ddprof_proc_table_mmap(t, 200, &nm), 0);
	nm = mk(0x30000, 0x40000, 0, 12, "/b");
	assert_int_equal(ddprof_proc_table_mmap(t, 200, &nm), 0);
	gen = ddprof_proc_maps_gen(p);
	/* punches a hole in /a: /a is split, pgoff of the tail adjusted */
	nm = mk(0x14000, 0x18000, 0, 13, "/c");
	assert_int_equal(ddprof_proc_table_mmap(t, 200, &nm), 0);
	assert_true(ddprof_proc_maps_gen(p) > gen);
	m = ddprof_proc_maps(p, &nr);
	assert_int_equal(nr, 4);
	assert_int_equal(m[0].end, 0x14000);
	assert_string_equal(m[1].path, "/c");
	assert_int_equal(m[2].start, 0x18000);
	assert_int_equal(m[2].pgoff, 0x1000 + 0x8000);
	assert_string_equal(m[2].path, "/a");
	/* covers the tail of /a, all of /b and more */
	nm = mk(0x1c000, 0x50000, 0, 14, "/d");
	assert_int_equal(ddprof_proc_table_mmap(t, 200, &nm), 0);
	m = ddprof_proc_maps(p, &nr);
	assert_int_equal(nr, 4);
	assert_int_equal(m[2].end, 0x1c000);
	assert_string_equal(ddprof_proc_find_map(p, 0x3ffff)->path, "/d");
	assert_int_equal(e.unused, 1); /* /b is gone */
	/* the same range again replaces it exactly */
	nm = mk(0x1c000, 0x50000, 0, 15, "/e");
	assert_int_equal(ddprof_proc_table_mmap(t, 200, &nm), 0);
	ddprof_proc_maps(p, &nr);
	assert_int_equal(nr, 4);
	assert_int_equal(e.unused, 2);
	/* empty ranges are ignored */
	nm = mk(0x60000, 0x60000, 0, 16, "/f");
	assert_int_equal(ddprof_proc_table_mmap(t, 200, &nm), 0);
	ddprof_proc_maps(p, &nr);
	assert_int_equal(nr, 4);
	ddprof_proc_table_free(t);
}

static void test_fork_exec_exit(void **state)
{
	struct ddprof_proc_table *t;
	struct ddprof_proc *parent, *child;
	struct ddprof_map nm;
	struct events e;
	size_t nr;

	t = new_table(&e);
	assert_int_equal(ddprof_proc_table_get(t, 100, &parent), 0);
	/* a thread */
	assert_int_equal(ddprof_proc_table_fork(t, 100, 100, 103, 101), 0);
	assert_string_equal(ddprof_proc_thread_name(parent, 103), "worker-1");
	/* many threads created by a known one: its name is copied while the
	 * thread array grows (the source must not move under the copy) */
	for (pid_t tid = 1000; tid < 1100; tid++)
		assert_int_equal(ddprof_proc_table_fork(t, 100, 100, tid, 103), 0);
	assert_string_equal(ddprof_proc_thread_name(parent, 1099), "worker-1");
	for (pid_t tid = 1000; tid < 1100; tid++)
		ddprof_proc_table_exit(t, 100, tid);
	/* a process: copy of the parent's mappings */
	assert_int_equal(ddprof_proc_table_fork(t, 300, 100, 300, 100), 0);
	child = ddprof_proc_table_find(t, 300);
	assert_non_null(child);
	assert_string_equal(ddprof_proc_name(child), "app");
	ddprof_proc_maps(child, &nr);
	assert_int_equal(nr, 7);
	assert_string_equal(ddprof_proc_find_map(child, 0x401000)->path,
			    "/usr/bin/app");
	/* exec resets it; the parent keeps its own */
	assert_int_equal(ddprof_proc_table_comm(t, 300, 300, "sh", true), 0);
	assert_int_equal(e.execs, 1);
	ddprof_proc_maps(child, &nr);
	assert_int_equal(nr, 0);
	assert_null(ddprof_proc_find_map(child, 0x401000));
	assert_string_equal(ddprof_proc_name(child), "sh");
	nm = mk(0x500000, 0x510000, 0, 77, "/bin/sh");
	assert_int_equal(ddprof_proc_table_mmap(t, 300, &nm), 0);
	assert_non_null(ddprof_proc_find_map(parent, 0x401000));
	/* exit: still usable until the end of the pass */
	ddprof_proc_table_exit(t, 300, 300);
	assert_ptr_equal(ddprof_proc_table_find(t, 300), child);
	assert_string_equal(ddprof_proc_find_map(child, 0x500100)->path,
			    "/bin/sh");
	assert_int_equal(e.exits, 0);
	ddprof_proc_table_flush(t);
	assert_int_equal(e.exits, 1);
	assert_int_equal(e.last_exit, 300);
	assert_null(ddprof_proc_table_find(t, 300));
	/* pid reuse: a FORK for a pid still listed retires the old one */
	assert_int_equal(ddprof_proc_table_fork(t, 301, 100, 301, 100), 0);
	child = ddprof_proc_table_find(t, 301);
	assert_int_equal(ddprof_proc_table_fork(t, 301, 100, 301, 100), 0);
	assert_ptr_not_equal(ddprof_proc_table_find(t, 301), child);
	ddprof_proc_table_flush(t);
	assert_int_equal(e.exits, 2);
	assert_int_equal(ddprof_proc_table_live(t), 2);
	/* a parent new to the table is read from procfs and copied */
	ddprof_proc_table_flush(t);
	ddprof_proc_table_free(t);
	t = new_table(&e);
	assert_int_equal(ddprof_proc_table_fork(t, 500, 100, 500, 100), 0);
	ddprof_proc_maps(ddprof_proc_table_find(t, 500), &nr);
	assert_int_equal(nr, 7);
	assert_int_equal(ddprof_proc_table_live(t), 2);
	ddprof_proc_table_free(t);
	t = new_table(&e);
	assert_int_equal(ddprof_proc_table_seed_all(t), 0);
	assert_int_equal(ddprof_proc_table_live(t), 1);
	assert_non_null(ddprof_proc_table_find(t, 100));
	/* parent unknown to the table and to procfs: empty, freed at flush */
	assert_int_equal(ddprof_proc_table_fork(t, 400, 399, 400, 399), 0);
	ddprof_proc_table_flush(t);
	assert_null(ddprof_proc_table_find(t, 400));
	assert_null(ddprof_proc_table_find(t, 399));
	/* gc retires what procfs no longer lists */
	assert_int_equal(ddprof_proc_table_fork(t, 302, 100, 302, 100), 0);
	assert_int_equal(ddprof_proc_table_fork(t, 301, 100, 301, 100), 0);
	assert_int_equal(ddprof_proc_table_gc(t), 2); /* 301 and 302 */
	ddprof_proc_table_flush(t);
	assert_int_equal(ddprof_proc_table_live(t), 1);
	ddprof_proc_table_free(t);
}

static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/* Regression (ASan, fault test with 2000 processes under -a): a new
 * thread took its name from its creator's entry in the thread array,
 * which adding the new entry reallocates or shifts: a read after free. */
static void test_thread_fork_name_survives_growth(void **state)
{
	struct ddprof_proc_table *t;
	struct ddprof_proc *p;
	struct events e;
	char name[16];

	t = new_table(&e);
	assert_int_equal(ddprof_proc_table_get(t, 100, &p), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		assert_int_equal(ddprof_proc_table_comm(t, 100, 1000 + i, name, false), 0);
		/* a lower tid than its creator's: the entries shift */
		assert_int_equal(ddprof_proc_table_fork(t, 100, 100, 900 - i, 1000 + i), 0);
		assert_string_equal(ddprof_proc_thread_name(p, 900 - i), name);
	}
	ddprof_proc_table_free(t);
}

static void test_many_short_lived(void **state)
{
	struct ddprof_proc_table *t;
	struct ddprof_proc *parent;
	struct events e;
	size_t before = 0, peak = 0;
	char name[32];

	t = new_table(&e);
	assert_int_equal(ddprof_proc_table_get(t, 100, &parent), 0);
	for (int i = 0; i < 10000; i++) {
		pid_t pid = 1000 + i;
		struct ddprof_map nm;
		struct ddprof_proc *c;

		assert_int_equal(ddprof_proc_table_fork(t, pid, 100, pid, 100), 0);
		snprintf(name, sizeof(name), "job%d", i);
		assert_int_equal(ddprof_proc_table_comm(t, pid, pid, name, true), 0);
		nm = mk(0x400000, 0x401000, 0, 5000 + i % 7, "/bin/job");
		assert_int_equal(ddprof_proc_table_mmap(t, pid, &nm), 0);
		assert_int_equal(ddprof_proc_table_fork(t, pid, pid, pid + 50000, pid), 0);
		c = ddprof_proc_table_find(t, pid);
		assert_string_equal(ddprof_proc_find_map(c, 0x400800)->path, "/bin/job");
		ddprof_proc_table_exit(t, pid, pid + 50000);
		ddprof_proc_table_exit(t, pid, pid);
		if (i % 100 == 99) {
			ddprof_proc_table_flush(t);
			assert_int_equal(ddprof_proc_table_live(t), 1);
			if (i == 999)
				before = heap_in_use();
			if (i > 999 && heap_in_use() > peak)
				peak = heap_in_use();
		}
	}
	assert_int_equal(e.exits, 10000);
	assert_int_equal(ddprof_proc_table_freed(t), 10000);
	/* only the parent's three files are still mapped */
	assert_int_equal(ddprof_proc_table_files(t), 3);
	/* steady state after warm-up: no growth beyond allocator noise */
	if (before)
		assert_true(peak < before + 64 * 1024);
	ddprof_proc_table_free(t);
}

/* Our own process through the real procfs: the test binary's text is
 * found, and its file is opened as the process sees it (dev + inode). */
static void test_open_own_map(void **state)
{
	struct ddprof_proc_table *t;
	struct ddprof_proc *p;
	const struct ddprof_map *m;
	struct stat st;
	char path[4096];
	int fd;

	assert_int_equal(ddprof_proc_table_new(&t, NULL, NULL), 0);
	assert_int_equal(ddprof_proc_table_get(t, getpid(), &p), 0);
	m = ddprof_proc_find_map(p, (uint64_t)(uintptr_t)&test_open_own_map);
	assert_non_null(m);
	assert_true(m->prot & PROT_EXEC);
	assert_non_null(strstr(m->path, "test_proc"));
	assert_true(ddprof_proc_map_path(p, m, path, sizeof(path)) > 0);
	assert_int_equal(strncmp(path, "/proc/", 6), 0);
	fd = ddprof_proc_open_map(p, m);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, m->ino);
	assert_int_equal(st.st_dev, m->dev);
	close(fd);
	/* a mapping claiming another inode is refused */
	struct ddprof_map other = *m;

	other.ino++;
	assert_int_equal(ddprof_proc_open_map(p, &other), -DDPROF_ERR_NOT_FOUND);
	assert_string_equal(ddprof_proc_thread_name(p, getpid()),
			    ddprof_proc_name(p));
	ddprof_proc_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_parse),
		cmocka_unit_test(test_seed_and_lookup),
		cmocka_unit_test(test_mmap_overlap),
		cmocka_unit_test(test_fork_exec_exit),
		cmocka_unit_test(test_thread_fork_name_survives_growth),
		cmocka_unit_test(test_many_short_lived),
		cmocka_unit_test(test_open_own_map),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
