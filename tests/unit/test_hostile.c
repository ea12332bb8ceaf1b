/* Hostile input to the symbols and unwind layers: JIT perf maps that are
 * symlinks, FIFOs or belong to another user are refused (with a note);
 * copies of this very test binary truncated or with corrupt section and
 * program headers (absurd sizes and offsets) are skipped or read without
 * symbols, with a note, while the intact binary still resolves. Also holds
 * regression tests for what fuzzing found in src/symbols. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/uw_capture.h"
#include "ddprof/log.h"
#include "symbols/perfmap.h"
#include "symbols/symbolizer.h"
#include "unwind/unwind.h"

/* ---- captured notes ---------------------------------------------------- */

static char notes[8192];

static void note_cb(enum ddprof_log_level level, const char *msg, void *ctx)
{
	size_t n = strlen(notes);

	snprintf(notes + n, sizeof(notes) - n, "%s\n", msg);
}

static int setup(void **state)
{
	notes[0] = '\0';
	ddprof_log_set(note_cb, NULL, DDPROF_LOG_DEBUG);
	return 0;
}

static int teardown(void **state)
{
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	return 0;
}

/* ---- perf maps ----------------------------------------------------------- */

static const char map_text[] = "7f0000001000 100 jit_hot_loop\n"
			       "7f0000001100 40 jit_helper\n";

