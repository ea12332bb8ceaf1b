/* libFuzzer target: arbitrary bytes as the content of a perf ring buffer,
 * read record by record, decoded under several attribute layouts and fed to
 * the process table as the sampler's drain does. Every decoded record is
 * also decoded from an exact-size heap copy, so ASan sees any read past
 * its end, and every pointer the decoder hands out is read in full. */
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddprof/log.h"
#include "perf/record.h"
#include "perf/regs.h"
#include "perf/ring.h"
#include "proc/table.h"

#define PAGE 4096
#define DATA 8192

static _Alignas(4096) uint8_t ring_mem[PAGE + DATA];
static char empty_procfs[] = "/tmp/ddprof-fuzz-procfs-XXXXXX";
static volatile uint64_t sink;

static void cleanup(void)
{
	rmdir(empty_procfs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	/* processes the records name must not be read from the real /proc */
	if (!mkdtemp(empty_procfs))
		abort();
	atexit(cleanup);
	return 0;
}

/* The sampler's layout, or one with extra (skippable or refused) bits. */
static void pick_fmt(uint8_t sel, uint8_t extra, struct ddprof_record_fmt *fmt)
{
	static const uint64_t bits[8] = {
		PERF_SAMPLE_IDENTIFIER, PERF_SAMPLE_ADDR, PERF_SAMPLE_ID,
		PERF_SAMPLE_STREAM_ID,  PERF_SAMPLE_RAW,  PERF_SAMPLE_WEIGHT,
		PERF_SAMPLE_READ,       PERF_SAMPLE_DATA_SRC,
	};

	fmt->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			   PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
			   PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER |
			   PERF_SAMPLE_STACK_USER;
	fmt->regs_mask = DDPROF_PERF_REGS_MASK;
	fmt->sample_id_all = sel & 1;
	if (sel & 2)
		for (unsigned i = 0; i < 8; i++)
			if (extra & (1u << i))
				fmt->sample_type ^= bits[i];
	if (sel & 4)
		fmt->regs_mask = (uint64_t)extra * 0x0101010101ULL;
}

static void touch(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += b[i];
	sink += s;
}

static void use_record(struct ddprof_proc_table *t, const struct ddprof_record *r)
{
	switch (r->type) {
	case PERF_RECORD_SAMPLE: {
		const struct ddprof_perf_sample *s = &r->sample;
		struct ddprof_proc *p;

		touch(s->callchain, s->nr_callchain * sizeof(uint64_t));
		if (s->stack_size)
			touch(s->stack, s->stack_size);
		if (s->dyn_size > s->stack_size)
			abort(); /* the contract: dyn_size <= stack_size */
		if (!ddprof_proc_table_get(t, (pid_t)s->pid, &p)) {
			const struct ddprof_map *m = ddprof_proc_find_map(p, s->ip);

			if (m)
				touch(m->path, strlen(m->path));
			touch(ddprof_proc_name(p), strlen(ddprof_proc_name(p)));
			touch(ddprof_proc_thread_name(p, (pid_t)s->tid), 1);
		}
		break;
	}
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2: {
		struct ddprof_map m;

		ddprof_record_mmap_map(r, &m);
		touch(m.path, strlen(m.path) + 1);
		ddprof_proc_table_mmap(t, (pid_t)r->mmap2.pid, &m);
		break;
	}
	case PERF_RECORD_COMM:
		touch(r->comm.comm, strlen(r->comm.comm) + 1);
		ddprof_proc_table_comm(t, (pid_t)r->comm.pid, (pid_t)r->comm.tid,
				       r->comm.comm, r->comm.exec);
		break;
	case PERF_RECORD_FORK:
		ddprof_proc_table_fork(t, (pid_t)r->task.pid, (pid_t)r->task.ppid,
				       (pid_t)r->task.tid, (pid_t)r->task.ptid);
		break;
	case PERF_RECORD_EXIT:
		ddprof_proc_table_exit(t, (pid_t)r->task.pid, (pid_t)r->task.tid);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perf_event_mmap_page *meta = (void *)ring_mem;
	struct ddprof_proc_table *t;
	struct ddprof_record_fmt fmt;
	struct ddprof_ring ring;
	uint64_t start;
	const void *rec;
	size_t len;
	int rc;

	if (size < 4)
		return 0;
	pick_fmt(data[0], data[1], &fmt);
	(void)ddprof_record_fmt_supported(&fmt);
	start = ((uint64_t)data[2] << 8 | data[3]) & (DATA - 1);
	data += 4;
	size -= 4;
	if (size > DATA)
		size = DATA;

	memset(ring_mem, 0, PAGE);
	for (size_t i = 0; i < size; i++)
		ring_mem[PAGE + ((start + i) & (DATA - 1))] = data[i];
	meta->data_tail = start;
	meta->data_head = start + size;
	if (ddprof_ring_init(&ring, ring_mem, PAGE, DATA))
		return 0;
	if (ddprof_proc_table_new(&t, empty_procfs, NULL)) {
		ddprof_ring_fini(&ring);
		return 0;
	}
	ddprof_ring_begin(&ring);
	while ((rc = ddprof_ring_next(&ring, &rec, &len)) != 0) {
		struct ddprof_record r;
		uint64_t time;
		uint8_t *copy;

		if (rc < 0)
			continue; /* the pass is over: next returns 0 */
		if (len > DDPROF_RING_MAX_RECORD)
			abort();
		copy = malloc(len);
		if (!copy)
			break;
		memcpy(copy, rec, len);
		(void)ddprof_record_time(copy, len, &fmt, &time);
		if (!ddprof_record_decode(copy, len, &fmt, &r))
			use_record(t, &r);
		free(copy);
	}
	ddprof_ring_end(&ring);
	if (meta->data_tail != meta->data_head)
		abort(); /* a pass must consume everything it was given */
	ddprof_proc_table_flush(t);
	ddprof_proc_table_free(t);
	ddprof_ring_fini(&ring);
	return 0;
}
