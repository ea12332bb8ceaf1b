/* Compression and output of the pprof encoder. Input is staged in 64 KiB
 * blocks so the compressors see large inputs; their output goes straight
 * to the destination, so the uncompressed profile is never fully held.
 *
 * LZ4 output is an LZ4 frame written here from the block API: linked
 * 64 KiB blocks, no checksums. Two staging blocks alternate so the block
 * just compressed stays in place as the dictionary of the next one, and
 * blocks are compressed straight into the output buffer: nothing is
 * copied between the encoder and the output (lz4frame would copy each
 * block's 64 KiB history and each compressed block once more). */
#include <errno.h>
#define LZ4_HC_STATIC_LINKING_ONLY
#include <lz4.h>
#include <lz4hc.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "ddprof/error.h"
#include "sink.h"

#define STAGE DDPROF_SINK_STAGE
/* An LZ4 block as written: its 4-byte size, then at most this much. */
#define LZ4_BLOCK_MAX (4 + LZ4_COMPRESSBOUND(STAGE))

static voidpf z_alloc(voidpf opaque, uInt n, uInt size)
{
	return ddprof_pcalloc(n, size);
}

static void z_free(voidpf opaque, voidpf p)
{
	ddprof_pfree(p);
}

/* Returns room for n output bytes: the end of the memory buffer (grown as
 * needed) or, when writing to an fd, the scratch block. NULL on error. */
static unsigned char *out_room(struct ddprof_sink *s, size_t n)
{
	if (s->fd >= 0)
		return s->out;
	if (s->len + n > s->cap) {
		size_t ncap = s->cap ? s->cap : STAGE;
		unsigned char *nb;

		while (ncap < s->len + n)
			ncap *= 2;
		/* the cap bounds what is kept; room asked for near it may pass
		 * it by one block, which out_commit() then refuses */
		if (ncap > s->max && s->max >= s->len + n)
			ncap = s->max;
		nb = ddprof_prealloc(s->buf, ncap);
		if (!nb) {
			s->err = -ENOMEM;
			return NULL;
		}
		s->buf = nb;
		s->cap = ncap;
	}
	return s->buf + s->len;
}

