/* Unwinding workload: forks a child that execs uw_deep (found next to this
 * binary) while the parent spins in its own recursion; both must unwind.
 * Usage: uw_spawn [seconds] [wait] */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "uw_common.h"

static volatile uint64_t sink;

__attribute__((noinline)) void uw_spawn_spin(int depth)
{
	if (depth) {
		uw_spawn_spin(depth - 1);
	} else {
		for (int i = 0; i < 100000; i++)
			sink = sink * 31 + i;
	}
	sink++;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	int wait_arg = argc > 2 && !strcmp(argv[2], "wait");
	char path[PATH_MAX], secs[32], *slash;
	double end = uw_now() + seconds;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	pid_t child;

	if (n < 0)
		return 1;
	path[n] = 0;
	slash = strrchr(path, '/');
	strcpy(slash + 1, "uw_deep");
	snprintf(secs, sizeof(secs), "%g", seconds);
	child = fork();
	if (child == 0) {
		/* the child waits too, so its files can still be read */
		execl(path, "uw_deep", secs, "20", wait_arg ? "wait" : NULL,
		      (char *)NULL);
		_exit(127);
	}
	while (uw_now() < end)
		uw_spawn_spin(10);
	if (!wait_arg)
		waitpid(child, NULL, 0);
	else
		usleep(300000); /* the child's last samples */
	uw_done(argc, argv);
	return 0;
}
