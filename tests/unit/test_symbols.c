/* Unit tests of src/symbols: inline chains, demangling, stripped and
 * deleted files, perf maps (and their refusal), kallsyms, corrupt ELF
 * files, files truncated after opening, eviction. Frames come from this process (maps from
 * /proc/self/maps) so the expected answers are known. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../lib/uw_capture.h"
#include "ddprof/error.h"
#include "ddprof/log.h"
#include "symbols/kallsyms.h"
#include "symbols/symbolizer.h"
#include "symbols/symfile.h"
#include "unwind/cfi_table.h"
#include "unwind/unwind.h"

static struct uw_capture cap;
static volatile int sink;
static int inl_line;

static inline __attribute__((always_inline)) void sym_inl_helper(void)
{
	inl_line = __LINE__ + 1;
	uw_capture_here(&cap, 4096);
	sink++;
}

__attribute__((noinline)) void sym_outer(void)
{
	sym_inl_helper();
	sink++;
}

__attribute__((noinline, used)) int sym_mangled(int x) __asm__("_ZN3foo3barEi");
__attribute__((noinline, used)) int sym_mangled(int x)
{
	return x * 3 + sink;
}

__attribute__((noinline, used)) int sym_rust(int x) __asm__("_ZN4core3fmt5write17h0123456789abcdefE");
__attribute__((noinline, used)) int sym_rust(int x)
{
	return x * 5 + sink;
}

static struct uw_maps maps;
static struct ddprof_symbolizer *s;

/* Symbolizes pc of this process (leaf or call site). */
static void lookup(uint64_t pc, bool call_site, struct ddprof_symbol *out)
{
	struct ddprof_frame f = { .pc = pc, .call_site = call_site };

	f.map = uw_maps_find(&maps, pc);
	f.kind = f.map ? DDPROF_FRAME_USER : DDPROF_FRAME_UNMAPPED;
	assert_int_equal(ddprof_symbolizer_lookup(s, getpid(), &f, out), 0);
	assert_true(out->nr_lines >= 1);
}

static int setup(void **state)
{
	if (ddprof_symbolizer_new(&s))
		return -1;
	return uw_maps_load(&maps, 0);
}

static int teardown(void **state)
{
	ddprof_symbolizer_free(s);
	uw_maps_free(&maps);
	return 0;
}

static void test_inline_chain(void **state)
{
	struct ddprof_symbol y;
	const char *file;

	sym_outer();
	/* the return address into sym_outer lies in the inlined helper */
	lookup(cap.regs[DDPROF_PERF_REG_IP], false, &y);
	assert_string_equal(y.lines[y.nr_lines - 1].name, "uw_capture_here");
	/* caller: the real frame of sym_outer, found by CFI-free means:
	 * the return address is in the stack copy at the CFA - 8 */
	{
		struct ddprof_unwind *u;
		struct ddprof_unwind_result *r = malloc(sizeof(*r));
		struct ddprof_perf_sample smp;

		uw_capture_to_sample(&cap, &smp);
		assert_int_equal(ddprof_unwind_new(&u), 0);
		assert_int_equal(ddprof_unwind_sample(u, &smp, uw_maps_find,
						      &maps, r), 0);
		assert_true(r->nr >= 2);
		assert_int_equal(ddprof_symbolizer_lookup(s, getpid(),
							  &r->frames[1], &y), 0);
		ddprof_unwind_free(u);
		free(r);
	}
	assert_int_equal(y.nr_lines, 2);
	assert_string_equal(y.lines[0].name, "sym_inl_helper");
	assert_string_equal(y.lines[1].name, "sym_outer");
	assert_int_equal(y.lines[0].line, inl_line);
	assert_true(y.lines[1].line > (uint32_t)inl_line);
	assert_true(y.lines[0].start_line > 0 &&
		    y.lines[0].start_line < (uint32_t)inl_line);
	file = strrchr(y.lines[1].file, '/');
	assert_non_null(file);
	assert_string_equal(file, "/test_symbols.c");
	assert_true(y.mapping.has_functions && y.mapping.has_filenames &&
		    y.mapping.has_line_numbers && y.mapping.has_inline_frames);
	assert_int_equal(strlen(y.mapping.build_id), 40);
	assert_true(y.mapping.start <= y.address && y.address < y.mapping.limit);
}

