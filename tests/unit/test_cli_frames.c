/* Unit tests of the frame cache keys of ddprof-perf: one key per code
 * location of a file whatever process maps it and wherever, distinct keys
 * for call sites, kernel and anonymous code per process and layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli/frames.h"

static void test_keys(void **state)
{
	/* libc mapped at different addresses in two processes */
	const struct ddprof_map libc_a = { .start = 0x7f0000001000, .end = 0x7f0000100000,
					   .pgoff = 0x1000, .dev = 8, .ino = 1234,
					   .path = "/usr/lib/libc.so.6" };
	const struct ddprof_map libc_b = { .start = 0x7f5500001000, .end = 0x7f5500100000,
					   .pgoff = 0x1000, .dev = 8, .ino = 1234,
					   .path = "/usr/lib/libc.so.6" };
	const struct ddprof_map other = { .start = 0x7f0000001000, .end = 0x7f0000100000,
					  .pgoff = 0x1000, .dev = 8, .ino = 99,
					  .path = "/usr/lib/libm.so.6" };
	const struct ddprof_map anon = { .start = 0x10000, .end = 0x20000,
					 .path = "//anon" };
	struct ddprof_frame fa = { .pc = 0x7f0000001234, .map = &libc_a,
				   .kind = DDPROF_FRAME_USER };
	struct ddprof_frame fb = { .pc = 0x7f5500001234, .map = &libc_b,
				   .kind = DDPROF_FRAME_USER };
	struct ddprof_frame fo = fa, fc = fa, fj = { .pc = 0x10010, .map = &anon,
						     .kind = DDPROF_FRAME_USER };
	struct ddprof_frame k1 = { .pc = 0xffffffff81000000, .kind = DDPROF_FRAME_KERNEL };
	struct ddprof_frame k2 = k1, t1 = { .kind = DDPROF_FRAME_TRUNCATED },
			    t2 = { .pc = 5, .kind = DDPROF_FRAME_TRUNCATED },
			    inc = { .kind = DDPROF_FRAME_INCOMPLETE };

	/* same file offset: same key across processes and load addresses */
	assert_int_equal(ddprof_cli_frame_key(&fa, 1, 1), ddprof_cli_frame_key(&fb, 2, 7));
	fo.map = &other;
	assert_int_not_equal(ddprof_cli_frame_key(&fa, 1, 1), ddprof_cli_frame_key(&fo, 1, 1));
	fc.call_site = true;
	assert_int_not_equal(ddprof_cli_frame_key(&fa, 1, 1), ddprof_cli_frame_key(&fc, 1, 1));
	fc = fa;
	fc.pc += 1;
	assert_int_not_equal(ddprof_cli_frame_key(&fa, 1, 1), ddprof_cli_frame_key(&fc, 1, 1));

	/* anonymous code (JIT): per process and per mapping layout */
	assert_int_equal(ddprof_cli_frame_key(&fj, 1, 3), ddprof_cli_frame_key(&fj, 1, 3));
	assert_int_not_equal(ddprof_cli_frame_key(&fj, 1, 3), ddprof_cli_frame_key(&fj, 2, 3));
	assert_int_not_equal(ddprof_cli_frame_key(&fj, 1, 3), ddprof_cli_frame_key(&fj, 1, 4));

	/* kernel: by address only; markers: one key each */
	assert_int_equal(ddprof_cli_frame_key(&k1, 1, 1), ddprof_cli_frame_key(&k2, 2, 9));
	k2.pc += 8;
	assert_int_not_equal(ddprof_cli_frame_key(&k1, 1, 1), ddprof_cli_frame_key(&k2, 1, 1));
	assert_int_equal(ddprof_cli_frame_key(&t1, 1, 1), ddprof_cli_frame_key(&t2, 2, 2));
	assert_int_not_equal(ddprof_cli_frame_key(&t1, 1, 1), ddprof_cli_frame_key(&inc, 1, 1));
	/* a user pc and a kernel pc of the same value differ */
	k2.pc = fa.pc;
	assert_int_not_equal(ddprof_cli_frame_key(&k2, 1, 1), ddprof_cli_frame_key(&fa, 1, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
