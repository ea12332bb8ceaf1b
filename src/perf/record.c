/* Bounded decoding of perf records: every field read goes through a cursor
 * that knows how many bytes remain, so hostile or torn records end in an
 * error code rather than an out-of-bounds read. */
#include <linux/perf_event.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "ddprof/error.h"
#include "perf/record.h"

struct cursor {
	const uint8_t *p;
	size_t left;
};

static int cur_u64(struct cursor *c, uint64_t *v)
{
	if (c->left < 8)
		return -DDPROF_ERR_TRUNCATED;
	memcpy(v, c->p, 8);
	c->p += 8;
	c->left -= 8;
	return 0;
}

/* Two u32 packed in one u64 slot (pid/tid, cpu/res). */
static int cur_u32x2(struct cursor *c, uint32_t *a, uint32_t *b)
{
	uint32_t v[2];

	if (c->left < 8)
		return -DDPROF_ERR_TRUNCATED;
	memcpy(v, c->p, 8);
	c->p += 8;
	c->left -= 8;
	if (a)
		*a = v[0];
	if (b)
		*b = v[1];
	return 0;
}

static int cur_skip(struct cursor *c, uint64_t n)
{
	if (c->left < n)
		return -DDPROF_ERR_TRUNCATED;
	c->p += n;
	c->left -= n;
	return 0;
}

/* A NUL-terminated string starting at the cursor; the rest of the body is
 * its padding, so the cursor is consumed. */
static int cur_string(struct cursor *c, const char **s)
{
	if (c->left == 0)
		return -DDPROF_ERR_TRUNCATED;
	if (!memchr(c->p, '\0', c->left))
		return -DDPROF_ERR_FORMAT;
	*s = (const char *)c->p;
	c->p += c->left;
	c->left = 0;
	return 0;
}

/* Sample bits laid out before/after the ones we decode, all single u64s
 * that can be skipped. READ, BRANCH_STACK, REGS_INTR and AUX have
 * variable layouts that depend on other attributes: refused. */
#define SKIPPABLE_TAIL                                                         \
	(PERF_SAMPLE_WEIGHT | PERF_SAMPLE_DATA_SRC | PERF_SAMPLE_TRANSACTION | \
	 PERF_SAMPLE_PHYS_ADDR | PERF_SAMPLE_CGROUP |                          \
	 PERF_SAMPLE_DATA_PAGE_SIZE | PERF_SAMPLE_CODE_PAGE_SIZE |             \
	 PERF_SAMPLE_WEIGHT_STRUCT)
#define SUPPORTED_BITS                                                         \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |           \
	 PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR | PERF_SAMPLE_ID |                \
	 PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |        \
	 PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW | PERF_SAMPLE_REGS_USER |     \
	 PERF_SAMPLE_STACK_USER | SKIPPABLE_TAIL)

bool ddprof_record_fmt_supported(const struct ddprof_record_fmt *fmt)
{
	return (fmt->sample_type & ~(uint64_t)SUPPORTED_BITS) == 0;
}

static int decode_sample(struct cursor *c, const struct ddprof_record_fmt *fmt,
			 struct ddprof_perf_sample *s)
{
	uint64_t t = fmt->sample_type, v = 0;
	int err = 0;

	memset(s, 0, sizeof(*s));
	if (t & PERF_SAMPLE_IDENTIFIER)
		err = cur_u64(c, &v);
	if (!err && (t & PERF_SAMPLE_IP))
		err = cur_u64(c, &s->ip);
	if (!err && (t & PERF_SAMPLE_TID))
		err = cur_u32x2(c, &s->pid, &s->tid);
	if (!err && (t & PERF_SAMPLE_TIME))
		err = cur_u64(c, &s->time);
	if (!err && (t & PERF_SAMPLE_ADDR))
		err = cur_u64(c, &v);
	if (!err && (t & PERF_SAMPLE_ID))
		err = cur_u64(c, &v);
	if (!err && (t & PERF_SAMPLE_STREAM_ID))
		err = cur_u64(c, &v);
	if (!err && (t & PERF_SAMPLE_CPU))
		err = cur_u32x2(c, &s->cpu, NULL);
	if (!err && (t & PERF_SAMPLE_PERIOD))
		err = cur_u64(c, &s->period);
	if (!err && (t & PERF_SAMPLE_CALLCHAIN)) {
		err = cur_u64(c, &s->nr_callchain);
		if (!err && s->nr_callchain > c->left / 8)
			return -DDPROF_ERR_FORMAT;
		if (!err) {
			s->callchain = (const uint64_t *)c->p;
			err = cur_skip(c, s->nr_callchain * 8);
		}
	}
	if (!err && (t & PERF_SAMPLE_RAW)) {
		uint32_t raw_size;

		if (c->left < 4)
			return -DDPROF_ERR_TRUNCATED;
		memcpy(&raw_size, c->p, 4);
		/* u32 size + data, padded so the next field is u64-aligned */
		err = cur_skip(c, ((uint64_t)raw_size + 4 + 7) & ~7ULL);
	}
	if (!err && (t & PERF_SAMPLE_REGS_USER)) {
		err = cur_u64(c, &s->abi);
		if (!err && s->abi) {
			uint64_t mask = fmt->regs_mask;
			unsigned nr = (unsigned)__builtin_popcountll(mask);

			/* one bounds check for the block, then set bits only */
			if (c->left < 8 * (size_t)nr)
				return -DDPROF_ERR_TRUNCATED;
			for (; mask; mask &= mask - 1) {
				unsigned bit = (unsigned)__builtin_ctzll(mask);

				cur_u64(c, &v);
				if (bit < DDPROF_PERF_REG_COUNT)
					s->regs[bit] = v;
			}
		}
	}
	if (!err && (t & PERF_SAMPLE_STACK_USER)) {
		err = cur_u64(c, &s->stack_size);
		if (!err && s->stack_size) {
			if (s->stack_size > c->left)
				return -DDPROF_ERR_TRUNCATED;
			s->stack = c->p;
			err = cur_skip(c, s->stack_size);
			if (!err)
				err = cur_u64(c, &s->dyn_size);
			if (!err && s->dyn_size > s->stack_size)
				return -DDPROF_ERR_FORMAT;
		}
	}
	for (uint64_t rest = t & SKIPPABLE_TAIL; !err && rest; rest &= rest - 1)
		err = cur_u64(c, &v);
	return err;
}

