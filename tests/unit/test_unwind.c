/* Unit tests of src/unwind: offline unwinding of this very thread's
 * stack (captured registers + stack copy, maps from /proc/self/maps),
 * markers for truncated and incomplete stacks, kernel frames, the
 * frame-pointer continuation, and the per-file cache. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/perf_event.h>
#include <unistd.h>

#include "ddprof/error.h"

#include "../lib/uw_capture.h"
#include "symbols/symbolizer.h"
#include "unwind/file_cache.h"
#include "unwind/unwind.h"

static struct uw_capture cap;
static volatile int sink;

__attribute__((noinline)) static void uw_test_c(size_t max)
{
	uw_capture_here(&cap, max);
	sink++;
}

__attribute__((noinline)) static void uw_test_b(size_t max)
{
	uw_test_c(max);
	sink++;
}

__attribute__((noinline)) static void uw_test_a(size_t max)
{
	uw_test_b(max);
	sink++;
}

__attribute__((noinline)) static void uw_recurse(int n)
{
	if (n)
		uw_recurse(n - 1);
	else
		uw_capture_here(&cap, UW_CAPTURE_STACK);
	sink++;
}

struct named {
	unsigned nr;
	char names[DDPROF_UNWIND_MAX_DEPTH + 1][128];
};

/* Symbolizes every frame of r: the outermost line's name per frame. */
static void name_frames(const struct ddprof_unwind_result *r, struct named *out)
{
	struct ddprof_symbolizer *s;

	assert_int_equal(ddprof_symbolizer_new(&s), 0);
	out->nr = r->nr;
	for (unsigned i = 0; i < r->nr; i++) {
		struct ddprof_symbol sym;

		assert_int_equal(ddprof_symbolizer_lookup(s, getpid(),
							  &r->frames[i], &sym), 0);
		assert_true(sym.nr_lines >= 1);
		strncpy(out->names[i], sym.lines[sym.nr_lines - 1].name, 127);
		out->names[i][127] = 0;
	}
	ddprof_symbolizer_free(s);
}

static int find_name(const struct named *n, const char *name)
{
	for (unsigned i = 0; i < n->nr; i++)
		if (!strcmp(n->names[i], name))
			return i;
	return -1;
}

static struct ddprof_unwind_result res;
static struct named names;

static void test_unwind_self(void **state)
{
	struct ddprof_unwind *u;
	struct ddprof_perf_sample s;
	struct uw_maps maps;

	uw_test_a(UW_CAPTURE_STACK);
	uw_capture_to_sample(&cap, &s);
	assert_int_equal(uw_maps_load(&maps, 0), 0);
	assert_int_equal(ddprof_unwind_new(&u), 0);
	assert_int_equal(ddprof_unwind_sample(u, &s, uw_maps_find, &maps, &res), 0);
	assert_true(res.complete);
	assert_int_equal(res.stop, DDPROF_UNWIND_STOP_ROOT);
	assert_false(res.truncated || res.incomplete);
	assert_int_equal(res.nr_kernel, 0);
	assert_false(res.frames[0].call_site);
	assert_true(res.frames[1].call_site);
	name_frames(&res, &names);
	assert_int_equal(find_name(&names, "uw_capture_here"), 0);
	assert_int_equal(find_name(&names, "uw_test_c"), 1);
	assert_int_equal(find_name(&names, "uw_test_b"), 2);
	assert_int_equal(find_name(&names, "uw_test_a"), 3);
	assert_true(find_name(&names, "main") > 3);
	assert_true(find_name(&names, "__libc_start_main") > find_name(&names, "main") ||
		    find_name(&names, "__libc_start_call_main") > find_name(&names, "main"));
	assert_string_equal(names.names[res.nr - 1], "_start");
	/* warm: same result, no table loaded again */
	uint64_t loaded = ddprof_unwind_stats(u)->tables_loaded;
	unsigned nr = res.nr;
	assert_int_equal(ddprof_unwind_sample(u, &s, uw_maps_find, &maps, &res), 0);
	assert_int_equal(res.nr, nr);
	assert_int_equal(ddprof_unwind_stats(u)->tables_loaded, loaded);
	assert_int_equal(ddprof_unwind_stats(u)->complete, 2);
	ddprof_unwind_free(u);
	uw_maps_free(&maps);
}

