/* Unit tests of the profile store: both add paths, aggregation and
 * saturation, timeline samples, labels, ids and reset, upscaling formulas,
 * read helpers, large inputs and injected allocation failures. Output is
 * checked by decoding it again with tests/lib/pprof_reader. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ddprof/error.h"
#include "ddprof/profile.h"
#include "../lib/pprof_reader.h"
#include "../lib/profile_fixture.h"
#include "profile/alloc.h"
#include "profile/scache.h"

static const struct ddprof_value_type cpu_types[2] = {
	{ "cpu-samples", "count" },
	{ "cpu-time", "nanoseconds" },
};
static const struct ddprof_value_type cpu_period = { "cpu-time", "nanoseconds" };

static struct ddprof_profile *new_cpu_profile(void)
{
	struct ddprof_profile *p = NULL;

	assert_int_equal(ddprof_profile_new(&p, cpu_types, 2, &cpu_period, 10000000), 0);
	assert_non_null(p);
	return p;
}

/* Serializes p (gzip, fixed end time) and decodes the result. */
static void roundtrip(const struct ddprof_profile *p, struct pprof_profile *out)
{
	struct ddprof_serialize_opts o = { .compression = DDPROF_COMPRESS_GZIP,
					   .end_time_ns = ddprof_profile_start_time(p) + 5000 };
	void *buf;
	size_t len;

	assert_int_equal(ddprof_profile_serialize(p, &o, &buf, &len), 0);
	assert_true(len > 2);
	assert_int_equal(((unsigned char *)buf)[0], 0x1f);
	assert_int_equal(pprof_read(buf, len, out), 0);
	free(buf);
}

static const char *sample_leaf_name(const struct pprof_profile *pp,
				    const struct pprof_sample *s)
{
	const struct pprof_location *l;
	const struct pprof_function *f;

	if (!s->nlocations)
		return "";
	l = pprof_location(pp, s->location_ids[0]);
	assert_non_null(l);
	if (!l->nlines)
		return "";
	f = pprof_function(pp, l->lines[0].function_id);
	assert_non_null(f);
	return pprof_str(pp, f->name);
}

static void test_empty_profile(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct pprof_profile pp;

	ddprof_profile_set_start_time(p, 1700000000123456789LL);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 0);
	assert_int_equal(pp.nlocations, 0);
	assert_true(pp.nstrings >= 1);
	assert_string_equal(pp.strings[0], "");
	assert_int_equal(pp.nsample_types, 2);
	assert_string_equal(pprof_str(&pp, pp.sample_types[0].type), "cpu-samples");
	assert_string_equal(pprof_str(&pp, pp.sample_types[0].unit), "count");
	assert_string_equal(pprof_str(&pp, pp.sample_types[1].type), "cpu-time");
	assert_string_equal(pprof_str(&pp, pp.sample_types[1].unit), "nanoseconds");
	assert_true(pp.has_period_type);
	assert_string_equal(pprof_str(&pp, pp.period_type.type), "cpu-time");
	assert_int_equal(pp.period, 10000000);
	assert_int_equal(pp.time_nanos, 1700000000123456789LL);
	assert_int_equal(pp.duration_nanos, 5000);
	assert_string_equal(pprof_str(&pp, pp.default_sample_type), "cpu-time");
	pprof_profile_free(&pp);

	struct ddprof_profile_stats st;
	int64_t tot[2];

	ddprof_profile_stats(p, &st);
	assert_int_equal(st.samples_added, 0);
	assert_int_equal(ddprof_profile_totals(p, tot, 2), 0);
	assert_int_equal(tot[0], 0);
	assert_int_equal(ddprof_profile_top_functions(p, 0, NULL, 0), 0);
	ddprof_profile_free(p);
	ddprof_profile_free(NULL);
}

/* Any start time is accepted, and one far in the past must not overflow
 * duration_nanos (end - start overflowed int64, found by fuzz_profile):
 * it saturates. */
static void test_extreme_start_time(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct ddprof_serialize_opts o = { .compression = DDPROF_COMPRESS_NONE,
					   .end_time_ns = INT64_MAX - 5 };
	struct pprof_profile pp;
	void *buf;
	size_t len;

	ddprof_profile_set_start_time(p, INT64_MIN + 3);
	assert_int_equal(ddprof_profile_serialize(p, &o, &buf, &len), 0);
	assert_int_equal(pprof_read(buf, len, &pp), 0);
	assert_true(pp.duration_nanos == INT64_MAX);
	assert_true(pp.time_nanos == INT64_MIN + 3);
	pprof_profile_free(&pp);
	free(buf);
	ddprof_profile_free(p);
}

/* Strings larger than the encoder's staging block are written around it. */
static void test_huge_string(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	size_t n = 300000;
	char *name = malloc(n + 1);
	struct ddprof_line ln = { { name, NULL, "f.c", 0 }, 1 };
	struct ddprof_location loc = { { 0 }, 0x10, &ln, 1 };
	int64_t vals[2] = { 1, 1 };
	struct ddprof_sample s = { &loc, 1, vals, 2, NULL, 0 };
	struct pprof_profile pp;

	assert_non_null(name);
	for (size_t i = 0; i < n; i++)
		name[i] = (char)('a' + i % 26);
	name[n] = '\0';
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	roundtrip(p, &pp);
	assert_string_equal(sample_leaf_name(&pp, &pp.samples[0]), name);
	pprof_profile_free(&pp);
	free(name);
	ddprof_profile_free(p);
}

/* Every short string length survives the string table's copy paths. */
static void test_string_lengths(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	char names[48][48];
	struct pprof_profile pp;
	int64_t vals[2] = { 1, 1 };

	for (int n = 1; n < 48; n++) {
		struct ddprof_line ln = { { names[n], NULL, NULL, 0 }, 1 };
		struct ddprof_location loc = { { 0 }, (uint64_t)n, &ln, 1 };
		struct ddprof_sample s = { &loc, 1, vals, 2, NULL, 0 };

		for (int i = 0; i < n; i++)
			names[n][i] = (char)('A' + (i * 7 + n) % 26);
		names[n][n] = '\0';
		assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	}
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 47);
	for (size_t i = 0; i < pp.nsamples; i++) {
		const struct pprof_location *l = pprof_location(&pp, pp.samples[i].location_ids[0]);

		assert_string_equal(sample_leaf_name(&pp, &pp.samples[i]), names[l->address]);
	}
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

