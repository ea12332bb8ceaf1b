/* The session loop of ddprof-perf: one epoll over the sampler's fd, a
 * timerfd tick (drains quiet rings, ends periods and the duration, redraws
 * the status line) and a signalfd (SIGINT/SIGTERM/SIGCHLD), so signals
 * never interrupt the unwinder and uploads never stall sampling. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/agg.h"
#include "cli/frames.h"
#include "cli/msg.h"
#include "cli/session.h"
#include "cli/sink.h"
#include "cli/stats.h"
#include "cli/status.h"
#include "cli/summary.h"
#include "ddprof/error.h"
#include "perf/sampler.h"
#include "symbols/symbolizer.h"
#include "unwind/unwind.h"

#define TICK_NS 100000000ULL        /* drain quiet rings, check deadlines */
#define FLUSH_TIMEOUT_MS 5000       /* bounded wait for the last uploads */
#define FLUSH_STEP_MS 100           /* signals are checked this often */
#define RING_PAGES_MAX 1024         /* 4 MiB per CPU at most */
#define RING_TOTAL_MAX (64ULL << 20) /* and 64 MiB over all CPUs */

struct session {
	const struct ddprof_cli_opts *o;
	struct ddprof_sampler *smp;
	struct ddprof_unwind *unw;
	struct ddprof_symbolizer *sym;
	struct ddprof_cli_agg agg;
	struct ddprof_cli_sink sink;
	struct ddprof_cli_stats stats;
	struct ddprof_cli_status status;
	struct ddprof_unwind_result *res; /* one sample's frames (large) */
	uint64_t *locs;                   /* their location ids */
	int epfd, tfd, sfd;
	sigset_t oldmask;
	pid_t child;                      /* wrapped command, 0 once reaped */
	int child_code;                   /* its exit code once reaped */
	bool sampling;
	int signals;                      /* SIGINT/SIGTERM received */
	int last_signal;
	uint64_t period_end, duration_end; /* CLOCK_MONOTONIC ns, 0: none */
	uint64_t sample_errors;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- sampler callbacks ------------------------------------------------ */

static const struct ddprof_map *find_map(void *arg, uint64_t addr)
{
	return ddprof_proc_find_map(arg, addr);
}

static void on_sample(void *ctx, const struct ddprof_perf_sample *s,
		      struct ddprof_proc *p)
{
	struct session *ss = ctx;
	bool looked_up = false;
	int ret;