static void perfmap_path(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, "/tmp/perf-%d.map", (int)pid);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_perfmap_regular_is_read(void **state)
{
	struct ddprof_perfmap m = { 0 };
	char path[64];

	perfmap_path(path, sizeof(path), getpid());
	write_file(path, map_text, 0600);
	assert_int_equal(ddprof_perfmap_load(&m, getpid()), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(ddprof_perfmap_find(&m, 0x7f0000001010)->name,
			    "jit_hot_loop");
	ddprof_perfmap_fini(&m);
	unlink(path);
}

/* Makes our own /tmp/perf-PID.map a symlink to a real map in dir. */
static void symlinked_map(char *dir, char *target, size_t tlen, char *path,
			  size_t plen)
{
	assert_non_null(mkdtemp(dir));
	snprintf(target, tlen, "%s/real.map", dir);
	write_file(target, map_text, 0600);
	perfmap_path(path, plen, getpid());
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

static void test_perfmap_symlink_refused(void **state)
{
	char dir[] = "/tmp/ddprof-hostile-XXXXXX", target[96], path[64];
	struct ddprof_perfmap m = { 0 };

	symlinked_map(dir, target, sizeof(target), path, sizeof(path));
	assert_int_equal(ddprof_perfmap_load(&m, getpid()), -ELOOP);
	assert_int_equal(m.n, 0);
	assert_false(m.loaded);
	unlink(path);
	unlink(target);
	rmdir(dir);
}

static void test_perfmap_other_owner_refused(void **state)
{
	struct ddprof_perfmap m = { 0 };
	char path[64];
	int fd;

	perfmap_path(path, sizeof(path), getpid());
	write_file(path, map_text, 0644);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	if (fchown(fd, getuid() + 1, (gid_t)-1)) {
		close(fd);
		unlink(path);
		skip(); /* needs root (CAP_CHOWN) */
	}
	close(fd);
	assert_int_equal(ddprof_perfmap_load(&m, getpid()), -EPERM);
	assert_int_equal(m.n, 0);
	unlink(path);
}

/* Forks a child that waits, chrooted into root (unless NULL) and running
 * as uid (unless 0), and dies with us should an assertion end the test
 * first. Returns its pid once it is set up. */
static pid_t waiting_child(const char *root, uid_t uid)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || (root && (chroot(root) || chdir("/"))) ||
		    (uid && (setgid(uid) || setuid(uid))))
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* The process runs as another user than the file's owner (us, root). */
static void test_perfmap_of_other_users_process_refused(void **state)
{
	struct ddprof_perfmap m = { 0 };
	char path[64];
	pid_t pid;

	if (geteuid() != 0)
		skip();
	pid = waiting_child(NULL, 65534);
	perfmap_path(path, sizeof(path), pid);
	write_file(path, map_text, 0644);
	assert_int_equal(ddprof_perfmap_load(&m, pid), -EPERM);
	unlink(path);
	reap(pid);
}

/* A process in its own root (a container) whose /tmp is a symlink to an
 * absolute path: the map is looked up inside that root, never at the
 * same path on the host, where a map waits that must not be read. A real
 * /tmp inside the root is read. */
static void test_perfmap_stays_in_process_root(void **state)
{
	char root[] = "/tmp/ddprof-root-XXXXXX", host[] = "/tmp/ddprof-host-XXXXXX";
	char path[160], tmp[96];
	struct ddprof_perfmap m = { 0 };
	pid_t pid;

	if (geteuid() != 0)
		skip(); /* chroot needs root */
	assert_non_null(mkdtemp(root));
	assert_non_null(mkdtemp(host));
	snprintf(tmp, sizeof(tmp), "%s/tmp", root);
	assert_int_equal(symlink(host, tmp), 0); /* /tmp -> /tmp/ddprof-host-X */
	pid = waiting_child(root, 0);
	snprintf(path, sizeof(path), "%s/perf-%d.map", host, (int)pid);
	write_file(path, map_text, 0600); /* the host's file, same owner */
	assert_int_not_equal(ddprof_perfmap_load(&m, pid), 0);
	assert_false(m.loaded);
	assert_int_equal(m.n, 0);
	reap(pid);
	unlink(path);

	/* the same process layout with a real /tmp in its root */
	assert_int_equal(unlink(tmp), 0);
	assert_int_equal(mkdir(tmp, 01777), 0);
	pid = waiting_child(root, 0);
	snprintf(path, sizeof(path), "%s/perf-%d.map", tmp, (int)pid);
	write_file(path, map_text, 0600);
	assert_int_equal(ddprof_perfmap_load(&m, pid), 0);
	assert_int_equal(m.n, 2);
	ddprof_perfmap_fini(&m);
	reap(pid);
	unlink(path);
	rmdir(tmp);
	rmdir(root);
	rmdir(host);
}

static void test_perfmap_fifo_refused(void **state)
{
	struct ddprof_perfmap m = { 0 };
	char path[64];

	perfmap_path(path, sizeof(path), getpid());
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* must neither block on the FIFO nor read it */
	assert_int_equal(ddprof_perfmap_load(&m, getpid()), -EPERM);
	unlink(path);
}

/* Regression (fuzz_perfmap): an empty or wholly unparsable map handed
 * NULL to qsort. It loads as an empty table. */
static void test_perfmap_empty(void **state)
{
	struct ddprof_perfmap m = { 0 };
	char path[64];

	perfmap_path(path, sizeof(path), getpid());
	write_file(path, "", 0600);
	assert_int_equal(ddprof_perfmap_load(&m, getpid()), 0);
	assert_int_equal(m.n, 0);
	assert_null(ddprof_perfmap_find(&m, 0x1000));
	ddprof_perfmap_fini(&m);
	write_file(path, "not a map line\n0 0 zero-sized\n", 0600);
	assert_int_equal(ddprof_perfmap_load(&m, getpid()), 0);
	assert_int_equal(m.n, 0);
	ddprof_perfmap_fini(&m);
	unlink(path);
}

/* Through the symbolizer: a refused map gives a note, a count, and no
 * name from the file. */
static void test_symbolizer_refuses_symlinked_map(void **state)
{
	char dir[] = "/tmp/ddprof-hostile-XXXXXX", target[96], path[64];
	struct ddprof_map anon = { .start = 0x7f0000000000, .end = 0x7f0000100000,
				   .prot = PROT_READ | PROT_EXEC, .path = "" };
	struct ddprof_frame fr = { .pc = 0x7f0000001010, .map = &anon,
				   .kind = DDPROF_FRAME_USER };
	struct ddprof_symbolizer *s;
	struct ddprof_symbol sym;

	symlinked_map(dir, target, sizeof(target), path, sizeof(path));
	assert_int_equal(ddprof_symbolizer_new(&s), 0);
	assert_int_equal(ddprof_symbolizer_lookup(s, getpid(), &fr, &sym), 0);
	assert_true(sym.nr_lines >= 1);
	assert_string_not_equal(sym.lines[0].name, "jit_hot_loop");
	assert_true(ddprof_symbolizer_stats(s)->perfmap_refused >= 1);
	assert_non_null(strstr(notes, "refused"));
	ddprof_symbolizer_free(s);
	unlink(path);
	unlink(target);
	rmdir(dir);
}

/* ---- corrupt ELF files ----------------------------------------------------- */

__attribute__((noinline)) int hostile_target(int x)
{
	return x * 3 + 1;
}

static struct uw_capture cap;
static volatile int sink;

__attribute__((noinline)) static void hostile_capture(void)
{
	uw_capture_here(&cap, 4096);
	sink++;
}

struct exe {
	struct uw_maps maps;
	struct ddprof_map *text;  /* our r-x mapping */
	uint8_t *bytes;           /* copy of /proc/self/exe */
	size_t size;
};

static void exe_load(struct exe *e)
{
	uint64_t pc = (uint64_t)(uintptr_t)&hostile_target;
	struct stat st;
	int fd;

	memset(e, 0, sizeof(*e));
	assert_int_equal(uw_maps_load(&e->maps, 0), 0);
	for (size_t i = 0; i < e->maps.n; i++)
		if (pc >= e->maps.m[i].start && pc < e->maps.m[i].end)
			e->text = &e->maps.m[i];
	assert_non_null(e->text);
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	e->size = (size_t)st.st_size;
	e->bytes = malloc(e->size);
	assert_non_null(e->bytes);
	assert_int_equal(pread(fd, e->bytes, e->size, 0), (ssize_t)e->size);
	close(fd);
}

static void exe_free(struct exe *e)
{
	free(e->bytes);
	uw_maps_free(&e->maps);
}

/* Writes len bytes of a (corrupted) copy to path; fills *m as the text
 * mapping of our process would look if it came from that file. */
static void write_copy(const char *path, const uint8_t *b, size_t len,
		       const struct ddprof_map *text, struct ddprof_map *m)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	*m = *text;
	m->path = path;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
}