static void test_invalid_args(void **state)
{
	struct ddprof_profile *p = NULL;
	struct ddprof_value_type bad = { NULL, "count" };
	int64_t v[2] = { 1, 2 };
	struct ddprof_label nokey = { .key = NULL, .str = "x" };
	struct ddprof_sample s = { .values = v, .nvalues = 1 };

	assert_int_equal(ddprof_profile_new(&p, cpu_types, 0, NULL, 0), -DDPROF_ERR_INVALID);
	assert_int_equal(ddprof_profile_new(&p, &bad, 1, NULL, 0), -DDPROF_ERR_INVALID);
	assert_null(p);
	p = new_cpu_profile();
	assert_int_equal(ddprof_profile_add(p, &s, 0), -DDPROF_ERR_INVALID);
	s.nvalues = 2;
	s.labels = &nokey;
	s.nlabels = 1;
	assert_int_equal(ddprof_profile_add(p, &s, 0), -DDPROF_ERR_INVALID);
	nokey.key = "";
	assert_int_equal(ddprof_profile_add(p, &s, 0), -DDPROF_ERR_INVALID);
	uint64_t empty_stack;
	struct ddprof_label_ids idkey = { 0, 0, 1, 0 };
	assert_int_equal(ddprof_profile_intern_stack(p, NULL, 0, &empty_stack), 0);
	assert_int_equal(ddprof_profile_add_interned(p, empty_stack, v, 2, &idkey, 1, 0),
			 -DDPROF_ERR_INVALID);
	s.nlabels = 0;
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	assert_int_equal(ddprof_profile_set_default_sample_type(p, 2), -DDPROF_ERR_INVALID);
	assert_int_equal(ddprof_profile_totals(p, v, 1), -DDPROF_ERR_INVALID);
	assert_int_equal(ddprof_profile_top_functions(p, 2, NULL, 0), -DDPROF_ERR_INVALID);
	ddprof_profile_free(p);
}

/* A sample with an inlined frame, a mapping with a build id, an
 * unsymbolized frame without mapping, and every kind of label. */
