/* Unit tests of src/perf without privileges: hand-built records through
 * the decoder (valid, truncated, malformed, unknown), an in-memory ring
 * whose records wrap its end, and the CPU list parser. */
#include <errno.h>
#include <linux/perf_event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ddprof/error.h"
#include "perf/record.h"
#include "perf/ring.h"
#include "perf/sampler.h"

/* ---- a small record builder -------------------------------------------- */

struct rb {
	uint8_t buf[70000];
	size_t len;
};

static void rb_start(struct rb *b, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = { .type = type, .misc = misc };

	memcpy(b->buf, &h, sizeof(h));
	b->len = sizeof(h);
}

static void rb_u64(struct rb *b, uint64_t v)
{
	memcpy(b->buf + b->len, &v, 8);
	b->len += 8;
}

static void rb_u32x2(struct rb *b, uint32_t x, uint32_t y)
{
	memcpy(b->buf + b->len, &x, 4);
	memcpy(b->buf + b->len + 4, &y, 4);
	b->len += 8;
}

/* A string padded with NULs to a multiple of 8 (at least one NUL). */
static void rb_str(struct rb *b, const char *s)
{
	size_t n = strlen(s) + 1, padded = (n + 7) & ~(size_t)7;

	memset(b->buf + b->len, 0, padded);
	memcpy(b->buf + b->len, s, n - 1);
	b->len += padded;
}

static void rb_id(struct rb *b, uint32_t pid, uint32_t tid, uint64_t time,
		  uint32_t cpu)
{
	rb_u32x2(b, pid, tid);
	rb_u64(b, time);
	rb_u32x2(b, cpu, 0);
}

static void rb_finish(struct rb *b)
{
	uint16_t sz = (uint16_t)b->len;

	memcpy(b->buf + offsetof(struct perf_event_header, size), &sz, 2);
}

static const struct ddprof_record_fmt fmt = {
	.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
		       PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
		       PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
		       PERF_SAMPLE_STACK_USER,
	.regs_mask = DDPROF_PERF_REGS_MASK,
	.sample_id_all = true,
};

static void build_sample(struct rb *b, uint32_t pid, uint32_t tid,
			 uint64_t time, uint64_t stack_size, uint64_t dyn)
{
	rb_start(b, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	rb_u64(b, 0x401000);              /* ip */
	rb_u32x2(b, pid, tid);
	rb_u64(b, time);
	rb_u32x2(b, 1, 0);                /* cpu */
	rb_u64(b, 10101010);              /* period */
	rb_u64(b, 3);                     /* callchain */
	rb_u64(b, PERF_CONTEXT_USER);
	rb_u64(b, 0x401000);
	rb_u64(b, 0x402000);
	rb_u64(b, PERF_SAMPLE_REGS_ABI_64);
	for (unsigned bit = 0; bit < 64; bit++)
		if (DDPROF_PERF_REGS_MASK & (1ULL << bit))
			rb_u64(b, 0x1000 + bit);
	rb_u64(b, stack_size);
	for (uint64_t i = 0; i < stack_size; i++)
		b->buf[b->len++] = (uint8_t)i;
	if (stack_size)
		rb_u64(b, dyn);
	rb_finish(b);
}

/* Decodes from an exact-size heap copy so ASan sees any overread; the
 * copy lives until the next call (decoded pointers point into it). */
static int decode_copy(const struct rb *b, size_t len, struct ddprof_record *r)
{
	static uint8_t *copy;

	free(copy);
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, b->buf, len);
	return ddprof_record_decode(copy, len, &fmt, r);
}

