/* /proc/kallsyms parser. Only text symbols (t, T, w, W) are kept: samples
 * only land in code. */
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
	int err = 0;

	memset(k, 0, sizeof(*k));
	ddprof_arena_init(&k->arena);
	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0) {
		char type, name[512], mod[128] = "", buf[660];
		uint64_t addr;
		const char *s;

		if (sscanf(line, "%" SCNx64 " %c %511s [%127[^]]]", &addr, &type,
			   name, mod) < 3)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (k->n == cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			void *p = realloc(k->syms, ncap * sizeof(*k->syms));

			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			k->syms = p;
			cap = ncap;
		}
		if (mod[0])
			snprintf(buf, sizeof(buf), "%s [%s]", name, mod);
		s = ddprof_arena_str(&k->arena, mod[0] ? buf : name);
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
