/* A strict multipart/form-data parser for tests: splits a body by the
 * boundary named in its Content-Type and keeps each part's raw header
 * lines, so tests can compare parts byte for byte. */
#ifndef DDPROF_TESTS_MULTIPART_H
#define DDPROF_TESTS_MULTIPART_H

#include <stddef.h>

#define MULTIPART_MAX_PARTS 16
#define MULTIPART_MAX_HEADERS 8

struct multipart_part {
	char *headers[MULTIPART_MAX_HEADERS]; /* raw lines, without CRLF */
	size_t n_headers;
	char *name;         /* from Content-Disposition, or NULL */
	char *filename;     /* from Content-Disposition, or NULL */
	char *content_type; /* value of Content-Type, or NULL */
	const unsigned char *data; /* points into the parsed body */
	size_t len;
};

struct multipart {
	struct multipart_part parts[MULTIPART_MAX_PARTS];
	size_t n_parts;
};

/* Parses body (len bytes) sent with the given Content-Type header value,
 * which must be multipart/form-data with a boundary. The body must begin
 * with the first delimiter and end with the closing one (plus CRLF).
 * Returns 0, or -1 on any deviation. Parts point into body: keep it
 * alive. Call multipart_fini() in both cases. */
int multipart_parse(struct multipart *mp, const char *content_type,
		    const void *body, size_t len);

void multipart_fini(struct multipart *mp);

/* The part named name, or NULL. */
const struct multipart_part *multipart_find(const struct multipart *mp,
					    const char *name);

#endif