static void test_demangle(void **state)
{
	struct ddprof_symbol y;

	lookup((uintptr_t)sym_mangled, false, &y);
	assert_string_equal(y.lines[y.nr_lines - 1].name, "foo::bar(int)");
	assert_string_equal(y.lines[y.nr_lines - 1].system_name, "_ZN3foo3barEi");
	lookup((uintptr_t)sym_rust, false, &y);
	assert_string_equal(y.lines[y.nr_lines - 1].name, "core::fmt::write");
	/* warm: the same pointers come back from the address cache */
	uint64_t hits = ddprof_symbolizer_stats(s)->addr_hits;
	const struct ddprof_symbol_line *l = y.lines;
	lookup((uintptr_t)sym_rust, false, &y);
	assert_ptr_equal(y.lines, l);
	assert_int_equal(ddprof_symbolizer_stats(s)->addr_hits, hits + 1);
}

static char tmpdir[] = "/tmp/uwsymXXXXXX";

static void test_stripped(void **state)
{
	char cmd[8192], path[4200], dst[4200];
	const char *b = getenv("DDPROF_TEST_BUILD_DIR");
	const struct ddprof_sym_entry *e;
	struct ddprof_symfile *f;
	struct ddprof_symbol y;
	void *h, *fn;

	if (!b || b[0] != '/')
		b = DDPROF_TEST_BUILD_DIR;
	/* an executable with neither .symtab nor useful .dynsym */
	snprintf(path, sizeof(path), "%s/workloads/uw_deep_stripped", b);
	assert_int_equal(ddprof_symfile_open_path(&f, path), 0);
	assert_false(f->has_dwarf);
	e = ddprof_symfile_lookup(f, 0x1234, false);
	assert_non_null(e);
	assert_string_equal(e->lines[0].name, "uw_deep_stripped+0x1234");
	assert_int_equal(strlen(f->img->build_id_hex), 40);
	ddprof_symfile_free(f);

	/* a stripped shared library still names its exports (.dynsym), and
	 * still resolves once deleted (/proc/PID/map_files) */
	assert_non_null(mkdtemp(tmpdir));
	snprintf(dst, sizeof(dst), "%s/libuw_plugin_stripped.so", tmpdir);
	snprintf(cmd, sizeof(cmd), "strip -o %s %s/workloads/libuw_plugin.so",
		 dst, b);
	if (system(cmd)) {
		fprintf(stderr, "strip unavailable: .dynsym case skipped\n");
		return;
	}
	h = dlopen(dst, RTLD_NOW);
	assert_non_null(h);
	fn = dlsym(h, "uw_plugin_work");
	assert_non_null(fn);
	unlink(dst);
	rmdir(tmpdir);
	uw_maps_free(&maps);
	assert_int_equal(uw_maps_load(&maps, 0), 0);
	assert_non_null(strstr(uw_maps_find(&maps, (uintptr_t)fn)->path, "(deleted)"));
	lookup((uintptr_t)fn + 1, false, &y);
	assert_string_equal(y.lines[0].name, "uw_plugin_work");
	assert_true(y.mapping.has_functions);
	assert_false(y.mapping.has_line_numbers);
	assert_int_equal(strlen(y.mapping.build_id), 40);
	dlclose(h);
}

/* Debug info moved to a separate file named by .gnu_debuglink, next to
 * the stripped library: file and line come back. */
