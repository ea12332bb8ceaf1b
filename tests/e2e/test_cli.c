/* End-to-end tests of the ddprof-perf command: runs build/ddprof-perf on
 * the demo workload in each mode and checks exit codes, usage errors, the
 * summary, the pprof files (decoded, and opened with go tool pprof), the
 * status line on a terminal, SIGINT, --period rotation, --duration, an
 * upload to a loopback server and a full disk. Where perf_event_open is
 * not permitted, the sampling tests are skipped (cmocka skip), the usage
 * tests still run. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../lib/http_server.h"
#include "../lib/multipart.h"
#include "../lib/perf_access.h"
#include "../lib/pprof_reader.h"

#define MAX_ARGS 32
#define RUN_TIMEOUT_MS 20000

static char bin[512], demo[512], tmp[] = "/tmp/ddprof-cli-e2e-XXXXXX";

struct run {
	int status;   /* exit code, or 128 + signal */
	char *out;    /* stdout, NUL-terminated */
	char *err;    /* stderr */
};

/* Starts argv with stdout/stderr going to files in tmp and env entries
 * "K=V" added. With tty >= 0 (a pty slave), stderr goes there and it is
 * the controlling terminal of a new session, as in an interactive shell. */
static pid_t spawn(char *const *argv, const char *const *env, int tty)
{
	char out[600];
	pid_t pid;

	/* no output of an earlier run may be mistaken for this one's */
	snprintf(out, sizeof(out), "%s/stdout", tmp);
	unlink(out);
	pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char path[600];
		int fd;

		snprintf(path, sizeof(path), "%s/stdout", tmp);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		if (tty >= 0) {
			setsid();
			ioctl(tty, TIOCSCTTY, 0);
			dup2(tty, 2);
		} else {
			snprintf(path, sizeof(path), "%s/stderr", tmp);
			dup2(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
			/* our own group: signals we send reach us alone */
			setpgid(0, 0);
		}
		for (const char *const *e = env; e && *e; e++)
			putenv((char *)*e);
		execv(argv[0], argv);
		_exit(126);
	}
	return pid;
}

