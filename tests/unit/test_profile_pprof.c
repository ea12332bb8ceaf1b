/* Tests of the profile's serialized forms as other tools see them: gzip
 * opened by `go tool pprof`, LZ4 frames decoded by the `lz4` command, raw
 * protobuf, the fd variant and the hard output size cap. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ddprof/error.h"
#include "ddprof/profile.h"
#include "../lib/pprof_reader.h"
#include "../lib/profile_fixture.h"

#define END_NS 1700000001000000000LL

static const struct ddprof_value_type types[2] = {
	{ "cpu-samples", "count" },
	{ "cpu-time", "nanoseconds" },
};

/* 50 stacks of 12 frames, some timeline samples, labels as the CLI sets. */
static struct ddprof_profile *sample_profile(struct fx_stacks *fx)
{
	struct ddprof_profile *p = NULL;
	struct ddprof_value_type period = { "cpu-time", "nanoseconds" };
	struct ddprof_label labels[3] = { { .key = "process_id", .num = 1234 },
					  { .key = "thread id", .num = 1235 },
					  { .key = "thread_name", .str = "worker-1" } };

	assert_int_equal(fx_stacks_new(fx, 50, 12), 0);
	assert_int_equal(ddprof_profile_new(&p, types, 2, &period, 1000000), 0);
	ddprof_profile_set_start_time(p, END_NS - 60000000000LL);
	for (int i = 0; i < 500; i++) {
		int64_t vals[2] = { 1, 1000000 + i };
		struct ddprof_sample s = { fx_stack(fx, i * 7), 12, vals, 2, labels, 3 };

		assert_int_equal(ddprof_profile_add(p, &s, i % 10 ? 0 : END_NS - i), 0);
	}
	return p;
}

static void *serialize(const struct ddprof_profile *p, enum ddprof_compression c,
		       size_t *len)
{
	struct ddprof_serialize_opts o = { .compression = c, .end_time_ns = END_NS };
	void *buf = NULL;

	assert_int_equal(ddprof_profile_serialize(p, &o, &buf, len), 0);
	assert_non_null(buf);
	return buf;
}

static int have_tool(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static void test_go_tool_pprof(void **state)
{
	struct fx_stacks fx;
	struct ddprof_profile *p = sample_profile(&fx);
	size_t len;
	void *gz = serialize(p, DDPROF_COMPRESS_GZIP, &len);
	char *out = NULL;
	int rc;

	if (!have_tool("go")) {
		free(gz);
		ddprof_profile_free(p);
		fx_stacks_free(&fx);
		skip();
	}
	rc = pprof_go_tool(gz, len, "-raw", &out);
	if (rc != 0)
		print_error("go tool pprof -raw said:\n%s\n", out ? out : "(nothing)");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "PeriodType: cpu-time nanoseconds"));
	assert_non_null(strstr(out, "cpu-samples/count cpu-time/nanoseconds"));
	assert_non_null(strstr(out, fx_function(&fx, 0, 0)));
	assert_non_null(strstr(out, "/usr/local/bin/app-server"));
	assert_non_null(strstr(out, "end_timestamp_ns"));
	assert_non_null(strstr(out, "thread_name:[worker-1]"));
	free(out);

	rc = pprof_go_tool(gz, len, "-top -sample_index=cpu-samples", &out);
	if (rc != 0)
		print_error("go tool pprof -top said:\n%s\n", out ? out : "(nothing)");
	assert_int_equal(rc, 0);
	/* every sample counted: 500 samples in total */
	assert_non_null(strstr(out, "of 500 total"));
	free(out);

	/* raw protobuf is accepted as well */
	void *raw = serialize(p, DDPROF_COMPRESS_NONE, &len);
	rc = pprof_go_tool(raw, len, "-top", &out);
	assert_int_equal(rc, 0);
	free(out);
	free(raw);
	free(gz);
	ddprof_profile_free(p);
	fx_stacks_free(&fx);
}

static void test_lz4_and_raw_agree(void **state)
{
	struct fx_stacks fx;
	struct ddprof_profile *p = sample_profile(&fx);
	size_t lz_len, raw_len, gz_len, dec_len;
	unsigned char *lz = serialize(p, DDPROF_COMPRESS_LZ4, &lz_len);
	void *raw = serialize(p, DDPROF_COMPRESS_NONE, &raw_len);
	void *gz = serialize(p, DDPROF_COMPRESS_GZIP, &gz_len);
	void *dec;
	struct pprof_profile pp;

	assert_true(lz_len > 4);
	assert_int_equal(lz[0], 0x04);
	assert_int_equal(lz[1], 0x22);
	assert_int_equal(lz[2], 0x4d);
	assert_int_equal(lz[3], 0x18);
	assert_true(lz_len < raw_len);
	assert_true(gz_len < raw_len);
	/* both compressed forms decode to exactly the raw encoding */
	assert_int_equal(pprof_decompress(lz, lz_len, &dec, &dec_len), 0);
	assert_int_equal(dec_len, raw_len);
	assert_memory_equal(dec, raw, raw_len);
	free(dec);
	assert_int_equal(pprof_decompress(gz, gz_len, &dec, &dec_len), 0);
	assert_int_equal(dec_len, raw_len);
	assert_memory_equal(dec, raw, raw_len);
	free(dec);

	assert_int_equal(pprof_decode(raw, raw_len, &pp), 0);
	/* 50 timeline samples; the other 450 fall on 45 stacks (i*7 mod 50
	 * for i not a multiple of 10), aggregated */
	assert_int_equal(pp.nsamples, 45 + 50);
	pprof_profile_free(&pp);
	free(lz);
	free(raw);
	free(gz);
	ddprof_profile_free(p);
	fx_stacks_free(&fx);
}

