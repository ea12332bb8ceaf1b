/* /proc/kallsyms parser. Only text symbols (t, T, w, W) are kept: samples
 * only land in code. The file is read whole with large reads and parsed in
 * place: names are packed to the front of the same buffer, so loading
 * 120k symbols allocates two blocks and copies each name once. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddprof/error.h"
#include "symbols/addr_search.h"
#include "symbols/kallsyms.h"

/* First buffer size: /proc/kallsyms is ~5 MiB on a distribution kernel,
 * and each read() of a seq_file costs a restart of the kernel's iterator,
 * so reads are large. */
#define KSYMS_FIRST_READ (8u << 20)

static int cmp_ksym(const void *a, const void *b)
{
	const struct ddprof_ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Reads all of fd into *buf (NUL-terminated); returns its length or a
 * negative error. */
static ssize_t read_all(int fd, char **buf)
{
	size_t cap = KSYMS_FIRST_READ, len = 0;
	char *b = malloc(cap + 1);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			char *nb = realloc(b, 2 * cap + 1);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;

			free(b);
			return err;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	b[len] = 0;
	*buf = b;
	return (ssize_t)len;
}

static const signed char hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11,
	['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
}; /* digit value + 1; 0: not a hex digit */

int ddprof_kallsyms_load(struct ddprof_kallsyms *k, const char *path)
{
	size_t cap, nonzero = 0, w = 0;
	char *buf = NULL, *p, *end;
	bool sorted = true;
	ssize_t len;
	int fd, err = 0;

	memset(k, 0, sizeof(*k));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read_all(fd, &buf);
	close(fd);
	if (len < 0)
		return (int)len;
	/* one symbol per ~40 bytes of text; grown below if not */
	cap = (size_t)len / 32 + 16;
	k->syms = malloc(cap * sizeof(*k->syms));
	if (!k->syms) {
		err = -ENOMEM;
		goto out;
	}
	/* "ADDR TYPE NAME[\t[MODULE]]\n". Packing names at w never overtakes
	 * the line being read: w ends before the line's "ADDR T " prefix. */
	for (p = buf, end = buf + len; p < end;) {
		char *nl = memchr(p, '\n', end - p), *name, *tab;
		uint64_t addr = 0;
		int digits = 0, v;
		size_t nlen;
		char type;

		if (!nl)
			nl = end;
		for (; p < nl && (v = hexval[(unsigned char)*p]); p++, digits++)
			addr = addr << 4 | (uint64_t)(v - 1);
		if (!digits || nl - p < 4 || p[0] != ' ' || p[2] != ' ')
			goto next;
		type = p[1];
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			goto next;
		name = p + 3;
		nlen = nl - name;
		/* "name\t[module]" becomes "name [module]", same length */
		tab = memchr(name, '\t', nlen);
		if (tab && tab[1] != '[')
			nlen = tab - name; /* an unknown trailer: dropped */
		memmove(buf + w, name, nlen);
		if (tab && tab[1] == '[')
			buf[w + (tab - name)] = ' ';
		buf[w + nlen] = 0;
		if (k->n == cap) {
			void *np = realloc(k->syms, 2 * cap * sizeof(*k->syms));

			if (!np) {
				err = -ENOMEM;
				goto out;
			}
			k->syms = np;
			cap *= 2;
		}
		if (k->n && addr < k->syms[k->n - 1].addr)
			sorted = false;
		nonzero += addr != 0;
		/* an offset until the buffer stops moving */
		k->syms[k->n++] = (struct ddprof_ksym){ addr,
			(const char *)(uintptr_t)w };
		w += nlen + 1;
next:
		p = nl + 1;
	}
	if (!k->n) {
		err = -DDPROF_ERR_FORMAT;
		goto out;
	}
	if (!nonzero) {
		err = -EACCES;
		goto out;
	}
	{
		char *nb = realloc(buf, w); /* shrinks: cannot fail in practice */

		if (nb)
			buf = nb;
	}
	for (size_t i = 0; i < k->n; i++)
		k->syms[i].name = buf + (uintptr_t)k->syms[i].name;
	k->names = buf;
	buf = NULL;
	/* the core kernel comes sorted; modules and BPF programs may not */
	if (!sorted)
		qsort(k->syms, k->n, sizeof(*k->syms), cmp_ksym);
out:
	free(buf);
	if (err)
		ddprof_kallsyms_fini(k);
	return err;
}

void ddprof_kallsyms_fini(struct ddprof_kallsyms *k)
{
	free(k->syms);
	free(k->names);
	k->syms = NULL;
	k->names = NULL;
	k->n = 0;
}

const struct ddprof_ksym *ddprof_kallsyms_find(const struct ddprof_kallsyms *k,
					       uint64_t pc)
{
	size_t lo = ddprof_addr_upper_bound(k->syms, k->n, sizeof(*k->syms), pc);

	return lo ? &k->syms[lo - 1] : NULL;
}