static void test_roundtrip_simple(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct ddprof_line inl[2] = {
		{ { "inner_inlined", "_Z13inner_inlinedv", "inner.h", 10 }, 12 },
		{ { "outer", "_Z5outerv", "outer.c", 40 }, 44 },
	};
	struct ddprof_line caller = { { "main", NULL, "main.c", 3 }, 7 };
	struct ddprof_location locs[3] = {
		{ { 0x1000, 0x2000, 0x100, "/bin/app", "abcdef0123" }, 0x1234, inl, 2 },
		{ { 0x1000, 0x2000, 0x100, "/bin/app", "abcdef0123" }, 0x1300, &caller, 1 },
		{ { 0 }, 0xdead, NULL, 0 },
	};
	struct ddprof_label labels[3] = {
		{ .key = "thread_name", .str = "worker" },
		{ .key = "thread id", .num = 42 },
		{ .key = "bytes", .num = 4096, .num_unit = "bytes" },
	};
	int64_t vals[2] = { 1, 10000000 };
	struct ddprof_sample s = { locs, 3, vals, 2, labels, 3 };
	struct pprof_profile pp;

	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	roundtrip(p, &pp);

	assert_int_equal(pp.nsamples, 1); /* aggregated */
	const struct pprof_sample *ps = &pp.samples[0];
	assert_int_equal(ps->nvalues, 2);
	assert_int_equal(ps->values[0], 2);
	assert_int_equal(ps->values[1], 20000000);
	assert_int_equal(ps->nlocations, 3);

	const struct pprof_location *l0 = pprof_location(&pp, ps->location_ids[0]);
	assert_non_null(l0);
	assert_int_equal(l0->address, 0x1234);
	assert_int_equal(l0->nlines, 2);
	const struct pprof_function *f0 = pprof_function(&pp, l0->lines[0].function_id);
	assert_string_equal(pprof_str(&pp, f0->name), "inner_inlined");
	assert_string_equal(pprof_str(&pp, f0->system_name), "_Z13inner_inlinedv");
	assert_string_equal(pprof_str(&pp, f0->filename), "inner.h");
	assert_int_equal(f0->start_line, 10);
	assert_int_equal(l0->lines[0].line, 12);
	const struct pprof_function *f1 = pprof_function(&pp, l0->lines[1].function_id);
	assert_string_equal(pprof_str(&pp, f1->name), "outer");
	assert_int_equal(l0->lines[1].line, 44);

	const struct pprof_mapping *m = pprof_mapping(&pp, l0->mapping_id);
	assert_non_null(m);
	assert_int_equal(m->start, 0x1000);
	assert_int_equal(m->limit, 0x2000);
	assert_int_equal(m->offset, 0x100);
	assert_string_equal(pprof_str(&pp, m->filename), "/bin/app");
	assert_string_equal(pprof_str(&pp, m->build_id), "abcdef0123");
	assert_true(m->has_functions);
	assert_true(m->has_filenames);
	assert_true(m->has_line_numbers);
	assert_true(m->has_inline_frames);

	const struct pprof_location *l1 = pprof_location(&pp, ps->location_ids[1]);
	assert_int_equal(l1->mapping_id, l0->mapping_id); /* mapping deduplicated */
	assert_int_equal(pp.nmappings, 1);
	const struct pprof_location *l2 = pprof_location(&pp, ps->location_ids[2]);
	assert_int_equal(l2->mapping_id, 0);
	assert_int_equal(l2->nlines, 0);
	assert_int_equal(l2->address, 0xdead);

	const struct pprof_label *lb = pprof_label(&pp, ps, "thread_name");
	assert_non_null(lb);
	assert_string_equal(pprof_str(&pp, lb->str), "worker");
	lb = pprof_label(&pp, ps, "thread id");
	assert_non_null(lb);
	assert_int_equal(lb->num, 42);
	assert_int_equal(lb->num_unit, 0);
	assert_int_equal(lb->str, 0);
	lb = pprof_label(&pp, ps, "bytes");
	assert_int_equal(lb->num, 4096);
	assert_string_equal(pprof_str(&pp, lb->num_unit), "bytes");
	assert_null(pprof_label(&pp, ps, "end_timestamp_ns"));
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

static void test_mapping_flags_truthful(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct ddprof_line nofile = { { "f", NULL, NULL, 0 }, 0 };
	struct ddprof_location locs[2] = {
		{ { 0x1000, 0x2000, 0, "/bin/a", NULL }, 0x1100, &nofile, 1 },
		{ { 0x5000, 0x6000, 0, "/bin/b", NULL }, 0x5100, NULL, 0 },
	};
	int64_t vals[2] = { 1, 1 };
	struct ddprof_sample s = { locs, 2, vals, 2, NULL, 0 };
	struct pprof_profile pp;

	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	roundtrip(p, &pp);
	assert_int_equal(pp.nmappings, 2);
	const struct pprof_mapping *a = pprof_mapping(&pp, pprof_location(&pp, pp.samples[0].location_ids[0])->mapping_id);
	const struct pprof_mapping *b = pprof_mapping(&pp, pprof_location(&pp, pp.samples[0].location_ids[1])->mapping_id);
	assert_true(a->has_functions);
	assert_false(a->has_filenames);
	assert_false(a->has_line_numbers);
	assert_false(a->has_inline_frames);
	assert_string_equal(pprof_str(&pp, b->filename), "/bin/b");
	assert_false(b->has_functions);
	assert_int_equal(b->build_id, 0);
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

static void test_timeline(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct fx_stacks fx;
	int64_t vals[2] = { 1, 100 };
	struct pprof_profile pp;

	assert_int_equal(fx_stacks_new(&fx, 2, 5), 0);
	for (int i = 0; i < 3; i++) {
		struct ddprof_sample s = { fx_stack(&fx, 0), 5, vals, 2, NULL, 0 };

		assert_int_equal(ddprof_profile_add(p, &s, 1000 + i), 0);
	}
	struct ddprof_sample s = { fx_stack(&fx, 0), 5, vals, 2, NULL, 0 };
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 4); /* 1 aggregated + 3 kept one by one */
	int seen = 0;
	for (size_t i = 0; i < pp.nsamples; i++) {
		const struct pprof_label *l = pprof_label(&pp, &pp.samples[i], "end_timestamp_ns");

		if (!l) {
			assert_int_equal(pp.samples[i].values[0], 2);
			continue;
		}
		assert_int_equal(l->num, 1000 + seen);
		assert_int_equal(l->num_unit, 0);
		assert_int_equal(pp.samples[i].values[1], 100);
		seen++;
	}
	assert_int_equal(seen, 3);
	pprof_profile_free(&pp);

	struct ddprof_profile_stats st;
	ddprof_profile_stats(p, &st);
	assert_int_equal(st.samples_added, 5);
	assert_int_equal(st.timeline, 3);
	assert_int_equal(st.aggregated, 1);
	int64_t tot[2];
	assert_int_equal(ddprof_profile_totals(p, tot, 2), 0);
	assert_int_equal(tot[0], 5);
	assert_int_equal(tot[1], 500);
	fx_stacks_free(&fx);
	ddprof_profile_free(p);
}

static void test_saturation(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct ddprof_location loc = { { 0 }, 0x10, NULL, 0 };
	int64_t big[2] = { INT64_MAX - 1, INT64_MIN + 1 };
	int64_t more[2] = { 5, -5 };
	struct ddprof_sample s = { &loc, 1, big, 2, NULL, 0 };
	struct pprof_profile pp;
	int64_t tot[2];

	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	s.values = more;
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	assert_int_equal(ddprof_profile_totals(p, tot, 2), 0);
	assert_true(tot[0] == INT64_MAX);
	assert_true(tot[1] == INT64_MIN);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 1);
	assert_true(pp.samples[0].values[0] == INT64_MAX);
	assert_true(pp.samples[0].values[1] == INT64_MIN);
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

static void test_labels_equal_keys(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct ddprof_location loc = { { 0 }, 0x10, NULL, 0 };
	struct ddprof_label two[2] = { { .key = "k", .str = "a" }, { .key = "k", .str = "b" } };
	struct ddprof_label swapped[2] = { { .key = "k", .str = "b" }, { .key = "k", .str = "a" } };
	struct ddprof_label nums[2] = { { .key = "n", .num = 1 }, { .key = "n", .num = 1 } };
	int64_t vals[2] = { 1, 1 };
	struct ddprof_sample s = { &loc, 1, vals, 2, two, 2 };
	struct pprof_profile pp;
	int with_two = 0;

	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	s.labels = swapped;
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	s.labels = nums;
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	s.nlabels = 1;
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 4);
	for (size_t i = 0; i < pp.nsamples; i++) {
		const struct pprof_sample *ps = &pp.samples[i];

		if (ps->nlabels == 2 && ps->labels[0].str) {
			assert_string_equal(pprof_str(&pp, ps->labels[0].key), "k");
			assert_string_equal(pprof_str(&pp, ps->labels[1].key), "k");
			if (strcmp(pprof_str(&pp, ps->labels[0].str), "a") == 0) {
				assert_string_equal(pprof_str(&pp, ps->labels[1].str), "b");
				assert_int_equal(ps->values[0], 2);
			}
			with_two++;
		} else if (ps->nlabels == 2) {
			assert_int_equal(ps->labels[0].num, 1);
			assert_int_equal(ps->labels[1].num, 1);
		} else {
			assert_int_equal(ps->nlabels, 1);
		}
	}
	assert_int_equal(with_two, 2);
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

static void test_fast_path(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	uint64_t name, file, bin, bid, fn, map, loc[2], stack, key, val, id2;
	struct pprof_profile pp;
	int64_t vals[2] = { 3, 30 };

	assert_int_equal(ddprof_profile_intern_cstr(p, "compute", &name), 0);
	assert_int_equal(ddprof_profile_intern_string(p, "compute!!", 7, &id2), 0);
	assert_true(id2 == name);
	assert_int_equal(ddprof_profile_intern_cstr(p, "calc.c", &file), 0);
	assert_int_equal(ddprof_profile_intern_cstr(p, "/bin/calc", &bin), 0);
	assert_int_equal(ddprof_profile_intern_cstr(p, "0011", &bid), 0);
	struct ddprof_function_ids f = { name, 0, file, 5 };
	assert_int_equal(ddprof_profile_intern_function(p, &f, &fn), 0);
	assert_int_equal(ddprof_profile_intern_function(p, &f, &id2), 0);
	assert_true(id2 == fn);
	struct ddprof_mapping_ids m = { 0x400000, 0x500000, 0, bin, bid };
	assert_int_equal(ddprof_profile_intern_mapping(p, &m, &map), 0);
	struct ddprof_line_ids ln = { fn, 9 };
	assert_int_equal(ddprof_profile_intern_location(p, map, 0x400123, &ln, 1, &loc[0]), 0);
	assert_int_equal(ddprof_profile_intern_location(p, 0, 0x99, NULL, 0, &loc[1]), 0);
	assert_int_equal(ddprof_profile_intern_stack(p, loc, 2, &stack), 0);
	assert_int_equal(ddprof_profile_intern_stack(p, loc, 2, &id2), 0);
	assert_true(id2 == stack);
	assert_int_equal(ddprof_profile_intern_cstr(p, "thread_name", &key), 0);
	assert_int_equal(ddprof_profile_intern_cstr(p, "main", &val), 0);
	struct ddprof_label_ids lab = { key, val, 0, 0 };
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, &lab, 1, 0), 0);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, &lab, 1, 0), 0);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, &lab, 1, 77), 0);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 1, &lab, 1, 0), -DDPROF_ERR_INVALID);

	/* the simple path finds the same location for the same content */
	struct ddprof_line sl = { { "compute", NULL, "calc.c", 5 }, 9 };
	struct ddprof_location sloc[2] = {
		{ { 0x400000, 0x500000, 0, "/bin/calc", "0011" }, 0x400123, &sl, 1 },
		{ { 0 }, 0x99, NULL, 0 },
	};
	struct ddprof_label slab = { .key = "thread_name", .str = "main" };
	struct ddprof_sample s = { sloc, 2, vals, 2, &slab, 1 };
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);

	struct ddprof_profile_stats st;
	ddprof_profile_stats(p, &st);
	assert_int_equal(st.locations, 2);
	assert_int_equal(st.functions, 1);
	assert_int_equal(st.mappings, 1);
	assert_int_equal(st.stacks, 1);
	assert_int_equal(st.aggregated, 1);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 2);
	assert_int_equal(pp.samples[0].values[0], 9);
	assert_string_equal(sample_leaf_name(&pp, &pp.samples[0]), "compute");
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

