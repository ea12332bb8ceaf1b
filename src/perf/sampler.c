/* The sampler's lifecycle: settling the event attribute (kernel frames and
 * hardware events are tried first and dropped with a note), opening one
 * fd per CPU (per thread and CPU when attaching) with every fd of a CPU
 * writing into that CPU's single ring, and enabling them. */
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/u64map.h"
#include "ddprof/error.h"
#include "perf/cpus.h"
#include "perf/event.h"
#include "perf/sampler_int.h"

/* Ring sizes tried when the preferred one cannot be locked in memory. */
#define RING_MIN_PAGES 8
#define RING_MAX_PAGES 4096

/* Total locked memory the default ring sizes may take on big machines. */
#define RING_BUDGET (64ULL << 20)

static unsigned ring_pages_for(uint32_t stack_size, size_t nr_cpus)
{
	/* a burst of 256 full samples (stack + regs + 127-entry callchain):
	 * at 1000 Hz, a quarter of a second during which the loop may not
	 * run (a loaded machine, a cgroup CPU quota that throttles us) */
	uint64_t one = (uint64_t)stack_size + 2048;
	uint64_t need = 256 * one;
	unsigned pages = 1;

	if (need * nr_cpus > RING_BUDGET)
		need = RING_BUDGET / nr_cpus;
	if (need < 16 * one)
		need = 16 * one;
	while ((uint64_t)pages * 4096 < need && pages < RING_MAX_PAGES)
		pages *= 2;
	return pages < RING_MIN_PAGES ? RING_MIN_PAGES : pages;
}

static bool has_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* Without CAP_IPC_LOCK the kernel lets a user lock perf_event_mlock_kb
 * per online CPU plus RLIMIT_MEMLOCK: shrink the rings so that all of
 * them fit, rather than the first ones taking everything. */
static unsigned ring_pages_fit(unsigned pages, size_t nr_rings)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t budget, per_ring;
	struct rlimit rl;

	if (has_cap(CAP_IPC_LOCK) ||
	    ddprof_sysctl_long("perf_event_paranoid", 2) == -1 || !nr_rings)
		return pages;
	budget = (uint64_t)ddprof_sysctl_long("perf_event_mlock_kb", 516) / 4 *
		 (uint64_t)(online > 0 ? online : 1);
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY)
		budget += rl.rlim_cur / 4096;
	else if (!getrlimit(RLIMIT_MEMLOCK, &rl))
		return pages;
	per_ring = budget / nr_rings; /* includes the metadata page */
	if (per_ring > pages)
		return pages;
	while (pages > RING_MIN_PAGES && pages + 1 > per_ring)
		pages /= 2;
	pr_info("perf rings of %u pages per CPU fit the locked-memory "
		"allowance (perf_event_mlock_kb, ulimit -l)", pages);
	return pages;
}

static int check_opts(const struct ddprof_sampler_opts *o, uint32_t *stack)
{
	*stack = o->stack_size ? o->stack_size : DDPROF_SAMPLER_DEFAULT_STACK;
	if (*stack > DDPROF_SAMPLER_MAX_STACK || *stack % 8) {
		pr_err("stack size %u: must be a multiple of 8, at most %u",
		       *stack, DDPROF_SAMPLER_MAX_STACK);
		return -DDPROF_ERR_INVALID;
	}
	if (o->ring_pages && (o->ring_pages & (o->ring_pages - 1))) {
		pr_err("ring size %u pages: must be a power of two",
		       o->ring_pages);
		return -DDPROF_ERR_INVALID;
	}
	switch (o->mode) {
	case DDPROF_SAMPLER_WRAP:
		if (!o->argv || !o->argv[0]) {
			pr_err("no command to run");
			return -DDPROF_ERR_INVALID;
		}
		break;
	case DDPROF_SAMPLER_ATTACH:
		if (!o->pids || !o->nr_pids) {
			pr_err("no pid to attach to");
			return -DDPROF_ERR_INVALID;
		}
		for (size_t i = 0; i < o->nr_pids; i++)
			if (o->pids[i] <= 0) {
				pr_err("invalid pid %d", (int)o->pids[i]);
				return -DDPROF_ERR_INVALID;
			}
		break;
	case DDPROF_SAMPLER_SYSTEM:
		break;
	default:
		return -DDPROF_ERR_INVALID;
	}
	return 0;
}

/* Keeps fd and polls it: every fd writing into a ring reports that ring's
 * wakeups, so the ring stays watched while any of its threads lives. */
