/* The sampler's internals, shared by its lifecycle (sampler.c) and its
 * record pump (drain.c). */
#ifndef DDPROF_PERF_SAMPLER_INT_H
#define DDPROF_PERF_SAMPLER_INT_H

#include <linux/perf_event.h>
#include <time.h>

#include "perf/child.h"
#include "perf/event.h"
#include "perf/record.h"
#include "perf/ring.h"
#include "perf/sampler.h"
#include "proc/table.h"

/* One record of a drain pass, in a ring (or its bounce buffer). */
struct ddprof_pass_ent {
	uint64_t time;
	uint64_t seq;        /* read order: keeps equal times stable */
	const void *rec;
	uint32_t len;
	uint32_t ring;
};

/* Per record of a pass, by read order: where it ends in its ring and
 * whether it was dispatched, so ring space goes back to the kernel as
 * soon as every record before it is done. */
struct ddprof_pass_slot {
	uint64_t end;
	bool done;
};

/* Per ring, during a pass: records [next, stop) are not yet released. */
struct ddprof_pass_ring {
	uint64_t next, stop;
	uint64_t released;   /* last position given back */
};

struct ddprof_sampler {
	enum ddprof_sampler_mode mode;
	struct ddprof_sampler_callbacks cb;
	void *ctx;
	const struct ddprof_event *ev;
	struct perf_event_attr attr;
	struct ddprof_record_fmt fmt;
	char argv0[256];
	int *cpus;                 /* rings[i] is CPU cpus[i] */
	size_t nr_cpus;
	struct ddprof_ring *rings;
	uint64_t *last_period;     /* per ring, to weigh LOST records */
	uint64_t default_period;
	unsigned ring_pages;
	int *fds;                  /* every perf fd */
	size_t nr_fds, cap_fds;
	int epfd;
	struct ddprof_child child;
	struct ddprof_proc_table *procs;
	struct ddprof_pass_ent *ents;
	struct ddprof_pass_slot *slots;  /* cap_ents entries, by seq */
	struct ddprof_pass_ring *pass;   /* nr_cpus entries */
	size_t cap_ents;
	struct timespec last_gc;
	struct ddprof_sampler_stats st;
};

#endif
