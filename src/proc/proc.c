/* The process table: pid -> mappings (sorted array, binary search), names
 * and threads, kept current from perf records in time order. Exited
 * processes wait on a list until the end of the drain pass, so samples
 * that precede the exit in the same pass still find their mappings. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/u64map.h"
#include "ddprof/error.h"
#include "proc/maps.h"
#include "proc/table.h"

/* A maps file larger than this is refused (a process with ~1M mappings). */
#define MAPS_FILE_MAX (64u << 20)
#define COMM_LEN 16

struct ddprof_thread {
	pid_t tid;
	char comm[COMM_LEN];
};

struct ddprof_proc {
	struct ddprof_proc_table *t;
	pid_t pid;
	char name[COMM_LEN];
	char scratch[COMM_LEN];        /* thread name that could not be kept */
	struct ddprof_map *maps;       /* sorted by start, non-overlapping */
	size_t nr_maps, cap_maps;
	struct ddprof_thread *threads; /* sorted by tid */
	size_t nr_threads, cap_threads;
	uint64_t gen;
	void *user;
	bool exited;                   /* on the dead list */
	struct ddprof_proc *next_dead;
};

struct ddprof_proc_table {
	struct ddprof_u64map pids;     /* pid -> struct ddprof_proc * */
	struct ddprof_u64map files;    /* file key -> mappings referencing it */
	struct ddprof_proc *dead;      /* freed by the next flush */
	struct ddprof_proc_table_cb cb;
	char procfs[128];
	uint64_t live, freed;
};

/* ---- files mapped by live processes ------------------------------------ */

static uint64_t file_key(uint64_t dev, uint64_t ino)
{
	return ddprof_hash_combine(ddprof_hash_u64(dev), ino);
}

static int file_ref(struct ddprof_proc_table *t, const struct ddprof_map *m)
{
	uint64_t *n;

	if (!m->ino)
		return 0;
	n = ddprof_u64map_get(&t->files, file_key(m->dev, m->ino));
	if (n) {
		(*n)++;
		return 0;
	}
	return ddprof_u64map_put(&t->files, file_key(m->dev, m->ino), 1);
}

static void file_unref(struct ddprof_proc_table *t, const struct ddprof_map *m)
{
	uint64_t key = file_key(m->dev, m->ino);
	uint64_t *n;

	if (!m->ino)
		return;
	n = ddprof_u64map_get(&t->files, key);
	if (!n)
		return;
	if (--*n)
		return;
	ddprof_u64map_del(&t->files, key);
	if (t->cb.on_file_unused)
		t->cb.on_file_unused(t->cb.ctx, m->dev, m->ino);
}

/* ---- mappings ---------------------------------------------------------- */

/* Copies src into *dst with its own path string and a file reference. */
static int map_dup(struct ddprof_proc_table *t, struct ddprof_map *dst,
		   const struct ddprof_map *src)
{
	char *path = strdup(src->path ? src->path : "");

	if (!path)
		return -ENOMEM;
	if (file_ref(t, src)) {
		free(path);
		return -ENOMEM;
	}
	*dst = *src;
	dst->path = path;
	return 0;
}

static void map_drop(struct ddprof_proc_table *t, struct ddprof_map *m)
{
	file_unref(t, m);
	free((char *)m->path);
	m->path = NULL;
}

