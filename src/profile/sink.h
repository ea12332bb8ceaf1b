/* Output sink of the pprof encoder: stages bytes, runs them through the
 * chosen compressor (none, gzip, LZ4 frame) and appends the result to a
 * capped memory buffer or writes it to an fd. */
#ifndef DDPROF_PROFILE_SINK_H
#define DDPROF_PROFILE_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "ddprof/error.h"
#include "ddprof/profile.h"

struct ddprof_sink {
	enum ddprof_compression comp;
	int fd;           /* -1: write to buf */
	unsigned char *buf;
	size_t len, cap;  /* of buf */
	size_t max;       /* hard cap on output bytes */
	size_t total;     /* output bytes so far */
	unsigned char *in;    /* the staging block being filled */
	size_t in_len;
	unsigned char *stage; /* staging memory: one block, two for LZ4 */
	unsigned char *out;   /* compressor output before it is written to fd */
	size_t out_cap;
	z_stream z;
	int z_live;
	void *lz;         /* LZ4_stream_t, or LZ4_streamHC_t when lz_hc */
	int lz_hc;        /* HC compression level, 0: fast */
	int lz_accel;     /* acceleration of fast compression */
	int err;          /* first error, sticky */
};

/* Prepares s for opts (non-NULL) writing to fd, or to memory if fd < 0.
 * Returns 0, -DDPROF_ERR_INVALID, -DDPROF_ERR_COMPRESS or -ENOMEM; on
 * error s is already closed. */
int ddprof_sink_open(struct ddprof_sink *s,
		     const struct ddprof_serialize_opts *opts, int fd);

/* Size of the staging buffer: the largest span ddprof_sink_reserve() gives. */
#define DDPROF_SINK_STAGE (64u << 10)

/* Compresses and emits the staged bytes. Returns 0 or the sticky error. */
int ddprof_sink_flush(struct ddprof_sink *s);

/* Returns room for n <= DDPROF_SINK_STAGE bytes at the end of the staging
 * buffer (flushing it first when needed), to be filled and then committed
 * with ddprof_sink_commit(); NULL after an error. Lets the encoder write
 * elements in place instead of copying each one. */
static inline unsigned char *ddprof_sink_reserve(struct ddprof_sink *s, size_t n)
{
	if (n > DDPROF_SINK_STAGE) { /* the add paths' limits keep elements far below */
		s->err = s->err ? s->err : -DDPROF_ERR_ENCODE;
		return NULL;
	}
	if (DDPROF_SINK_STAGE - s->in_len < n && ddprof_sink_flush(s))
		return NULL;
	return s->err ? NULL : s->in + s->in_len;
}

static inline void ddprof_sink_commit(struct ddprof_sink *s, unsigned char *end)
{
	s->in_len = (size_t)(end - s->in);
}

/* Appends n bytes. Returns 0 or the sticky error. */
int ddprof_sink_write(struct ddprof_sink *s, const void *p, size_t n);

/* Flushes and ends the compressed stream. Returns 0 or an error. */
int ddprof_sink_finish(struct ddprof_sink *s);

/* Hands the memory buffer to the caller (malloc'd, caller frees). */
void *ddprof_sink_take(struct ddprof_sink *s, size_t *len);

/* Frees everything s still owns. */
void ddprof_sink_close(struct ddprof_sink *s);

#endif
