/* Kernel symbols from /proc/kallsyms: text symbols sorted by address,
 * loaded once, looked up by binary search. */
#ifndef DDPROF_SYMBOLS_KALLSYMS_H
#define DDPROF_SYMBOLS_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct ddprof_ksym {
	uint64_t addr;
	const char *name; /* "func" or "func [module]", in names */
};

struct ddprof_kallsyms {
	struct ddprof_ksym *syms;
	size_t n;
	char *names;      /* every name, NUL-terminated, back to back */
};

/* Loads text symbols from path (normally "/proc/kallsyms") into k, which
 * must be zeroed or finished. Returns 0, -errno, -EACCES when every
 * address reads 0 (kptr_restrict), or -DDPROF_ERR_FORMAT when no line
 * parses. */
int ddprof_kallsyms_load(struct ddprof_kallsyms *k, const char *path);

/* Frees the table; k may be loaded again. */
void ddprof_kallsyms_fini(struct ddprof_kallsyms *k);

/* Returns the symbol containing pc (the last one starting at or below
 * it), or NULL below the first. Owned by k. */
const struct ddprof_ksym *ddprof_kallsyms_find(const struct ddprof_kallsyms *k,
					       uint64_t pc);

#endif