/* Regression (fuzz_profile): while no location has lines the lines array
 * is NULL, and interning, comparing (simple path) and encoding such
 * locations took &NULL[off] (undefined behaviour that clang's UBSan
 * reports). They must intern, dedup and encode. */
static void test_first_location_without_lines(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct pprof_profile pp;
	uint64_t loc, loc2, stack;
	int64_t vals[2] = { 1, 10 };

	assert_int_equal(ddprof_profile_intern_location(p, 0, 0x1234, NULL, 0, &loc), 0);
	assert_int_equal(ddprof_profile_intern_location(p, 0, 0x1234, NULL, 0, &loc2), 0);
	assert_true(loc == loc2);
	assert_int_equal(ddprof_profile_intern_stack(p, &loc, 1, &stack), 0);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, NULL, 0, 0), 0);
	{
		struct ddprof_location sl = { { 0 }, 0x1234, NULL, 0 };
		struct ddprof_sample smp = { &sl, 1, vals, 2, NULL, 0 };

		assert_int_equal(ddprof_profile_add(p, &smp, 0), 0);
		assert_int_equal(ddprof_profile_add(p, &smp, 0), 0);
	}
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 1);
	assert_int_equal(pp.samples[0].values[0], 3);
	assert_int_equal(pp.nlocations, 1);
	assert_int_equal(pp.locations[0].nlines, 0);
	assert_int_equal(pp.locations[0].address, 0x1234);
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

/* Regression (fuzz_profile): a profile whose only samples have an empty
 * stack and no labels has no stack-location or label array at all; the
 * encoder took &NULL[0] of both (undefined behaviour). */
static void test_empty_stack_no_labels(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct pprof_profile pp;
	uint64_t stack;
	int64_t vals[2] = { 2, 20 };

	assert_int_equal(ddprof_profile_intern_stack(p, NULL, 0, &stack), 0);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, NULL, 0, 0), 0);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, NULL, 0, 0), 0);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, NULL, 0, 9), 0);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 2);
	assert_int_equal(pp.samples[0].nlocations, 0);
	assert_int_equal(pp.samples[0].values[0] + pp.samples[1].values[0], 6);
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

/* Regression (fuzz_profile): an empty stack through the strings path,
 * given as a non-NULL array of no locations, reached the sample cache's
 * zero-sized copy with no blob behind it (memcpy to NULL). */
static void test_empty_stack_strings_path(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct ddprof_location none = { 0 };
	int64_t vals[2] = { 1, 10 };
	struct ddprof_sample s = { &none, 0, vals, 2, NULL, 0 };
	struct pprof_profile pp;

	for (int i = 0; i < 3; i++)
		assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 1);
	assert_int_equal(pp.samples[0].nlocations, 0);
	assert_int_equal(pp.samples[0].values[0], 3);
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

static void test_stale_ids(void **state)
{
	struct ddprof_profile *p = new_cpu_profile(), *q = new_cpu_profile(), *prev = NULL;
	uint64_t name, fn, loc, stack, qname, id;
	int64_t vals[2] = { 1, 1 };

	assert_int_equal(ddprof_profile_intern_cstr(p, "f", &name), 0);
	struct ddprof_function_ids f = { name, 0, 0, 0 };
	assert_int_equal(ddprof_profile_intern_function(p, &f, &fn), 0);
	struct ddprof_line_ids ln = { fn, 1 };
	assert_int_equal(ddprof_profile_intern_location(p, 0, 1, &ln, 1, &loc), 0);
	assert_int_equal(ddprof_profile_intern_stack(p, &loc, 1, &stack), 0);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, NULL, 0, 0), 0);

	/* ids of another profile and made-up ids are refused */
	assert_int_equal(ddprof_profile_intern_cstr(q, "f", &qname), 0);
	struct ddprof_function_ids qf = { qname, 0, 0, 0 };
	assert_int_equal(ddprof_profile_intern_function(p, &qf, &id), -DDPROF_ERR_STALE_ID);
	assert_int_equal(ddprof_profile_add_interned(p, stack + 1000, vals, 2, NULL, 0, 0),
			 -DDPROF_ERR_STALE_ID);
	assert_int_equal(ddprof_profile_add_interned(p, 0, vals, 2, NULL, 0, 0),
			 -DDPROF_ERR_STALE_ID);
	assert_int_equal(ddprof_profile_add_interned(p, ~0ULL, vals, 2, NULL, 0, 0),
			 -DDPROF_ERR_STALE_ID);

	assert_int_equal(ddprof_profile_reset(p, &prev), 0);
	assert_non_null(prev);
	assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, NULL, 0, 0),
			 -DDPROF_ERR_STALE_ID);
	assert_int_equal(ddprof_profile_intern_stack(p, &loc, 1, &id), -DDPROF_ERR_STALE_ID);
	assert_int_equal(ddprof_profile_intern_location(p, 0, 1, &ln, 1, &id), -DDPROF_ERR_STALE_ID);
	assert_int_equal(ddprof_profile_intern_function(p, &f, &id), -DDPROF_ERR_STALE_ID);
	struct ddprof_label_ids lab = { name, 0, 1, 0 };
	uint64_t nstack;
	assert_int_equal(ddprof_profile_intern_stack(p, NULL, 0, &nstack), 0);
	assert_int_equal(ddprof_profile_add_interned(p, nstack, vals, 2, &lab, 1, 0),
			 -DDPROF_ERR_STALE_ID);
	/* string id 0 is "" in every generation */
	struct ddprof_function_ids f0 = { 0, 0, 0, 0 };
	assert_int_equal(ddprof_profile_intern_function(p, &f0, &id), 0);

	/* the previous contents moved to prev, p is empty */
	struct ddprof_profile_stats st;
	ddprof_profile_stats(p, &st);
	assert_int_equal(st.samples_added, 0);
	ddprof_profile_stats(prev, &st);
	assert_int_equal(st.samples_added, 1);
	struct pprof_profile pp;
	roundtrip(prev, &pp);
	assert_int_equal(pp.nsamples, 1);
	assert_string_equal(sample_leaf_name(&pp, &pp.samples[0]), "f");
	pprof_profile_free(&pp);
	/* prev's own ids are still those of its generation */
	assert_int_equal(ddprof_profile_add_interned(prev, stack, vals, 2, NULL, 0, 0), 0);
	ddprof_profile_free(prev);

	/* reset without taking the previous contents */
	assert_int_equal(ddprof_profile_reset(p, NULL), 0);
	assert_int_equal(ddprof_profile_intern_stack(p, NULL, 0, &id), 0);
	assert_int_equal(ddprof_profile_add_interned(p, nstack, vals, 2, NULL, 0, 0),
			 -DDPROF_ERR_STALE_ID);
	ddprof_profile_free(p);
	ddprof_profile_free(q);
}

/* A caller reusing one buffer for different names must get different
 * functions: remembered pointers are verified by content. */
