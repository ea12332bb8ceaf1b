/* runstat: runs a command and writes its wall time, CPU time and peak RSS
 * (from wait4, so they cover the command and every child it waited for) to a
 * file, in microsecond precision; the overhead benchmark's stopwatch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double runstat_tv_ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

static int runstat_usage(void)
{
	fprintf(stderr, "usage: runstat -o FILE -- COMMAND [ARGS...]\n"
			"  runs COMMAND; writes wall_ms, user_ms, sys_ms, "
			"cpu_ms, maxrss_kib and status to FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *out_path = NULL;
	struct timespec t0, t1;
	struct rusage ru;
	FILE *out;
	pid_t pid;
	int opt, status, code;

	while ((opt = getopt(argc, argv, "+o:")) != -1) {
		if (opt != 'o')
			return runstat_usage();
		out_path = optarg;
	}
	if (!out_path || optind >= argc)
		return runstat_usage();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "runstat: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "runstat: %s: %s\n", argv[optind],
			strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "runstat: wait4: %s\n", strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	out = fopen(out_path, "w");
	if (!out) {
		fprintf(stderr, "runstat: %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	fprintf(out,
		"wall_ms=%.3f user_ms=%.3f sys_ms=%.3f cpu_ms=%.3f "
		"maxrss_kib=%ld status=%d\n",
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		runstat_tv_ms(&ru.ru_utime), runstat_tv_ms(&ru.ru_stime),
		runstat_tv_ms(&ru.ru_utime) + runstat_tv_ms(&ru.ru_stime),
		ru.ru_maxrss, code);
	if (fclose(out) != 0) {
		fprintf(stderr, "runstat: %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	return code;
}
