/* perf events by name, the attribute the sampler opens them with, and the
 * perf_event_open wrapper that turns refusals into advice. */
#ifndef DDPROF_PERF_EVENT_H
#define DDPROF_PERF_EVENT_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ddprof_event {
	const char *name;
	uint32_t type;       /* PERF_TYPE_* */
	uint64_t config;
	bool hardware;       /* needs a PMU: falls back to cpu-clock */
	bool clock;          /* periods are nanoseconds */
};

/* Returns the event called name (NULL: cpu-clock), or NULL if unknown. */
const struct ddprof_event *ddprof_event_find(const char *name);

/* Fills *a for sampling ev: freq (Hz) unless period != 0, IP, TID, TIME,
 * CPU, PERIOD, CALLCHAIN, user registers (DDPROF_PERF_REGS_MASK) and
 * stack_size bytes of user stack, sample_id_all, MMAP2, COMM (with exec),
 * FORK/EXIT, CLOCK_MONOTONIC timestamps; disabled. */
void ddprof_event_attr(struct perf_event_attr *a, const struct ddprof_event *ev,
		       uint64_t freq, uint64_t period, uint32_t stack_size);

/* Drops kernel samples and kernel callchains from *a. */
void ddprof_event_attr_user_only(struct perf_event_attr *a);

/* perf_event_open(a, pid, cpu, group -1, CLOEXEC). Returns fd or -errno. */
int ddprof_event_open(struct perf_event_attr *a, pid_t pid, int cpu);

/* Logs (pr_err) why opening failed with err, with the advice that fits:
 * perf_event_paranoid and capabilities, the fd limit, a missing pid. */
void ddprof_event_explain(int err, const char *event, pid_t pid, int cpu);

/* Reads /proc/sys/kernel/<name> as an integer, or returns dflt. */
long ddprof_sysctl_long(const char *name, long dflt);

#endif