/* Size of the sample_id trailer of non-sample records. */
static size_t id_size(const struct ddprof_record_fmt *fmt)
{
	const uint64_t bits = PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			      PERF_SAMPLE_ID | PERF_SAMPLE_STREAM_ID |
			      PERF_SAMPLE_CPU | PERF_SAMPLE_IDENTIFIER;

	if (!fmt->sample_id_all)
		return 0;
	return 8 * (size_t)__builtin_popcountll(fmt->sample_type & bits);
}

static int decode_id(const uint8_t *p, size_t n,
		     const struct ddprof_record_fmt *fmt,
		     struct ddprof_record_id *id)
{
	struct cursor c = { p, n };
	uint64_t t = fmt->sample_type, v;
	int err = 0;

	if (t & PERF_SAMPLE_TID)
		err = cur_u32x2(&c, &id->pid, &id->tid);
	if (!err && (t & PERF_SAMPLE_TIME))
		err = cur_u64(&c, &id->time);
	if (!err && (t & PERF_SAMPLE_ID))
		err = cur_u64(&c, &v);
	if (!err && (t & PERF_SAMPLE_STREAM_ID))
		err = cur_u64(&c, &v);
	if (!err && (t & PERF_SAMPLE_CPU))
		err = cur_u32x2(&c, &id->cpu, NULL);
	id->valid = !err;
	return err;
}

static int decode_mmap2(struct cursor *c, struct ddprof_record *r)
{
	int err;

	err = cur_u32x2(c, &r->mmap2.pid, &r->mmap2.tid);
	if (!err)
		err = cur_u64(c, &r->mmap2.addr);
	if (!err)
		err = cur_u64(c, &r->mmap2.len);
	if (!err)
		err = cur_u64(c, &r->mmap2.pgoff);
	if (err)
		return err;
	if (r->type == PERF_RECORD_MMAP2) {
		if (c->left < 24 + 8)
			return -DDPROF_ERR_TRUNCATED;
		if (r->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
			r->mmap2.build_id_size = c->p[0];
			if (r->mmap2.build_id_size > 20)
				return -DDPROF_ERR_FORMAT;
			memcpy(r->mmap2.build_id, c->p + 4, 20);
		} else {
			memcpy(&r->mmap2.maj, c->p, 4);
			memcpy(&r->mmap2.min, c->p + 4, 4);
			memcpy(&r->mmap2.ino, c->p + 8, 8);
			memcpy(&r->mmap2.ino_generation, c->p + 16, 8);
		}
		cur_skip(c, 24);
		cur_u32x2(c, &r->mmap2.prot, &r->mmap2.flags);
	}
	if (r->mmap2.addr + r->mmap2.len < r->mmap2.addr)
		return -DDPROF_ERR_FORMAT;
	return cur_string(c, &r->mmap2.filename);
}

/* Splits the record into body and trailer, decodes the trailer. */
static int split_id(const uint8_t *b, size_t len,
		    const struct ddprof_record_fmt *fmt, struct cursor *body,
		    struct ddprof_record_id *id)
{
	size_t idsz = id_size(fmt);

	memset(id, 0, sizeof(*id));
	if (len < 8 + idsz)
		return -DDPROF_ERR_TRUNCATED;
	body->p = b + 8;
	body->left = len - 8 - idsz;
	if (!idsz)
		return 0;
	return decode_id(b + len - idsz, idsz, fmt, id);
}