static void test_reused_buffer(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	char name[32], file[32];
	struct ddprof_line ln = { { name, NULL, file, 0 }, 1 };
	struct ddprof_location loc = { { 0x1000, 0x2000, 0, file, NULL }, 0x1100, &ln, 1 };
	int64_t vals[2] = { 1, 1 };
	struct ddprof_sample s = { &loc, 1, vals, 2, NULL, 0 };
	struct ddprof_profile_top top[4];

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "function_%d", i);
			snprintf(file, sizeof(file), "/lib/%d.so", i % 2);
			for (int k = 0; k <= i; k++)
				assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
		}
		/* a shorter string in the same buffer */
		strcpy(name, "f");
		assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	}
	assert_int_equal(ddprof_profile_top_functions(p, 0, top, 4), 4);
	assert_string_equal(top[0].function, "function_2");
	assert_int_equal(top[0].value, 6);
	assert_string_equal(top[1].function, "function_1");
	assert_int_equal(top[1].value, 4);
	assert_string_equal(top[2].function, "f");
	assert_int_equal(top[2].value, 2);
	assert_string_equal(top[3].function, "function_0");
	struct ddprof_profile_stats st;
	ddprof_profile_stats(p, &st);
	assert_int_equal(st.functions, 4);
	assert_int_equal(st.mappings, 2);

	/* static strings: same results while the promise holds */
	struct ddprof_profile *q = new_cpu_profile();
	static const char *const names[3] = { "alpha", "beta", "gamma" };
	assert_int_equal(ddprof_profile_set_static_strings(q, 1), 0);
	for (int i = 0; i < 30; i++) {
		ln.function.name = names[i % 3];
		assert_int_equal(ddprof_profile_add(q, &s, 0), 0);
	}
	assert_int_equal(ddprof_profile_top_functions(q, 0, top, 4), 3);
	assert_int_equal(top[0].value, 10);
	assert_int_equal(top[2].value, 10);
	/* after a reset, old pointers are verified again */
	assert_int_equal(ddprof_profile_reset(q, NULL), 0);
	ln.function.name = names[0];
	assert_int_equal(ddprof_profile_add(q, &s, 0), 0);
	assert_int_equal(ddprof_profile_top_functions(q, 0, top, 4), 1);
	assert_string_equal(top[0].function, "alpha");
	ddprof_profile_free(q);
	ddprof_profile_free(p);
}

/* The static-strings mode (frame cache) and the verified mode build the
 * same profile, byte for byte, including inlined and unsymbolized frames. */
static void test_static_matches_verified(void **state)
{
	struct ddprof_profile *p[2] = { new_cpu_profile(), new_cpu_profile() };
	struct ddprof_serialize_opts o = { .compression = DDPROF_COMPRESS_NONE,
					   .end_time_ns = 2000 };
	struct ddprof_line inl[2] = { { { "in", NULL, "a.h", 1 }, 2 },
				      { { "out", NULL, "a.c", 3 }, 4 } };
	struct ddprof_location extra[2] = { { { 0x1, 0x2, 0, "/x", NULL }, 0x1, inl, 2 },
					    { { 0 }, 0x77, NULL, 0 } };
	struct ddprof_label labels[2] = { { .key = "thread id" }, { .key = "thread_name", .str = "t" } };
	struct ddprof_location stack[20];
	struct fx_stacks fx;
	void *out[2];
	size_t len[2];

	assert_int_equal(fx_stacks_new(&fx, 300, 18), 0);
	assert_int_equal(ddprof_profile_set_static_strings(p[1], 1), 0);
	for (int k = 0; k < 2; k++) {
		ddprof_profile_set_start_time(p[k], 1000);
		for (int i = 0; i < 20000; i++) {
			int64_t vals[2] = { 1, i };
			struct ddprof_sample s = { stack, 20, vals, 2, labels, 2 };

			memcpy(stack, fx_stack(&fx, (size_t)i * 7), 18 * sizeof(*stack));
			stack[18] = extra[0];
			stack[19] = extra[1];
			labels[0].num = i % 3;
			assert_int_equal(ddprof_profile_add(p[k], &s, i % 5 ? 0 : i), 0);
		}
		assert_int_equal(ddprof_profile_serialize(p[k], &o, &out[k], &len[k]), 0);
	}
	assert_int_equal(len[0], len[1]);
	assert_memory_equal(out[0], out[1], len[0]);
	free(out[0]);
	free(out[1]);
	fx_stacks_free(&fx);
	ddprof_profile_free(p[0]);
	ddprof_profile_free(p[1]);
}

/* Random samples from a few caller buffers whose contents change between
 * calls (longer, shorter, empty, NULL pointers, shared pointers), line
 * numbers small, at 2^31 and negative, lines moved to another address or
 * rewritten in place: the
 * sample cache, with real hashes and with every hash forced equal, builds
 * the same profile byte for byte as the path without it. */
/* Points the n locations' lines at the other of the buffers a and b,
 * with the same contents. */
static void relocate_lines(struct ddprof_location *locs, size_t n,
			   struct ddprof_line *a, struct ddprof_line *b)
{
	for (size_t f = 0; f < n; f++) {
		struct ddprof_line *from, *to;

		if (!locs[f].lines)
			continue;
		from = (struct ddprof_line *)locs[f].lines;
		to = from >= a && from < a + 16 ? b + (from - a) : a + (from - b);
		memcpy(to, from, locs[f].nlines * sizeof(*to));
		locs[f].lines = to;
	}
}

static void build_random(struct ddprof_profile *p, unsigned seed)
{
	static const char *const vocab[] = { "", "a", "main", "mainx", "worker_loop",
					     "std::vector<int>::push_back",
					     "/usr/lib/libc.so.6" };
	static const int64_t nums[] = { 0, 1, 2, (1LL << 31) - 1, 1LL << 31, -1 };
	char bufs[6][40];
	struct ddprof_line lines[6][16], moved[6][16];
	struct ddprof_location locs[6][8];
	size_t depth[6];
	struct ddprof_label labels[2] = { { .key = bufs[5] }, { .key = "n" } };

	for (int b = 0; b < 6; b++)
		strcpy(bufs[b], vocab[b % 7]);
	strcpy(bufs[5], "k");
	/* six stack shapes over the buffers, so that stacks repeat */
	for (int t = 0; t < 6; t++) {
		size_t nl = 0;

		depth[t] = 1 + rand_r(&seed) % 8;
		for (size_t f = 0; f < depth[t]; f++) {
			unsigned r = rand_r(&seed);
			size_t k = r % 3 == 0 ? 2 : 1;
			struct ddprof_location *l = &locs[t][f];

			memset(l, 0, sizeof(*l));
			l->address = 0x1000 + (r >> 4) % 3;
			if (r % 5) {
				l->mapping.start = 0x1000;
				l->mapping.limit = 0x9000 + (r >> 8) % 2;
				l->mapping.filename = bufs[(r >> 9) % 5];
				l->mapping.build_id = (r >> 12) % 2 ? bufs[4] : NULL;
			}
			if (r % 7 == 0)
				continue; /* no lines */
			l->lines = &lines[t][nl];
			l->nlines = k;
			for (size_t j = 0; j < k; j++, nl++) {
				unsigned q = rand_r(&seed);
				struct ddprof_line *ln = &lines[t][nl];

				memset(ln, 0, sizeof(*ln));
				ln->function.name = q % 6 ? bufs[q % 5] : NULL;
				ln->function.system_name = (q >> 4) % 4 ? NULL : bufs[(q >> 5) % 5];
				ln->function.filename = bufs[(q >> 8) % 5];
				/* either side of the cache's one-word line numbers */
				ln->function.start_line = nums[(q >> 11) % 6];
				ln->line = nums[(q >> 14) % 6];
			}
		}
	}
	for (int i = 0; i < 4000; i++) {
		size_t t = rand_r(&seed) % 6;
		int64_t vals[2] = { 1, i };
		struct ddprof_sample s = { locs[t], depth[t], vals, 2, labels, 1 + (i & 1) };

		if (rand_r(&seed) % 4 == 0) /* reuse a buffer with other contents */
			strcpy(bufs[rand_r(&seed) % 5], vocab[rand_r(&seed) % 7]);
		if (rand_r(&seed) % 8 == 0) /* same lines at another address */
			relocate_lines(locs[t], depth[t], lines[t], moved[t]);
		if (rand_r(&seed) % 8 == 0) { /* a line number rewritten in place */
			struct ddprof_location *l = &locs[t][rand_r(&seed) % depth[t]];
			int64_t num = nums[rand_r(&seed) % 6];

			if (l->nlines)
				((struct ddprof_line *)l->lines)[l->nlines - 1].line = num;
		}
		labels[1].str = (i >> 1) % 3 ? bufs[i % 5] : NULL;
		labels[1].num = i % 2;
		assert_int_equal(ddprof_profile_add(p, &s, i % 9 ? 0 : 5000 + i), 0);
		if (i == 2499) /* then a label-set hit on the first timeline sample */
			assert_int_equal(ddprof_profile_reset(p, NULL), 0);
	}
}

