/* The wrapped command: forked early and parked on a pipe so its events can
 * be opened before it runs anything, then released to execvp. An error
 * pipe (closed by a successful exec) carries execvp's errno back. */
#ifndef DDPROF_PERF_CHILD_H
#define DDPROF_PERF_CHILD_H

#include <sys/types.h>

struct ddprof_child {
	pid_t pid;    /* 0: none (never spawned, or reaped) */
	int go_fd;    /* write end: one byte releases the child; -1 after */
	int err_fd;   /* read end of the CLOEXEC error pipe; -1 after */
};

/* Forks argv[0] parked before exec. The child gets an empty signal mask
 * and default SIGPIPE/SIGCHLD whatever the profiler set up, and exits 127
 * quietly if the profiler goes away before releasing it. Returns 0 or
 * -errno. */
int ddprof_child_spawn(struct ddprof_child *c, char *const argv[]);

/* Releases the child and waits for the outcome of its execvp. Returns 0
 * when it exec'd; -errno of execvp (logged) after reaping the child. */
int ddprof_child_release(struct ddprof_child *c, const char *name);

/* Kills (SIGKILL) and reaps a child that is parked or running; closes
 * the pipes. Safe on a child that was never spawned. */
void ddprof_child_kill(struct ddprof_child *c);

/* Closes the pipes only. */
void ddprof_child_fini(struct ddprof_child *c);

#endif