static int check_header(const void *buf, size_t len, uint32_t *type,
			uint16_t *misc)
{
	struct perf_event_header h;

	if (len < sizeof(h))
		return -DDPROF_ERR_TRUNCATED;
	memcpy(&h, buf, sizeof(h));
	*type = h.type;
	*misc = h.misc;
	if (h.size != len)
		return h.size < len ? -DDPROF_ERR_FORMAT : -DDPROF_ERR_TRUNCATED;
	if (len % 8)
		return -DDPROF_ERR_FORMAT;
	return 0;
}

static bool type_known(uint32_t type)
{
	switch (type) {
	case PERF_RECORD_SAMPLE:
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_COMM:
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
	case PERF_RECORD_LOST:
	case PERF_RECORD_LOST_SAMPLES:
	case PERF_RECORD_THROTTLE:
	case PERF_RECORD_UNTHROTTLE:
		return true;
	}
	return false;
}

int ddprof_record_decode(const void *buf, size_t len,
			 const struct ddprof_record_fmt *fmt,
			 struct ddprof_record *r)
{
	struct cursor c;
	int err;

	memset(r, 0, offsetof(struct ddprof_record, sample));
	err = check_header(buf, len, &r->type, &r->misc);
	if (err)
		return err;
	if (!type_known(r->type))
		return -DDPROF_ERR_UNSUPPORTED;
	if (r->type == PERF_RECORD_SAMPLE) {
		if (!ddprof_record_fmt_supported(fmt))
			return -DDPROF_ERR_UNSUPPORTED;
		c.p = (const uint8_t *)buf + 8;
		c.left = len - 8;
		err = decode_sample(&c, fmt, &r->sample);
		if (err)
			return err;
		r->id.pid = r->sample.pid;
		r->id.tid = r->sample.tid;
		r->id.time = r->sample.time;
		r->id.cpu = r->sample.cpu;
		r->id.valid = true;
		return 0;
	}
	err = split_id(buf, len, fmt, &c, &r->id);
	if (err)
		return err;
	switch (r->type) {
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
		memset(&r->mmap2, 0, sizeof(r->mmap2));
		return decode_mmap2(&c, r);
	case PERF_RECORD_COMM:
		err = cur_u32x2(&c, &r->comm.pid, &r->comm.tid);
		r->comm.exec = (r->misc & PERF_RECORD_MISC_COMM_EXEC) != 0;
		return err ? err : cur_string(&c, &r->comm.comm);
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		err = cur_u32x2(&c, &r->task.pid, &r->task.ppid);
		if (!err)
			err = cur_u32x2(&c, &r->task.tid, &r->task.ptid);
		return err ? err : cur_u64(&c, &r->task.time);
	case PERF_RECORD_LOST:
		err = cur_u64(&c, &r->lost.id);
		return err ? err : cur_u64(&c, &r->lost.lost);
	case PERF_RECORD_LOST_SAMPLES:
		r->lost.id = 0;
		return cur_u64(&c, &r->lost.lost);
	case PERF_RECORD_THROTTLE:
	case PERF_RECORD_UNTHROTTLE:
		err = cur_u64(&c, &r->throttle.time);
		if (!err)
			err = cur_u64(&c, &r->throttle.id);
		return err ? err : cur_u64(&c, &r->throttle.stream_id);
	}
	return -DDPROF_ERR_UNSUPPORTED;
}

int ddprof_record_time(const void *buf, size_t len,
		       const struct ddprof_record_fmt *fmt, uint64_t *time)
{
	struct ddprof_record_id id;
	struct cursor c;
	uint32_t type;
	uint16_t misc;
	int err;

	*time = 0;
	err = check_header(buf, len, &type, &misc);
	if (err)
		return err;
	if (type == PERF_RECORD_SAMPLE) {
		uint64_t skip = fmt->sample_type &
				(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP |
				 PERF_SAMPLE_TID);

		if (!(fmt->sample_type & PERF_SAMPLE_TIME))
			return 0;
		c.p = (const uint8_t *)buf + 8;
		c.left = len - 8;
		err = cur_skip(&c, 8 * (uint64_t)__builtin_popcountll(skip));
		return err ? err : cur_u64(&c, time);
	}
	if (!type_known(type))
		return 0;
	err = split_id(buf, len, fmt, &c, &id);
	if (!err)
		*time = id.time;
	return err;
}

void ddprof_record_mmap_map(const struct ddprof_record *r,
			    struct ddprof_map *m)
{
	*m = (struct ddprof_map){
		.start = r->mmap2.addr,
		.end = r->mmap2.addr + r->mmap2.len,
		.pgoff = r->mmap2.pgoff,
		.prot = r->mmap2.prot,
		.flags = r->mmap2.flags,
		.dev = makedev(r->mmap2.maj, r->mmap2.min),
		.ino = r->mmap2.ino,
		.path = r->mmap2.filename,
	};
}