static void test_debuglink(void **state)
{
	char dir[] = "/tmp/uwdbgXXXXXX", cmd[12000], lib[64];
	const char *b = getenv("DDPROF_TEST_BUILD_DIR");
	struct ddprof_symbol y;
	void *h, *fn;

	if (!b || b[0] != '/')
		b = DDPROF_TEST_BUILD_DIR;
	assert_non_null(mkdtemp(dir));
	snprintf(lib, sizeof(lib), "%s/libp.so", dir);
	snprintf(cmd, sizeof(cmd),
		 "cp %s/workloads/libuw_plugin.so %s && "
		 "objcopy --only-keep-debug %s %s.debug && strip --strip-all %s && "
		 "cd %s && objcopy --add-gnu-debuglink=libp.so.debug libp.so",
		 b, lib, lib, lib, lib, dir);
	if (system(cmd)) {
		fprintf(stderr, "objcopy/strip unavailable: debuglink skipped\n");
		return;
	}
	h = dlopen(lib, RTLD_NOW);
	assert_non_null(h);
	fn = dlsym(h, "uw_plugin_work");
	assert_non_null(fn);
	uw_maps_free(&maps);
	assert_int_equal(uw_maps_load(&maps, 0), 0);
	lookup((uintptr_t)fn + 1, false, &y);
	assert_string_equal(y.lines[y.nr_lines - 1].name, "uw_plugin_work");
	assert_true(y.mapping.has_line_numbers);
	assert_non_null(strstr(y.lines[y.nr_lines - 1].file, "uw_plugin_lib.c"));
	assert_true(y.lines[y.nr_lines - 1].line > 0);
	dlclose(h);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_perfmap(void **state)
{
	const struct ddprof_symbolizer_stats *st = ddprof_symbolizer_stats(s);
	char path[64], other[80];
	struct ddprof_symbol y;
	uint64_t refused;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	write_file(path, "7f0000001000 100 jit_fn_one\n"
			 "7f0000002000 80 jit fn two [tier1]\n");
	lookup(0x7f0000001010, false, &y);
	assert_string_equal(y.lines[0].name, "jit_fn_one");
	lookup(0x7f000000207f, false, &y);
	assert_string_equal(y.lines[0].name, "jit fn two [tier1]");
	lookup(0x7f0000002080, false, &y);
	assert_string_equal(y.lines[0].name, "[unmapped]");
	/* a new blob: found by re-reading the file */
	write_file(path, "7f0000001000 100 jit_fn_one\n"
			 "7f0000002000 80 jit fn two [tier1]\n"
			 "7f0000003000 10 jit_fn_three\n");
	lookup(0x7f0000003001, false, &y);
	assert_string_equal(y.lines[0].name, "jit_fn_three");

	/* a symlink is refused */
	ddprof_symbolizer_forget_pid(s, getpid());
	snprintf(other, sizeof(other), "%s.real", path);
	assert_int_equal(rename(path, other), 0);
	assert_int_equal(symlink(other, path), 0);
	refused = st->perfmap_refused;
	lookup(0x7f0000001010, false, &y);
	assert_string_equal(y.lines[0].name, "[unmapped]");
	assert_true(st->perfmap_refused > refused);
	unlink(path);
	/* so is a file of another user */
	assert_int_equal(rename(other, path), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		refused = st->perfmap_refused;
		lookup(0x7f0000001010, false, &y);
		assert_string_equal(y.lines[0].name, "[unmapped]");
		assert_true(st->perfmap_refused > refused);
	}
	unlink(path);
}

static void test_kallsyms(void **state)
{
	char path[] = "/tmp/uwksymsXXXXXX";
	struct ddprof_kallsyms k;
	const struct ddprof_ksym *e;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_file(path, "ffffffff81000200 T second_fn\n"
			 "ffffffff81000100 t first_fn\n"
			 "ffffffff81000150 D some_data\n"
			 "ffffffffc0000000 t mod_fn\t[mymod]\n");
	assert_int_equal(ddprof_kallsyms_load(&k, path), 0);
	assert_int_equal(k.n, 3);
	assert_null(ddprof_kallsyms_find(&k, 0xffffffff81000000ULL));
	e = ddprof_kallsyms_find(&k, 0xffffffff81000180ULL);
	assert_string_equal(e->name, "first_fn");
	e = ddprof_kallsyms_find(&k, 0xffffffff81000200ULL);
	assert_string_equal(e->name, "second_fn");
	e = ddprof_kallsyms_find(&k, 0xffffffffc0000010ULL);
	assert_string_equal(e->name, "mod_fn [mymod]");
	ddprof_kallsyms_fini(&k);
	write_file(path, "0000000000000000 T hidden\n");
	assert_int_equal(ddprof_kallsyms_load(&k, path), -EACCES);
	unlink(path);

	/* the real table, through the symbolizer */
	{
		FILE *f = fopen("/proc/kallsyms", "r");
		char line[512], name[256], t;
		uint64_t addr = 0;
		struct ddprof_frame fr = { .kind = DDPROF_FRAME_KERNEL };
		struct ddprof_symbol y;

		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &t, name) == 3 &&
			    !strcmp(name, "schedule"))
				break;
		fclose(f);
		if (!addr || strcmp(name, "schedule"))
			return; /* addresses hidden from us */
		fr.pc = addr + 1;
		assert_int_equal(ddprof_symbolizer_lookup(s, getpid(), &fr, &y), 0);
		assert_string_equal(y.lines[0].name, "schedule");
		assert_string_equal(y.mapping.path, "[kernel]");
	}
}

