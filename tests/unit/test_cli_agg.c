/* Unit tests of ddprof-perf's aggregation glue over the real profile
 * store: labels and sample types as Datadog expects them, location reuse
 * through the per-period cache, the [lost] frame, timeline timestamps,
 * period rotation (fresh ids, fresh caches), --no-inline; each profile is
 * serialized and decoded again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/agg.h"
#include "ddprof/profile.h"
#include "../lib/pprof_reader.h"

static void decode(struct ddprof_profile *prof, struct pprof_profile *out)
{
	void *buf;
	size_t len;

	assert_int_equal(ddprof_profile_serialize(prof, NULL, &buf, &len), 0);
	assert_int_equal(pprof_read(buf, len, out), 0);
	free(buf);
}

static const char *leaf_name(const struct pprof_profile *p,
			     const struct pprof_sample *s, size_t line)
{
	const struct pprof_location *l = pprof_location(p, s->location_ids[0]);

	assert_non_null(l);
	assert_true(line < l->nlines);
	return pprof_str(p, pprof_function(p, l->lines[line].function_id)->name);
}

static const struct ddprof_cli_line inlined[] = {
	{ "inner_inline", "_Z12inner_inlinev", "a.c", 10, 8 },
	{ "outer_fn", "outer_fn", "a.c", 30, 25 },
};

static const struct ddprof_cli_sym sym_leaf = {
	.start = 0x400000, .limit = 0x500000, .file_offset = 0,
	.path = "/usr/bin/app", .build_id = "abcd",
	.address = 0x401234, .lines = inlined, .nr_lines = 2,
};

static const struct ddprof_cli_line main_line[] = {
	{ "main", "main", "a.c", 50, 45 },
};

static const struct ddprof_cli_sym sym_main = {
	.start = 0x400000, .limit = 0x500000, .path = "/usr/bin/app",
	.build_id = "abcd", .address = 0x401000, .lines = main_line,
	.nr_lines = 1,
};

static void test_samples_labels_lost(void **state)
{
	struct ddprof_cli_agg a;
	struct ddprof_profile *prev = NULL;
	struct pprof_profile p;
	uint64_t locs[2], again;
	int64_t samples = 0, time = 0;

	assert_int_equal(ddprof_cli_agg_init(&a, "cpu-clock", 100, false), 0);
	assert_int_equal(ddprof_cli_agg_intern_location(&a, &sym_leaf, false, &locs[0]), 0);
	assert_int_equal(ddprof_cli_agg_intern_location(&a, &sym_main, false, &locs[1]), 0);
	assert_int_equal(ddprof_cli_agg_loc_put(&a, 42, locs[0]), 0);
	assert_true(ddprof_cli_agg_loc_get(&a, 42, &again));
	assert_int_equal(again, locs[0]);
	assert_false(ddprof_cli_agg_loc_get(&a, 43, &again));
	for (int i = 0; i < 3; i++)
		assert_int_equal(ddprof_cli_agg_add(&a, locs, 2, 100, 101, "app",
						    "worker", 10000000, 0), 0);
	assert_int_equal(ddprof_cli_agg_add(&a, locs, 2, 100, 100, "app", "app",
					    10000000, 0), 0);
	assert_int_equal(ddprof_cli_agg_add_lost(&a, 7, 10000000), 0);
	assert_int_equal(ddprof_cli_agg_add_lost(&a, 0, 10000000), 0);
	assert_int_equal(a.period_samples, 4);

	assert_int_equal(ddprof_cli_agg_rotate(&a, &prev), 0);
	assert_non_null(prev);
	/* the cache went with the period */
	assert_false(ddprof_cli_agg_loc_get(&a, 42, &again));
	assert_int_equal(a.period_samples, 0);
	decode(prev, &p);
	ddprof_profile_free(prev);

	assert_int_equal(p.nsample_types, 2);
	assert_string_equal(pprof_str(&p, p.sample_types[0].type), "cpu-samples");
	assert_string_equal(pprof_str(&p, p.sample_types[0].unit), "count");
	assert_string_equal(pprof_str(&p, p.sample_types[1].type), "cpu-time");
	assert_string_equal(pprof_str(&p, p.sample_types[1].unit), "nanoseconds");
	assert_true(p.has_period_type);
	assert_int_equal(p.period, 10000000);
	assert_int_equal(p.nsamples, 3); /* two threads + [lost] */
	for (size_t i = 0; i < p.nsamples; i++) {
		const struct pprof_sample *s = &p.samples[i];
		const struct pprof_label *tid = pprof_label(&p, s, "thread id");

		if (!strcmp(leaf_name(&p, s, 0), "[lost]")) {
			assert_int_equal(s->nlocations, 1);
			assert_int_equal(s->values[0], 7);
			assert_int_equal(s->values[1], 70000000);
			assert_null(tid);
			continue;
		}
		samples += s->values[0];
		time += s->values[1];
		assert_int_equal(s->nlocations, 2);
		/* the inline chain: innermost first */
		assert_string_equal(leaf_name(&p, s, 0), "inner_inline");
		assert_string_equal(leaf_name(&p, s, 1), "outer_fn");
		assert_non_null(tid);
		assert_int_equal(pprof_label(&p, s, "process_id")->num, 100);
		assert_string_equal(pprof_str(&p, pprof_label(&p, s, "process_name")->str), "app");
		assert_string_equal(pprof_str(&p, pprof_label(&p, s, "thread_name")->str),
				    tid->num == 101 ? "worker" : "app");
		if (tid->num == 101)
			assert_int_equal(s->values[0], 3);
	}
	assert_int_equal(samples, 4);
	assert_int_equal(time, 40000000);
	pprof_profile_free(&p);

	/* the new period works with freshly interned ids */
	assert_int_equal(ddprof_cli_agg_intern_location(&a, &sym_main, false, &locs[0]), 0);
	assert_int_equal(ddprof_cli_agg_add(&a, locs, 1, 5, 5, NULL, NULL, 1, 0), 0);
	decode(a.prof, &p);
	assert_int_equal(p.nsamples, 1);
	assert_null(pprof_label(&p, &p.samples[0], "thread_name"));
	pprof_profile_free(&p);
	ddprof_cli_agg_fini(&a);
	ddprof_cli_agg_fini(&a); /* twice is harmless */
}