static void test_sample_cache_matches_plain(void **state)
{
	struct ddprof_serialize_opts o = { .compression = DDPROF_COMPRESS_NONE,
					   .end_time_ns = 2000 };
	void *out[3];
	size_t len[3];

	for (unsigned seed = 1; seed <= 5; seed++) {
		for (int k = 0; k < 3; k++) {
			struct ddprof_profile *p = new_cpu_profile();

			ddprof__scache_off = k == 0;
			ddprof__scache_force_hash = k == 2 ? 42 : 0;
			build_random(p, seed);
			ddprof_profile_set_start_time(p, 1000);
			assert_int_equal(ddprof_profile_serialize(p, &o, &out[k], &len[k]), 0);
			ddprof_profile_free(p);
		}
		ddprof__scache_off = 0;
		ddprof__scache_force_hash = 0;
		for (int k = 1; k < 3; k++) {
			assert_int_equal(len[0], len[k]);
			assert_memory_equal(out[0], out[k], len[0]);
		}
		for (int k = 0; k < 3; k++)
			free(out[k]);
	}
}

/* ---- upscaling -------------------------------------------------------- */

/* Adds two samples: one labelled kind=a, one kind=b. */
static struct ddprof_profile *upscale_fixture(int64_t *va, int64_t *vb)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct ddprof_location la = { { 0 }, 0x10, NULL, 0 }, lb = { { 0 }, 0x20, NULL, 0 };
	struct ddprof_label a = { .key = "kind", .str = "a" }, b = { .key = "kind", .str = "b" };
	struct ddprof_sample s1 = { &la, 1, va, 2, &a, 1 }, s2 = { &lb, 1, vb, 2, &b, 1 };

	assert_int_equal(ddprof_profile_add(p, &s1, 0), 0);
	assert_int_equal(ddprof_profile_add(p, &s2, 0), 0);
	return p;
}

/* Values of the sample whose first location has address addr. */
static const int64_t *values_at(const struct pprof_profile *pp, uint64_t addr)
{
	for (size_t i = 0; i < pp->nsamples; i++)
		if (pprof_location(pp, pp->samples[i].location_ids[0])->address == addr)
			return pp->samples[i].values;
	fail();
	return NULL;
}

/* Adds rule r to the two-sample fixture (va on address 0x10, vb on 0x20)
 * and checks the serialized values against the hand-computed ones. Leaves
 * the profile to the caller. */
static struct ddprof_profile *assert_upscaled(const struct ddprof_upscaling_rule *r,
					      int64_t *va, int64_t *vb,
					      const int64_t want_a[2],
					      const int64_t want_b[2])
{
	struct ddprof_profile *p = upscale_fixture(va, vb);
	struct pprof_profile pp;

	assert_int_equal(ddprof_profile_add_upscaling_rule(p, r), 0);
	roundtrip(p, &pp);
	assert_int_equal(values_at(&pp, 0x10)[0], want_a[0]);
	assert_int_equal(values_at(&pp, 0x10)[1], want_a[1]);
	assert_int_equal(values_at(&pp, 0x20)[0], want_b[0]);
	assert_int_equal(values_at(&pp, 0x20)[1], want_b[1]);
	pprof_profile_free(&pp);
	return p;
}

static void test_upscale_proportional(void **state)
{
	int64_t va[2] = { 10, 1000 }, vb[2] = { 7, 333 }, tot[2];
	size_t cols[2] = { 0, 1 };
	struct ddprof_upscaling_rule r = { .kind = DDPROF_UPSCALE_PROPORTIONAL,
					   .values = cols, .nvalues = 2,
					   .total_sampled = 2, .total_real = 3 };
	/* scale 1.5: 10 -> 15, 1000 -> 1500, 7 -> 10.5 -> 11, 333 -> 499.5 -> 500 */
	struct ddprof_profile *p = assert_upscaled(&r, va, vb, (int64_t[2]){ 15, 1500 },
						   (int64_t[2]){ 11, 500 });

	/* stored values are untouched */
	assert_int_equal(ddprof_profile_totals(p, tot, 2), 0);
	assert_int_equal(tot[0], 17);
	ddprof_profile_free(p);
}

static void test_upscale_poisson(void **state)
{
	/* column 0 = count, column 1 = sum */
	int64_t va[2] = { 10, 1000 }, vb[2] = { 4, 100 };
	size_t cols[2] = { 0, 1 };
	struct ddprof_upscaling_rule r = { .kind = DDPROF_UPSCALE_POISSON,
					   .values = cols, .nvalues = 2,
					   .sum_index = 1, .count_index = 0,
					   .sampling_distance = 100 };

	/* a: avg 100, scale 1/(1-e^-1) = 1.5819767068693265:
	 *    10 -> 15.82 -> 16, 1000 -> 1581.98 -> 1582
	 * b: avg 25, scale 1/(1-e^-0.25) = 4.5208117...:
	 *    4 -> 18.08 -> 18, 100 -> 452.08 -> 452 */
	ddprof_profile_free(assert_upscaled(&r, va, vb, (int64_t[2]){ 16, 1582 },
					    (int64_t[2]){ 18, 452 }));
}