static void test_lz4_command_line(void **state)
{
	struct fx_stacks fx;
	struct ddprof_profile *p = sample_profile(&fx);
	size_t lz_len, raw_len;
	void *lz = serialize(p, DDPROF_COMPRESS_LZ4, &lz_len);
	void *raw = serialize(p, DDPROF_COMPRESS_NONE, &raw_len);
	char dir[] = "/tmp/lz4-test-XXXXXX", in[128], out[128], cmd[512];
	FILE *f;
	void *got;
	long n;

	if (!have_tool("lz4")) {
		free(lz);
		free(raw);
		ddprof_profile_free(p);
		fx_stacks_free(&fx);
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(in, sizeof(in), "%s/p.lz4", dir);
	snprintf(out, sizeof(out), "%s/p.pb", dir);
	assert_int_equal(pprof_write_file(in, lz, lz_len), 0);
	snprintf(cmd, sizeof(cmd), "lz4 -d -q -f '%s' '%s' 2>&1", in, out);
	assert_int_equal(system(cmd), 0);
	f = fopen(out, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_int_equal(n, (long)raw_len);
	got = malloc((size_t)n);
	assert_int_equal(fread(got, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_memory_equal(got, raw, raw_len);
	free(got);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(lz);
	free(raw);
	ddprof_profile_free(p);
	fx_stacks_free(&fx);
}

static void test_fd_variant(void **state)
{
	struct fx_stacks fx;
	struct ddprof_profile *p = sample_profile(&fx);
	struct ddprof_serialize_opts o = { .compression = DDPROF_COMPRESS_GZIP,
					   .end_time_ns = END_NS };
	size_t len, written = 0;
	void *mem = serialize(p, DDPROF_COMPRESS_GZIP, &len);
	FILE *f = tmpfile();
	void *got;

	assert_non_null(f);
	assert_int_equal(ddprof_profile_serialize_fd(p, &o, fileno(f), &written), 0);
	assert_int_equal(written, len);
	rewind(f);
	got = malloc(len);
	assert_int_equal(fread(got, 1, len, f), len);
	assert_memory_equal(got, mem, len);
	fclose(f);
	free(got);
	free(mem);
	assert_int_equal(ddprof_profile_serialize_fd(p, &o, -1, NULL), -DDPROF_ERR_INVALID);
	ddprof_profile_free(p);
	fx_stacks_free(&fx);
}

static void test_size_cap(void **state)
{
	struct fx_stacks fx;
	struct ddprof_profile *p = sample_profile(&fx);
	size_t len;
	void *raw = serialize(p, DDPROF_COMPRESS_NONE, &len);
	void *buf = (void *)1;
	size_t got = 99;

	for (int c = DDPROF_COMPRESS_NONE; c <= DDPROF_COMPRESS_LZ4; c++) {
		struct ddprof_serialize_opts o = { .compression = c, .end_time_ns = END_NS,
						   .max_size = 100 };

		assert_int_equal(ddprof_profile_serialize(p, &o, &buf, &got),
				 -DDPROF_ERR_TOO_BIG);
		assert_null(buf);
		assert_int_equal(got, 0);
	}
	/* exactly the size fits */
	struct ddprof_serialize_opts o = { .compression = DDPROF_COMPRESS_NONE,
					   .end_time_ns = END_NS, .max_size = len };
	assert_int_equal(ddprof_profile_serialize(p, &o, &buf, &got), 0);
	assert_int_equal(got, len);
	free(buf);
	o.max_size = len - 1;
	assert_int_equal(ddprof_profile_serialize(p, &o, &buf, &got), -DDPROF_ERR_TOO_BIG);
	o.compression = 42;
	assert_int_equal(ddprof_profile_serialize(p, &o, &buf, &got), -DDPROF_ERR_INVALID);
	free(raw);
	ddprof_profile_free(p);
	fx_stacks_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_tool_pprof),
		cmocka_unit_test(test_lz4_and_raw_agree),
		cmocka_unit_test(test_lz4_command_line),
		cmocka_unit_test(test_fd_variant),
		cmocka_unit_test(test_size_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