static void test_unwind_stack_exhausted(void **state)
{
	struct ddprof_unwind *u;
	struct ddprof_perf_sample s;
	struct uw_maps maps;

	/* so little stack that the walk cannot reach main */
	uw_test_a(160);
	uw_capture_to_sample(&cap, &s);
	assert_int_equal(uw_maps_load(&maps, 0), 0);
	assert_int_equal(ddprof_unwind_new(&u), 0);
	assert_int_equal(ddprof_unwind_sample(u, &s, uw_maps_find, &maps, &res), 0);
	assert_false(res.complete);
	assert_true(res.incomplete);
	assert_int_equal(res.stop, DDPROF_UNWIND_STOP_STACK);
	assert_int_equal(res.frames[res.nr - 1].kind, DDPROF_FRAME_INCOMPLETE);
	assert_int_equal(ddprof_unwind_stats(u)->stack_exhausted, 1);
	name_frames(&res, &names);
	assert_string_equal(names.names[0], "uw_capture_here");
	assert_string_equal(names.names[res.nr - 1], "[incomplete]");
	ddprof_unwind_free(u);
	uw_maps_free(&maps);
}

/* The kernel's FP chain (here: the full unwind's pcs, as a frame-pointer
 * build would give) continues a walk cut short by the stack copy. */
static void test_unwind_fp_continue(void **state)
{
	uint64_t chain[DDPROF_UNWIND_MAX_DEPTH + 2];
	struct ddprof_unwind *u;
	struct ddprof_perf_sample s;
	struct uw_maps maps;
	unsigned full, n = 0;

	uw_test_a(UW_CAPTURE_STACK);
	uw_capture_to_sample(&cap, &s);
	assert_int_equal(uw_maps_load(&maps, 0), 0);
	assert_int_equal(ddprof_unwind_new(&u), 0);
	assert_int_equal(ddprof_unwind_sample(u, &s, uw_maps_find, &maps, &res), 0);
	assert_true(res.complete);
	full = res.nr;
	chain[n++] = PERF_CONTEXT_USER;
	for (unsigned i = 0; i < full; i++)
		chain[n++] = res.frames[i].pc;
	s.callchain = chain;
	s.nr_callchain = n;
	s.dyn_size = 160;
	assert_int_equal(ddprof_unwind_sample(u, &s, uw_maps_find, &maps, &res), 0);
	assert_int_equal(res.stop, DDPROF_UNWIND_STOP_STACK);
	assert_true(res.nr_fp > 0);
	assert_true(res.complete);
	assert_int_equal(res.nr, full);
	assert_true(res.frames[full - 1].from_fp);
	assert_int_equal(ddprof_unwind_stats(u)->fp_used, 1);
	/* a chain that disagrees with the unwound frames is not used */
	unsigned k = res.nr - res.nr_fp;
	chain[k - 1] ^= 0x10; /* frames k-2, k-1 (chain[0] is the marker) */
	chain[k] ^= 0x10;
	assert_int_equal(ddprof_unwind_sample(u, &s, uw_maps_find, &maps, &res), 0);
	assert_int_equal(res.nr_fp, 0);
	assert_true(res.incomplete);
	ddprof_unwind_free(u);
	uw_maps_free(&maps);
}

