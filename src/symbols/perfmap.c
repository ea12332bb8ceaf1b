/* Perf map reader. The file lives in a world-writable directory, so it is
 * opened without following a final symlink and trusted only when owned by
 * the user the process runs as; and it is looked up inside the process's
 * root as if that were "/", so a container whose /tmp is a symlink cannot
 * point the profiler at a file of the host. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "symbols/addr_search.h"
#include "symbols/perfmap.h"

/* The pid the process sees itself as (last NSpid field), else pid. */
static pid_t ns_pid(pid_t pid)
{
	char path[64], line[256];
	pid_t ns = pid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			ns = v;
			p = end;
		}
		break;
	}
	fclose(f);
	return ns;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ddprof_perfmap_entry *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int parse(struct ddprof_perfmap *m, FILE *f)
{
	struct ddprof_perfmap_entry *e = NULL;
	size_t n = 0, cap = 0, len = 0;
	struct ddprof_arena arena;
	char *line = NULL;
	ssize_t r;

	ddprof_arena_init(&arena);
	while ((r = getline(&line, &len, f)) > 0) {
		uint64_t start, size;
		int off = 0;
		const char *name;

		if (line[r - 1] == '\n')
			line[--r] = 0;
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %n", &start, &size,
			   &off) < 2 || !off || !size)
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 256;
			void *p = realloc(e, ncap * sizeof(*e));

			if (!p)
				goto nomem;
			e = p;
			cap = ncap;
		}
		name = ddprof_arena_str(&arena, line + off);
		if (!name)
			goto nomem;
		e[n++] = (struct ddprof_perfmap_entry){ start, size, name };
	}
	free(line);
	if (n) /* an empty map leaves e NULL, which qsort must not get */
		qsort(e, n, sizeof(*e), cmp_entry);
	ddprof_perfmap_fini(m);
	m->e = e;
	m->n = n;
	m->arena = arena;
	return 0;
nomem:
	free(line);
	free(e);
	ddprof_arena_reset(&arena);
	return -ENOMEM;
}

/* Opens the process's tmp/perf-NSPID.map relative to its root directory,
 * every symlink on the way resolved inside that root (RESOLVE_IN_ROOT),
 * the last component not followed. Kernels before 5.6, or a seccomp filter
 * that refuses openat2, get a plain openat with O_NOFOLLOW: a symlink
 * earlier in the path then resolves against the profiler's root. Returns
 * an fd or -errno. */
static int open_in_root(pid_t pid)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char path[64];
	int root, fd, err;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	snprintf(path, sizeof(path), "tmp/perf-%d.map", (int)ns_pid(pid));
	fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = openat(root, path, (int)how.flags);
	err = errno;
	close(root);
	return fd < 0 ? -err : fd;
}

int ddprof_perfmap_load(struct ddprof_perfmap *m, pid_t pid)
{
	struct stat st, pst;
	char path[64];
	int fd, err;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &pst))
		return -errno;
	fd = open_in_root(pid);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != pst.st_uid) {
		err = -EPERM;
		goto out_fd;
	}
	if (m->loaded && m->pid == pid && st.st_size == m->size &&
	    st.st_mtim.tv_sec == m->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == m->mtime.tv_nsec) {
		err = 0;
		goto out_fd;
	}
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		goto out_fd;
	}
	err = parse(m, f);
	fclose(f);
	if (!err) {
		m->pid = pid;
		m->loaded = true;
		m->size = st.st_size;
		m->mtime = st.st_mtim;
	}
	return err;
out_fd:
	close(fd);
	return err;
}

void ddprof_perfmap_fini(struct ddprof_perfmap *m)
{
	free(m->e);
	m->e = NULL;
	m->n = 0;
	m->loaded = false;
	ddprof_arena_reset(&m->arena);
}

const struct ddprof_perfmap_entry *ddprof_perfmap_find(const struct ddprof_perfmap *m,
						       uint64_t pc)
{
	size_t lo = ddprof_addr_upper_bound(m->e, m->n, sizeof(*m->e), pc);

	/* a few back: blobs may overlap when a JIT reuses memory */
	for (size_t i = lo, k = 0; i > 0 && k < 8; i--, k++) {
		const struct ddprof_perfmap_entry *e = &m->e[i - 1];

		if (pc - e->start < e->size)
			return e;
	}
	return NULL;
}
