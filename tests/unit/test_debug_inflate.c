/* Unit tests of src/symbols/debug_inflate.c: a copy of an ELF file whose
 * debug sections objcopy compressed must hold, section by section, what
 * libelf's own inflation gives; files with nothing compressed, and
 * non-ELF files, are refused without a copy. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ddprof/error.h"
#include "symbols/debug_inflate.h"

static char src[4096], zpath[] = "/tmp/dinflXXXXXX";

static int setup(void **state)
{
	const char *b = getenv("DDPROF_TEST_BUILD_DIR");
	char cmd[8192];
	int fd;

	(void)state;
	snprintf(src, sizeof(src), "%s/workloads/bench_work",
		 b && b[0] == '/' ? b : DDPROF_TEST_BUILD_DIR);
	fd = mkstemp(zpath);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "objcopy --compress-debug-sections=zlib-gabi '%s' '%s' 2>/dev/null",
		 src, zpath);
	elf_version(EV_CURRENT);
	/* its outcome is checked by the test, which skips without objcopy */
	if (system(cmd))
		fprintf(stderr, "objcopy --compress-debug-sections failed\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(zpath);
	return 0;
}

static bool has_compressed(Elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_COMPRESSED))
			return true;
	return false;
}

static void test_copy_matches_libelf(void **state)
{
	int zfd = open(zpath, O_RDONLY), cfd;
	Elf *z, *c;
	size_t nz, nc, inflated = 0;

	(void)state;
	assert_true(zfd >= 0);
	z = elf_begin(zfd, ELF_C_READ, NULL);
	if (!z || !has_compressed(z)) {
		if (z)
			elf_end(z);
		close(zfd);
		skip(); /* objcopy missing or without zlib */
	}
	cfd = ddprof_debug_inflate(zfd);
	assert_true(cfd >= 0);
	assert_int_equal(lseek(cfd, 0, SEEK_CUR), 0);
	c = elf_begin(cfd, ELF_C_READ, NULL);
	assert_non_null(c);
	assert_false(has_compressed(c));
	assert_int_equal(elf_getshdrnum(z, &nz), 0);
	assert_int_equal(elf_getshdrnum(c, &nc), 0);
	assert_int_equal(nz, nc);
	for (size_t i = 1; i < nz; i++) {
		Elf_Scn *sz = elf_getscn(z, i), *sc = elf_getscn(c, i);
		GElf_Shdr hz, hc;
		Elf_Data *dz, *dc;

		assert_non_null(gelf_getshdr(sz, &hz));
		assert_non_null(gelf_getshdr(sc, &hc));
		assert_int_equal(hz.sh_name, hc.sh_name);
		assert_int_equal(hz.sh_type, hc.sh_type);
		if (hz.sh_type == SHT_NOBITS)
			continue;
		if (hz.sh_flags & SHF_COMPRESSED) {
			assert_int_equal(elf_compress(sz, 0, 0), 1);
			inflated++;
		}
		dz = elf_getdata(sz, NULL);
		dc = elf_getdata(sc, NULL);
		assert_non_null(dz);
		assert_non_null(dc);
		assert_int_equal(dz->d_size, dc->d_size);
		if (dz->d_size)
			assert_memory_equal(dz->d_buf, dc->d_buf, dz->d_size);
	}
	assert_true(inflated > 0);
	elf_end(c);
	elf_end(z);
	close(cfd);
	close(zfd);
}

static void test_refusals(void **state)
{
	int fd = open(src, O_RDONLY);

	(void)state;
	assert_true(fd >= 0);
	/* -g without compression: nothing to do */
	assert_int_equal(ddprof_debug_inflate(fd), -DDPROF_ERR_NOT_FOUND);
	close(fd);
	fd = open("/proc/self/cmdline", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ddprof_debug_inflate(fd), -DDPROF_ERR_FORMAT);
	close(fd);
	fd = open(DDPROF_TEST_SRC_DIR "/Makefile", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(ddprof_debug_inflate(fd), -DDPROF_ERR_FORMAT);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_matches_libelf),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