static void test_unwind_depth_cap(void **state)
{
	struct ddprof_unwind *u;
	struct ddprof_perf_sample s;
	struct uw_maps maps;

	uw_recurse(600);
	uw_capture_to_sample(&cap, &s);
	assert_int_equal(uw_maps_load(&maps, 0), 0);
	assert_int_equal(ddprof_unwind_new(&u), 0);
	assert_int_equal(ddprof_unwind_sample(u, &s, uw_maps_find, &maps, &res), 0);
	if (res.stop == DDPROF_UNWIND_STOP_STACK) {
		/* frames larger than the copy allows (sanitizer builds) */
		assert_true(res.incomplete);
	} else {
		assert_true(res.truncated);
		assert_int_equal(res.nr, DDPROF_UNWIND_MAX_DEPTH + 1);
		assert_int_equal(res.frames[DDPROF_UNWIND_MAX_DEPTH].kind,
				 DDPROF_FRAME_TRUNCATED);
		assert_int_equal(ddprof_unwind_stats(u)->truncated, 1);
	}
	ddprof_unwind_free(u);
	uw_maps_free(&maps);
}

static const struct ddprof_map *no_maps(void *arg, uint64_t addr)
{
	return NULL;
}

static void test_unwind_unmapped_and_kernel(void **state)
{
	uint64_t chain[] = { PERF_CONTEXT_KERNEL, 0xffffffff81000010ULL,
			     0xffffffff81000020ULL, PERF_CONTEXT_USER, 0 };
	struct ddprof_unwind *u;
	struct ddprof_perf_sample s;

	uw_test_a(UW_CAPTURE_STACK);
	uw_capture_to_sample(&cap, &s);
	chain[4] = s.ip;
	s.callchain = chain;
	s.nr_callchain = 5;
	assert_int_equal(ddprof_unwind_new(&u), 0);
	assert_int_equal(ddprof_unwind_sample(u, &s, no_maps, NULL, &res), 0);
	assert_int_equal(res.nr_kernel, 2);
	assert_int_equal(res.frames[0].kind, DDPROF_FRAME_KERNEL);
	assert_int_equal(res.frames[1].pc, 0xffffffff81000020ULL);
	assert_int_equal(res.frames[2].kind, DDPROF_FRAME_UNMAPPED);
	assert_int_equal(res.frames[2].pc, s.ip);
	assert_int_equal(res.stop, DDPROF_UNWIND_STOP_UNMAPPED);
	assert_true(res.incomplete);
	assert_int_equal(ddprof_unwind_stats(u)->unmapped, 1);
	/* kernel-only sample (no user registers) */
	s.abi = 0;
	s.nr_callchain = 3;
	assert_int_equal(ddprof_unwind_sample(u, &s, no_maps, NULL, &res), 0);
	assert_int_equal(res.nr, 2);
	assert_true(res.complete);
	assert_int_equal(ddprof_unwind_sample(NULL, &s, no_maps, NULL, &res),
			 -DDPROF_ERR_INVALID);
	ddprof_unwind_free(u);
	ddprof_unwind_free(NULL);
}

static int freed;
static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_file_cache(void **state)
{
	struct ddprof_file_cache c;

	ddprof_file_cache_init(&c, count_free);
	for (uint64_t i = 0; i < 100; i++)
		assert_int_equal(ddprof_file_cache_put(&c, 8, i, malloc(4)), 0);
	assert_non_null(ddprof_file_cache_get(&c, 8, 0)); /* now recent */
	assert_int_equal(ddprof_file_cache_trim(&c, 10), 90);
	assert_int_equal(freed, 90);
	assert_non_null(ddprof_file_cache_get(&c, 8, 0));
	assert_non_null(ddprof_file_cache_get(&c, 8, 99));
	assert_null(ddprof_file_cache_get(&c, 8, 1));
	assert_int_equal(ddprof_file_cache_del(&c, 8, 99), 1);
	assert_int_equal(ddprof_file_cache_del(&c, 8, 99), 0);
	assert_int_equal(ddprof_file_cache_put(&c, 9, 9, NULL), 0);
	assert_true(ddprof_file_cache_get_present(&c, 9, 9));
	ddprof_file_cache_fini(&c);
	assert_int_equal(freed, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind_self),
		cmocka_unit_test(test_unwind_stack_exhausted),
		cmocka_unit_test(test_unwind_fp_continue),
		cmocka_unit_test(test_unwind_depth_cap),
		cmocka_unit_test(test_unwind_unmapped_and_kernel),
		cmocka_unit_test(test_file_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