static char last_log[512];
static void capture_log(enum ddprof_log_level l, const char *msg, void *ctx)
{
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void test_corrupt_elf(void **state)
{
	char path[] = "/tmp/uwcorruptXXXXXX";
	struct ddprof_symfile *f;
	struct ddprof_map m = { .start = 0x10000, .end = 0x20000,
				.prot = 5 /* r-x */ };
	struct ddprof_frame fr = { .pc = 0x10010, .map = &m,
				   .kind = DDPROF_FRAME_USER };
	struct ddprof_symbol y;
	struct stat st;
	int fd = mkstemp(path);
	/* ELF magic, 64-bit, then program headers pointing past the end */
	unsigned char bad[128] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };

	bad[18] = 62;              /* e_machine x86_64 */
	bad[32] = 0xff;            /* e_phoff far away */
	bad[54] = 56;              /* e_phentsize */
	bad[56] = 4;               /* e_phnum */
	assert_int_equal(write(fd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
	fstat(fd, &st);
	close(fd);
	assert_int_equal(ddprof_symfile_open_path(&f, path),
			 -DDPROF_ERR_FORMAT);
	m.path = path;
	m.dev = st.st_dev;
	m.ino = st.st_ino;
	ddprof_log_set(capture_log, NULL, DDPROF_LOG_DEBUG);
	assert_int_equal(ddprof_symbolizer_lookup(s, getpid(), &fr, &y), 0);
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	assert_non_null(strstr(last_log, "skipped"));
	assert_non_null(strstr(y.lines[0].name, "uwcorrupt"));
	assert_non_null(strstr(y.lines[0].name, "+0x10"));
	assert_int_equal(ddprof_symbolizer_stats(s)->files_failed, 1);
	unlink(path);
}

static void test_evict_and_markers(void **state)
{
	const struct ddprof_symbolizer_stats *st = ddprof_symbolizer_stats(s);
	const struct ddprof_map *m = uw_maps_find(&maps, (uintptr_t)sym_outer);
	struct ddprof_frame fr = { .kind = DDPROF_FRAME_TRUNCATED };
	struct ddprof_symbol y;
	uint64_t opened;

	lookup((uintptr_t)sym_outer, false, &y);
	opened = st->files_opened;
	ddprof_symbolizer_evict_file(s, m->dev, m->ino);
	lookup((uintptr_t)sym_outer, false, &y);
	assert_int_equal(st->files_opened, opened + 1);
	assert_string_equal(y.lines[0].name, "sym_outer");
	ddprof_symbolizer_trim(s);
	assert_int_equal(ddprof_symbolizer_lookup(s, 1, &fr, &y), 0);
	assert_string_equal(y.lines[0].name, "[truncated]");
	fr.kind = DDPROF_FRAME_INCOMPLETE;
	assert_int_equal(ddprof_symbolizer_lookup(s, 1, &fr, &y), 0);
	assert_string_equal(y.lines[0].name, "[incomplete]");
	fr.kind = DDPROF_FRAME_USER;
	assert_int_equal(ddprof_symbolizer_lookup(s, 1, &fr, &y),
			 -DDPROF_ERR_INVALID);
}

/* A profiled process may truncate its own file once we opened it: the
 * symbolizer and the unwind tables read their private copy, so lookups in
 * the cut-off part neither fault (SIGBUS) nor change their answers. */
static void test_truncated(void **state)
{
	char dir[] = "/tmp/uwtruncXXXXXX", src[4200], dst[4200], cmd[9000];
	const char *b = getenv("DDPROF_TEST_BUILD_DIR");
	struct ddprof_symfile *ref, *f;
	struct ddprof_cfi_table *rt, *t;
	const struct ddprof_elf_load *x = NULL;
	struct ddprof_map map = { 0 };
	unsigned named = 0;
	struct stat st;
	int fd;

	(void)state;
	if (!b || b[0] != '/')
		b = DDPROF_TEST_BUILD_DIR;
	snprintf(src, sizeof(src), "%s/workloads/uw_deep", b);
	assert_non_null(mkdtemp(dir));
	snprintf(dst, sizeof(dst), "%s/uw_deep", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", src, dst);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(stat(dst, &st), 0);
	map.path = dst;
	map.dev = st.st_dev;
	map.ino = st.st_ino;
	assert_int_equal(ddprof_symfile_open_path(&ref, src), 0);
	assert_int_equal(ddprof_symfile_open_path(&f, dst), 0);
	assert_int_equal(ddprof_cfi_table_open(&t, getpid(), &map), 0);
	map.path = src;
	assert_int_equal(stat(src, &st), 0);
	map.dev = st.st_dev;
	map.ino = st.st_ino;
	assert_int_equal(ddprof_cfi_table_open(&rt, getpid(), &map), 0);

	fd = open(dst, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	for (unsigned i = 0; i < f->img->nr_loads; i++)
		if (f->img->loads[i].flags & PF_X)
			x = &f->img->loads[i];
	assert_non_null(x);
	assert_true(x->offset + x->filesz > 4096);
	for (uint64_t a = x->vaddr; a < x->vaddr + x->filesz; a += 16) {
		const struct ddprof_sym_entry *e = ddprof_symfile_lookup(f, a, false);
		const struct ddprof_sym_entry *r = ddprof_symfile_lookup(ref, a, false);
		struct ddprof_cfi_rule rule, rrule;
		const uint8_t *code, *rcode;
		size_t n = x->vaddr + x->filesz - a < 16 ?
			   x->vaddr + x->filesz - a : 16;

		assert_non_null(e);
		assert_non_null(r);
		assert_int_equal(e->nr, r->nr);
		assert_string_equal(e->lines[0].name, r->lines[0].name);
		assert_string_equal(e->lines[0].file, r->lines[0].file);
		assert_int_equal(e->lines[0].line, r->lines[0].line);
		named += !strncmp(e->lines[0].name, "uw_", 3);
		ddprof_cfi_table_rule(t, a, &rule);
		ddprof_cfi_table_rule(rt, a, &rrule);
		assert_int_equal(rule.kind, rrule.kind);
		assert_int_equal(rule.cfa_reg, rrule.cfa_reg);
		assert_int_equal(rule.cfa_off, rrule.cfa_off);
		assert_memory_equal(rule.off, rrule.off, sizeof(rule.off));
		assert_int_equal(ddprof_elf_image_read(t->img, a, n, &code), 0);
		assert_int_equal(ddprof_elf_image_read(rt->img, a, n, &rcode), 0);
		assert_memory_equal(code, rcode, n);
	}
	assert_true(named > 0);
	ddprof_cfi_table_free(t);
	ddprof_cfi_table_free(rt);
	ddprof_symfile_free(f);
	ddprof_symfile_free(ref);
	unlink(dst);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_chain),
		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_debuglink),
		cmocka_unit_test(test_perfmap),
		cmocka_unit_test(test_kallsyms),
		cmocka_unit_test(test_corrupt_elf),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_evict_and_markers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