static void test_sample(void **state)
{
	static struct rb b;
	struct ddprof_record r;
	uint64_t t;

	build_sample(&b, 100, 101, 5555, 64, 40);
	assert_int_equal(ddprof_record_decode(b.buf, b.len, &fmt, &r), 0);
	assert_int_equal(r.type, PERF_RECORD_SAMPLE);
	assert_int_equal(r.sample.pid, 100);
	assert_int_equal(r.sample.tid, 101);
	assert_int_equal(r.sample.time, 5555);
	assert_int_equal(r.id.time, 5555);
	assert_int_equal(r.sample.cpu, 1);
	assert_int_equal(r.sample.period, 10101010);
	assert_int_equal(r.sample.ip, 0x401000);
	assert_int_equal(r.sample.nr_callchain, 3);
	assert_int_equal(r.sample.callchain[2], 0x402000);
	assert_int_equal(r.sample.abi, PERF_SAMPLE_REGS_ABI_64);
	assert_int_equal(r.sample.regs[DDPROF_PERF_REG_IP],
			 0x1000 + DDPROF_PERF_REG_IP);
	assert_int_equal(r.sample.regs[DDPROF_PERF_REG_SP],
			 0x1000 + DDPROF_PERF_REG_SP);
	assert_int_equal(r.sample.regs[DDPROF_PERF_REG_R15],
			 0x1000 + DDPROF_PERF_REG_R15);
	assert_int_equal(r.sample.regs[DDPROF_PERF_REG_FLAGS], 0); /* not in mask */
	assert_int_equal(r.sample.stack_size, 64);
	assert_int_equal(r.sample.dyn_size, 40);
	assert_int_equal(r.sample.stack[63], 63);
	assert_int_equal(ddprof_record_time(b.buf, b.len, &fmt, &t), 0);
	assert_int_equal(t, 5555);

	/* kernel sample: no user regs, no stack */
	rb_start(&b, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL);
	rb_u64(&b, 0xffffffff81000000ULL);
	rb_u32x2(&b, 7, 7);
	rb_u64(&b, 9);
	rb_u32x2(&b, 0, 0);
	rb_u64(&b, 1);
	rb_u64(&b, 0);               /* empty callchain */
	rb_u64(&b, PERF_SAMPLE_REGS_ABI_NONE);
	rb_u64(&b, 0);               /* stack size 0: no data, no dyn_size */
	rb_finish(&b);
	assert_int_equal(ddprof_record_decode(b.buf, b.len, &fmt, &r), 0);
	assert_int_equal(r.sample.abi, 0);
	assert_int_equal(r.sample.stack_size, 0);
	assert_null(r.sample.stack);
	assert_int_equal(r.sample.nr_callchain, 0);
}

static void test_truncated_sample(void **state)
{
	static struct rb b;
	struct ddprof_record r;

	build_sample(&b, 1, 2, 3, 256, 256);
	/* every shorter length, with header.size telling the truth */
	for (size_t len = 0; len < b.len; len++) {
		if (len >= 8) {
			uint16_t sz = (uint16_t)len;

			memcpy(b.buf + 6, &sz, 2);
		}
		int err = decode_copy(&b, len, &r);

		assert_true(err == -DDPROF_ERR_TRUNCATED ||
			    err == -DDPROF_ERR_FORMAT);
	}
	/* header claims more than given */
	build_sample(&b, 1, 2, 3, 256, 256);
	assert_int_equal(decode_copy(&b, b.len - 8, &r), -DDPROF_ERR_TRUNCATED);
}

static void test_malformed(void **state)
{
	static struct rb b;
	struct ddprof_record r;
	uint64_t huge = (uint64_t)1 << 61;

	/* callchain count far beyond the record */
	build_sample(&b, 1, 2, 3, 64, 64);
	memcpy(b.buf + 8 + 5 * 8, &huge, 8);
	assert_int_equal(decode_copy(&b, b.len, &r), -DDPROF_ERR_FORMAT);
	/* dyn_size larger than the stack copy */
	build_sample(&b, 1, 2, 3, 64, 72);
	assert_int_equal(decode_copy(&b, b.len, &r), -DDPROF_ERR_FORMAT);
	/* stack size beyond the record */
	build_sample(&b, 1, 2, 3, 64, 64);
	memcpy(b.buf + b.len - 8 - 64 - 8, &huge, 8);
	assert_int_equal(decode_copy(&b, b.len, &r), -DDPROF_ERR_TRUNCATED);
	/* size not a multiple of 8 */
	rb_start(&b, PERF_RECORD_EXIT, 0);
	rb_u64(&b, 0);
	b.len += 4;
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), -DDPROF_ERR_FORMAT);
	/* COMM whose name has no NUL inside the record */
	rb_start(&b, PERF_RECORD_COMM, 0);
	rb_u32x2(&b, 5, 5);
	memcpy(b.buf + b.len, "abcdefgh", 8);
	b.len += 8;
	rb_id(&b, 5, 5, 1, 0);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), -DDPROF_ERR_FORMAT);
	/* header only for a type with a body */
	rb_start(&b, PERF_RECORD_FORK, 0);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), -DDPROF_ERR_TRUNCATED);
	/* unknown record type: reported, with its type */
	rb_start(&b, 200, 0);
	rb_u64(&b, 1);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), -DDPROF_ERR_UNSUPPORTED);
	assert_int_equal(r.type, 200);
	/* sample formats with bits we cannot skip are refused */
	struct ddprof_record_fmt f2 = fmt;

	f2.sample_type |= PERF_SAMPLE_BRANCH_STACK;
	assert_false(ddprof_record_fmt_supported(&f2));
	build_sample(&b, 1, 2, 3, 8, 8);
	assert_int_equal(ddprof_record_decode(b.buf, b.len, &f2, &r),
			 -DDPROF_ERR_UNSUPPORTED);
}

