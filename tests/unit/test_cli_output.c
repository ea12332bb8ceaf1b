/* Unit tests of ddprof-perf's outputs: atomic files (.tmp then rename,
 * failures leave the old file), per-period names, the top-functions table,
 * the summary's exact first line, the status line and stderr messages
 * (levels, once per period, warning cap). */
#include <errno.h>
#include <fcntl.h>
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

#include "cli/msg.h"
#include "cli/output.h"
#include "cli/status.h"
#include "cli/summary.h"
#include "cli/top.h"
#include "common/log.h"

static char dir[] = "/tmp/ddprof-cli-test-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static size_t read_all(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len);
	close(fd);
	assert_true(n >= 0);
	return (size_t)n;
}

static void test_save_atomic(void **state)
{
	char path[256], tmp[300], buf[64];
	struct ddprof_cli_file f;

	snprintf(path, sizeof(path), "%s/a.pb.gz", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(ddprof_cli_file_save(path, "first", 5), 0);
	assert_int_equal(read_all(path, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "first", 5);
	assert_int_equal(access(tmp, F_OK), -1);

	/* while writing, the old file stays whole and the new one is .tmp */
	assert_int_equal(ddprof_cli_file_open(&f, path), 0);
	assert_int_equal(ddprof_cli_file_write(&f, "sec", 3), 0);
	assert_int_equal(access(tmp, F_OK), 0);
	assert_int_equal(read_all(path, buf, sizeof(buf)), 5);
	assert_int_equal(ddprof_cli_file_write(&f, "ond!", 4), 0);
	assert_int_equal(ddprof_cli_file_commit(&f), 0);
	assert_int_equal(read_all(path, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "second!", 7);
	assert_int_equal(access(tmp, F_OK), -1);

	/* an aborted write leaves the previous file and no .tmp */
	assert_int_equal(ddprof_cli_file_open(&f, path), 0);
	assert_int_equal(ddprof_cli_file_write(&f, "x", 1), 0);
	ddprof_cli_file_abort(&f);
	ddprof_cli_file_abort(&f); /* twice is harmless */
	assert_int_equal(read_all(path, buf, sizeof(buf)), 7);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void test_save_errors(void **state)
{
	char path[320], ro[256];

	/* /dev/full is written in place (never renamed over) and fails */
	assert_true(ddprof_cli_output_is_special("/dev/full"));
	assert_int_equal(ddprof_cli_file_save("/dev/full", "x", 1), -ENOSPC);
	assert_int_equal(access("/dev/full.tmp", F_OK), -1);
	assert_int_equal(ddprof_cli_file_save("/dev/null", "x", 1), 0);

	snprintf(path, sizeof(path), "%s/missing/x", dir);
	assert_int_equal(ddprof_cli_file_save(path, "x", 1), -ENOENT);

	/* a directory where nobody may create files (root included): the
	 * error comes back, nothing is left behind */
	snprintf(ro, sizeof(ro), "/sys/ddprof-cli-test-%d.pb.gz", (int)getpid());
	assert_true(ddprof_cli_file_save(ro, "x", 1) < 0);
	snprintf(path, sizeof(path), "%s.tmp", ro);
	assert_int_equal(access(path, F_OK), -1);
	assert_false(ddprof_cli_output_is_special(ro));
}

static void test_output_name(void **state)
{
	char buf[64];

	assert_int_equal(ddprof_cli_output_name(buf, sizeof(buf), "out.pb.gz", 0), 0);
	assert_string_equal(buf, "out.pb.gz");
	assert_int_equal(ddprof_cli_output_name(buf, sizeof(buf), "out.pb.gz", 3), 0);
	assert_string_equal(buf, "out.0003.pb.gz");
	assert_int_equal(ddprof_cli_output_name(buf, sizeof(buf), "d.x/my.app.pprof", 12), 0);
	assert_string_equal(buf, "d.x/my.app.0012.pprof");
	assert_int_equal(ddprof_cli_output_name(buf, sizeof(buf), "d.x/out", 1), 0);
	assert_string_equal(buf, "d.x/out.0001");
	assert_int_equal(ddprof_cli_output_name(buf, sizeof(buf), "dir/.gz", 1), 0);
	assert_string_equal(buf, "dir/.gz.0001");
	assert_int_equal(ddprof_cli_output_name(buf, sizeof(buf), "p.gz", 123456), 0);
	assert_string_equal(buf, "p.123456.gz");
	assert_int_equal(ddprof_cli_output_name(buf, 8, "out.pb.gz", 1), -ENAMETOOLONG);
}

static void test_top(void **state)
{
	struct ddprof_cli_top t;
	const struct ddprof_cli_top_entry *best[3];

	ddprof_cli_top_init(&t);
	assert_int_equal(ddprof_cli_top_get(&t, best, 3), 0);
	assert_int_equal(ddprof_cli_top_add(&t, "main_xyz", 4, 5), 0);
	assert_int_equal(ddprof_cli_top_add(&t, "b", 1, 7), 0);
	assert_int_equal(ddprof_cli_top_add(&t, "c", 1, 1), 0);
	assert_int_equal(ddprof_cli_top_add(&t, "main", 4, 5), 0);
	assert_int_equal(ddprof_cli_top_add(&t, "a", 1, 7), 0);
	assert_int_equal(t.total, 25);
	assert_int_equal(ddprof_cli_top_get(&t, best, 3), 3);
	assert_string_equal(best[0]->name, "main");
	assert_int_equal(best[0]->weight, 10);
	assert_string_equal(best[1]->name, "a"); /* ties by name */
	assert_string_equal(best[2]->name, "b");

	/* past the cap, new names count as [other]; known ones still add */
	for (unsigned i = 0; i < DDPROF_CLI_TOP_MAX + 100; i++) {
		char name[32];
		int n = snprintf(name, sizeof(name), "f%u", i);

		assert_int_equal(ddprof_cli_top_add(&t, name, (size_t)n, 1), 0);
	}
	assert_int_equal(ddprof_cli_top_add(&t, "main", 4, 1000000), 0);
	assert_int_equal(ddprof_cli_top_get(&t, best, 2), 2);
	assert_string_equal(best[0]->name, "main");
	assert_string_equal(best[1]->name, "[other]");
	/* 4 names were there before: the last 104 of the loop are [other] */
	assert_int_equal(best[1]->weight, 104);
	ddprof_cli_top_fini(&t);
}

static void test_summary(void **state)
{
	struct ddprof_cli_stats st = { .samples = 400, .lost = 3, .complete = 398 };
	struct ddprof_cli_top t;
	char buf[2048];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ddprof_cli_top_init(&t);
	ddprof_cli_top_add(&t, "compress_block", 14, 200);
	ddprof_cli_top_add(&t, "parse_records", 13, 120);
	ddprof_cli_top_add(&t, "render_frame", 12, 80);
	ddprof_cli_summary_print(f, &st, 0.0042, "wrote out.pb.gz\n", &t,
				 "out.pb.gz");
	fclose(f);
	assert_string_equal(buf,
		"ddprof-perf: 400 samples, 3 lost, 99.5% complete stacks, 10.5 us CPU per sample\n"
		"wrote out.pb.gz\n"
		"top functions by self share:\n"
		"   50.0%  compress_block\n"
		"   30.0%  parse_records\n"
		"   20.0%  render_frame\n"
		"open it with: go tool pprof -http=: out.pb.gz\n");
	ddprof_cli_top_fini(&t);

	/* nothing sampled: no division by zero, no top list */
	memset(&st, 0, sizeof(st));
	f = fmemopen(buf, sizeof(buf), "w");
	ddprof_cli_summary_print(f, &st, 0.1, NULL, NULL, NULL);
	fclose(f);
	assert_string_equal(buf, "ddprof-perf: 0 samples, 0 lost, 0.0% complete stacks, 0.0 us CPU per sample\n");
}

static void test_status(void **state)
{
	struct ddprof_cli_stats st = { .samples = 1234, .lost = 5, .processes = 1 };
	struct ddprof_cli_status s;
	char buf[160];
	int fds[2];

	ddprof_cli_status_format(buf, sizeof(buf), 75500000000ULL, &st);
	assert_string_equal(buf, "ddprof-perf: 1:15  1234 samples  5 lost  1 process");
	st.processes = 3;
	ddprof_cli_status_format(buf, sizeof(buf), 0, &st);
	assert_non_null(strstr(buf, "3 processes"));

	/* not a terminal: nothing is ever written */
	assert_int_equal(pipe(fds), 0);
	ddprof_cli_status_init(&s, fds[1], true, 0);
	assert_int_equal(s.fd, -1);
	ddprof_cli_status_update(&s, 5000000000ULL, &st);
	ddprof_cli_status_clear(&s);
	close(fds[1]);
	assert_int_equal(read(fds[0], buf, sizeof(buf)), 0);
	close(fds[0]);
}

/* Runs fn with stderr sent to a file; returns what it printed. */
static char *capture_stderr(void (*fn)(void))
{
	char path[256], *buf = malloc(8192);
	int saved = dup(2), fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0 && saved >= 0 && buf);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, 8191, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void messages_default(void)
{
	ddprof_cli_msg_init(0, NULL);
	ddprof_cli_msg(DDPROF_LOG_ERROR, "disk %s", "full");
	ddprof_cli_msg(DDPROF_LOG_ERROR, "disk %s", "full");
	pr_err("from the library %d", 1); /* through the log callback */
	ddprof_cli_msg(DDPROF_LOG_INFO, "chatty");
	for (int i = 0; i < 8; i++)
		ddprof_cli_msg(DDPROF_LOG_WARN, "warning %d", i);
	ddprof_cli_msg_new_period();
	ddprof_cli_msg(DDPROF_LOG_ERROR, "disk %s", "full");
	ddprof_cli_msg(DDPROF_LOG_WARN, "warning 7");
}

static void messages_quiet(void)
{
	ddprof_cli_msg_init(-1, NULL);
	ddprof_cli_msg(DDPROF_LOG_WARN, "a warning");
	ddprof_cli_msg(DDPROF_LOG_ERROR, "an error");
}

static void messages_verbose(void)
{
	ddprof_cli_msg_init(1, NULL);
	for (int i = 0; i < 8; i++)
		ddprof_cli_msg(DDPROF_LOG_WARN, "warning %d", i);
	ddprof_cli_msg(DDPROF_LOG_INFO, "chatty");
	ddprof_cli_msg(DDPROF_LOG_DEBUG, "debug");
}

static void test_messages(void **state)
{
	char *out = capture_stderr(messages_default);

	/* an error once per period, prefixed, one line each */
	assert_int_equal(count(out, "ddprof-perf: disk full\n"), 2);
	assert_int_equal(count(out, "ddprof-perf: from the library 1\n"), 1);
	assert_int_equal(count(out, "chatty"), 0);
	/* five warnings a period, then one hint */
	assert_int_equal(count(out, "ddprof-perf: warning "), 6);
	assert_int_equal(count(out, "warning 5"), 0);
	assert_int_equal(count(out, "not shown (-v shows them)"), 1);
	free(out);

	out = capture_stderr(messages_quiet);
	assert_string_equal(out, "ddprof-perf: an error\n");
	free(out);

	out = capture_stderr(messages_verbose);
	assert_int_equal(count(out, "ddprof-perf: warning "), 8);
	assert_int_equal(count(out, "chatty"), 1);
	assert_int_equal(count(out, "debug"), 0);
	free(out);
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save_atomic),
		cmocka_unit_test(test_save_errors),
		cmocka_unit_test(test_output_name),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