static int add_fd(struct ddprof_sampler *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (s->nr_fds == s->cap_fds) {
		size_t ncap = s->cap_fds ? 2 * s->cap_fds : 16;
		int *n = realloc(s->fds, ncap * sizeof(*n));

		if (!n) {
			close(fd);
			return -ENOMEM;
		}
		s->fds = n;
		s->cap_fds = ncap;
	}
	s->fds[s->nr_fds++] = fd;
	return 0;
}

/* Opens the first event and settles the attribute: kernel frames dropped
 * when not permitted, hardware events replaced by cpu-clock without a PMU. */
static int open_first(struct ddprof_sampler *s, pid_t pid, int cpu)
{
	int fd;

	for (;;) {
		fd = ddprof_event_open(&s->attr, pid, cpu);
		if (fd >= 0)
			return fd;
		if ((fd == -EACCES || fd == -EPERM) && !s->attr.exclude_kernel) {
			pr_warn("kernel samples not permitted "
				"(perf_event_paranoid is %ld): user frames only",
				ddprof_sysctl_long("perf_event_paranoid", 2));
			ddprof_event_attr_user_only(&s->attr);
			continue;
		}
		if ((fd == -ENOENT || fd == -EOPNOTSUPP || fd == -ENODEV) &&
		    s->ev->hardware) {
			pr_warn("event %s is not available here (no hardware "
				"PMU, e.g. in a VM): sampling cpu-clock instead",
				s->ev->name);
			s->ev = ddprof_event_find("cpu-clock");
			s->attr.type = s->ev->type;
			s->attr.config = s->ev->config;
			continue;
		}
		return fd;
	}
}

static int map_ring(struct ddprof_sampler *s, size_t i, int fd)
{
	int err;

	for (;;) {
		err = ddprof_ring_mmap(&s->rings[i], fd, s->ring_pages);
		if (!err)
			break;
		if ((err != -EPERM && err != -ENOMEM) ||
		    s->ring_pages <= RING_MIN_PAGES) {
			pr_err("cannot map the perf ring buffer (%u pages on "
			       "CPU %d): %s. The locked-memory limit is too low: "
			       "raise `ulimit -l` or "
			       "/proc/sys/kernel/perf_event_mlock_kb (now %ld "
			       "KiB), or run with CAP_IPC_LOCK",
			       s->ring_pages, s->cpus[i], strerror(-err),
			       ddprof_sysctl_long("perf_event_mlock_kb", 516));
			return -DDPROF_ERR_TOO_BIG;
		}
		s->ring_pages /= 2;
		pr_warn("perf ring buffer limited by locked memory: %u pages "
			"per CPU (samples may be lost at high rates)",
			s->ring_pages);
	}
	return 0;
}

/* Opens pid's event on every CPU: the first fd of a CPU gets the ring,
 * later ones write into it. Returns 0 or a negative code (logged unless
 * -ESRCH, which the caller explains or ignores). */
static int open_target(struct ddprof_sampler *s, pid_t pid)
{
	for (size_t i = 0; i < s->nr_cpus; i++) {
		int fd, err;

		if (!s->nr_fds)
			fd = open_first(s, pid, s->cpus[i]);
		else
			fd = ddprof_event_open(&s->attr, pid, s->cpus[i]);
		if (fd < 0) {
			if (fd != -ESRCH)
				ddprof_event_explain(fd, s->ev->name, pid,
						     s->cpus[i]);
			if (fd == -ENOENT || fd == -EOPNOTSUPP || fd == -ENODEV)
				return -DDPROF_ERR_UNSUPPORTED;
			return fd;
		}
		err = add_fd(s, fd);
		if (err)
			return err;
		if (s->rings[i].fd < 0) {
			err = map_ring(s, i, fd);
			if (err)
				return err;
		} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT,
				 s->rings[i].fd) < 0) {
			err = -errno;
			pr_err("cannot redirect events of pid %d to the CPU %d "
			       "ring: %s", (int)pid, s->cpus[i], strerror(errno));
			return err;
		}
	}
	return 0;
}

/* Every thread of pid, including ones started while we open: the task
 * directory is listed again until a listing brings nothing new (threads
 * created after their creator's event exists inherit it). */
static int attach_pid(struct ddprof_sampler *s, pid_t pid)
{
	struct ddprof_u64map seen;
	char path[64];
	int err = 0, opened = 0;
	bool fresh = true;

	ddprof_u64map_init(&seen);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	while (fresh && !err) {
		DIR *d = opendir(path);
		struct dirent *de;

		fresh = false;
		if (!d) {
			err = -ESRCH;
			break;
		}
		while (!err && (de = readdir(d))) {
			pid_t tid = (pid_t)atoi(de->d_name);

			if (tid <= 0 || ddprof_u64map_get(&seen, (uint64_t)tid))
				continue;
			fresh = true;
			err = ddprof_u64map_put(&seen, (uint64_t)tid, 1);
			if (err)
				break;
			err = open_target(s, tid);
			if (err == -ESRCH)
				err = 0; /* that thread just exited */
			else if (!err)
				opened++;
		}
		closedir(d);
	}
	ddprof_u64map_fini(&seen);
	if (!err && !opened)
		err = -ESRCH;
	if (err == -ESRCH)
		ddprof_event_explain(err, s->ev->name, pid, -1);
	return err;
}

