/* Workload of tests/e2e/test_faults.c. Usage:
 *   fault_work spin SECS [STATUS]  burn CPU in spin_here, exit STATUS
 *   fault_work segv SECS           burn CPU, then die of SIGSEGV
 *   fault_work churn N             N short-lived children in turn (two at
 *                                  a time), each named churn_child and
 *                                  burning ~1.5 ms of CPU
 *   fault_work busy SECS THREADS   THREADS threads burning CPU
 * With FAULT_WORK_STAMP=FILE, spin writes its CLOCK_MONOTONIC end time
 * (seconds) there, so a test can time what follows the command's end;
 * with FAULT_WORK_PIDS=FILE, churn appends its children's pids there. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static void spin_here(double secs)
{
	uint64_t end = cpu_ns() + (uint64_t)(secs * 1e9), h = 1;

	do {
		for (int i = 0; i < 4096; i++)
			h = h * 6364136223846793005ULL + (uint64_t)i;
		sink = h;
	} while (cpu_ns() < end);
}

static void *busy_thread(void *arg)
{
	spin_here(*(double *)arg);
	return NULL;
}

static int churn(long n)
{
	const char *pids = getenv("FAULT_WORK_PIDS");
	FILE *f = pids ? fopen(pids, "a") : NULL;
	long running = 0;

	for (long i = 0; i < n; i++) {
		pid_t pid;

		if (running == 2) {
			wait(NULL);
			running--;
		}
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			prctl(PR_SET_NAME, "churn_child");
			spin_here(0.0015);
			_exit(0);
		}
		if (f)
			fprintf(f, "%d\n", (int)pid);
		running++;
	}
	while (running-- > 0)
		wait(NULL);
	if (f)
		fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "spin")) {
		const char *stamp = getenv("FAULT_WORK_STAMP");

		spin_here(atof(argv[2]));
		if (stamp) {
			struct timespec ts;
			FILE *f = fopen(stamp, "w");

			clock_gettime(CLOCK_MONOTONIC, &ts);
			if (f) {
				fprintf(f, "%.6f\n", (double)ts.tv_sec + ts.tv_nsec / 1e9);
				fclose(f);
			}
		}
		return argc > 3 ? atoi(argv[3]) : 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "segv")) {
		spin_here(atof(argv[2]));
		*(volatile int *)(uintptr_t)sink = 1; /* sink is not a valid address */
		raise(SIGSEGV);
		return 1;
	}
	if (argc >= 3 && !strcmp(argv[1], "churn"))
		return churn(atol(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "busy")) {
		double secs = atof(argv[2]);
		int n = atoi(argv[3]);
		pthread_t t[64];

		for (int i = 0; i < n && i < 64; i++)
			pthread_create(&t[i], NULL, busy_thread, &secs);
		for (int i = 0; i < n && i < 64; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	fprintf(stderr, "usage: fault_work spin|segv|churn|busy ...\n");
	return 2;
}