static void maps_clear(struct ddprof_proc *p)
{
	for (size_t i = 0; i < p->nr_maps; i++)
		map_drop(p->t, &p->maps[i]);
	p->nr_maps = 0;
	p->gen++;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 8;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

/* First mapping whose end is above addr (ends are sorted too). */
static size_t maps_lower(const struct ddprof_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nr_maps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->maps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Inserts nm, trimming or splitting the mappings it overlaps (a new mmap
 * over an old range replaces it, as in the kernel). */
static int maps_insert(struct ddprof_proc *p, const struct ddprof_map *nm)
{
	struct ddprof_map piece[3];
	size_t lo, hi, k = 0;
	int err;

	if (nm->end <= nm->start)
		return 0;
	lo = maps_lower(p, nm->start);
	hi = lo;
	while (hi < p->nr_maps && p->maps[hi].start < nm->end)
		hi++;
	if (grow((void **)&p->maps, &p->cap_maps, p->nr_maps + 3,
		 sizeof(*p->maps)))
		return -ENOMEM;
	/* build the replacement pieces before touching the array */
	if (hi > lo && p->maps[lo].start < nm->start) {
		err = map_dup(p->t, &piece[k], &p->maps[lo]);
		if (err)
			goto undo;
		piece[k++].end = nm->start;
	}
	err = map_dup(p->t, &piece[k++], nm);
	if (err) {
		k--;
		goto undo;
	}
	if (hi > lo && p->maps[hi - 1].end > nm->end) {
		const struct ddprof_map *old = &p->maps[hi - 1];

		err = map_dup(p->t, &piece[k], old);
		if (err)
			goto undo;
		piece[k].pgoff += nm->end - old->start;
		piece[k++].start = nm->end;
	}
	for (size_t i = lo; i < hi; i++)
		map_drop(p->t, &p->maps[i]);
	memmove(&p->maps[lo + k], &p->maps[hi],
		(p->nr_maps - hi) * sizeof(*p->maps));
	memcpy(&p->maps[lo], piece, k * sizeof(*piece));
	p->nr_maps = p->nr_maps - (hi - lo) + k;
	p->gen++;
	return 0;
undo:
	while (k)
		map_drop(p->t, &piece[--k]);
	return err;
}

const struct ddprof_map *ddprof_proc_find_map(const struct ddprof_proc *p,
					      uint64_t addr)
{
	size_t i;

	if (!p)
		return NULL;
	i = maps_lower(p, addr);
	if (i < p->nr_maps && p->maps[i].start <= addr)
		return &p->maps[i];
	return NULL;
}

const struct ddprof_map *ddprof_proc_maps(const struct ddprof_proc *p,
					  size_t *nr)
{
	*nr = p->nr_maps;
	return p->maps;
}

uint64_t ddprof_proc_maps_gen(const struct ddprof_proc *p)
{
	return p->gen;
}

/* ---- procfs ------------------------------------------------------------ */

/* Reads a whole procfs file into a malloc'd NUL-terminated buffer. */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	size_t cap = 16384, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!buf || n + 1 >= cap) {
			if (buf)
				cap *= 2;
			if (cap > max) {
				err = -DDPROF_ERR_TOO_BIG;
				break;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Reads a comm file ("name\n") into out[COMM_LEN]. */
static int read_comm(const char *path, char *out)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	buf[n] = '\0';
	n = (ssize_t)strcspn(buf, "\n");
	if (n >= COMM_LEN)
		n = COMM_LEN - 1;
	memcpy(out, buf, (size_t)n);
	out[n] = '\0';
	return 0;
}

int ddprof_proc_reload_maps(struct ddprof_proc *p)
{
	char path[192], *text = NULL, *line, *nl;
	size_t len = 0;
	int err;

	snprintf(path, sizeof(path), "%s/%d/maps", p->t->procfs, (int)p->pid);
	err = read_file(path, MAPS_FILE_MAX, &text, &len);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	maps_clear(p);
	for (line = text; line < text + len; line = nl + 1) {
		struct ddprof_map m;
		const char *mpath;
		size_t plen;

		nl = memchr(line, '\n', (size_t)(text + len - line));
		if (!nl)
			nl = text + len;
		if (ddprof_maps_parse_line(line, (size_t)(nl - line), &m,
					   &mpath, &plen)) {
			pr_debug("pid %d: unparsable maps line skipped",
				 (int)p->pid);
			continue;
		}
		*(char *)(mpath + plen) = '\0'; /* inside text, at the newline */
		m.path = mpath;
		err = maps_insert(p, &m);
		if (err)
			break;
	}
	free(text);
	return err;
}

/* ---- threads ----------------------------------------------------------- */

static size_t threads_lower(const struct ddprof_proc *p, pid_t tid)
{
	size_t lo = 0, hi = p->nr_threads;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->threads[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct ddprof_thread *thread_find(struct ddprof_proc *p, pid_t tid)
{
	size_t i = threads_lower(p, tid);

	return i < p->nr_threads && p->threads[i].tid == tid ? &p->threads[i]
							      : NULL;
}

static int thread_set(struct ddprof_proc *p, pid_t tid, const char *comm)
{
	struct ddprof_thread *th = thread_find(p, tid);
	char name[sizeof(th->comm)];
	size_t i;

	/* comm may point into p->threads, which the insert below moves */
	snprintf(name, sizeof(name), "%s", comm);
	if (!th) {
		if (grow((void **)&p->threads, &p->cap_threads,
			 p->nr_threads + 1, sizeof(*p->threads)))
			return -ENOMEM;
		i = threads_lower(p, tid);
		memmove(&p->threads[i + 1], &p->threads[i],
			(p->nr_threads - i) * sizeof(*p->threads));
		p->nr_threads++;
		th = &p->threads[i];
		th->tid = tid;
	}
	memcpy(th->comm, name, sizeof(th->comm));
	return 0;
}

static void thread_del(struct ddprof_proc *p, pid_t tid)
{
	size_t i = threads_lower(p, tid);

	if (i >= p->nr_threads || p->threads[i].tid != tid)
		return;
	memmove(&p->threads[i], &p->threads[i + 1],
		(p->nr_threads - i - 1) * sizeof(*p->threads));
	p->nr_threads--;
}

const char *ddprof_proc_thread_name(struct ddprof_proc *p, pid_t tid)
{
	struct ddprof_thread *th = thread_find(p, tid);
	char path[192];

	if (th)
		return th->comm;
	snprintf(path, sizeof(path), "%s/%d/task/%d/comm", p->t->procfs,
		 (int)p->pid, (int)tid);
	if (read_comm(path, p->scratch))
		return p->name;
	if (thread_set(p, tid, p->scratch))
		return p->scratch;
	return thread_find(p, tid)->comm;
}

const char *ddprof_proc_name(const struct ddprof_proc *p)
{
	return p->name;
}

pid_t ddprof_proc_pid(const struct ddprof_proc *p)
{
	return p ? p->pid : 0;
}

void *ddprof_proc_user(const struct ddprof_proc *p)
{
	return p->user;
}

void ddprof_proc_set_user(struct ddprof_proc *p, void *user)
{
	p->user = user;
}

/* ---- files ------------------------------------------------------------- */

int ddprof_proc_map_path(const struct ddprof_proc *p,
			 const struct ddprof_map *m, char *buf, size_t len)
{
	int n;

	if (!m->path || m->path[0] != '/')
		return -DDPROF_ERR_NOT_FOUND;
	n = snprintf(buf, len, "%s/%d/root%s", p->t->procfs, (int)p->pid,
		     m->path);
	if (n < 0 || (size_t)n >= len)
		return -DDPROF_ERR_TOO_BIG;
	return n;
}

static int open_same(const char *path, const struct ddprof_map *m)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 &&
	    (!m->ino || (st.st_ino == m->ino && st.st_dev == m->dev)))
		return fd;
	close(fd);
	return -DDPROF_ERR_NOT_FOUND;
}

int ddprof_proc_open_map(const struct ddprof_proc *p,
			 const struct ddprof_map *m)
{
	char path[4096 + 256];
	int fd, n;

	n = ddprof_proc_map_path(p, m, path, sizeof(path));
	if (n < 0)
		return n;
	fd = open_same(path, m);
	if (fd >= 0)
		return fd;
	/* deleted or replaced on disk: the mapping itself still has it */
	snprintf(path, sizeof(path), "%s/%d/map_files/%llx-%llx",
		 p->t->procfs, (int)p->pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	fd = open_same(path, m);
	return fd >= 0 ? fd : -DDPROF_ERR_NOT_FOUND;
}

/* ---- the table --------------------------------------------------------- */

int ddprof_proc_table_new(struct ddprof_proc_table **out, const char *procfs,
			  const struct ddprof_proc_table_cb *cb)
{
	struct ddprof_proc_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	if (!procfs)
		procfs = "/proc";
	if (strlen(procfs) >= sizeof(t->procfs)) {
		free(t);
		return -DDPROF_ERR_TOO_BIG;
	}
	strcpy(t->procfs, procfs);
	ddprof_u64map_init(&t->pids);
	ddprof_u64map_init(&t->files);
	if (cb)
		t->cb = *cb;
	*out = t;
	return 0;
}

static void proc_free(struct ddprof_proc_table *t, struct ddprof_proc *p)
{
	if (t->cb.on_exit)
		t->cb.on_exit(t->cb.ctx, p);
	maps_clear(p);
	free(p->maps);
	free(p->threads);
	free(p);
	t->live--;
	t->freed++;
}

void ddprof_proc_table_free(struct ddprof_proc_table *t)
{
	if (!t)
		return;
	/* everything still listed gets the dead-list treatment */
	for (size_t i = 0; i < t->pids.cap; i++) {
		struct ddprof_proc *p;

		if (!t->pids.used[i])
			continue;
		p = (struct ddprof_proc *)(uintptr_t)t->pids.vals[i];
		if (!p->exited) {
			p->exited = true;
			p->next_dead = t->dead;
			t->dead = p;
		}
	}
	ddprof_u64map_clear(&t->pids);
	ddprof_proc_table_flush(t);
	ddprof_u64map_fini(&t->pids);
	ddprof_u64map_fini(&t->files);
	free(t);
}

struct ddprof_proc *ddprof_proc_table_find(struct ddprof_proc_table *t,
					   pid_t pid)
{
	uint64_t *v = ddprof_u64map_get(&t->pids, (uint64_t)pid);

	return v ? (struct ddprof_proc *)(uintptr_t)*v : NULL;
}

static void mark_dead(struct ddprof_proc_table *t, struct ddprof_proc *p)
{
	if (p->exited)
		return;
	p->exited = true;
	p->next_dead = t->dead;
	t->dead = p;
}

/* Takes pid's slot: a previous holder (pid reused) is retired. */
static int proc_new(struct ddprof_proc_table *t, pid_t pid,
		    struct ddprof_proc **out)
{
	struct ddprof_proc *old = ddprof_proc_table_find(t, pid);
	struct ddprof_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	if (ddprof_u64map_put(&t->pids, (uint64_t)pid, (uintptr_t)p)) {
		free(p);
		return -ENOMEM;
	}
	if (old)
		mark_dead(t, old);
	p->t = t;
	p->pid = pid;
	t->live++;
	*out = p;
	return 0;
}

/* Creates pid from procfs (mappings, name). */
static int proc_seed(struct ddprof_proc_table *t, pid_t pid,
		     struct ddprof_proc **out)
{
	char path[192];
	struct ddprof_proc *p;
	int err;

	err = proc_new(t, pid, &p);
	if (err)
		return err;
	*out = p;
	if (pid == 0) {
		strcpy(p->name, "swapper");
		return 0;
	}
	err = ddprof_proc_reload_maps(p);
	if (err == -ESRCH || err == -ENOENT) {
		/* gone already: serve this pass, then free it */
		mark_dead(t, p);
		return 0;
	}
	if (err == -ENOMEM)
		return err;
	if (err)
		pr_debug("pid %d: maps not read: %s", (int)pid,
			 ddprof_strerror(err));
	snprintf(path, sizeof(path), "%s/%d/comm", t->procfs, (int)pid);
	read_comm(path, p->name);
	return 0;
}

int ddprof_proc_table_get(struct ddprof_proc_table *t, pid_t pid,
			  struct ddprof_proc **out)
{
	*out = ddprof_proc_table_find(t, pid);
	if (*out)
		return 0;
	return proc_seed(t, pid, out);
}

int ddprof_proc_table_mmap(struct ddprof_proc_table *t, pid_t pid,
			   const struct ddprof_map *m)
{
	struct ddprof_proc *p;
	int err = ddprof_proc_table_get(t, pid, &p);

	return err ? err : maps_insert(p, m);
}

int ddprof_proc_table_comm(struct ddprof_proc_table *t, pid_t pid, pid_t tid,
			   const char *comm, bool exec)
{
	struct ddprof_proc *p = ddprof_proc_table_find(t, pid);
	int err;

	if (!exec) {
		if (!p) {
			err = proc_seed(t, pid, &p);
			if (err)
				return err;
		}
		if (tid == pid)
			snprintf(p->name, sizeof(p->name), "%s", comm);
		return thread_set(p, tid, comm);
	}
	/* a new program: nothing of the old image survives, and procfs
	 * already shows the new one, so do not seed from it */
	if (!p) {
		err = proc_new(t, pid, &p);
		if (err)
			return err;
	}
	maps_clear(p);
	p->nr_threads = 0;
	snprintf(p->name, sizeof(p->name), "%s", comm);
	if (t->cb.on_exec)
		t->cb.on_exec(t->cb.ctx, p);
	return thread_set(p, pid, comm);
}

int ddprof_proc_table_fork(struct ddprof_proc_table *t, pid_t pid, pid_t ppid,
			   pid_t tid, pid_t ptid)
{
	struct ddprof_proc *parent, *p;
	int err;

	if (pid == ppid) {
		err = ddprof_proc_table_get(t, pid, &p);
		return err ? err : thread_set(p, tid, ddprof_proc_thread_name(p, ptid));
	}
	/* the child starts as a copy of its parent: read the parent if it is
	 * new to us (it outlives the child more often than not) */
	parent = ddprof_proc_table_find(t, ppid);
	if (!parent) {
		err = proc_seed(t, ppid, &parent);
		if (err)
			return err;
	}
	if (parent->exited && !parent->nr_maps)
		return proc_seed(t, pid, &p);
	err = proc_new(t, pid, &p);
	if (err)
		return err;
	snprintf(p->name, sizeof(p->name), "%s",
		 ddprof_proc_thread_name(parent, ptid));
	if (grow((void **)&p->maps, &p->cap_maps, parent->nr_maps,
		 sizeof(*p->maps)))
		return -ENOMEM;
	for (size_t i = 0; i < parent->nr_maps; i++) {
		err = map_dup(t, &p->maps[i], &parent->maps[i]);
		if (err)
			return err;
		p->nr_maps++;
	}
	return thread_set(p, tid, p->name);
}

int ddprof_proc_table_seed_all(struct ddprof_proc_table *t)
{
	DIR *d = opendir(t->procfs);
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		struct ddprof_proc *p;
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid > INT32_MAX)
			continue;
		err = ddprof_proc_table_get(t, (pid_t)pid, &p);
	}
	closedir(d);
	return err;
}

void ddprof_proc_table_exit(struct ddprof_proc_table *t, pid_t pid, pid_t tid)
{
	struct ddprof_proc *p = ddprof_proc_table_find(t, pid);

	if (!p)
		return;
	if (tid == pid)
		mark_dead(t, p);
	else
		thread_del(p, tid);
}

void ddprof_proc_table_flush(struct ddprof_proc_table *t)
{
	while (t->dead) {
		struct ddprof_proc *p = t->dead;

		t->dead = p->next_dead;
		if (ddprof_proc_table_find(t, p->pid) == p)
			ddprof_u64map_del(&t->pids, (uint64_t)p->pid);
		proc_free(t, p);
	}
}

unsigned ddprof_proc_table_gc(struct ddprof_proc_table *t)
{
	unsigned marked = 0;
	char path[192];
	struct stat st;

	for (size_t i = 0; i < t->pids.cap; i++) {
		struct ddprof_proc *p;

		if (!t->pids.used[i])
			continue;
		p = (struct ddprof_proc *)(uintptr_t)t->pids.vals[i];
		if (p->exited || p->pid == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%d", t->procfs, (int)p->pid);
		if (stat(path, &st) < 0 && errno == ENOENT) {
			mark_dead(t, p);
			marked++;
		}
	}
	return marked;
}

uint64_t ddprof_proc_table_live(const struct ddprof_proc_table *t)
{
	return t->live;
}

uint64_t ddprof_proc_table_freed(const struct ddprof_proc_table *t)
{
	return t->freed;
}

uint64_t ddprof_proc_table_files(const struct ddprof_proc_table *t)
{
	return t->files.count;
}