static void procs_on_exec(void *ctx, struct ddprof_proc *p)
{
	struct ddprof_sampler *s = ctx;

	if (s->cb.on_proc_exec)
		s->cb.on_proc_exec(s->ctx, p);
}

static void procs_on_exit(void *ctx, struct ddprof_proc *p)
{
	struct ddprof_sampler *s = ctx;

	if (s->cb.on_proc_exit)
		s->cb.on_proc_exit(s->ctx, p);
}

static void procs_on_file_unused(void *ctx, uint64_t dev, uint64_t ino)
{
	struct ddprof_sampler *s = ctx;

	if (s->cb.on_file_unused)
		s->cb.on_file_unused(s->ctx, dev, ino);
}

static int setup_cpus(struct ddprof_sampler *s,
		      const struct ddprof_sampler_opts *o)
{
	if (o->mode == DDPROF_SAMPLER_SYSTEM && o->cpus && o->nr_cpus) {
		s->cpus = malloc(o->nr_cpus * sizeof(*s->cpus));
		if (!s->cpus)
			return -ENOMEM;
		memcpy(s->cpus, o->cpus, o->nr_cpus * sizeof(*s->cpus));
		s->nr_cpus = o->nr_cpus;
	} else {
		int err = ddprof_cpus_online(&s->cpus, &s->nr_cpus);

		if (err) {
			pr_err("cannot read the online CPUs: %s",
			       ddprof_strerror(err));
			return err;
		}
	}
	s->rings = calloc(s->nr_cpus, sizeof(*s->rings));
	s->last_period = calloc(s->nr_cpus, sizeof(*s->last_period));
	s->pass = calloc(s->nr_cpus, sizeof(*s->pass));
	if (!s->rings || !s->last_period || !s->pass)
		return -ENOMEM;
	for (size_t i = 0; i < s->nr_cpus; i++)
		s->rings[i].fd = -1;
	return 0;
}

static int open_events(struct ddprof_sampler *s,
		       const struct ddprof_sampler_opts *o)
{
	int err = 0;

	switch (o->mode) {
	case DDPROF_SAMPLER_WRAP:
		s->attr.inherit = 1;
		s->attr.enable_on_exec = 1;
		err = ddprof_child_spawn(&s->child, o->argv);
		if (err) {
			pr_err("cannot start '%s': %s", o->argv[0],
			       strerror(-err));
			return err;
		}
		err = open_target(s, s->child.pid);
		break;
	case DDPROF_SAMPLER_ATTACH:
		s->attr.inherit = 1;
		for (size_t i = 0; i < o->nr_pids && !err; i++)
			err = attach_pid(s, o->pids[i]);
		/* know them before their first sample */
		for (size_t i = 0; i < o->nr_pids && !err; i++) {
			struct ddprof_proc *p;

			err = ddprof_proc_table_get(s->procs, o->pids[i], &p);
		}
		break;
	case DDPROF_SAMPLER_SYSTEM:
		/* idle time is not a profile of anything */
		s->attr.exclude_idle = 1;
		err = open_target(s, -1);
		/* after the events exist, so nothing falls in between */
		if (!err)
			err = ddprof_proc_table_seed_all(s->procs);
		break;
	}
	return err;
}

