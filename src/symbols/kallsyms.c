/* /proc/kallsyms parser. Only text symbols (t, T, w, W) are kept: samples
 * only land in code. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddprof/error.h"
#include "symbols/addr_search.h"
#include "symbols/kallsyms.h"

static int cmp_ksym(const void *a, const void *b)
{
	const struct ddprof_ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int ddprof_kallsyms_load(struct ddprof_kallsyms *k, const char *path)
{
	FILE *f = fopen(path, "re");
	size_t cap = 0, len = 0, nonzero = 0;
	char *line = NULL;
	ssize_t r;
	int err = 0;

	memset(k, 0, sizeof(*k));
	ddprof_arena_init(&k->arena);
	if (!f)
		return -errno;
	while ((r = getline(&line, &len, f)) > 0) {
		char type, buf[660], *p = line, *end = line + r, *name, *mod;
		uint64_t addr = 0;
		char *s;
		size_t nlen;
		int digits = 0;

		/* "ADDR TYPE NAME[\t[MODULE]]\n", parsed by hand: sscanf
		 * made loading 120k symbols take a large part of a second */
		for (; p < end && isxdigit((unsigned char)*p); p++, digits++)
			addr = addr << 4 | (uint64_t)(isdigit((unsigned char)*p) ?
				*p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
		if (!digits || end - p < 4 || p[0] != ' ' || p[2] != ' ')
			continue;
		type = p[1];
		name = p + 3;
		if (end[-1] == '\n')
			*--end = 0;
		mod = memchr(name, '\t', end - name);
		if (mod)
			*mod++ = 0;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (k->n == cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			void *np = realloc(k->syms, ncap * sizeof(*k->syms));

			if (!np) {
				err = -ENOMEM;
				goto out;
			}
			k->syms = np;
			cap = ncap;
		}
		if (mod && *mod == '[') {
			snprintf(buf, sizeof(buf), "%.511s %.140s", name, mod);
			name = buf;
		}
		/* names are nearly all distinct: copied, not interned */
		nlen = strlen(name);
		s = ddprof_arena_alloc(&k->arena, nlen + 1);
		if (s)
			memcpy(s, name, nlen + 1);
		if (!s) {
			err = -ENOMEM;
			goto out;
		}
		nonzero += addr != 0;
		k->syms[k->n++] = (struct ddprof_ksym){ addr, s };
	}
	if (!k->n)
		err = -DDPROF_ERR_FORMAT;
	else if (!nonzero)
		err = -EACCES;
	else
		qsort(k->syms, k->n, sizeof(*k->syms), cmp_ksym);
out:
	free(line);
	fclose(f);
	if (err)
		ddprof_kallsyms_fini(k);
	return err;
}

void ddprof_kallsyms_fini(struct ddprof_kallsyms *k)
{
	free(k->syms);
	k->syms = NULL;
	k->n = 0;
	ddprof_arena_reset(&k->arena);
}

const struct ddprof_ksym *ddprof_kallsyms_find(const struct ddprof_kallsyms *k,
					       uint64_t pc)
{
	size_t lo = ddprof_addr_upper_bound(k->syms, k->n, sizeof(*k->syms), pc);

	return lo ? &k->syms[lo - 1] : NULL;
}
