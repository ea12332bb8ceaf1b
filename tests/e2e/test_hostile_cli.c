/* Hostile command lines: absurd option values must end in one clear
 * "ddprof-perf: ..." line on stderr and exit status 2 (usage), before any
 * profiling starts and without creating an output file. Runs the built
 * binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_ARGS 16

static char bin[4096];

/* Runs ddprof-perf with args (NULL-terminated), stdout to /dev/null;
 * returns the exit status and the stderr text in err. */
static int run(char *err, size_t errlen, const char *arg, ...)
{
	const char *argv[MAX_ARGS + 2] = { bin };
	int pipefd[2], status;
	size_t n = 0, argc = 1;
	va_list ap;
	pid_t pid;
	ssize_t r;

	va_start(ap, arg);
	for (; arg && argc < MAX_ARGS; arg = va_arg(ap, const char *))
		argv[argc++] = arg;
	va_end(ap);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		close(pipefd[0]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (n + 1 < errlen && (r = read(pipefd[0], err + n, errlen - 1 - n)) > 0)
		n += (size_t)r;
	err[n] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* One line, prefixed, naming what was wrong. */
static void assert_usage_error(const char *err, const char *word)
{
	const char *nl = strchr(err, '\n');

	assert_int_equal(strncmp(err, "ddprof-perf: ", 13), 0);
	assert_non_null(strstr(err, word));
	assert_non_null(nl);
	assert_int_equal(nl[1], '\0');
}

static void test_frequency(void **state)
{
	char err[1024];

	assert_int_equal(run(err, sizeof(err), "-F", "0", "--", "true", NULL), 2);
	assert_usage_error(err, "-F");
	assert_int_equal(run(err, sizeof(err), "-F", "1000000000", "--", "true", NULL), 2);
	assert_usage_error(err, "frequency");
	assert_int_equal(run(err, sizeof(err), "-F", "99999999999999999999999", "--",
			     "true", NULL), 2);
	assert_usage_error(err, "frequency");
	assert_int_equal(run(err, sizeof(err), "-F", "12abc", "--", "true", NULL), 2);
	assert_usage_error(err, "-F");
	assert_int_equal(run(err, sizeof(err), "-F", "", "--", "true", NULL), 2);
	assert_usage_error(err, "-F");
}

static void test_stack_size(void **state)
{
	char err[1024];

	assert_int_equal(run(err, sizeof(err), "--stack-size", "1", "--", "true", NULL), 2);
	assert_usage_error(err, "stack-size");
	assert_int_equal(run(err, sizeof(err), "--stack-size", "1000000", "--", "true",
			     NULL), 2);
	assert_usage_error(err, "stack-size");
	assert_int_equal(run(err, sizeof(err), "--stack-size", "-8", "--", "true", NULL), 2);
	assert_usage_error(err, "stack-size");
	assert_int_equal(run(err, sizeof(err), "--stack-size", "4097", "--", "true", NULL), 2);
	assert_usage_error(err, "stack-size");
}

static void test_bad_pids(void **state)
{
	static const char *bad[] = { "0", "-5", "abc", "99999999", "1,,2", "1,",
				     "4294967297", " 1" };
	char err[1024];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(run(err, sizeof(err), "-p", bad[i], NULL), 2);
		assert_usage_error(err, "-p");
	}
	/* well-formed but no such process (pid_max is at most 4194304) */
	assert_int_equal(run(err, sizeof(err), "-p", "4194300", NULL), 2);
	assert_usage_error(err, "4194300");
}

static void test_output_paths(void **state)
{
	char err[1024], dir[] = "/tmp/ddprof-hostile-XXXXXX", path[128];
	struct stat st;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing/out.pb.gz", dir);
	assert_int_equal(run(err, sizeof(err), "-o", path, "--", "true", NULL), 2);
	assert_usage_error(err, "does not exist");
	assert_int_equal(stat(path, &st), -1);
	/* a directory given as the output file */
	assert_int_equal(run(err, sizeof(err), "-o", dir, "--", "true", NULL), 2);
	assert_usage_error(err, "directory");
	/* a path through a regular file */
	snprintf(path, sizeof(path), "%s/file", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/file/out.pb.gz", dir);
	assert_int_equal(run(err, sizeof(err), "-o", path, "--", "true", NULL), 2);
	assert_usage_error(err, "not a directory");
	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	rmdir(dir);
}

static void test_conflicts_and_cpus(void **state)
{
	char err[1024];

	assert_int_equal(run(err, sizeof(err), "-a", "-C", "99999", NULL), 2);
	assert_usage_error(err, "CPU");
	assert_int_equal(run(err, sizeof(err), "-d", "-1", "--", "true", NULL), 2);
	assert_usage_error(err, "-d");
	assert_int_equal(run(err, sizeof(err), "--period", "0", "--", "true", NULL), 2);
	assert_usage_error(err, "period");
	assert_int_equal(run(err, sizeof(err), "-a", "-p", "1", NULL), 2);
	assert_int_equal(strncmp(err, "ddprof-perf: ", 13), 0);
	assert_int_equal(run(err, sizeof(err), "--no-such-option", NULL), 2);
	assert_int_equal(strncmp(err, "ddprof-perf: ", 13), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frequency),
		cmocka_unit_test(test_stack_size),
		cmocka_unit_test(test_bad_pids),
		cmocka_unit_test(test_output_paths),
		cmocka_unit_test(test_conflicts_and_cpus),
	};
	const char *dir = getenv("DDPROF_TEST_BUILD_DIR");

	snprintf(bin, sizeof(bin), "%s/ddprof-perf",
		 dir ? dir : DDPROF_TEST_BUILD_DIR);
	if (access(bin, X_OK)) {
		fprintf(stderr, "test_hostile_cli: %s not built\n", bin);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