	ret = ddprof_unwind_sample(ss->unw, s, find_map, p, ss->res);
	if (!ret)
		ret = ddprof_cli_frames_convert(&ss->agg, ss->sym, (pid_t)s->pid,
						ddprof_proc_maps_gen(p), ss->res,
						ss->o->no_inline, ss->locs,
						&looked_up);
	if (!ret)
		ret = ddprof_cli_agg_add(&ss->agg, ss->locs, ss->res->nr,
					 (pid_t)s->pid, (pid_t)s->tid,
					 ddprof_proc_name(p),
					 ddprof_proc_thread_name(p, (pid_t)s->tid),
					 (int64_t)s->period, s->time);
	if (looked_up)
		ddprof_symbolizer_trim(ss->sym);
	if (ret) {
		ss->sample_errors++;
		ddprof_cli_msg(DDPROF_LOG_WARN, "samples dropped: %s",
			       ddprof_strerror(ret));
		return;
	}
	ss->stats.samples++;
	ss->stats.complete += ss->res->complete;
}

static void on_lost(void *ctx, uint64_t count, uint64_t period, uint32_t cpu)
{
	struct session *ss = ctx;
	int ret = ddprof_cli_agg_add_lost(&ss->agg, count, period);

	ss->stats.lost += count;
	if (ret)
		ddprof_cli_msg(DDPROF_LOG_WARN, "lost samples not recorded: %s",
			       ddprof_strerror(ret));
}

/* A process execs or exits: what was cached about its addresses is wrong
 * or useless from now on. */
static void on_proc_gone(void *ctx, struct ddprof_proc *p)
{
	struct session *ss = ctx;
	pid_t pid = ddprof_proc_pid(p);

	ddprof_unwind_forget_pid(ss->unw, pid);
	ddprof_symbolizer_forget_pid(ss->sym, pid);
}

static void on_file_unused(void *ctx, uint64_t dev, uint64_t ino)
{
	struct session *ss = ctx;

	ddprof_unwind_evict_file(ss->unw, dev, ino);
	ddprof_symbolizer_evict_file(ss->sym, dev, ino);
}

/* ---- setup ------------------------------------------------------------ */

/* Ring pages per CPU for half a second of samples at full stack size, so
 * the first seconds (symbol tables loaded for every new binary) lose
 * nothing. Only where locked memory is not limited (root): elsewhere the
 * sampler's default fits perf_event_mlock_kb. 0: the sampler's default. */
static unsigned ring_pages_for(const struct ddprof_cli_opts *o)
{
	uint64_t need = (uint64_t)o->freq / 2 * (o->stack_size + 2048ULL);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t max = RING_TOTAL_MAX / 4096 / (uint64_t)(cpus > 0 ? cpus : 1);
	unsigned pages = 1;

	if (geteuid() != 0)
		return 0;
	if (max > RING_PAGES_MAX)
		max = RING_PAGES_MAX;
	while ((uint64_t)pages * 4096 < need && pages * 2 <= max)
		pages *= 2;
	/* below the sampler's own choice, let it choose */
	return pages >= 64 ? pages : 0;
}

static int open_sampler(struct session *ss)
{
	const struct ddprof_cli_opts *o = ss->o;
	bool is_time = ddprof_cli_agg_event_is_time(o->event);
	struct ddprof_sampler_opts so = {
		.mode = o->mode == DDPROF_CLI_MODE_WRAP ? DDPROF_SAMPLER_WRAP :
			o->mode == DDPROF_CLI_MODE_ATTACH ? DDPROF_SAMPLER_ATTACH :
							    DDPROF_SAMPLER_SYSTEM,
		.event = o->event,
		/* clocks count nanoseconds: a fixed period of 1/freq s is the
		 * frequency exactly, without the kernel's frequency mode,
		 * which starts every new event (each new thread) at period 1
		 * and floods the rings until its first adjustment */
		.freq = is_time ? 0 : o->freq,
		.period = is_time ? 1000000000ULL / o->freq : 0,
		.stack_size = o->stack_size,
		.no_kernel = o->no_kernel,
		.ring_pages = ring_pages_for(o),
		.argv = o->command,
		.pids = o->pids,
		.nr_pids = o->npids,
		.cpus = o->ncpus ? o->cpus : NULL,
		.nr_cpus = o->ncpus,
		.cb = {
			.on_sample = on_sample,
			.on_lost = on_lost,
			.on_proc_exec = on_proc_gone,
			.on_proc_exit = on_proc_gone,
			.on_file_unused = on_file_unused,
		},
		.ctx = ss,
	};

	return ddprof_sampler_open(&ss->smp, &so);
}

/* Signals arrive through the signalfd only; the wrapped command gets an
 * empty mask from the sampler, the exporter thread inherits this one. */
static int setup_signals(struct session *ss)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &ss->oldmask))
		return -errno;
	signal(SIGPIPE, SIG_IGN); /* a closed stderr or socket is an error, not death */
	ss->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return ss->sfd < 0 ? -errno : 0;
}

