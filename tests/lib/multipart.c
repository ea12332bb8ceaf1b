/* multipart/form-data parsing as RFC 7578 describes it, strict enough
 * that a malformed upload fails the test instead of being tolerated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"

/* Copies the quoted value of key="..." from a Content-Disposition line. */
static char *disposition_param(const char *line, const char *key)
{
	char pat[32];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "; %s=\"", key);
	if (!(p = strstr(line, pat)))
		return NULL;
	p += strlen(pat);
	if (!(e = strchr(p, '"')))
		return NULL;
	return strndup(p, (size_t)(e - p));
}

static int parse_part_headers(struct multipart_part *part, const char *p,
			      const char *end)
{
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		char *line;

		if (!eol)
			eol = end;
		if (part->n_headers == MULTIPART_MAX_HEADERS)
			return -1;
		if (!(line = strndup(p, (size_t)(eol - p))))
			return -1;
		part->headers[part->n_headers++] = line;
		if (!strncasecmp(line, "Content-Disposition: form-data", 30)) {
			part->name = disposition_param(line, "name");
			part->filename = disposition_param(line, "filename");
		} else if (!strncasecmp(line, "Content-Type: ", 14)) {
			part->content_type = strdup(line + 14);
		}
		p = eol + 2;
	}
	return 0;
}

int multipart_parse(struct multipart *mp, const char *content_type,
		    const void *body, size_t len)
{
	const char *b = body, *end = b + len, *p, *bv;
	char delim[128];
	size_t dlen, blen;

	memset(mp, 0, sizeof(*mp));
	if (!content_type || strncasecmp(content_type, "multipart/form-data;", 20))
		return -1;
	if (!(bv = strstr(content_type, "boundary=")))
		return -1;
	bv += 9;
	blen = strcspn(bv, "; ");
	if (*bv == '"') {
		bv++;
		blen = strcspn(bv, "\"");
	}
	if (blen == 0 || blen > 70)
		return -1;
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%.*s", (int)blen, bv);
	/* the first delimiter has no leading CRLF */
	if (len < dlen - 2 || memcmp(b, delim + 2, dlen - 2))
		return -1;
	p = b + dlen - 2;
	for (;;) {
		struct multipart_part *part;
		const char *hend, *next;

		if (end - p >= 2 && !memcmp(p, "--", 2)) {
			p += 2;
			return (end - p == 2 && !memcmp(p, "\r\n", 2)) || p == end ? 0 : -1;
		}
		if (end - p < 2 || memcmp(p, "\r\n", 2) ||
		    mp->n_parts == MULTIPART_MAX_PARTS)
			return -1;
		p += 2;
		if (!(hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)))
			return -1;
		part = &mp->parts[mp->n_parts++];
		if (parse_part_headers(part, p, hend))
			return -1;
		p = hend + 4;
		if (!(next = memmem(p, (size_t)(end - p), delim, dlen)))
			return -1;
		part->data = (const unsigned char *)p;
		part->len = (size_t)(next - p);
		p = next + dlen;
	}
}

void multipart_fini(struct multipart *mp)
{
	for (size_t i = 0; i < mp->n_parts; i++) {
		struct multipart_part *part = &mp->parts[i];

		for (size_t h = 0; h < part->n_headers; h++)
			free(part->headers[h]);
		free(part->name);
		free(part->filename);
		free(part->content_type);
	}
	memset(mp, 0, sizeof(*mp));
}

const struct multipart_part *multipart_find(const struct multipart *mp,
					    const char *name)
{
	for (size_t i = 0; i < mp->n_parts; i++)
		if (mp->parts[i].name && !strcmp(mp->parts[i].name, name))
			return &mp->parts[i];
	return NULL;
}
