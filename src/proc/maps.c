/* /proc/PID/maps line parsing without sscanf: lines are not
 * NUL-terminated inside the read buffer and paths may contain spaces. */
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "ddprof/error.h"
#include "proc/maps.h"

struct text {
	const char *p, *end;
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_uint(struct text *t, unsigned base, uint64_t *out)
{
	uint64_t v = 0;
	int d, n = 0;

	while (t->p < t->end && (d = hex_digit(*t->p)) >= 0 && d < (int)base) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return -DDPROF_ERR_FORMAT;
		v = v * base + (uint64_t)d;
		t->p++;
		n++;
	}
	if (!n)
		return -DDPROF_ERR_FORMAT;
	*out = v;
	return 0;
}

static int expect(struct text *t, char c)
{
	if (t->p >= t->end || *t->p != c)
		return -DDPROF_ERR_FORMAT;
	t->p++;
	return 0;
}

static void skip_spaces(struct text *t)
{
	while (t->p < t->end && *t->p == ' ')
		t->p++;
}

int ddprof_maps_parse_line(const char *line, size_t len, struct ddprof_map *m,
			   const char **path, size_t *path_len)
{
	struct text t = { line, line + len };
	uint64_t maj, min;
	const char *perm;

	m->path = NULL;
	if (parse_uint(&t, 16, &m->start) || expect(&t, '-') ||
	    parse_uint(&t, 16, &m->end) || expect(&t, ' '))
		return -DDPROF_ERR_FORMAT;
	if (m->end < m->start || t.end - t.p < 5 || t.p[4] != ' ')
		return -DDPROF_ERR_FORMAT;
	perm = t.p;
	m->prot = (perm[0] == 'r' ? PROT_READ : 0) |
		  (perm[1] == 'w' ? PROT_WRITE : 0) |
		  (perm[2] == 'x' ? PROT_EXEC : 0);
	if (perm[3] != 's' && perm[3] != 'p')
		return -DDPROF_ERR_FORMAT;
	m->flags = perm[3] == 's' ? MAP_SHARED : MAP_PRIVATE;
	t.p += 5;
	if (parse_uint(&t, 16, &m->pgoff) || expect(&t, ' ') ||
	    parse_uint(&t, 16, &maj) || expect(&t, ':') ||
	    parse_uint(&t, 16, &min) || expect(&t, ' ') ||
	    parse_uint(&t, 10, &m->ino))
		return -DDPROF_ERR_FORMAT;
	if (maj > 0xfffff || min > 0xfffff)
		return -DDPROF_ERR_FORMAT;
	m->dev = makedev((unsigned)maj, (unsigned)min);
	if (t.p < t.end && *t.p != ' ')
		return -DDPROF_ERR_FORMAT;
	skip_spaces(&t);
	while (t.end > t.p && (t.end[-1] == '\n' || t.end[-1] == '\0'))
		t.end--;
	*path = t.p;
	*path_len = (size_t)(t.end - t.p);
	return 0;
}
