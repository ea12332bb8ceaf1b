/* Workload for the sampler's live tests: burns SECONDS of CPU in the main
 * thread and in each of THREADS named threads ("sw-worker-N"), and with "child"
 * forks and execs itself as a second process ("sw-child") that burns for
 * half as long. Usage: sampler_work SECONDS THREADS [child] */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds;
static volatile unsigned long sink;

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static unsigned long leaf(unsigned long x)
{
	for (int i = 0; i < 1000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

__attribute__((noinline)) static unsigned long middle(unsigned long x)
{
	return leaf(x) ^ leaf(x + 1);
}

/* Burns `seconds` of this thread's CPU time (not wall time: on a loaded
 * machine every thread still gets its share of samples). */
static void burn(void)
{
	unsigned long x = 1;

	while (thread_cpu() < seconds)
		for (int i = 0; i < 256; i++)
			x = middle(x);
	sink = x;
}

static void *worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "sw-worker-%d", (int)(long)arg);
	pthread_setname_np(pthread_self(), name);
	burn();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	int threads, child = 0;
	pid_t pid = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s SECONDS THREADS [child|as-child]\n",
			argv[0]);
		return 2;
	}
	seconds = atof(argv[1]);
	threads = atoi(argv[2]);
	if (threads > 64)
		threads = 64;
	if (argc > 3 && !strcmp(argv[3], "as-child"))
		prctl(PR_SET_NAME, "sw-child");
	else
		prctl(PR_SET_NAME, "sw-main");
	child = argc > 3 && !strcmp(argv[3], "child");
	if (child) {
		char secs[32];

		snprintf(secs, sizeof(secs), "%f", seconds / 2);
		pid = fork();
		if (pid == 0) {
			execl("/proc/self/exe", "sampler_work", secs, "0",
			      "as-child", (char *)NULL);
			_exit(127);
		}
	}
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, (void *)(long)(i + 1));
	burn();
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	if (pid > 0) {
		int st;

		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			return 3;
	}
	return 0;
}