static int setup_loop(struct session *ss)
{
	struct itimerspec its = {
		.it_interval = { 0, TICK_NS },
		.it_value = { 0, TICK_NS },
	};
	struct epoll_event ev = { .events = EPOLLIN };

	ss->epfd = epoll_create1(EPOLL_CLOEXEC);
	ss->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ss->epfd < 0 || ss->tfd < 0 || timerfd_settime(ss->tfd, 0, &its, NULL))
		return -errno;
	ev.data.fd = ddprof_sampler_fd(ss->smp);
	if (epoll_ctl(ss->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return -errno;
	ev.data.fd = ss->tfd;
	if (epoll_ctl(ss->epfd, EPOLL_CTL_ADD, ss->tfd, &ev))
		return -errno;
	ev.data.fd = ss->sfd;
	if (epoll_ctl(ss->epfd, EPOLL_CTL_ADD, ss->sfd, &ev))
		return -errno;
	return 0;
}

/* ---- running ---------------------------------------------------------- */

static void drain(struct session *ss)
{
	int ret = ddprof_sampler_drain(ss->smp);

	if (ret < 0)
		ddprof_cli_msg(DDPROF_LOG_ERROR, "reading samples failed: %s",
			       ddprof_strerror(ret));
}

/* Ends the current period: the store restarts empty, the finished profile
 * goes to the file and/or the upload queue. */
static void end_period(struct session *ss, bool last)
{
	struct ddprof_profile *prev = NULL;
	int ret = ddprof_cli_agg_rotate(&ss->agg, &prev);

	ddprof_cli_msg_new_period();
	if (ret) {
		ddprof_cli_msg(DDPROF_LOG_ERROR, "cannot end the period: %s",
			       ddprof_strerror(ret));
		return;
	}
	ddprof_cli_sink_put(&ss->sink, prev, last);
}

static void stop_sampling(struct session *ss)
{
	if (!ss->sampling)
		return;
	ss->sampling = false;
	ddprof_sampler_stop(ss->smp);
	drain(ss);
	/* nothing reads the rings from now on: a readable fd would only
	 * wake the loop that waits for the command */
	epoll_ctl(ss->epfd, EPOLL_CTL_DEL, ddprof_sampler_fd(ss->smp), NULL);
	end_period(ss, true);
}

static void reap_child(struct session *ss)
{
	int st;

	if (!ss->child || waitpid(ss->child, &st, WNOHANG) != ss->child)
		return;
	ss->child_code = ddprof_wait_status_code(st);
	ss->child = 0;
	ddprof_sampler_child_reaped(ss->smp);
}

/* Returns false when a second SIGINT/SIGTERM asks to exit at once. */
static bool handle_signals(struct session *ss)
{
	struct signalfd_siginfo si;

	while (read(ss->sfd, &si, sizeof(si)) == sizeof(si)) {
		int sig = (int)si.ssi_signo;

		if (sig == SIGCHLD) {
			reap_child(ss);
			continue;
		}
		ss->signals++;
		ss->last_signal = sig;
		/* a terminal's ^C already reached the command's process
		 * group (si_code SI_KERNEL); forward only what was sent to
		 * us alone, so the command sees each signal once */
		if (ss->child && si.ssi_code != SI_KERNEL)
			ddprof_sampler_kill_child(ss->smp, sig);
		if (ss->signals > 1)
			return false;
		if (ss->sampling)
			ddprof_cli_msg(DDPROF_LOG_INFO, "%s: stopping, writing the profile",
				       strsignal(sig));
		stop_sampling(ss);
	}
	return true;
}

static void refresh_stats(struct session *ss)
{
	struct ddprof_sampler_stats st;

	ddprof_sampler_stats(ss->smp, &st);
	ss->stats.processes = st.procs_live;
}

static void on_tick(struct session *ss)
{
	uint64_t expirations, now;

	if (read(ss->tfd, &expirations, sizeof(expirations)) < 0)
		return;
	if (!ss->sampling)
		return;
	drain(ss);
	now = now_ns();
	if (ss->duration_end && now >= ss->duration_end) {
		stop_sampling(ss);
		return;
	}
	if (ss->period_end && now >= ss->period_end) {
		end_period(ss, false);
		/* after a stall, the next period still ends on the grid */
		while (ss->period_end <= now)
			ss->period_end += ss->o->period_ns;
	}
	refresh_stats(ss);
	ddprof_cli_msg_status(now, &ss->stats, false);
}

/* True while there is anything left to profile. */
static bool targets_alive(struct session *ss)
{
	switch (ss->o->mode) {
	case DDPROF_CLI_MODE_WRAP:
		return ss->child != 0;
	case DDPROF_CLI_MODE_ATTACH:
		refresh_stats(ss);
		return ss->stats.processes > 0;
	default:
		return true;
	}
}

/* Runs until sampling stops (end of the command, -d, a signal, every
 * attached process gone), then, with a command still running (-d), until
 * it exits. Returns false on a second SIGINT/SIGTERM. */
static bool loop(struct session *ss, bool until_child)
{
	struct epoll_event evs[4];
	int sfd_ready;

	while (until_child ? ss->child != 0 : ss->sampling) {
		int n = epoll_wait(ss->epfd, evs, 4, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ddprof_cli_msg(DDPROF_LOG_ERROR, "epoll: %s", strerror(errno));
			stop_sampling(ss);
			return true;
		}
		sfd_ready = 0;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == ss->tfd)
				on_tick(ss);
			else if (evs[i].data.fd == ss->sfd)
				sfd_ready = 1;
			else if (ss->sampling)
				drain(ss);
		}
		if (sfd_ready && !handle_signals(ss))
			return false;
		if (ss->sampling && !targets_alive(ss))
			stop_sampling(ss);
	}
	return true;
}

/* ---- the end ----------------------------------------------------------- */

