/* runstat: runs a command and writes its wall time, CPU time and peak RSS
 * to a file, in microsecond precision; the overhead benchmark's stopwatch.
 * As a child subreaper it also reaps descendants that were orphaned (e.g. a
 * daemonized profiler), so the figures cover the whole process tree. It also
 * tells how much CPU the rest of the machine used meanwhile (other_ms), so
 * the benchmark can redo a run that something else disturbed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* The machine's busy CPU time in ms from /proc/stat (ticks of user, nice,
 * system, irq, softirq and steal), or -1 when it cannot be read. */
static double runstat_machine_busy_ms(void)
{
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8 || hz <= 0)
		return -1;
	/* v[3] idle and v[4] iowait are the only idle states. */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1e3 /
	       (double)hz;
}

static int runstat_usage(void)
{
	fprintf(stderr, "usage: runstat -o FILE -- COMMAND [ARGS...]\n"
			"  runs COMMAND; writes wall_ms, user_ms, sys_ms, "
			"cpu_ms, maxrss_kib, other_ms and status to FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *out_path = NULL;
	struct timespec t0, t1;
	double busy0, busy1;
	struct rusage ru, sum = { 0 };
	FILE *out;
	pid_t pid, got;
	int opt, status, code = 1;

	while ((opt = getopt(argc, argv, "+o:")) != -1) {
		if (opt != 'o')
			return runstat_usage();
		out_path = optarg;
	}
	if (!out_path || optind >= argc)
		return runstat_usage();

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		fprintf(stderr, "runstat: PR_SET_CHILD_SUBREAPER: %s\n",
			strerror(errno));
		return 1;
	}
	busy0 = runstat_machine_busy_ms();
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
	/* Each reaped child's rusage already includes the descendants it
	 * reaped itself; orphans come to us and are added here. */
	for (;;) {
		got = wait4(-1, &status, 0, &ru);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				break;
			fprintf(stderr, "runstat: wait4: %s\n", strerror(errno));
			return 1;
		}
		timeradd(&sum.ru_utime, &ru.ru_utime, &sum.ru_utime);
		timeradd(&sum.ru_stime, &ru.ru_stime, &sum.ru_stime);
		if (ru.ru_maxrss > sum.ru_maxrss)
			sum.ru_maxrss = ru.ru_maxrss;
		if (got == pid)
			code = WIFEXITED(status) ? WEXITSTATUS(status)
						 : 128 + WTERMSIG(status);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	busy1 = runstat_machine_busy_ms();
	ru = sum;
	out = fopen(out_path, "w");
	if (!out) {
		fprintf(stderr, "runstat: %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	fprintf(out,
		"wall_ms=%.3f user_ms=%.3f sys_ms=%.3f cpu_ms=%.3f "
		"maxrss_kib=%ld other_ms=%.0f status=%d\n",
		(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		runstat_tv_ms(&ru.ru_utime), runstat_tv_ms(&ru.ru_stime),
		runstat_tv_ms(&ru.ru_utime) + runstat_tv_ms(&ru.ru_stime),
		ru.ru_maxrss,
		busy0 < 0 || busy1 < 0
			? 0.0
			: busy1 - busy0 - runstat_tv_ms(&ru.ru_utime) -
				  runstat_tv_ms(&ru.ru_stime),
		code);
	if (fclose(out) != 0) {
		fprintf(stderr, "runstat: %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	return code;
}