static void test_side_records(void **state)
{
	static struct rb b;
	struct ddprof_record r;
	uint64_t t;

	rb_start(&b, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
	rb_u32x2(&b, 42, 43);
	rb_u64(&b, 0x7f0000000000ULL);
	rb_u64(&b, 0x21000);
	rb_u64(&b, 0x2000);
	rb_u32x2(&b, 8, 1);           /* maj, min */
	rb_u64(&b, 123456);           /* ino */
	rb_u64(&b, 7);                /* ino generation */
	rb_u32x2(&b, 5, 2);           /* PROT_READ|PROT_EXEC, MAP_PRIVATE */
	rb_str(&b, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	rb_id(&b, 42, 43, 777, 1);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), 0);
	assert_int_equal(r.type, PERF_RECORD_MMAP2);
	assert_int_equal(r.mmap2.pid, 42);
	assert_int_equal(r.mmap2.addr, 0x7f0000000000ULL);
	assert_int_equal(r.mmap2.len, 0x21000);
	assert_int_equal(r.mmap2.pgoff, 0x2000);
	assert_int_equal(r.mmap2.maj, 8);
	assert_int_equal(r.mmap2.min, 1);
	assert_int_equal(r.mmap2.ino, 123456);
	assert_int_equal(r.mmap2.prot, 5);
	assert_string_equal(r.mmap2.filename,
			    "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_true(r.id.valid);
	assert_int_equal(r.id.time, 777);
	assert_int_equal(r.id.cpu, 1);
	assert_int_equal(ddprof_record_time(b.buf, b.len, &fmt, &t), 0);
	assert_int_equal(t, 777);

	/* MMAP2 carrying a build id instead of dev/inode */
	rb_start(&b, PERF_RECORD_MMAP2, PERF_RECORD_MISC_MMAP_BUILD_ID);
	rb_u32x2(&b, 42, 42);
	rb_u64(&b, 0x1000);
	rb_u64(&b, 0x1000);
	rb_u64(&b, 0);
	b.buf[b.len] = 20;
	memset(b.buf + b.len + 1, 0, 3);
	memset(b.buf + b.len + 4, 0xab, 20);
	b.len += 24;
	rb_u32x2(&b, 5, 2);
	rb_str(&b, "/bin/true");
	rb_id(&b, 42, 42, 778, 0);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), 0);
	assert_int_equal(r.mmap2.build_id_size, 20);
	assert_int_equal(r.mmap2.build_id[19], 0xab);
	assert_int_equal(r.mmap2.ino, 0);

	rb_start(&b, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
	rb_u32x2(&b, 42, 42);
	rb_str(&b, "worker");
	rb_id(&b, 42, 42, 779, 0);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), 0);
	assert_true(r.comm.exec);
	assert_string_equal(r.comm.comm, "worker");

	rb_start(&b, PERF_RECORD_FORK, 0);
	rb_u32x2(&b, 50, 42);
	rb_u32x2(&b, 50, 42);
	rb_u64(&b, 780);
	rb_id(&b, 50, 50, 780, 0);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), 0);
	assert_int_equal(r.task.pid, 50);
	assert_int_equal(r.task.ppid, 42);
	assert_int_equal(r.task.time, 780);

	rb_start(&b, PERF_RECORD_LOST, 0);
	rb_u64(&b, 99);
	rb_u64(&b, 12);
	rb_id(&b, 0, 0, 781, 1);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), 0);
	assert_int_equal(r.lost.lost, 12);

	rb_start(&b, PERF_RECORD_THROTTLE, 0);
	rb_u64(&b, 782);
	rb_u64(&b, 1);
	rb_u64(&b, 2);
	rb_id(&b, 3, 3, 782, 0);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), 0);
	assert_int_equal(r.type, PERF_RECORD_THROTTLE);
	assert_int_equal(r.throttle.time, 782);
	/* trailer present but body cut short */
	rb_start(&b, PERF_RECORD_THROTTLE, 0);
	rb_u64(&b, 782);
	rb_id(&b, 3, 3, 782, 0);
	rb_finish(&b);
	assert_int_equal(decode_copy(&b, b.len, &r), -DDPROF_ERR_TRUNCATED);
}

/* ---- an in-memory ring ------------------------------------------------- */

#define PAGE 4096
#define DATA 4096

struct fake_ring {
	_Alignas(4096) uint8_t mem[PAGE + DATA];
	uint64_t head; /* where the next record is written */
};

static void fake_write(struct fake_ring *f, const struct rb *b)
{
	for (size_t i = 0; i < b->len; i++)
		f->mem[PAGE + ((f->head + i) & (DATA - 1))] = b->buf[i];
	f->head += b->len;
}

