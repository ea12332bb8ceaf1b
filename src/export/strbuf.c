/* Growable, capped byte buffer used to build event.json, tag lists and
 * the file dump of a request. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddprof/error.h"
#include "strbuf.h"

void ddprof_strbuf_init(struct ddprof_strbuf *sb, size_t max)
{
	memset(sb, 0, sizeof(*sb));
	sb->max = max;
}

void ddprof_strbuf_fini(struct ddprof_strbuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

/* Makes room for n more bytes plus a NUL, doubling up to the cap. */
static int strbuf_reserve(struct ddprof_strbuf *sb, size_t n)
{
	size_t need, cap;
	char *p;

	if (sb->err)
		return sb->err;
	if (n >= sb->max || sb->len + n + 1 > sb->max)
		return sb->err = -DDPROF_ERR_TOO_BIG;
	need = sb->len + n + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > sb->max)
		cap = sb->max;
	p = realloc(sb->data, cap);
	if (!p)
		return sb->err = -ENOMEM;
	sb->data = p;
	sb->cap = cap;
	return 0;
}

int ddprof_strbuf_add(struct ddprof_strbuf *sb, const void *p, size_t n)
{
	if (strbuf_reserve(sb, n))
		return sb->err;
	if (n)
		memcpy(sb->data + sb->len, p, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
	return 0;
}

int ddprof_strbuf_adds(struct ddprof_strbuf *sb, const char *s)
{
	return ddprof_strbuf_add(sb, s, strlen(s));
}

int ddprof_strbuf_addf(struct ddprof_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return sb->err;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return sb->err = -DDPROF_ERR_INVALID;
	if (strbuf_reserve(sb, (size_t)n))
		return sb->err;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

char *ddprof_strbuf_take(struct ddprof_strbuf *sb)
{
	char *p = sb->data;

	sb->data = NULL;
	sb->len = sb->cap = 0;
	return p;
}