/* Waits for pid up to timeout_ms (then kills it and fails). */
static int wait_exit(pid_t pid, long timeout_ms)
{
	int st;

	for (long t = 0;; t += 10) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			break;
		if (t >= timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("process %d did not exit within %ld ms", (int)pid,
				 timeout_ms);
		}
		usleep(10000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void collect(struct run *r, int status)
{
	char path[600];

	r->status = status;
	snprintf(path, sizeof(path), "%s/stdout", tmp);
	r->out = pprof_slurp(path, NULL);
	snprintf(path, sizeof(path), "%s/stderr", tmp);
	r->err = pprof_slurp(path, NULL);
	assert_non_null(r->out);
	assert_non_null(r->err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* Fails with the profiler's stderr when the exit status is not want. */
static void expect_status(const struct run *r, int want)
{
	if (r->status != want)
		fail_msg("exit status %d, expected %d; stderr:\n%s", r->status,
			 want, r->err);
}

/* Runs ddprof-perf with the NULL-terminated arguments after env. */
static void run_env(struct run *r, const char *const *env, ...)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	va_list ap;

	argv[argc++] = bin;
	va_start(ap, env);
	for (char *a = va_arg(ap, char *); a; a = va_arg(ap, char *)) {
		assert_true(argc <= MAX_ARGS);
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;
	collect(r, wait_exit(spawn(argv, env, -1), RUN_TIMEOUT_MS));
}

#define run(r, ...) run_env(r, NULL, __VA_ARGS__, NULL)

static char *path_in_tmp(const char *name)
{
	static char paths[8][600];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", tmp, name);
	return p;
}

/* Checks the summary's fixed first line and returns its sample count. */
static unsigned long summary_samples(const char *err)
{
	const char *line = strstr(err, "ddprof-perf: ");
	unsigned long n, lost;
	double complete, us;

	/* the summary line is the first one of this shape */
	while (line && sscanf(line, "ddprof-perf: %lu samples, %lu lost, %lf%% complete stacks, %lf us CPU per sample",
			      &n, &lost, &complete, &us) != 4)
		line = strstr(line + 1, "ddprof-perf: ");
	if (!line)
		fail_msg("no summary line in:\n%s", err);
	assert_true(complete >= 0 && complete <= 100);
	return n;
}

/* Reads and decodes a gzip pprof file. */
static void read_profile(const char *path, struct pprof_profile *p)
{
	if (pprof_read_file(path, p))
		fail_msg("cannot read a profile at %s", path);
}

/* Share (0..1) of the second value column whose leaf function is name. */
static double self_share(const struct pprof_profile *p, const char *name)
{
	int64_t total = 0;

	for (size_t i = 0; i < p->nsamples; i++)
		total += p->samples[i].values[1];
	return total ? (double)pprof_leaf_sum(p, name, 1) / (double)total : 0;
}

static void expect_usage_error(const char *want, ...)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	struct run r;
	va_list ap;

	argv[argc++] = bin;
	va_start(ap, want);
	for (char *a = va_arg(ap, char *); a; a = va_arg(ap, char *))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	collect(&r, wait_exit(spawn(argv, NULL, -1), RUN_TIMEOUT_MS));
	if (r.status != 2 || !strstr(r.err, want))
		fail_msg("want exit 2 and '%s', got %d:\n%s", want, r.status, r.err);
	/* exactly one line */
	assert_non_null(strchr(r.err, '\n'));
	assert_int_equal(strchr(r.err, '\n')[1], '\0');
	run_free(&r);
}

/* ---- tests -------------------------------------------------------------- */

static bool perf_ok;

/* Tests that sample skip (reported as skipped, not passed) where
 * perf_event_open is not permitted; usage tests run everywhere. */
static void need_perf(void)
{
	if (!perf_ok)
		skip();
}

static void test_usage(void **state)
{
	struct run r;

	expect_usage_error("nothing to profile", NULL);
	expect_usage_error("frequency must be", "-F", "0", "true", NULL);
	expect_usage_error("frequency must be", "-F", "1000000000", "true", NULL);
	expect_usage_error("multiple of 8", "--stack-size", "1", "true", NULL);
	expect_usage_error("conflict", "-a", "true", NULL);
	expect_usage_error("invalid PID", "-p", "x1", NULL);
	expect_usage_error("no process with PID", "-p", "4194304", NULL);
	expect_usage_error("does not exist", "-o", "/nonexistent-dir/x.pb.gz",
			   "true", NULL);
	expect_usage_error("unknown option", "--frequency", "9", "true", NULL);

	run(&r, "--help");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "Usage: ddprof-perf"));
	run_free(&r);
	run(&r, "--version");
	expect_status(&r, 0);
	assert_non_null(strstr(r.out, "ddprof-perf 0."));
	run_free(&r);
}

static void test_man_page(void **state)
{
	char cmd[700];
	int st;

	if (system("command -v mandoc >/dev/null 2>&1") != 0)
		skip();
	snprintf(cmd, sizeof(cmd), "mandoc -Tlint -Wstyle '%s/man/ddprof-perf.1' >&2",
		 DDPROF_TEST_SRC_DIR);
	st = system(cmd);
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_wrap_demo(void **state)
{
	need_perf();
	char *out = path_in_tmp("wrap.pb.gz"), *top = NULL;
	struct pprof_profile p;
	const struct pprof_sample *s;
	size_t len;
	char *buf;
	struct run r;

	run(&r, "-F", "499", "-o", out, "--", demo, "0.6");
	expect_status(&r, 0);
	assert_true(summary_samples(r.err) > 100);
	assert_non_null(strstr(r.err, out));
	assert_non_null(strstr(r.err, "open it with: go tool pprof -http=: "));
	assert_non_null(strstr(r.err, "compress_block"));
	/* stderr is not a terminal: no status line */
	assert_null(strchr(r.err, '\r'));
	assert_null(strstr(r.out + 0, "ddprof-perf")); /* summary on stderr */
	assert_non_null(strstr(r.out, "demo: 2 threads"));

	read_profile(out, &p);
	assert_int_equal(p.nsample_types, 2);
	assert_string_equal(pprof_str(&p, p.sample_types[0].type), "cpu-samples");
	assert_string_equal(pprof_str(&p, p.sample_types[0].unit), "count");
	assert_string_equal(pprof_str(&p, p.sample_types[1].type), "cpu-time");
	assert_string_equal(pprof_str(&p, p.sample_types[1].unit), "nanoseconds");
	assert_true(p.nsamples > 0);
	s = &p.samples[0];
	assert_non_null(pprof_label(&p, s, "process_id"));
	assert_non_null(pprof_label(&p, s, "thread id"));
	assert_non_null(pprof_label(&p, s, "thread_name"));
	assert_non_null(pprof_label(&p, s, "process_name"));
	/* the known split, with room for a busy machine */
	if (self_share(&p, "compress_block") < 0.35 ||
	    self_share(&p, "parse_records") < 0.18 ||
	    self_share(&p, "render_frame") < 0.10)
		fail_msg("split off: compress %.2f parse %.2f render %.2f",
			 self_share(&p, "compress_block"),
			 self_share(&p, "parse_records"),
			 self_share(&p, "render_frame"));
	pprof_profile_free(&p);

	buf = pprof_slurp(out, &len);
	assert_non_null(buf);
	switch (pprof_go_tool(buf, len, "-top", &top)) {
	case 77:
		break; /* go is missing: the decode above still checked it */
	case 0:
		if (!strstr(top, "compress_block") || !strstr(top, "parse_records"))
			fail_msg("go tool pprof -top:\n%s", top);
		break;
	default:
		fail_msg("go tool pprof -top failed:\n%s", top);
	}
	free(top);
	free(buf);
	run_free(&r);
}

static void test_exit_codes(void **state)
{
	need_perf();
	struct run r;

	run(&r, "-q", "-o", path_in_tmp("x.pb.gz"), "--", "/bin/sh", "-c", "exit 3");
	expect_status(&r, 3);
	assert_string_equal(r.err, ""); /* -q: errors only */
	run_free(&r);
	run(&r, "-q", "-o", path_in_tmp("x.pb.gz"), "--", "/bin/sh", "-c",
	    "kill -TERM $$");
	expect_status(&r, 128 + SIGTERM);
	run_free(&r);
	run(&r, "-o", path_in_tmp("x.pb.gz"), "--", "/nonexistent/command");
	expect_status(&r, 127);
	assert_true(strlen(r.err) > 0);
	run_free(&r);
}

/* Waits (up to 10 s) until the demo run by the profiler printed its first
 * line: the command runs and is being sampled. */
static void wait_started(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/stdout", tmp);
	for (int i = 0; i < 1000; i++) {
		char *out = pprof_slurp(path, NULL);
		bool started = out && strstr(out, "demo: ");

		free(out);
		if (started)
			return;
		usleep(10000);
	}
	fail_msg("the demo did not start");
}

static void test_sigint_flush(void **state)
{
	need_perf();
	char *out = path_in_tmp("int.pb.gz");
	char *argv[] = { bin, "-F", "199", "-o", out, "--", demo, "30", NULL };
	struct pprof_profile p;
	struct timespec t0, t1;
	struct run r;
	pid_t pid;

	unlink(out);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = spawn(argv, NULL, -1);
	wait_started();
	usleep(500000);
	assert_int_equal(kill(pid, SIGINT), 0);
	collect(&r, wait_exit(pid, 10000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* forwarded to the demo, which died of it: its status is ours */
	expect_status(&r, 128 + SIGINT);
	assert_true(t1.tv_sec - t0.tv_sec < 6);
	assert_true(summary_samples(r.err) > 0);
	read_profile(out, &p);
	assert_true(p.nsamples > 0);
	pprof_profile_free(&p);
	run_free(&r);
}

static void test_period_rotation(void **state)
{
	need_perf();
	char *base = path_in_tmp("rot.pb.gz");
	char pattern[700];
	struct pprof_profile p;
	struct run r;
	glob_t g;

	run(&r, "--period", "0.3", "-o", base, "--", demo, "0.5");
	expect_status(&r, 0);
	/* one numbered file per period, no leftovers, each a whole profile */
	snprintf(pattern, sizeof(pattern), "%s/rot.*", tmp);
	assert_int_equal(glob(pattern, 0, NULL, &g), 0);
	if (g.gl_pathc < 2)
		fail_msg("%zu files for a run of ~1 s with --period 0.3", g.gl_pathc);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char want[700];

		snprintf(want, sizeof(want), "%s/rot.%04zu.pb.gz", tmp, i + 1);
		assert_string_equal(g.gl_pathv[i], want);
		read_profile(g.gl_pathv[i], &p);
		pprof_profile_free(&p);
	}
	assert_non_null(strstr(r.err, "profiles written"));
	globfree(&g);
	assert_int_equal(access(base, F_OK), -1);
	run_free(&r);
}

static void test_duration_command_goes_on(void **state)
{
	need_perf();
	char *out = path_in_tmp("dur.pb.gz"), *marker = path_in_tmp("marker");
	char script[1200];
	struct pprof_profile p;
	struct run r;

	snprintf(script, sizeof(script), "'%s' 0.8 >/dev/null; echo done > '%s'; exit 5",
		 demo, marker);
	unlink(marker);
	run(&r, "-d", "0.3", "-o", out, "--", "/bin/sh", "-c", script);
	/* profiling stopped early; the command finished and its status is ours */
	expect_status(&r, 5);
	assert_int_equal(access(marker, F_OK), 0);
	read_profile(out, &p);
	assert_true(p.nsamples > 0);
	/* 0.3 s of two threads at 99 Hz (~60): fewer than the run's ~160 */
	assert_true(summary_samples(r.err) < 120);
	pprof_profile_free(&p);
	run_free(&r);
}

/* Starts the demo for secs, as a process of its own (not under the
 * profiler), and gives it time to start its threads. */
static pid_t start_demo(char *secs)
{
	char *argv[] = { demo, secs, NULL };
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execv(demo, argv);
		_exit(126);
	}
	usleep(200000);
	return pid;
}

static void test_attach(void **state)
{
	need_perf();
	char *out = path_in_tmp("attach.pb.gz");
	char pidarg[32];
	struct pprof_profile p;
	const struct pprof_label *l;
	struct run r;
	pid_t target = start_demo("3");

	snprintf(pidarg, sizeof(pidarg), "%d", (int)target);
	run(&r, "-p", pidarg, "-d", "1", "-o", out);
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	expect_status(&r, 0);
	assert_true(summary_samples(r.err) > 0);
	read_profile(out, &p);
	assert_true(p.nsamples > 0);
	for (size_t i = 0; i < p.nsamples; i++) {
		l = pprof_label(&p, &p.samples[i], "process_id");
		if (l) /* [lost] samples carry no process */
			assert_int_equal(l->num, target);
	}
	assert_true(self_share(&p, "compress_block") > 0.2);
	pprof_profile_free(&p);
	run_free(&r);
}

static void test_system_wide(void **state)
{
	need_perf();
	char *out = path_in_tmp("all.pb.gz");
	struct pprof_profile p;
	size_t seen = 0;
	struct run r;
	pid_t target = start_demo("2");

	run(&r, "-a", "-d", "0.6", "-o", out);
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	expect_status(&r, 0);
	read_profile(out, &p);
	/* the demo is seen among everything else running */
	for (size_t i = 0; i < p.nsamples; i++) {
		const struct pprof_label *l =
			pprof_label(&p, &p.samples[i], "process_id");

		if (l && l->num == target)
			seen++;
	}
	assert_true(seen > 0);
	assert_true(self_share(&p, "compress_block") > 0);
	pprof_profile_free(&p);
	run_free(&r);
}

static void test_timeline(void **state)
{
	need_perf();
	char *out = path_in_tmp("tl.pb.gz");
	struct pprof_profile p;
	struct run r;
	size_t stamped = 0;

	run(&r, "--timeline", "-o", out, "--", demo, "0.3");
	expect_status(&r, 0);
	read_profile(out, &p);
	for (size_t i = 0; i < p.nsamples; i++) {
		const struct pprof_label *l =
			pprof_label(&p, &p.samples[i], "end_timestamp_ns");

		if (l) {
			stamped++;
			/* within the run: after the profile started */
			assert_true(l->num >= p.time_nanos);
		}
	}
	assert_true(stamped > 10);
	pprof_profile_free(&p);
	run_free(&r);
}

static void test_upload_loopback(void **state)
{
	need_perf();
	struct http_server *srv = http_server_start(NULL);
	const struct http_request *req;
	const struct multipart_part *part;
	struct pprof_profile p;
	struct multipart mp;
	char url[256];
	struct run r;

	assert_non_null(srv);
	snprintf(url, sizeof(url), "%s", http_server_url(srv));
	run(&r, "--url", url, "--period", "0.3", "--service", "e2e-svc",
	    "--tags", "team:prof", "--", demo, "0.4");
	expect_status(&r, 0);
	assert_non_null(strstr(r.err, "uploaded to"));
	assert_true(http_server_count(srv) >= 2);
	req = http_server_request(srv, 0);
	assert_string_equal(req->method, "POST");
	assert_string_equal(req->target, "/profiling/v1/input");
	assert_int_equal(multipart_parse(&mp, http_request_header(req, "Content-Type"),
					 req->body, req->body_len), 0);
	part = multipart_find(&mp, "event");
	assert_non_null(part);
	assert_non_null(memmem(part->data, part->len, "service:e2e-svc", 15));
	assert_non_null(memmem(part->data, part->len, "team:prof", 9));
	part = multipart_find(&mp, "profile.pprof");
	assert_non_null(part);
	assert_true(part->len > 4);
	assert_memory_equal(part->data, "\x04\x22\x4d\x18", 4); /* LZ4 frame */
	assert_int_equal(pprof_read(part->data, part->len, &p), 0);
	pprof_profile_free(&p);
	multipart_fini(&mp);
	run_free(&r);
	http_server_stop(srv);
}

static void test_upload_agentless_unix(void **state)
{
	need_perf();
	static const char *const env[] = { "DD_API_KEY=e2e-secret-key", NULL };
	char sock[700], url[800];
	struct http_server *srv;
	const struct http_request *req;
	struct run r;

	/* agentless: the whole intake URL overridden, the key in a header */
	srv = http_server_start(NULL);
	assert_non_null(srv);
	snprintf(url, sizeof(url), "%s/api/v2/profile", http_server_url(srv));
	run_env(&r, env, "--agentless", "--url", url, "-q", "--", demo, "0.2", NULL);
	expect_status(&r, 0);
	assert_null(strstr(r.err, "e2e-secret-key"));
	assert_int_equal(http_server_count(srv), 1); /* one period: the run */
	req = http_server_request(srv, 0);
	assert_string_equal(req->target, "/api/v2/profile");
	assert_non_null(http_request_header(req, "DD-API-KEY"));
	assert_string_equal(http_request_header(req, "DD-API-KEY"), "e2e-secret-key");
	run_free(&r);
	http_server_stop(srv);

	/* the agent over a Unix socket, from the environment */
	snprintf(sock, sizeof(sock), "%s/agent.sock", tmp);
	srv = http_server_start(sock);
	assert_non_null(srv);
	snprintf(url, sizeof(url), "DD_TRACE_AGENT_URL=unix://%s", sock);
	{
		const char *const env2[] = { url, NULL };

		run_env(&r, env2, "--upload", "--", demo, "0.2", NULL);
	}
	expect_status(&r, 0);
	assert_int_equal(http_server_count(srv), 1);
	assert_string_equal(http_server_request(srv, 0)->target,
			    "/profiling/v1/input");
	assert_non_null(strstr(r.err, "1 profile uploaded to unix://"));
	run_free(&r);
	http_server_stop(srv);
}

static void test_upload_agent_down(void **state)
{
	need_perf();
	struct run r;

	/* nothing listens on port 1: sampling goes on, failure is reported */
	run(&r, "--url", "http://127.0.0.1:1", "--period", "0.3", "--", demo, "0.3");
	expect_status(&r, 1);
	assert_true(summary_samples(r.err) > 0);
	assert_non_null(strstr(r.err, "failed"));
	run_free(&r);
}

static void test_disk_full(void **state)
{
	need_perf();
	const char *e;
	unsigned n = 0;
	struct run r;

	run(&r, "--period", "0.2", "-o", "/dev/full", "--", demo, "0.4");
	/* the command succeeded, the profile could not be written: 1 */
	expect_status(&r, 1);
	assert_true(summary_samples(r.err) > 0);
	for (e = r.err; (e = strstr(e, "cannot write /dev/full")); e++)
		n++;
	/* reported once per period (not per sample), and the summary
	 * counts the same periods; sampling went on through all of them */
	e = strstr(r.err, "profiles not written to /dev/full");
	assert_non_null(e);
	while (e > r.err && e[-1] != ' ')
		e--;
	while (e > r.err && e[-1] == ' ')
		e--;
	while (e > r.err && e[-1] >= '0' && e[-1] <= '9')
		e--;
	assert_int_equal(n, strtoul(e, NULL, 10));
	assert_true(n >= 2);
	assert_non_null(strstr(r.err, "No space left on device"));
	assert_int_equal(access("/dev/full.tmp", F_OK), -1);
	run_free(&r);

	/* a directory nobody may write to (sysfs refuses even root) */
	run(&r, "-o", "/sys/ddprof-e2e.pb.gz", "--", demo, "0.1");
	expect_status(&r, 1);
	assert_true(summary_samples(r.err) > 0);
	assert_non_null(strstr(r.err, "cannot write /sys/ddprof-e2e.pb.gz: "));
	assert_null(strstr(r.err, "sampling goes on")); /* it was the last period */
	run_free(&r);
}

/* Opens a pty: *master for the test, the slave returned. */
static int open_pty(int *master)
{
	int slave;

	*master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(*master >= 0);
	assert_int_equal(grantpt(*master), 0);
	assert_int_equal(unlockpt(*master), 0);
	slave = open(ptsname(*master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	return slave;
}

/* Reads the master until the terminal closes (or 5 s of silence). */
static size_t read_pty(int master, char *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 5000) <= 0)
			break;
		n = read(master, buf + got, len - 1 - got);
		if (n <= 0)
			break; /* EIO once the last writer closed */
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

static void test_status_line_on_tty(void **state)
{
	need_perf();
	/* the line is first drawn after a second: run longer than that */
	char *argv[] = { bin, "-o", path_in_tmp("tty.pb.gz"), "--", demo, "1.6", NULL };
	char buf[8192];
	int master, slave = open_pty(&master);
	pid_t pid = spawn(argv, NULL, slave);

	close(slave);
	read_pty(master, buf, sizeof(buf));
	assert_int_equal(wait_exit(pid, 10000), 0);
	close(master);
	/* drawn at least once, erased, and the summary on a clean line */
	if (!strstr(buf, "\r\033[Kddprof-perf: 0:0") || !strstr(buf, " samples  "))
		fail_msg("no status line in:\n%s", buf);
	assert_non_null(strstr(buf, "\r\033[Kddprof-perf: "));
	assert_non_null(strstr(buf, "complete stacks"));
}

/* ^C on the terminal: the command gets SIGINT from the terminal once (not
 * a second time from the profiler), the profile is written, exit 130. */
static void test_ctrl_c_on_tty(void **state)
{
	need_perf();
	char *out = path_in_tmp("ctrlc.pb.gz");
	char *argv[] = { bin, "-o", out, "--", demo, "30", NULL };
	struct pprof_profile p;
	char buf[8192];
	int master, slave = open_pty(&master);
	pid_t pid = spawn(argv, NULL, slave);

	close(slave);
	wait_started();
	usleep(300000);
	assert_int_equal(write(master, "\003", 1), 1);
	read_pty(master, buf, sizeof(buf));
	assert_int_equal(wait_exit(pid, 10000), 128 + SIGINT);
	close(master);
	if (!strstr(buf, "complete stacks"))
		fail_msg("no summary on the terminal:\n%s", buf);
	read_profile(out, &p);
	assert_true(p.nsamples > 0);
	pprof_profile_free(&p);
}

static int setup(void **state)
{
	const char *build = getenv("DDPROF_TEST_BUILD_DIR");

	if (!build || !*build)
		build = DDPROF_TEST_BUILD_DIR;
	snprintf(bin, sizeof(bin), "%s/ddprof-perf", build);
	snprintf(demo, sizeof(demo), "%s/workloads/demo", build);
	if (access(bin, X_OK) || access(demo, X_OK)) {
		fprintf(stderr, "missing %s or %s: run make\n", bin, demo);
		return -1;
	}
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_man_page),
		cmocka_unit_test(test_wrap_demo),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_sigint_flush),
		cmocka_unit_test(test_period_rotation),
		cmocka_unit_test(test_duration_command_goes_on),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_system_wide),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_upload_loopback),
		cmocka_unit_test(test_upload_agentless_unix),
		cmocka_unit_test(test_upload_agent_down),
		cmocka_unit_test(test_disk_full),
		cmocka_unit_test(test_status_line_on_tty),
		cmocka_unit_test(test_ctrl_c_on_tty),
	};

	char why[256];

	perf_ok = ddprof_test_perf_usable(why, sizeof(why));
	if (!perf_ok)
		fprintf(stderr, "skipping the sampling tests: %s\n", why);
	return cmocka_run_group_tests(tests, setup, teardown);
}