static void fake_publish(struct fake_ring *f)
{
	struct perf_event_mmap_page *meta = (void *)f->mem;

	__atomic_store_n(&meta->data_head, f->head, __ATOMIC_RELEASE);
}

static void test_ring_wrap(void **state)
{
	static struct fake_ring f;
	static struct rb b;
	struct perf_event_mmap_page *meta = (void *)f.mem;
	struct ddprof_ring ring;
	struct ddprof_record r;
	const void *rec;
	size_t len;
	unsigned seen = 0, wrapped = 0;

	memset(&f, 0, sizeof(f));
	/* start close to the end so records wrap; header straddles too */
	f.head = DATA - 4;
	meta->data_tail = f.head;
	assert_int_equal(ddprof_ring_init(&ring, f.mem, PAGE, DATA), 0);
	for (unsigned round = 0; round < 40; round++) {
		uint64_t before = f.head;

		for (unsigned i = 0; i < 3; i++) {
			build_sample(&b, 10, 10 + i, round * 3 + i, 512, 512);
			fake_write(&f, &b);
		}
		assert_true(f.head - meta->data_tail <= DATA);
		fake_publish(&f);
		assert_int_equal(ddprof_ring_begin(&ring), f.head - before);
		for (unsigned i = 0; i < 3; i++) {
			/* space handed back early, record by record */
			if (i)
				ddprof_ring_release(&ring, ring.pos);
			assert_int_equal(meta->data_tail,
					 i ? ring.pos : before);
			assert_int_equal(ddprof_ring_next(&ring, &rec, &len), 1);
			wrapped += rec == ring.bounce;
			assert_int_equal(ddprof_record_decode(rec, len, &fmt, &r), 0);
			assert_int_equal(r.sample.tid, 10 + i);
			assert_int_equal(r.sample.time, round * 3 + i);
			assert_int_equal(r.sample.stack[511], (uint8_t)511);
			seen++;
		}
		assert_int_equal(ddprof_ring_next(&ring, &rec, &len), 0);
		ddprof_ring_end(&ring);
		assert_int_equal(meta->data_tail, f.head);
	}
	assert_int_equal(seen, 120);
	assert_true(wrapped > 5);

	/* a corrupt header: the rest of the pass is skipped, tail catches up */
	memset(&b, 0, sizeof(b));
	rb_start(&b, PERF_RECORD_SAMPLE, 0);
	rb_u64(&b, 0);
	b.len = 16; /* header.size stays 0 */
	fake_write(&f, &b);
	fake_publish(&f);
	ddprof_ring_begin(&ring);
	assert_int_equal(ddprof_ring_next(&ring, &rec, &len), -DDPROF_ERR_FORMAT);
	assert_int_equal(ddprof_ring_next(&ring, &rec, &len), 0);
	ddprof_ring_end(&ring);
	assert_int_equal(meta->data_tail, f.head);
	ddprof_ring_fini(&ring);

	/* data area sizes must be powers of two */
	memset(&f, 0, sizeof(f));
	assert_int_equal(ddprof_ring_init(&ring, f.mem, PAGE, 3000),
			 -DDPROF_ERR_INVALID);
}

static void test_cpu_list(void **state)
{
	int *cpus = NULL;
	size_t n = 0;

	assert_int_equal(ddprof_cpu_list_parse("0-3,7,2", &cpus, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(cpus[3], 3);
	assert_int_equal(cpus[4], 7);
	free(cpus);
	assert_int_equal(ddprof_cpu_list_parse("1\n", &cpus, &n), 0);
	assert_int_equal(n, 1);
	free(cpus);
	assert_int_equal(ddprof_cpu_list_parse("3-1", &cpus, &n),
			 -DDPROF_ERR_INVALID);
	assert_int_equal(ddprof_cpu_list_parse("", &cpus, &n),
			 -DDPROF_ERR_INVALID);
	assert_int_equal(ddprof_cpu_list_parse("1,,2", &cpus, &n),
			 -DDPROF_ERR_INVALID);
	assert_int_equal(ddprof_cpu_list_parse("x", &cpus, &n),
			 -DDPROF_ERR_INVALID);
	assert_int_equal(ddprof_cpu_list_parse("0-999999", &cpus, &n),
			 -DDPROF_ERR_INVALID);
	assert_int_equal(ddprof_wait_status_code(3 << 8), 3);
	assert_int_equal(ddprof_wait_status_code(9), 137);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_truncated_sample),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_side_records),
		cmocka_unit_test(test_ring_wrap),
		cmocka_unit_test(test_cpu_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
