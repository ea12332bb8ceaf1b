/* Symbols and debug information of one ELF file (elfutils libdwfl/libdw),
 * with a per-address cache of resolved lines. Addresses are the file's
 * own virtual addresses (runtime pc minus load bias). */
#ifndef DDPROF_SYMBOLS_SYMFILE_H
#define DDPROF_SYMBOLS_SYMFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/u64map.h"
#include "proc/proc.h"
#include "symbols/arena.h"
#include "symbols/symbolizer.h"
#include "unwind/elf_image.h"

/* Deepest inline chain reported for one pc. */
#define DDPROF_SYMFILE_MAX_INLINE 16

/* Lines of one address, innermost first. */
struct ddprof_sym_entry {
	unsigned nr;
	struct ddprof_symbol_line lines[];
};

struct ddprof_symfile {
	struct ddprof_elf_image *img;
	void *dwfl;                 /* Dwfl *, Dwfl_Module * */
	void *mod;
	void *alt_elf, *alt_dw;     /* dwz alt file: Elf *, Dwarf * (owned) */
	int alt_fd;                 /* its sealed copy */
	const char *base;           /* file name without directories */
	bool has_symbols, has_dwarf;
	uint64_t addr_hits;         /* lookups answered from the cache */
	struct ddprof_arena arena;  /* entries and their strings */
	struct ddprof_u64map addrs; /* vaddr << 1 | call_site -> entry */
};

/* Opens map's file in process pid (see ddprof_elf_file_open), its symbol
 * tables and DWARF, including separate debug files found by build id
 * (/usr/lib/debug/.build-id/xx/yyyy.debug) or .gnu_debuglink. Returns 0
 * and *out, or a negative error (the file is unusable). */
int ddprof_symfile_open(struct ddprof_symfile **out, pid_t pid,
			const struct ddprof_map *map);

/* Same for a file of our own mount namespace (tests). */
int ddprof_symfile_open_path(struct ddprof_symfile **out, const char *path);

/* Frees f and everything it handed out; accepts NULL. */
void ddprof_symfile_free(struct ddprof_symfile *f);

/* Resolves vaddr (call_site: a return address, looked up at vaddr - 1).
 * Returns the cached entry (owned by f, stable until ddprof_symfile_clear
 * or _free), or NULL on allocation failure. Never fails to name: without
 * symbols the line reads "base+0xVADDR". */
const struct ddprof_sym_entry *ddprof_symfile_lookup(struct ddprof_symfile *f,
						     uint64_t vaddr,
						     bool call_site);

/* Drops the per-address cache and its strings (entries become invalid). */
void ddprof_symfile_clear(struct ddprof_symfile *f);

#endif
