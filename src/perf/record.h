/* Decoder of perf ring-buffer records: a pure function over bytes that
 * never reads outside the record it is given and rejects truncated or
 * inconsistent ones instead of guessing. */
#ifndef DDPROF_PERF_RECORD_H
#define DDPROF_PERF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perf/sample.h"
#include "proc/proc.h"

/* Layout facts the decoder needs from the events' attributes. Every event
 * writing to one ring must share them (the sampler opens them alike). */
struct ddprof_record_fmt {
	uint64_t sample_type;      /* PERF_SAMPLE_* bits */
	uint64_t regs_mask;        /* sample_regs_user */
	bool sample_id_all;
};

/* The sample_id trailer of non-sample records (fields absent: 0). */
struct ddprof_record_id {
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu;
	bool valid;                /* the trailer was present and decoded */
};

struct ddprof_record {
	uint32_t type;             /* PERF_RECORD_* */
	uint16_t misc;
	struct ddprof_record_id id; /* for SAMPLE: copied from the sample */
	union {
		struct ddprof_perf_sample sample;
		struct {
			uint32_t pid, tid;
			uint64_t addr, len, pgoff;
			uint32_t maj, min;  /* 0 when build_id is set */
			uint64_t ino, ino_generation;
			uint32_t prot, flags;
			uint8_t build_id_size; /* PERF_RECORD_MISC_MMAP_BUILD_ID */
			uint8_t build_id[20];
			const char *filename; /* NUL-terminated inside the record */
		} mmap2;
		struct {
			uint32_t pid, tid;
			const char *comm;     /* NUL-terminated inside the record */
			bool exec;            /* PERF_RECORD_MISC_COMM_EXEC */
		} comm;
		struct {                      /* FORK and EXIT */
			uint32_t pid, ppid, tid, ptid;
			uint64_t time;
		} task;
		struct {
			uint64_t id, lost;
		} lost;
		struct {                      /* THROTTLE and UNTHROTTLE */
			uint64_t time, id, stream_id;
		} throttle;
	};
};

/* Decodes the record of len bytes at buf (header included; len must equal
 * header.size). Pointers in *out point into buf. Returns 0, or
 *   -DDPROF_ERR_TRUNCATED  len too short for the header or the fields,
 *   -DDPROF_ERR_FORMAT     inconsistent (sizes, counts, missing NUL),
 *   -DDPROF_ERR_UNSUPPORTED a record type this decoder does not know, or a
 *                          sample_type bit it cannot skip.
 * out->type and out->misc are set whenever len covers the header. */
int ddprof_record_decode(const void *buf, size_t len,
			 const struct ddprof_record_fmt *fmt,
			 struct ddprof_record *out);

/* Extracts only the timestamp of a record (its sample time, or the
 * sample_id trailer's). Returns 0, or a negative code as above; records
 * without a time (unknown types, no sample_id_all) give *time = 0. */
int ddprof_record_time(const void *buf, size_t len,
		       const struct ddprof_record_fmt *fmt, uint64_t *time);

/* Fills *m from a decoded MMAP/MMAP2 record r; m->path points into r's
 * buffer (valid as long as the record is). */
void ddprof_record_mmap_map(const struct ddprof_record *r,
			    struct ddprof_map *m);

/* Whether the decoder can parse samples of this sample_type. */
bool ddprof_record_fmt_supported(const struct ddprof_record_fmt *fmt);

#endif