int ddprof_sampler_open(struct ddprof_sampler **out,
			const struct ddprof_sampler_opts *o)
{
	struct ddprof_proc_table_cb pcb = {
		.on_exec = procs_on_exec, .on_exit = procs_on_exit,
		.on_file_unused = procs_on_file_unused,
	};
	struct ddprof_sampler *s;
	uint32_t stack;
	uint64_t freq;
	int err;

	*out = NULL;
	err = check_opts(o, &stack);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->epfd = -1;
	s->child.pid = 0;
	s->child.go_fd = s->child.err_fd = -1;
	s->mode = o->mode;
	if (o->mode == DDPROF_SAMPLER_WRAP)
		snprintf(s->argv0, sizeof(s->argv0), "%s", o->argv[0]);
	s->cb = o->cb;
	s->ctx = o->ctx;
	s->ev = ddprof_event_find(o->event);
	if (!s->ev) {
		pr_err("unknown event '%s' (known: cpu-clock, task-clock, "
		       "page-faults, context-switches, cycles, instructions)",
		       o->event);
		err = -DDPROF_ERR_UNSUPPORTED;
		goto fail;
	}
	freq = o->freq ? o->freq : DDPROF_SAMPLER_DEFAULT_FREQ;
	ddprof_event_attr(&s->attr, s->ev, freq, o->period, stack);
	if (o->no_kernel)
		ddprof_event_attr_user_only(&s->attr);
	s->fmt.sample_type = s->attr.sample_type;
	s->fmt.regs_mask = s->attr.sample_regs_user;
	s->fmt.sample_id_all = true;
	pcb.ctx = s;
	err = ddprof_proc_table_new(&s->procs, NULL, &pcb);
	if (err)
		goto fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		err = -errno;
		goto fail;
	}
	err = setup_cpus(s, o);
	if (err)
		goto fail;
	s->ring_pages = o->ring_pages ? o->ring_pages
				      : ring_pages_for(stack, s->nr_cpus);
	s->ring_pages = ring_pages_fit(s->ring_pages, s->nr_cpus);
	/* wake the loop when a quarter of the ring is used: three quarters
	 * stay free for the time one pass takes (a first look at a large
	 * debug file), and each wakeup (an epoll_wait return and two context
	 * switches) is paid for half as many samples as at an eighth */
	s->attr.watermark = 1;
	s->attr.wakeup_watermark = s->ring_pages * 4096u / 4;
	err = open_events(s, o);
	if (err)
		goto fail;
	if (o->period)
		s->default_period = o->period;
	else if (s->ev->clock)
		s->default_period = 1000000000ULL / freq;
	else
		s->default_period = 1;
	*out = s;
	return 0;
fail:
	ddprof_child_kill(&s->child);
	ddprof_sampler_close(s);
	return err;
}

static int ioctl_all(struct ddprof_sampler *s, unsigned long req)
{
	int err = 0;

	/* also reaches the events inherited by children of each task */
	for (size_t i = 0; i < s->nr_fds; i++)
		if (ioctl(s->fds[i], req, 0) < 0 && !err)
			err = -errno;
	return err;
}

int ddprof_sampler_start(struct ddprof_sampler *s)
{
	int err;

	if (s->mode != DDPROF_SAMPLER_WRAP)
		return ioctl_all(s, PERF_EVENT_IOC_ENABLE);
	err = ddprof_child_release(&s->child, s->argv0);
	return err;
}

int ddprof_sampler_stop(struct ddprof_sampler *s)
{
	return ioctl_all(s, PERF_EVENT_IOC_DISABLE);
}

int ddprof_sampler_fd(const struct ddprof_sampler *s)
{
	return s->epfd;
}

pid_t ddprof_sampler_child(const struct ddprof_sampler *s)
{
	return s->child.pid;
}

int ddprof_sampler_kill_child(struct ddprof_sampler *s, int sig)
{
	if (s->child.pid <= 0)
		return -ESRCH;
	return kill(s->child.pid, sig) < 0 ? -errno : 0;
}

void ddprof_sampler_child_reaped(struct ddprof_sampler *s)
{
	s->child.pid = 0;
}

struct ddprof_proc_table *ddprof_sampler_procs(struct ddprof_sampler *s)
{
	return s->procs;
}

void ddprof_sampler_stats(const struct ddprof_sampler *s,
			  struct ddprof_sampler_stats *st)
{
	*st = s->st;
	st->procs_live = ddprof_proc_table_live(s->procs);
	st->procs_freed = ddprof_proc_table_freed(s->procs);
	st->nr_cpus = (uint32_t)s->nr_cpus;
	st->nr_fds = (uint32_t)s->nr_fds;
	st->ring_pages = s->ring_pages;
	st->kernel_frames = !s->attr.exclude_kernel;
	snprintf(st->event, sizeof(st->event), "%s", s->ev->name);
}

void ddprof_sampler_close(struct ddprof_sampler *s)
{
	if (!s)
		return;
	/* a command never released to exec would wait forever */
	if (s->child.go_fd >= 0)
		ddprof_child_kill(&s->child);
	ddprof_child_fini(&s->child);
	for (size_t i = 0; s->rings && i < s->nr_cpus; i++)
		ddprof_ring_fini(&s->rings[i]);
	for (size_t i = 0; i < s->nr_fds; i++)
		close(s->fds[i]);
	if (s->epfd >= 0)
		close(s->epfd);
	ddprof_proc_table_free(s->procs);
	free(s->fds);
	free(s->rings);
	free(s->last_period);
	free(s->cpus);
	free(s->ents);
	free(s->slots);
	free(s->pass);
	free(s);
}