static void test_upscale_poisson_fixed_count(void **state)
{
	int64_t va[2] = { 10, 1000 }, vb[2] = { 4, 100 };
	size_t col = 1;
	struct ddprof_upscaling_rule r = { .kind = DDPROF_UPSCALE_POISSON_FIXED_COUNT,
					   .values = &col, .nvalues = 1,
					   .sum_index = 1, .count = 2,
					   .sampling_distance = 1000,
					   .label_key = "kind", .label_value = "b" };

	/* only kind=b: avg 100/2 = 50, scale 1/(1-e^-0.05) = 20.504166...:
	 * 100 -> 2050.42 -> 2050; column 0 and sample a untouched */
	ddprof_profile_free(assert_upscaled(&r, va, vb, (int64_t[2]){ 10, 1000 },
					    (int64_t[2]){ 4, 2050 }));
}

static void test_upscale_rules_checked(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	size_t c0 = 0, c1 = 1, bad = 2;
	struct ddprof_upscaling_rule r = { .kind = DDPROF_UPSCALE_PROPORTIONAL,
					   .values = &c0, .nvalues = 1,
					   .total_sampled = 1, .total_real = 2,
					   .label_key = "kind", .label_value = "a" };

	assert_int_equal(ddprof_profile_add_upscaling_rule(p, &r), 0);
	/* same key, other value: a sample cannot match both unless it has the
	 * key twice, so this is a conflict too */
	r.label_value = "b";
	assert_int_equal(ddprof_profile_add_upscaling_rule(p, &r), -DDPROF_ERR_CONFLICT);
	/* all-samples rule on the same column */
	r.label_key = r.label_value = NULL;
	assert_int_equal(ddprof_profile_add_upscaling_rule(p, &r), -DDPROF_ERR_CONFLICT);
	/* another column is fine */
	r.values = &c1;
	assert_int_equal(ddprof_profile_add_upscaling_rule(p, &r), 0);
	r.values = &bad;
	assert_int_equal(ddprof_profile_add_upscaling_rule(p, &r), -DDPROF_ERR_INVALID);
	r.values = &c0;
	r.total_sampled = 0;
	assert_int_equal(ddprof_profile_add_upscaling_rule(p, &r), -DDPROF_ERR_INVALID);
	r.kind = DDPROF_UPSCALE_POISSON;
	r.sampling_distance = 0;
	assert_int_equal(ddprof_profile_add_upscaling_rule(p, &r), -DDPROF_ERR_INVALID);
	r.label_key = "k";
	r.label_value = NULL;
	assert_int_equal(ddprof_profile_add_upscaling_rule(p, &r), -DDPROF_ERR_INVALID);

	/* rules survive a reset and apply to the new contents */
	int64_t v[2] = { 10, 10 };
	struct ddprof_location l = { { 0 }, 0x10, NULL, 0 };
	struct ddprof_label a = { .key = "kind", .str = "a" };
	struct ddprof_sample s = { &l, 1, v, 2, &a, 1 };
	struct pprof_profile pp;
	assert_int_equal(ddprof_profile_reset(p, NULL), 0);
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	roundtrip(p, &pp);
	assert_int_equal(pp.samples[0].values[0], 20);
	assert_int_equal(pp.samples[0].values[1], 20);
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

/* ---- large inputs ----------------------------------------------------- */

static void test_million_samples(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct fx_stacks fx;
	struct ddprof_label labels[2] = { { .key = "thread id", .num = 0 },
					  { .key = "thread_name", .str = "worker" } };
	int64_t vals[2] = { 1, 10 };
	struct ddprof_profile_stats st;
	int64_t tot[2];

	assert_int_equal(fx_stacks_new(&fx, 1000, 18), 0);
	for (int i = 0; i < 1000000; i++) {
		struct ddprof_sample s = { fx_stack(&fx, i), 18, vals, 2, labels, 2 };

		labels[0].num = i % 4;
		assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	}
	ddprof_profile_stats(p, &st);
	assert_int_equal(st.samples_added, 1000000);
	assert_int_equal(st.stacks, 1000);
	assert_int_equal(st.aggregated, 1000); /* i % 1000 fixes i % 4 */
	assert_int_equal(ddprof_profile_totals(p, tot, 2), 0);
	assert_int_equal(tot[0], 1000000);
	assert_int_equal(tot[1], 10000000);

	struct ddprof_profile_top top[3];
	assert_int_equal(ddprof_profile_top_functions(p, 0, top, 3), 3);
	assert_int_equal(top[0].value, 1000);
	assert_true(strncmp(top[0].function, "app::worker::leaf_task_", 23) == 0);

	struct pprof_profile pp;
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 1000);
	int64_t sum = 0;
	for (size_t i = 0; i < pp.nsamples; i++)
		sum += pp.samples[i].values[0];
	assert_int_equal(sum, 1000000);
	pprof_profile_free(&pp);
	fx_stacks_free(&fx);
	ddprof_profile_free(p);
}

static void test_100k_distinct_stacks(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	uint64_t locs[4096], stack, name;
	int64_t vals[2] = { 1, 1 };
	char buf[32];
	struct ddprof_profile_stats st;

	/* 1000 locations, stacks are 8-frame combinations of them */
	for (int i = 0; i < 1000; i++) {
		uint64_t fn;

		snprintf(buf, sizeof(buf), "fn_%d", i);
		assert_int_equal(ddprof_profile_intern_cstr(p, buf, &name), 0);
		struct ddprof_function_ids f = { name, 0, 0, 0 };
		assert_int_equal(ddprof_profile_intern_function(p, &f, &fn), 0);
		struct ddprof_line_ids ln = { fn, i };
		assert_int_equal(ddprof_profile_intern_location(p, 0, 0x1000 + i, &ln, 1, &locs[i]), 0);
	}
	for (int k = 0; k < 100000; k++) {
		uint64_t frames[8];

		for (int j = 0; j < 8; j++)
			frames[j] = locs[(k / (j ? j * 97 : 1) + j * 13) % 1000];
		frames[0] = locs[k % 1000];
		frames[1] = locs[(k / 1000) % 1000];
		assert_int_equal(ddprof_profile_intern_stack(p, frames, 8, &stack), 0);
		assert_int_equal(ddprof_profile_add_interned(p, stack, vals, 2, NULL, 0, 0), 0);
	}
	ddprof_profile_stats(p, &st);
	assert_int_equal(st.stacks, 100000);
	assert_int_equal(st.aggregated, 100000);
	struct pprof_profile pp;
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 100000);
	assert_int_equal(pp.nlocations, 1000);
	for (size_t i = 0; i < pp.nsamples; i += 9973)
		assert_int_equal(pp.samples[i].nlocations, 8);
	pprof_profile_free(&pp);
	ddprof_profile_free(p);
}