static const char *leaf_name(const struct ddprof_symbol *sym)
{
	assert_true(sym->nr_lines >= 1);
	return sym->lines[sym->nr_lines - 1].name;
}

enum corruption {
	TRUNC_HALF,       /* symbols and DWARF cut off */
	TRUNC_TEXT,       /* the code segment reaches past the end */
	TRUNC_HEADER,     /* only the ELF header and part of the phdrs */
	SHT_GARBAGE,      /* section header table overwritten */
	SHOFF_ABSURD,     /* e_shoff far beyond the file */
	SH_SIZES_ABSURD,  /* every section's sh_size / sh_offset absurd */
	PH_FILESZ_ABSURD, /* a PT_LOAD's p_filesz of 2^60 */
	PHNUM_ABSURD,     /* e_phnum 65535 */
	N_CORRUPTIONS
};

static size_t corrupt(uint8_t *b, size_t size, enum corruption c)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;

	switch (c) {
	case TRUNC_HALF:
		return size / 2;
	case TRUNC_TEXT:
		for (unsigned i = 0; i < eh->e_phnum; i++) {
			Elf64_Phdr *ph = (Elf64_Phdr *)(b + eh->e_phoff) + i;

			if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
				return ph->p_offset + ph->p_filesz / 2;
		}
		fail();
		return 0;
	case TRUNC_HEADER:
		return sizeof(*eh) + 20;
	case SHT_GARBAGE:
		assert_true(eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) <= size);
		memset(b + eh->e_shoff, 0xa5, (size_t)eh->e_shnum * sizeof(Elf64_Shdr));
		return size;
	case SHOFF_ABSURD:
		eh->e_shoff = 0x7ffffffffffff000ULL;
		return size;
	case SH_SIZES_ABSURD:
		for (unsigned i = 1; i < eh->e_shnum; i++) {
			Elf64_Shdr *sh = (Elf64_Shdr *)(b + eh->e_shoff) + i;

			if (i & 1)
				sh->sh_size = 1ULL << 62;
			else
				sh->sh_offset = ~0ULL - 16;
		}
		return size;
	case PH_FILESZ_ABSURD:
		for (unsigned i = 0; i < eh->e_phnum; i++) {
			Elf64_Phdr *ph = (Elf64_Phdr *)(b + eh->e_phoff) + i;

			if (ph->p_type == PT_LOAD) {
				ph->p_filesz = 1ULL << 60;
				break;
			}
		}
		return size;
	case PHNUM_ABSURD:
		eh->e_phnum = 0xffff;
		return size;
	default:
		return size;
	}
}