static void test_no_inline_timeline(void **state)
{
	struct ddprof_cli_agg a;
	struct pprof_profile p;
	uint64_t loc;

	assert_int_equal(ddprof_cli_agg_init(&a, "page-faults", 99, true), 0);
	assert_int_equal(ddprof_cli_agg_intern_location(&a, &sym_leaf, true, &loc), 0);
	assert_int_equal(ddprof_cli_agg_add(&a, &loc, 1, 9, 9, "x", "x", 3, 1000), 0);
	assert_int_equal(ddprof_cli_agg_add(&a, &loc, 1, 9, 9, "x", "x", 3, 2000), 0);
	decode(a.prof, &p);
	/* other events than the clocks are not CPU time */
	assert_string_equal(pprof_str(&p, p.sample_types[1].type), "events");
	/* timeline samples are never merged and carry their time */
	assert_int_equal(p.nsamples, 2);
	for (size_t i = 0; i < 2; i++) {
		const struct pprof_label *t =
			pprof_label(&p, &p.samples[i], "end_timestamp_ns");

		assert_non_null(t);
		/* perf (monotonic) time moved to the epoch */
		assert_int_equal(t->num - a.mono_to_real, i ? 2000 : 1000);
		/* --no-inline: only the function the inline was put into */
		assert_int_equal(pprof_location(&p, p.samples[i].location_ids[0])->nlines, 1);
		assert_string_equal(leaf_name(&p, &p.samples[i], 0), "outer_fn");
	}
	pprof_profile_free(&p);
	ddprof_cli_agg_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_labels_lost),
		cmocka_unit_test(test_no_inline_timeline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
