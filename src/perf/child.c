/* Spawning the wrapped command. Between fork and exec only async-signal-
 * safe calls are made: the profiler may already run other threads. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "perf/child.h"
#include "perf/sampler.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void child_main(int go, int err_pipe, char *const argv[])
{
	sigset_t none;
	char b;
	ssize_t n;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	do {
		n = read(go, &b, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127); /* the profiler gave up (or died) */
	close(go);
	execvp(argv[0], argv);
	e = errno;
	while (write(err_pipe, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

int ddprof_child_spawn(struct ddprof_child *c, char *const argv[])
{
	int go[2], ep[2], err;
	pid_t pid;

	c->pid = 0;
	c->go_fd = c->err_fd = -1;
	if (!argv || !argv[0])
		return -EINVAL;
	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		err = -errno;
		goto close_go;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto close_ep;
	}
	if (pid == 0) {
		close(go[1]);
		close(ep[0]);
		child_main(go[0], ep[1], argv);
	}
	close(go[0]);
	close(ep[1]);
	c->pid = pid;
	c->go_fd = go[1];
	c->err_fd = ep[0];
	return 0;
close_ep:
	close(ep[0]);
	close(ep[1]);
close_go:
	close(go[0]);
	close(go[1]);
	return err;
}

static void reap(struct ddprof_child *c)
{
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
}

int ddprof_child_release(struct ddprof_child *c, const char *name)
{
	const char go = 'g';
	ssize_t n;
	int e = 0;

	if (c->go_fd < 0)
		return -EINVAL;
	while ((n = write(c->go_fd, &go, 1)) < 0 && errno == EINTR)
		;
	close_fd(&c->go_fd);
	if (n != 1) {
		e = errno;
		pr_err("cannot start '%s': %s", name, strerror(e));
		ddprof_child_kill(c);
		return -e;
	}
	/* EOF: the exec closed the pipe; 4 bytes: execvp's errno */
	while ((n = read(c->err_fd, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close_fd(&c->err_fd);
	if (n == 0)
		return 0;
	if (n != sizeof(e))
		e = EIO;
	if (e == ENOENT)
		pr_err("%s: command not found", name);
	else
		pr_err("cannot run '%s': %s", name, strerror(e));
	reap(c);
	return -e;
}

void ddprof_child_kill(struct ddprof_child *c)
{
	ddprof_child_fini(c);
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		reap(c);
	}
}

void ddprof_child_fini(struct ddprof_child *c)
{
	close_fd(&c->go_fd);
	close_fd(&c->err_fd);
}

int ddprof_wait_status_code(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WEXITSTATUS(wstatus);
}
