/* Compression and output of the pprof encoder. Input is staged in 64 KiB
 * blocks so the compressors see large inputs; their output goes straight
 * to the destination, so the uncompressed profile is never fully held. */
#include <errno.h>
#include <lz4frame.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "ddprof/error.h"
#include "sink.h"

#define STAGE DDPROF_SINK_STAGE

static voidpf z_alloc(voidpf opaque, uInt n, uInt size)
{
	return ddprof_pcalloc(n, size);
}

static void z_free(voidpf opaque, voidpf p)
{
	ddprof_pfree(p);
}

/* Appends compressed (or raw) output to the destination. */
static int emit(struct ddprof_sink *s, const void *p, size_t n)
{
	if (n > s->max - s->total)
		return s->err = -DDPROF_ERR_TOO_BIG;
	if (s->fd >= 0) {
		const unsigned char *c = p;
		size_t left = n;

		while (left) {
			ssize_t w = write(s->fd, c, left);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return s->err = -errno;
			}
			c += w;
			left -= (size_t)w;
		}
	} else if (n) {
		if (s->len + n > s->cap) {
			size_t ncap = s->cap ? s->cap : STAGE;
			unsigned char *nb;

			while (ncap < s->len + n)
				ncap *= 2;
			if (ncap > s->max)
				ncap = s->max;
			nb = ddprof_prealloc(s->buf, ncap);
			if (!nb)
				return s->err = -ENOMEM;
			s->buf = nb;
			s->cap = ncap;
		}
		memcpy(s->buf + s->len, p, n);
		s->len += n;
	}
	s->total += n;
	return 0;
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
	case DDPROF_COMPRESS_LZ4: {
		size_t r = LZ4F_compressUpdate(s->lz, s->out, s->out_cap, s->in, n, NULL);

		if (LZ4F_isError(r))
			return s->err = -DDPROF_ERR_COMPRESS;
		return emit(s, s->out, r);
	}
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

int ddprof_sink_open(struct ddprof_sink *s,
		     const struct ddprof_serialize_opts *opts, int fd)
{
	LZ4F_preferences_t prefs;
	int level = opts->level;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->comp = opts->compression;
	s->max = opts->max_size ? opts->max_size : DDPROF_PROFILE_DEFAULT_MAX_SIZE;
	memset(&prefs, 0, sizeof(prefs));
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	/* no content checksum: the upload is already checked by TCP/TLS and
	 * hashing every byte again costs a sixth of the serialization time */
	prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
	prefs.compressionLevel = level;
	switch (s->comp) {
	case DDPROF_COMPRESS_NONE:
		s->out_cap = 0;
		break;
	case DDPROF_COMPRESS_GZIP:
		if (level < 0 || level > 9)
			return -DDPROF_ERR_INVALID;
		s->out_cap = STAGE;
		break;
	case DDPROF_COMPRESS_LZ4:
		s->out_cap = LZ4F_compressBound(STAGE, &prefs);
		if (s->out_cap < LZ4F_HEADER_SIZE_MAX)
			s->out_cap = LZ4F_HEADER_SIZE_MAX;
		break;
	default:
		return -DDPROF_ERR_INVALID;
	}
	s->in = ddprof_palloc(STAGE);
	s->out = s->out_cap ? ddprof_palloc(s->out_cap) : NULL;
	if (!s->in || (s->out_cap && !s->out))
		goto err_nomem;
	if (s->comp == DDPROF_COMPRESS_GZIP) {
		s->z.zalloc = z_alloc;
		s->z.zfree = z_free;
		/* level 1: profiles are repetitive and speed matters more here
		 * than the last percent of size */
		int zr = deflateInit2(&s->z, level ? level : 1, Z_DEFLATED,
				      15 + 16, 8, Z_DEFAULT_STRATEGY);
		if (zr == Z_MEM_ERROR)
			goto err_nomem;
		if (zr != Z_OK)
			goto err_compress;
		s->z_live = 1;
	} else if (s->comp == DDPROF_COMPRESS_LZ4) {
		size_t r;

		if (LZ4F_isError(LZ4F_createCompressionContext(&s->lz, LZ4F_VERSION)))
			goto err_nomem;
		r = LZ4F_compressBegin(s->lz, s->out, s->out_cap, &prefs);
		if (LZ4F_isError(r))
			goto err_compress;
		if (emit(s, s->out, r)) {
			int rc = s->err;

			ddprof_sink_close(s);
			return rc;
		}
	}
	return 0;
err_compress:
	ddprof_sink_close(s);
	return -DDPROF_ERR_COMPRESS;
err_nomem:
	ddprof_sink_close(s);
	return -ENOMEM;
}

int ddprof_sink_finish(struct ddprof_sink *s)
{
	if (s->err)
		return s->err;
	if (ddprof_sink_flush(s))
		return s->err;
	if (s->comp == DDPROF_COMPRESS_GZIP) {
		s->z.avail_in = 0;
		return gz_pump(s, Z_FINISH);
	}
	if (s->comp == DDPROF_COMPRESS_LZ4) {
		size_t r = LZ4F_compressEnd(s->lz, s->out, s->out_cap, NULL);

		if (LZ4F_isError(r))
			return s->err = -DDPROF_ERR_COMPRESS;
		return emit(s, s->out, r);
	}
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
	if (s->lz)
		LZ4F_freeCompressionContext(s->lz);
	s->lz = NULL;
	ddprof_pfree(s->in);
	ddprof_pfree(s->out);
	ddprof_pfree(s->buf);
	s->in = s->out = s->buf = NULL;
}