/* Each corrupt copy is symbolized and unwound through without a crash,
 * with a stable fallback name (and a note) when the file is refused; the
 * intact binary still resolves afterwards in the same symbolizer. */
static void test_corrupt_elf_copies(void **state)
{
	char dir[] = "/tmp/ddprof-hostile-XXXXXX", path[96];
	uint64_t pc = (uint64_t)(uintptr_t)&hostile_target;
	struct ddprof_symbolizer *s;
	struct ddprof_unwind *u;
	struct exe e;
	uint8_t *copy;

	exe_load(&e);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(ddprof_symbolizer_new(&s), 0);
	assert_int_equal(ddprof_unwind_new(&u), 0);
	copy = malloc(e.size);
	assert_non_null(copy);
	hostile_capture();
	for (int c = 0; c < N_CORRUPTIONS; c++) {
		static struct ddprof_unwind_result res;
		struct ddprof_map m;
		struct ddprof_frame fr = { .pc = pc, .kind = DDPROF_FRAME_USER };
		struct ddprof_symbol sym;
		struct ddprof_perf_sample smp;
		struct uw_maps one = { &m, 1 };
		uint64_t failed = ddprof_symbolizer_stats(s)->files_failed;
		size_t len;
		const char *name;

		memcpy(copy, e.bytes, e.size);
		len = corrupt(copy, e.size, (enum corruption)c);
		snprintf(path, sizeof(path), "%s/copy%d", dir, c);
		write_copy(path, copy, len, e.text, &m);
		notes[0] = '\0';

		fr.map = &m;
		assert_int_equal(ddprof_symbolizer_lookup(s, getpid(), &fr, &sym), 0);
		name = leaf_name(&sym);
		assert_true(name[0] != '\0');
		print_message("corruption %d: %s, \"%s\"\n", c,
			      ddprof_symbolizer_stats(s)->files_failed > failed ?
				      "refused" : "read", name);
		if (ddprof_symbolizer_stats(s)->files_failed > failed) {
			/* refused: a note naming the file, the offset name */
			assert_non_null(strstr(notes, path));
			assert_non_null(strstr(notes, "skipped"));
			assert_non_null(strstr(name, "+0x"));
		} else {
			/* read without (trustworthy) section data: either the
			 * right name or the offset fallback, never garbage */
			assert_true(strcmp(name, "hostile_target") == 0 ||
				    strstr(name, "+0x") != NULL);
		}

		/* unwinding through the corrupt file gives at least the leaf */
		uw_capture_to_sample(&cap, &smp);
		assert_int_equal(ddprof_unwind_sample(u, &smp, uw_maps_find, &one, &res), 0);
		assert_true(res.nr >= 1);
		assert_int_equal(res.frames[res.nr_kernel].pc, smp.regs[DDPROF_PERF_REG_IP]);
		ddprof_unwind_forget_pid(u, getpid());
		/* kept until the end: a reused inode would hit the caches */
	}
	/* truncated and absurd-phdr copies are refused by the unwinder too */
	assert_true(ddprof_unwind_stats(u)->tables_failed >= 4);
	assert_true(ddprof_symbolizer_stats(s)->files_failed >= 4);

	/* the rest of symbolization is intact: the real binary resolves */
	{
		struct ddprof_frame fr = { .pc = pc, .map = e.text,
					   .kind = DDPROF_FRAME_USER };
		struct ddprof_symbol sym;

		assert_int_equal(ddprof_symbolizer_lookup(s, getpid(), &fr, &sym), 0);
		assert_string_equal(leaf_name(&sym), "hostile_target");
	}
	free(copy);
	ddprof_unwind_free(u);
	ddprof_symbolizer_free(s);
	for (int c = 0; c < N_CORRUPTIONS; c++) {
		snprintf(path, sizeof(path), "%s/copy%d", dir, c);
		unlink(path);
	}
	rmdir(dir);
	exe_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_perfmap_regular_is_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_perfmap_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_perfmap_other_owner_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_perfmap_of_other_users_process_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_perfmap_stays_in_process_root, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_perfmap_fifo_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_perfmap_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symbolizer_refuses_symlinked_map,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_elf_copies, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