static int write_all(struct ddprof_sink *s, const unsigned char *c, size_t n)
{
	while (n) {
		ssize_t w = write(s->fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return s->err = -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Commits n bytes written at p: out_room()'s room, or anywhere when
 * writing to an fd. Checks the size cap, then keeps them in memory or
 * writes them to the fd. */
static int out_commit(struct ddprof_sink *s, const unsigned char *p, size_t n)
{
	if (n > s->max - s->total)
		return s->err = -DDPROF_ERR_TOO_BIG;
	if (s->fd >= 0) {
		if (write_all(s, p, n))
			return s->err;
	} else {
		s->len += n;
	}
	s->total += n;
	return 0;
}

/* Appends n bytes to the output. */
static int emit(struct ddprof_sink *s, const void *p, size_t n)
{
	unsigned char *o;

	/* checked before out_room() so memory never grows past the cap */
	if (n > s->max - s->total)
		return s->err = -DDPROF_ERR_TOO_BIG;
	if (s->fd >= 0 || !n)
		return out_commit(s, p, n);
	if (!(o = out_room(s, n)))
		return s->err;
	memcpy(o, p, n);
	return out_commit(s, o, n);
}

/* Runs deflate until it wants more input (or, with Z_FINISH, ends). */
static int gz_pump(struct ddprof_sink *s, int flush)
{
	int zr;

	do {
		s->z.next_out = s->out;
		s->z.avail_out = (uInt)s->out_cap;
		zr = deflate(&s->z, flush);
		if (zr == Z_STREAM_ERROR)
			return s->err = -DDPROF_ERR_COMPRESS;
		if (emit(s, s->out, s->out_cap - s->z.avail_out))
			return s->err;
	} while (s->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static void put_le32(unsigned char *o, uint32_t v)
{
	o[0] = (unsigned char)v;
	o[1] = (unsigned char)(v >> 8);
	o[2] = (unsigned char)(v >> 16);
	o[3] = (unsigned char)(v >> 24);
}

/* Compresses the staged block into one LZ4 frame block (kept uncompressed
 * when that is not smaller, as the format requires) and switches to the
 * other staging block. */
static int lz4_block(struct ddprof_sink *s, size_t n)
{
	unsigned char *o = out_room(s, LZ4_BLOCK_MAX);
	char *dst = (char *)o + 4;
	const char *src = (const char *)s->in;
	int c;

	if (!o)
		return s->err;
	if (s->lz_hc)
		c = LZ4_compress_HC_continue(s->lz, src, dst, (int)n,
					     LZ4_COMPRESSBOUND(STAGE));
	else
		c = LZ4_compress_fast_continue(s->lz, src, dst, (int)n,
					       LZ4_COMPRESSBOUND(STAGE), s->lz_accel);
	if (c <= 0)
		return s->err = -DDPROF_ERR_COMPRESS;
	if ((size_t)c >= n) {
		/* stored: the decoder keeps it as history all the same */
		put_le32(o, (uint32_t)n | 0x80000000u);
		memcpy(dst, src, n);
		c = (int)n;
	} else {
		put_le32(o, (uint32_t)c);
	}
	s->in = s->in == s->stage ? s->stage + STAGE : s->stage;
	return out_commit(s, o, 4 + (size_t)c);
}

int ddprof_sink_flush(struct ddprof_sink *s)
{
	size_t n = s->in_len;

	if (s->err)
		return s->err;
	s->in_len = 0;
	switch (s->comp) {
	case DDPROF_COMPRESS_NONE:
		return emit(s, s->in, n);
	case DDPROF_COMPRESS_GZIP:
		s->z.next_in = s->in;
		s->z.avail_in = (uInt)n;
		return gz_pump(s, Z_NO_FLUSH);
	case DDPROF_COMPRESS_LZ4:
		return n ? lz4_block(s, n) : 0;
	}
	return s->err = -DDPROF_ERR_INVALID;
}

int ddprof_sink_write(struct ddprof_sink *s, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n && !s->err) {
		size_t k = STAGE - s->in_len;

		if (k > n)
			k = n;
		memcpy(s->in + s->in_len, c, k);
		s->in_len += k;
		c += k;
		n -= k;
		if (s->in_len == STAGE)
			ddprof_sink_flush(s);
	}
	return s->err;
}

/* xxHash32 of an input shorter than 16 bytes (its short path), seed 0: the
 * frame header's checksum byte is taken from it. */
static uint32_t xxh32_short(const unsigned char *p, size_t n)
{
	const uint32_t p1 = 2654435761u, p2 = 2246822519u, p3 = 3266489917u,
		       p4 = 668265263u, p5 = 374761393u;
	uint32_t h = p5 + (uint32_t)n;

	for (; n >= 4; p += 4, n -= 4) {
		h += ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		      (uint32_t)p[3] << 24) * p3;
		h = (h << 17 | h >> 15) * p4;
	}
	for (; n; p++, n--) {
		h += *p * p5;
		h = (h << 11 | h >> 21) * p1;
	}
	h ^= h >> 15;
	h *= p2;
	h ^= h >> 13;
	h *= p3;
	h ^= h >> 16;
	return h;
}

/* Sets up the LZ4 compressor for level (negative: faster by that
 * acceleration, 0..2: default, 3 and up: HC) and writes the frame header:
 * magic, then FLG (version 01, linked blocks, no checksums, no content
 * size), BD (64 KiB blocks) and the descriptor's checksum byte. */
static int lz4_open(struct ddprof_sink *s, int level)
{
	unsigned char hdr[7] = { 0x04, 0x22, 0x4d, 0x18, 0x40, 0x40, 0 };

	s->lz_hc = level >= 3 ? (level > LZ4HC_CLEVEL_MAX ? LZ4HC_CLEVEL_MAX : level) : 0;
	s->lz_accel = level < 0 ? -level : 1;
	if (s->lz_hc) {
		if (!(s->lz = ddprof_palloc(sizeof(LZ4_streamHC_t))))
			return -ENOMEM;
		LZ4_initStreamHC(s->lz, sizeof(LZ4_streamHC_t));
		LZ4_resetStreamHC_fast(s->lz, s->lz_hc);
	} else {
		if (!(s->lz = ddprof_palloc(sizeof(LZ4_stream_t))))
			return -ENOMEM;
		LZ4_initStream(s->lz, sizeof(LZ4_stream_t));
	}
	hdr[6] = (unsigned char)(xxh32_short(hdr + 4, 2) >> 8);
	return emit(s, hdr, sizeof(hdr));
}

int ddprof_sink_open(struct ddprof_sink *s,
		     const struct ddprof_serialize_opts *opts, int fd)
{
	int level = opts->level, rc;
	size_t nstage = 1;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->comp = opts->compression;
	s->max = opts->max_size ? opts->max_size : DDPROF_PROFILE_DEFAULT_MAX_SIZE;
	switch (s->comp) {
	case DDPROF_COMPRESS_NONE:
		break;
	case DDPROF_COMPRESS_GZIP:
		if (level < 0 || level > 9)
			return -DDPROF_ERR_INVALID;
		s->out_cap = STAGE;
		break;
	case DDPROF_COMPRESS_LZ4:
		nstage = 2;
		if (fd >= 0)
			s->out_cap = LZ4_BLOCK_MAX;
		break;
	default:
		return -DDPROF_ERR_INVALID;
	}
	s->stage = s->in = ddprof_palloc(nstage * STAGE);
	s->out = s->out_cap ? ddprof_palloc(s->out_cap) : NULL;
	if (!s->stage || (s->out_cap && !s->out)) {
		ddprof_sink_close(s);
		return -ENOMEM;
	}
	if (s->comp == DDPROF_COMPRESS_GZIP) {
		s->z.zalloc = z_alloc;
		s->z.zfree = z_free;
		/* level 1: profiles are repetitive and speed matters more here
		 * than the last percent of size */
		int zr = deflateInit2(&s->z, level ? level : 1, Z_DEFLATED,
				      15 + 16, 8, Z_DEFAULT_STRATEGY);
		if (zr != Z_OK) {
			ddprof_sink_close(s);
			return zr == Z_MEM_ERROR ? -ENOMEM : -DDPROF_ERR_COMPRESS;
		}
		s->z_live = 1;
	} else if (s->comp == DDPROF_COMPRESS_LZ4 && (rc = lz4_open(s, level))) {
		ddprof_sink_close(s);
		return rc;
	}
	return 0;
}

int ddprof_sink_finish(struct ddprof_sink *s)
{
	static const unsigned char end_mark[4];

	if (s->err)
		return s->err;
	if (ddprof_sink_flush(s))
		return s->err;
	if (s->comp == DDPROF_COMPRESS_GZIP) {
		s->z.avail_in = 0;
		return gz_pump(s, Z_FINISH);
	}
	if (s->comp == DDPROF_COMPRESS_LZ4)
		return emit(s, end_mark, sizeof(end_mark));
	return 0;
}

void *ddprof_sink_take(struct ddprof_sink *s, size_t *len)
{
	void *b = s->buf;

	if (!b) /* an empty raw profile: still hand out a valid buffer */
		b = ddprof_palloc(1);
	*len = b ? s->len : 0;
	s->buf = NULL;
	s->len = s->cap = 0;
	return b;
}

void ddprof_sink_close(struct ddprof_sink *s)
{
	if (s->z_live)
		deflateEnd(&s->z);
	s->z_live = 0;
	ddprof_pfree(s->lz);
	ddprof_pfree(s->stage);
	ddprof_pfree(s->out);
	ddprof_pfree(s->buf);
	s->lz = NULL;
	s->in = s->stage = s->out = s->buf = NULL;
}