static void test_deep_stack(void **state)
{
	struct ddprof_profile *p = new_cpu_profile();
	struct fx_stacks fx;
	int64_t vals[2] = { 1, 1 };
	struct pprof_profile pp;

	assert_int_equal(fx_stacks_new(&fx, 1, 512), 0);
	struct ddprof_sample s = { fx_stack(&fx, 0), 512, vals, 2, NULL, 0 };
	assert_int_equal(ddprof_profile_add(p, &s, 0), 0);
	assert_int_equal(ddprof_profile_add(p, &s, 123), 0);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 2);
	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(pp.samples[k].nlocations, 512);
		for (size_t i = 0; i < 512; i++) {
			const struct pprof_location *l = pprof_location(&pp, pp.samples[k].location_ids[i]);
			const struct pprof_function *f = pprof_function(&pp, l->lines[0].function_id);

			assert_string_equal(pprof_str(&pp, f->name), fx_function(&fx, 0, i));
		}
	}
	pprof_profile_free(&pp);

	/* the largest sample the limits allow still serializes */
	struct fx_stacks big;
	struct ddprof_label labels[DDPROF_PROFILE_MAX_LABELS];
	int64_t neg[2] = { INT64_MIN, -1 };
	char keys[DDPROF_PROFILE_MAX_LABELS][16];
	assert_int_equal(fx_stacks_new(&big, 1, DDPROF_PROFILE_MAX_FRAMES), 0);
	for (int i = 0; i < DDPROF_PROFILE_MAX_LABELS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%d", i);
		labels[i] = (struct ddprof_label){ .key = keys[i], .num = INT64_MIN + i,
						   .num_unit = keys[i] };
	}
	struct ddprof_sample bs = { fx_stack(&big, 0), DDPROF_PROFILE_MAX_FRAMES, neg, 2,
				    labels, DDPROF_PROFILE_MAX_LABELS };
	assert_int_equal(ddprof_profile_add(p, &bs, INT64_MAX), 0);
	roundtrip(p, &pp);
	assert_int_equal(pp.nsamples, 3);
	size_t biggest = 0;
	for (size_t k = 0; k < pp.nsamples; k++)
		if (pp.samples[k].nlocations > biggest)
			biggest = pp.samples[k].nlocations;
	assert_int_equal(biggest, DDPROF_PROFILE_MAX_FRAMES);
	pprof_profile_free(&pp);
	fx_stacks_free(&big);
	s.nlocations = DDPROF_PROFILE_MAX_FRAMES + 1;
	assert_int_equal(ddprof_profile_add(p, &s, 0), -DDPROF_ERR_INVALID);
	fx_stacks_free(&fx);
	ddprof_profile_free(p);
}

/* ---- allocation failures ---------------------------------------------- */

/* Runs a whole session; every step must succeed or fail with -ENOMEM. */
static int alloc_scenario(const struct fx_stacks *fx)
{
	struct ddprof_profile *p = NULL, *prev = NULL;
	struct ddprof_label labels[2] = { { .key = "thread id", .num = 7 },
					  { .key = "thread_name", .str = "w" } };
	int64_t vals[2] = { 1, 2 };
	struct ddprof_serialize_opts o[3] = { { .compression = DDPROF_COMPRESS_GZIP },
					      { .compression = DDPROF_COMPRESS_NONE },
					      { .compression = DDPROF_COMPRESS_LZ4 } };
	size_t col = 1;
	struct ddprof_upscaling_rule r = { .kind = DDPROF_UPSCALE_PROPORTIONAL,
					   .values = &col, .nvalues = 1,
					   .total_sampled = 1, .total_real = 2,
					   .label_key = "thread_name", .label_value = "w" };
	struct ddprof_profile_top top[4];
	uint64_t id, fn, loc, stack;
	void *buf;
	size_t len;
	int rc, failures = 0;

#define STEP(call)                                                             \
	do {                                                                   \
		rc = (call);                                                   \
		if (rc == -ENOMEM) {                                           \
			failures++;                                            \
			goto out;                                              \
		}                                                              \
		assert_true(rc >= 0);                                          \
	} while (0)

	STEP(ddprof_profile_new(&p, cpu_types, 2, &cpu_period, 1));
	STEP(ddprof_profile_add_upscaling_rule(p, &r));
	for (int i = 0; i < 40; i++) {
		struct ddprof_sample s = { fx_stack(fx, i), fx->depth, vals, 2, labels, 2 };

		STEP(ddprof_profile_add(p, &s, i % 3 ? 0 : 1000 + i));
	}
	STEP(ddprof_profile_set_static_strings(p, 1));
	for (int i = 0; i < 10; i++) {
		struct ddprof_sample s = { fx_stack(fx, i), fx->depth, vals, 2, labels, 2 };

		STEP(ddprof_profile_add(p, &s, 0));
	}
	STEP(ddprof_profile_intern_cstr(p, "fast", &id));
	struct ddprof_function_ids f = { id, 0, 0, 0 };
	STEP(ddprof_profile_intern_function(p, &f, &fn));
	struct ddprof_line_ids ln = { fn, 1 };
	STEP(ddprof_profile_intern_location(p, 0, 5, &ln, 1, &loc));
	STEP(ddprof_profile_intern_stack(p, &loc, 1, &stack));
	STEP(ddprof_profile_add_interned(p, stack, vals, 2, NULL, 0, 9));
	STEP(ddprof_profile_top_functions(p, 1, top, 4));
	for (int k = 0; k < 3; k++) {
		STEP(ddprof_profile_serialize(p, &o[k], &buf, &len));
		free(buf);
	}
	STEP(ddprof_profile_reset(p, &prev));
	STEP(ddprof_profile_serialize(prev, NULL, &buf, &len));
	free(buf);
out:
	ddprof_profile_free(prev);
	ddprof_profile_free(p);
	return failures;
#undef STEP
}

static void test_alloc_failures(void **state)
{
	struct fx_stacks fx;
	long n;

	assert_int_equal(fx_stacks_new(&fx, 20, 6), 0);
	for (n = 0; n < 100000; n++) {
		int failed;

		ddprof_palloc_fail_after(n);
		failed = alloc_scenario(&fx);
		ddprof_palloc_fail_after(-1);
		if (!failed)
			break;
	}
	assert_true(n > 50); /* the scenario allocates: failures were injected */
	assert_true(n < 100000);
	fx_stacks_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_invalid_args),
		cmocka_unit_test(test_extreme_start_time),
		cmocka_unit_test(test_huge_string),
		cmocka_unit_test(test_string_lengths),
		cmocka_unit_test(test_roundtrip_simple),
		cmocka_unit_test(test_mapping_flags_truthful),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_saturation),
		cmocka_unit_test(test_labels_equal_keys),
		cmocka_unit_test(test_fast_path),
		cmocka_unit_test(test_first_location_without_lines),
		cmocka_unit_test(test_empty_stack_no_labels),
		cmocka_unit_test(test_empty_stack_strings_path),
		cmocka_unit_test(test_stale_ids),
		cmocka_unit_test(test_reused_buffer),
		cmocka_unit_test(test_sample_cache_matches_plain),
		cmocka_unit_test(test_static_matches_verified),
		cmocka_unit_test(test_upscale_proportional),
		cmocka_unit_test(test_upscale_poisson),
		cmocka_unit_test(test_upscale_poisson_fixed_count),
		cmocka_unit_test(test_upscale_rules_checked),
		cmocka_unit_test(test_million_samples),
		cmocka_unit_test(test_100k_distinct_stacks),
		cmocka_unit_test(test_deep_stack),
		cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
