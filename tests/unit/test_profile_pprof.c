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

/* Serializes p with o to a temporary file and checks the file holds
 * exactly the len bytes of mem (what the memory variant gave). */
static void assert_fd_matches(const struct ddprof_profile *p,
			      const struct ddprof_serialize_opts *o,
			      const void *mem, size_t len)
{
	FILE *f = tmpfile();
	size_t written = 0;
	void *got = malloc(len);

	assert_non_null(f);
	assert_non_null(got);
	assert_int_equal(ddprof_profile_serialize_fd(p, o, fileno(f), &written), 0);
	assert_int_equal(written, len);
	rewind(f);
	assert_int_equal(fread(got, 1, len, f), len);
	assert_memory_equal(got, mem, len);
	fclose(f);
	free(got);
}

/* A profile whose encoding spans several 64 KiB blocks: about 400 KiB of
 * samples and locations, and one 160 KiB function name of random
 * characters, which fills at least one whole block that LZ4 cannot shrink
 * and must store as it is. */
static struct ddprof_profile *multiblock_profile(char **noise)
{
	struct ddprof_profile *p = NULL;
	struct ddprof_mapping m = { 0x400000, 0x800000, 0, "/bin/app", NULL };
	struct ddprof_line lines[64];
	struct ddprof_location locs[64];
	char names[64][32];
	unsigned seed = 12345;
	size_t nn = 160 << 10;

	assert_int_equal(ddprof_profile_new(&p, types, 2, NULL, 0), 0);
	*noise = malloc(nn + 1);
	assert_non_null(*noise);
	for (size_t i = 0; i < nn; i++)
		(*noise)[i] = (char)(33 + rand_r(&seed) % 94);
	(*noise)[nn] = 0;
	for (int k = 0; k < 400; k++) {
		int64_t vals[2] = { 1, k };
		struct ddprof_sample s = { locs, 64, vals, 2, NULL, 0 };

		for (int i = 0; i < 64; i++) {
			snprintf(names[i], sizeof(names[i]), "fn_%d", (k * 31 + i * 7) % 5000);
			lines[i] = (struct ddprof_line){ { names[i], NULL, "a.c", 0 }, i };
			locs[i] = (struct ddprof_location){ m, 0x401000 + (uint64_t)i * 64 + (uint64_t)k * 4096,
							    &lines[i], 1 };
		}
		if (k == 0)
			lines[0].function.name = *noise;
		assert_int_equal(ddprof_profile_add(p, &s, END_NS - k), 0);
	}
	return p;
}

/* Walks the blocks of an LZ4 frame as written by the library (7-byte
 * header, no checksums): counts them and those stored uncompressed. */
static void lz4_blocks(const unsigned char *f, size_t len, int *blocks, int *stored)
{
	size_t off = 7;

	*blocks = *stored = 0;
	assert_int_equal(f[4], 0x40); /* version 01, linked blocks, no checksums */
	assert_int_equal(f[5], 0x40); /* 64 KiB blocks */
	for (;;) {
		uint32_t h;

		assert_true(off + 4 <= len);
		h = (uint32_t)f[off] | (uint32_t)f[off + 1] << 8 |
		    (uint32_t)f[off + 2] << 16 | (uint32_t)f[off + 3] << 24;
		off += 4;
		if (!h)
			break;
		assert_true((h & 0x7fffffffu) <= 65536);
		*blocks += 1;
		*stored += !!(h & 0x80000000u);
		off += h & 0x7fffffffu;
	}
	assert_int_equal(off, len);
}

/* Every LZ4 level decodes (by liblz4's frame decoder) to exactly the raw
 * encoding, across linked blocks and a stored block; an fd gets the same
 * bytes as memory; the size cap holds to the byte. */
static void test_lz4_blocks_and_levels(void **state)
{
	static const int levels[] = { 0, -8, 4, 99 };
	char *noise;
	struct ddprof_profile *p = multiblock_profile(&noise);
	size_t raw_len;
	void *raw = serialize(p, DDPROF_COMPRESS_NONE, &raw_len);

	assert_true(raw_len > 4 * 65536);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		struct ddprof_serialize_opts o = { .compression = DDPROF_COMPRESS_LZ4,
						   .level = levels[i], .end_time_ns = END_NS };
		unsigned char *lz;
		void *dec, *got;
		size_t lz_len, dec_len, written;
		int blocks, stored;
		FILE *f;

		assert_int_equal(ddprof_profile_serialize(p, &o, (void **)&lz, &lz_len), 0);
		lz4_blocks(lz, lz_len, &blocks, &stored);
		assert_true(blocks >= 5);
		assert_true(stored >= 1);
		assert_true(lz_len < raw_len);
		assert_int_equal(pprof_decompress(lz, lz_len, &dec, &dec_len), 0);
		assert_int_equal(dec_len, raw_len);
		assert_memory_equal(dec, raw, raw_len);
		free(dec);

		assert_fd_matches(p, &o, lz, lz_len);
		o.max_size = lz_len;
		assert_int_equal(ddprof_profile_serialize(p, &o, &got, &written), 0);
		free(got);
		o.max_size = lz_len - 1;
		assert_int_equal(ddprof_profile_serialize(p, &o, &got, &written),
				 -DDPROF_ERR_TOO_BIG);
		f = tmpfile();
		assert_int_equal(ddprof_profile_serialize_fd(p, &o, fileno(f), &written),
				 -DDPROF_ERR_TOO_BIG);
		fclose(f);
		free(lz);
	}
	free(raw);
	free(noise);
	ddprof_profile_free(p);
}

static void test_fd_variant(void **state)
{
	struct fx_stacks fx;
	struct ddprof_profile *p = sample_profile(&fx);
	struct ddprof_serialize_opts o = { .compression = DDPROF_COMPRESS_GZIP,
					   .end_time_ns = END_NS };
	size_t len;
	void *mem = serialize(p, DDPROF_COMPRESS_GZIP, &len);

	assert_fd_matches(p, &o, mem, len);
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
		cmocka_unit_test(test_lz4_blocks_and_levels),
		cmocka_unit_test(test_fd_variant),
		cmocka_unit_test(test_size_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
