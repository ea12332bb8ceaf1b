/* The record pump: one pass snapshots every ring, merges their records by
 * time (a FORK on one CPU must precede its child's samples on another),
 * feeds the process table and the callbacks, then frees the ring space
 * and the processes that exited. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "perf/sampler_int.h"

/* How often processes missed by EXIT records are looked for. */
#define GC_INTERVAL_NS (5 * 1000000000LL)

static int ent_cmp(const void *a, const void *b)
{
	const struct ddprof_pass_ent *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int push_ent(struct ddprof_sampler *s, size_t *n,
		    const struct ddprof_pass_ent *e)
{
	if (*n == s->cap_ents) {
		size_t ncap = s->cap_ents ? 2 * s->cap_ents : 1024;
		struct ddprof_pass_ent *ne =
			realloc(s->ents, ncap * sizeof(*ne));
		struct ddprof_pass_slot *ns;

		if (!ne)
			return -ENOMEM;
		s->ents = ne;
		ns = realloc(s->slots, ncap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		s->slots = ns;
		s->cap_ents = ncap;
	}
	s->slots[e->seq].end = s->rings[e->ring].pos;
	s->slots[e->seq].done = false;
	s->ents[(*n)++] = *e;
	return 0;
}

/* Reads everything present in every ring into s->ents. */
static int collect(struct ddprof_sampler *s, size_t *n)
{
	uint64_t seq = 0;

	*n = 0;
	/* all heads first, close together in time: a record left out of this
	 * pass was written after every record taken in */
	for (size_t i = 0; i < s->nr_cpus; i++) {
		s->pass[i].next = s->pass[i].stop = 0;
		s->pass[i].released = s->rings[i].pos;
		if (s->rings[i].fd >= 0)
			ddprof_ring_begin(&s->rings[i]);
	}
	for (size_t i = 0; i < s->nr_cpus; i++) {
		struct ddprof_ring *r = &s->rings[i];
		struct ddprof_pass_ent e = { .ring = (uint32_t)i };
		size_t len;
		int rc;

		if (r->fd < 0)
			continue;
		s->pass[i].next = seq;
		while ((rc = ddprof_ring_next(r, &e.rec, &len)) == 1) {
			s->st.records++;
			if (e.rec == r->bounce)
				s->st.wrapped++;
			if (ddprof_record_time(e.rec, len, &s->fmt, &e.time)) {
				s->st.bad_records++;
				continue;
			}
			e.len = (uint32_t)len;
			e.seq = seq;
			if (push_ent(s, n, &e)) {
				s->pass[i].stop = seq;
				return -ENOMEM;
			}
			seq++;
		}
		s->pass[i].stop = seq;
		if (rc < 0) {
			s->st.bad_records++;
			pr_warn("CPU %d: corrupt perf ring, records skipped",
				s->cpus[i]);
		}
	}
	return 0;
}

static int on_sample(struct ddprof_sampler *s, size_t ring,
		     const struct ddprof_perf_sample *smp)
{
	struct ddprof_proc *p;
	int err;

	s->st.samples++;
	s->last_period[ring] = smp->period;
	err = ddprof_proc_table_get(s->procs, (pid_t)smp->pid, &p);
	if (err)
		return err;
	if (s->cb.on_sample)
		s->cb.on_sample(s->ctx, smp, p);
	return 0;
}

static int on_mmap(struct ddprof_sampler *s, const struct ddprof_record *r)
{
	struct ddprof_map m;

	ddprof_record_mmap_map(r, &m);
	s->st.mmaps++;
	/* pid -1: kernel modules, synthesized by tools, not ours */
	if (r->mmap2.pid == (uint32_t)-1 || (r->misc & PERF_RECORD_MISC_KERNEL))
		return 0;
	return ddprof_proc_table_mmap(s->procs, (pid_t)r->mmap2.pid, &m);
}

static int dispatch(struct ddprof_sampler *s, const struct ddprof_pass_ent *e)
{
	struct ddprof_record r;
	int err;

	err = ddprof_record_decode(e->rec, e->len, &s->fmt, &r);
	if (err == -DDPROF_ERR_UNSUPPORTED && r.type != PERF_RECORD_SAMPLE) {
		s->st.unknown_records++;
		return 0;
	}
	if (err) {
		s->st.bad_records++;
		return 0;
	}
	switch (r.type) {
	case PERF_RECORD_SAMPLE:
		return on_sample(s, e->ring, &r.sample);
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
		return on_mmap(s, &r);
	case PERF_RECORD_COMM:
		s->st.comms++;
		s->st.execs += r.comm.exec;
		return ddprof_proc_table_comm(s->procs, (pid_t)r.comm.pid,
					      (pid_t)r.comm.tid, r.comm.comm,
					      r.comm.exec);
	case PERF_RECORD_FORK:
		s->st.forks++;
		return ddprof_proc_table_fork(s->procs, (pid_t)r.task.pid,
					      (pid_t)r.task.ppid,
					      (pid_t)r.task.tid,
					      (pid_t)r.task.ptid);
	case PERF_RECORD_EXIT:
		s->st.exits++;
		ddprof_proc_table_exit(s->procs, (pid_t)r.task.pid,
				       (pid_t)r.task.tid);
		return 0;
	case PERF_RECORD_LOST:
	case PERF_RECORD_LOST_SAMPLES: {
		uint64_t period = s->last_period[e->ring];

		s->st.lost += r.lost.lost;
		s->st.lost_records++;
		if (s->cb.on_lost)
			s->cb.on_lost(s->ctx, r.lost.lost,
				      period ? period : s->default_period,
				      (uint32_t)s->cpus[e->ring]);
		return 0;
	}
	case PERF_RECORD_THROTTLE:
		s->st.throttles++;
		return 0;
	case PERF_RECORD_UNTHROTTLE:
		s->st.unthrottles++;
		return 0;
	}
	s->st.unknown_records++;
	return 0;
}

/* Stops polling events whose tasks are all gone: they would report
 * EPOLLHUP forever. Their rings are still drained on every pass. */
static void drop_hung_up(struct ddprof_sampler *s)
{
	struct epoll_event evs[64];
	int n = epoll_wait(s->epfd, evs, 64, 0);

	for (int i = 0; i < n; i++)
		if (evs[i].events & (EPOLLHUP | EPOLLERR))
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, evs[i].data.fd, NULL);
}

static void maybe_gc(struct ddprof_sampler *s)
{
	struct timespec now;
	long long dt;

	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (now.tv_sec - s->last_gc.tv_sec) * 1000000000LL +
	     (now.tv_nsec - s->last_gc.tv_nsec);
	if (dt < GC_INTERVAL_NS)
		return;
	s->last_gc = now;
	if (ddprof_proc_table_gc(s->procs))
		ddprof_proc_table_flush(s->procs);
}

/* Marks e dispatched and gives its ring's space back once the records
 * before it are done too, in steps of an eighth of the ring: a slow
 * consumer (unwinding every sample) then never keeps the whole pass's
 * space from the kernel. */
static void release_upto(struct ddprof_sampler *s,
			 const struct ddprof_pass_ent *e)
{
	struct ddprof_pass_ring *pr = &s->pass[e->ring];
	struct ddprof_ring *r = &s->rings[e->ring];
	uint64_t pos = pr->released;

	s->slots[e->seq].done = true;
	while (pr->next < pr->stop && s->slots[pr->next].done)
		pos = s->slots[pr->next++].end;
	if (pos - pr->released >= r->size / 8) {
		ddprof_ring_release(r, pos);
		pr->released = pos;
	}
}

int ddprof_sampler_drain(struct ddprof_sampler *s)
{
	size_t n = 0;
	int err, first_err = 0;

	err = collect(s, &n);
	if (err)
		first_err = err; /* process what was gathered, then report */
	if (n) /* ents stays NULL until a pass finds a record */
		qsort(s->ents, n, sizeof(*s->ents), ent_cmp);
	for (size_t i = 0; i < n; i++) {
		err = dispatch(s, &s->ents[i]);
		release_upto(s, &s->ents[i]);
		if (err && !first_err) {
			pr_err("sampler: %s", ddprof_strerror(err));
			first_err = err;
		}
	}
	for (size_t i = 0; i < s->nr_cpus; i++)
		if (s->rings[i].fd >= 0)
			ddprof_ring_end(&s->rings[i]);
	/* after the last sample of the pass: exited processes go now */
	ddprof_proc_table_flush(s->procs);
	drop_hung_up(s);
	maybe_gc(s);
	s->st.drains++;
	return first_err ? first_err : (int)(n > INT32_MAX ? INT32_MAX : n);
}
