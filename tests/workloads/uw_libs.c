/* Unwinding workload: time split between the executable (with an inlined
 * helper), a linked shared library and a dlopen'ed one, in main and in two
 * named threads. Usage: uw_libs [seconds] [wait] */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "uw_common.h"

uint64_t uw_lib_work(uint64_t n);
typedef uint64_t (*uw_fn)(uint64_t);

static double seconds = 2;
static uw_fn plugin;
static volatile uint64_t sink;

static inline __attribute__((always_inline)) uint64_t uw_inl_mix(uint64_t x)
{
	for (int i = 0; i < 64; i++)
		x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ULL;
	return x;
}

__attribute__((noinline)) uint64_t uw_main_work(uint64_t n)
{
	uint64_t x = n;

	for (uint64_t i = 0; i < n / 64; i++)
		x = uw_inl_mix(x + i);
	return x;
}

__attribute__((noinline)) void uw_spin_mix(void)
{
	double end = uw_now() + seconds;

	while (uw_now() < end) {
		sink += uw_main_work(200000);
		sink += uw_lib_work(200000);
		sink += plugin(200000);
	}
}

static void *uw_thread_body(void *arg)
{
	pthread_setname_np(pthread_self(), arg);
	uw_spin_mix();
	return NULL;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], *slash;
	pthread_t t[2];
	void *h;
	ssize_t n;

	if (argc > 1)
		seconds = atof(argv[1]);
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n < 0)
		return 1;
	path[n] = 0;
	slash = strrchr(path, '/');
	strcpy(slash + 1, "libuw_plugin.so");
	h = dlopen(path, RTLD_NOW);
	if (!h || !(plugin = (uw_fn)dlsym(h, "uw_plugin_work"))) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	pthread_create(&t[0], NULL, uw_thread_body, "uw_worker1");
	pthread_create(&t[1], NULL, uw_thread_body, "uw_worker2");
	uw_spin_mix();
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	uw_done(argc, argv);
	return 0;
}
