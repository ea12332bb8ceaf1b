/* The events ddprof-perf knows, how they are configured for sampling, and
 * what to tell the user when the kernel refuses them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "perf/event.h"
#include "perf/regs.h"

static const struct ddprof_event events[] = {
	{ "cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, false, true },
	{ "task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, false, true },
	{ "page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, false, false },
	{ "context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES,
	  false, false },
	{ "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true, false },
	{ "instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, true,
	  false },
};

const struct ddprof_event *ddprof_event_find(const char *name)
{
	if (!name)
		return &events[0];
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (!strcmp(events[i].name, name))
			return &events[i];
	/* perf's aliases */
	if (!strcmp(name, "faults"))
		return ddprof_event_find("page-faults");
	if (!strcmp(name, "cs"))
		return ddprof_event_find("context-switches");
	return NULL;
}

void ddprof_event_attr(struct perf_event_attr *a, const struct ddprof_event *ev,
		       uint64_t freq, uint64_t period, uint32_t stack_size)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = ev->type;
	a->config = ev->config;
	if (period) {
		a->sample_period = period;
	} else {
		a->freq = 1;
		a->sample_freq = freq;
	}
	a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			 PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
			 PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
			 PERF_SAMPLE_STACK_USER;
	a->sample_regs_user = DDPROF_PERF_REGS_MASK;
	a->sample_stack_user = stack_size;
	a->disabled = 1;
	a->sample_id_all = 1;
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->exclude_hv = 1;
	a->exclude_guest = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
}

void ddprof_event_attr_user_only(struct perf_event_attr *a)
{
	a->exclude_kernel = 1;
	a->exclude_callchain_kernel = 1;
}

int ddprof_event_open(struct perf_event_attr *a, pid_t pid, int cpu)
{
	int fd = (int)syscall(SYS_perf_event_open, a, pid, cpu, -1,
			      PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

long ddprof_sysctl_long(const char *name, long dflt)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dflt;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return dflt;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

void ddprof_event_explain(int err, const char *event, pid_t pid, int cpu)
{
	switch (-err) {
	case EACCES:
	case EPERM:
		pr_err("perf_event_open(%s) not permitted: %s. "
		       "/proc/sys/kernel/perf_event_paranoid is %ld: run as root, "
		       "grant CAP_PERFMON (or CAP_SYS_ADMIN), or lower it "
		       "(e.g. sysctl kernel.perf_event_paranoid=1)%s",
		       event, strerror(-err),
		       ddprof_sysctl_long("perf_event_paranoid", 2),
		       pid == -1 ? "; whole-system mode needs paranoid <= 0 "
				   "or those capabilities" : "");
		break;
	case EMFILE:
	case ENFILE:
		pr_err("perf_event_open(%s): out of file descriptors (%s): "
		       "one is needed per thread and CPU; raise the limit "
		       "(ulimit -n)", event, strerror(-err));
		break;
	case ESRCH:
		pr_err("no process with pid %d (it may have exited)", (int)pid);
		break;
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
		pr_err("event %s is not supported on this machine (%s)", event,
		       strerror(-err));
		break;
	case EINVAL:
		pr_err("perf_event_open(%s): invalid settings (%s): is the "
		       "frequency above /proc/sys/kernel/perf_event_max_sample_rate "
		       "(%ld)?", event, strerror(-err),
		       ddprof_sysctl_long("perf_event_max_sample_rate", 0));
		break;
	default:
		pr_err("perf_event_open(%s, pid %d, cpu %d) failed: %s", event,
		       (int)pid, cpu, strerror(-err));
	}
}
