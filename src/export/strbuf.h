/* A growable byte buffer with a hard size cap and a sticky error, so a
 * chain of appends needs one check at the end. */
#ifndef DDPROF_EXPORT_STRBUF_H
#define DDPROF_EXPORT_STRBUF_H

#include <stddef.h>

struct ddprof_strbuf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	size_t max; /* data never grows past max bytes (NUL included) */
	int err;    /* 0, -ENOMEM or -DDPROF_ERR_TOO_BIG; appends stop once set */
};

/* Starts an empty buffer that may grow to max bytes. Allocates nothing. */
void ddprof_strbuf_init(struct ddprof_strbuf *sb, size_t max);

/* Frees the bytes; sb may be reused after _init(). */
void ddprof_strbuf_fini(struct ddprof_strbuf *sb);

/* Appends n bytes. Returns sb->err (0 on success). */
int ddprof_strbuf_add(struct ddprof_strbuf *sb, const void *p, size_t n);

/* Appends a NUL-terminated string. Returns sb->err. */
int ddprof_strbuf_adds(struct ddprof_strbuf *sb, const char *s);

/* Appends printf-style text. Returns sb->err. */
int ddprof_strbuf_addf(struct ddprof_strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Hands the bytes to the caller (free() them; NULL when empty) and resets
 * sb to empty. */
char *ddprof_strbuf_take(struct ddprof_strbuf *sb);

#endif
