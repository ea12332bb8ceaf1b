/* Shared helpers of the unwinding workloads: a CPU clock deadline and the
 * "done, now wait" protocol the e2e tests use to symbolize while the
 * process still lives. */
#ifndef UW_COMMON_H
#define UW_COMMON_H

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double uw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Prints "done" and, when asked with a "wait" argument, sleeps until
 * killed so a profiler can still read /proc/PID. */
static inline void uw_done(int argc, char **argv)
{
	printf("done\n");
	fflush(stdout);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "wait"))
			for (;;)
				pause();
}

#endif