static double self_cpu_seconds(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* -v: what the layers counted, to explain lost samples or short stacks. */
static void print_details(struct session *ss)
{
	const struct ddprof_unwind_stats *u = ddprof_unwind_stats(ss->unw);
	const struct ddprof_symbolizer_stats *y = ddprof_symbolizer_stats(ss->sym);
	struct ddprof_sampler_stats st;

	ddprof_sampler_stats(ss->smp, &st);
	ddprof_cli_msg(DDPROF_LOG_INFO,
		       "sampler: event %s, %u CPU rings of %u pages, %llu records, "
		       "%llu lost records, %llu throttles, %llu bad records, "
		       "%llu processes freed, kernel frames %s",
		       st.event, st.nr_cpus, st.ring_pages,
		       (unsigned long long)st.records,
		       (unsigned long long)st.lost_records,
		       (unsigned long long)st.throttles,
		       (unsigned long long)st.bad_records,
		       (unsigned long long)st.procs_freed,
		       st.kernel_frames ? "on" : "off");
	ddprof_cli_msg(DDPROF_LOG_INFO,
		       "unwind: %llu samples, %llu complete, %llu truncated, "
		       "%llu out of stack copy, %llu without CFI, %llu unmapped, "
		       "%llu errors, %llu continued by frame pointers",
		       (unsigned long long)u->samples, (unsigned long long)u->complete,
		       (unsigned long long)u->truncated,
		       (unsigned long long)u->stack_exhausted,
		       (unsigned long long)u->no_cfi, (unsigned long long)u->unmapped,
		       (unsigned long long)u->errors, (unsigned long long)u->fp_used);
	ddprof_cli_msg(DDPROF_LOG_INFO,
		       "symbols: %llu lookups, %llu cache hits, %llu files opened, "
		       "%llu failed, %llu evicted; %llu samples not recorded",
		       (unsigned long long)y->lookups, (unsigned long long)y->addr_hits,
		       (unsigned long long)y->files_opened,
		       (unsigned long long)y->files_failed,
		       (unsigned long long)y->files_evicted,
		       (unsigned long long)ss->sample_errors);
}

/* Waits a bounded time for queued uploads, still answering signals.
 * Returns false on a second SIGINT/SIGTERM. */
static bool flush_uploads(struct session *ss)
{
	for (long waited = 0; waited < FLUSH_TIMEOUT_MS; waited += FLUSH_STEP_MS) {
		if (!ddprof_cli_sink_flush(&ss->sink, FLUSH_STEP_MS))
			return true;
		if (!handle_signals(ss))
			return false;
	}
	return true;
}

/* Prints the summary (after the last uploads were handled). Returns
 * whether every export succeeded. */
static bool finish(struct session *ss)
{
	char outcome[4 * PATH_MAX];
	bool ok;

	if (ddprof_cli_sink_finish(&ss->sink, 0))
		ddprof_cli_msg(DDPROF_LOG_ERROR, "uploads still pending after %d s were dropped",
			       FLUSH_TIMEOUT_MS / 1000);
	ok = ddprof_cli_sink_outcome(&ss->sink, outcome, sizeof(outcome));
	refresh_stats(ss);
	ddprof_cli_msg_status(0, NULL, true);
	print_details(ss);
	if (ss->o->verbosity >= 0)
		ddprof_cli_summary_print(stderr, &ss->stats, self_cpu_seconds(),
					 outcome, &ss->sink.top,
					 ss->sink.last_path[0] ? ss->sink.last_path : NULL);
	else if (!ok)
		fputs(outcome, stderr);
	return ok;
}

/* Kernel symbols are read on the first kernel frame, which takes ~100 ms
 * (/proc/kallsyms): do it now, before counting starts, rather than while
 * the first samples pile up in the rings. */
static void warm_up_kernel_symbols(struct ddprof_symbolizer *sym)
{
	const struct ddprof_frame f = { .pc = 0xffffffff81000000ULL,
					.kind = DDPROF_FRAME_KERNEL };
	struct ddprof_symbol out;

	(void)ddprof_symbolizer_lookup(sym, 0, &f, &out);
}

static int exit_code_for_open(int err)
{
	if (err == -DDPROF_ERR_UNSUPPORTED || err == -DDPROF_ERR_INVALID)
		return DDPROF_CLI_EXIT_USAGE;
	return DDPROF_CLI_EXIT_FAILURE;
}

static int exit_code_for_exec(int err)
{
	/* as a shell reports a command it could not run */
	return err == -ENOENT ? 127 : err == -EACCES ? 126 : DDPROF_CLI_EXIT_FAILURE;
}

static int setup(struct session *ss, int *code)
{
	struct ddprof_sampler_stats st;
	int ret;

	*code = DDPROF_CLI_EXIT_FAILURE;
	ss->res = malloc(sizeof(*ss->res));
	ss->locs = malloc(sizeof(*ss->locs) * (DDPROF_UNWIND_MAX_DEPTH + 1));
	if (!ss->res || !ss->locs) {
		ddprof_cli_msg(DDPROF_LOG_ERROR, "out of memory");
		return -ENOMEM;
	}
	if ((ret = setup_signals(ss))) {
		ddprof_cli_msg(DDPROF_LOG_ERROR, "signals: %s", ddprof_strerror(ret));
		return ret;
	}
	if ((ret = ddprof_cli_sink_init(&ss->sink, ss->o))) {
		if (ret == -DDPROF_ERR_INVALID)
			*code = DDPROF_CLI_EXIT_USAGE;
		return ret;
	}
	if ((ret = ddprof_unwind_new(&ss->unw)) ||
	    (ret = ddprof_symbolizer_new(&ss->sym))) {
		ddprof_cli_msg(DDPROF_LOG_ERROR, "cannot set up unwinding: %s",
			       ddprof_strerror(ret));
		return ret;
	}
	/* the sampler logs why it failed, with advice */
	if ((ret = open_sampler(ss))) {
		ss->smp = NULL;
		*code = exit_code_for_open(ret);
		return ret;
	}
	ddprof_sampler_stats(ss->smp, &st);
	if (st.kernel_frames)
		warm_up_kernel_symbols(ss->sym);
	if ((ret = ddprof_cli_agg_init(&ss->agg, st.event[0] ? st.event : ss->o->event,
				       ss->o->freq, ss->o->timeline))) {
		ddprof_cli_msg(DDPROF_LOG_ERROR, "cannot create the profile: %s",
			       ddprof_strerror(ret));
		return ret;
	}
	if ((ret = setup_loop(ss))) {
		ddprof_cli_msg(DDPROF_LOG_ERROR, "event loop: %s", ddprof_strerror(ret));
		return ret;
	}
	return 0;
}

static void teardown(struct session *ss)
{
	if (ss->child) {
		/* setup failed after the command was started: do not leave
		 * it orphaned */
		ddprof_sampler_kill_child(ss->smp, SIGKILL);
		waitpid(ss->child, NULL, 0);
		ddprof_sampler_child_reaped(ss->smp);
	}
	ddprof_sampler_close(ss->smp);
	ddprof_cli_agg_fini(&ss->agg);
	ddprof_cli_sink_fini(&ss->sink);
	ddprof_symbolizer_free(ss->sym);
	ddprof_unwind_free(ss->unw);
	free(ss->res);
	free(ss->locs);
	if (ss->epfd >= 0)
		close(ss->epfd);
	if (ss->tfd >= 0)
		close(ss->tfd);
	if (ss->sfd >= 0)
		close(ss->sfd);
	sigprocmask(SIG_SETMASK, &ss->oldmask, NULL);
}

int ddprof_cli_session_run(const struct ddprof_cli_opts *o)
{
	struct session ss = { .o = o, .epfd = -1, .tfd = -1, .sfd = -1 };
	uint64_t start;
	int code, ret;
	bool ok;

	sigprocmask(SIG_SETMASK, NULL, &ss.oldmask);
	ddprof_cli_status_init(&ss.status, STDERR_FILENO, o->verbosity >= 0, now_ns());
	ddprof_cli_msg_init(o->verbosity, &ss.status);
	if (setup(&ss, &code))
		goto out;
	ss.child = ddprof_sampler_child(ss.smp);
	if ((ret = ddprof_sampler_start(ss.smp))) {
		ss.child = ddprof_sampler_child(ss.smp);
		code = o->mode == DDPROF_CLI_MODE_WRAP ? exit_code_for_exec(ret) :
							  DDPROF_CLI_EXIT_FAILURE;
		goto out;
	}
	ss.sampling = true;
	ddprof_cli_agg_start(&ss.agg);
	start = now_ns();
	ddprof_cli_status_init(&ss.status, STDERR_FILENO, o->verbosity >= 0, start);
	if (o->period_ns)
		ss.period_end = start + o->period_ns;
	if (o->duration_ns)
		ss.duration_end = start + o->duration_ns;

	if (!loop(&ss, false) || !flush_uploads(&ss))
		goto abort;
	ok = finish(&ss);
	if (o->mode != DDPROF_CLI_MODE_WRAP) {
		code = ok ? 0 : DDPROF_CLI_EXIT_FAILURE;
		goto out;
	}
	/* -d or a signal: the command goes on; its status is ours */
	if (!loop(&ss, true))
		goto abort;
	code = ss.child_code == 0 && !ok ? DDPROF_CLI_EXIT_FAILURE : ss.child_code;
	goto out;
abort:
	/* a second SIGINT/SIGTERM: exit at once, the command keeps the
	 * signal it was sent */
	ss.child = 0;
	code = 128 + ss.last_signal;
out:
	teardown(&ss);
	return code;
}
