/* Symbolizer: names the frames of ddprof_unwind_sample() (function, file,
 * line, inlined callers) from ELF symbols and DWARF (elfutils), kernel
 * frames from /proc/kallsyms and JIT code from /tmp/perf-PID.map, with
 * bounded per-file and per-address caches. */
#ifndef DDPROF_SYMBOLS_SYMBOLIZER_H
#define DDPROF_SYMBOLS_SYMBOLIZER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "unwind/unwind.h"

/* One function at one pc. Strings are never NULL ("" when unknown). */
struct ddprof_symbol_line {
	const char *name;        /* demangled for display */
	const char *system_name; /* as in the binary (mangled), or = name */
	const char *file;        /* source file, "" when unknown */
	uint32_t line;           /* line of pc (or of the inlined call) */
	uint32_t start_line;     /* line where the function starts, 0 unknown */
};

/* Mapping facts for pprof's Mapping message. */
struct ddprof_symbol_mapping {
	uint64_t start, limit, file_offset;
	const char *path;         /* "[kernel]", "[vdso]", "//anon", a file */
	const char *build_id;     /* lowercase hex, "" when none */
	bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

/* What one pc resolves to: lines innermost first (lines[0] is the deepest
 * inlined callee, the last line the real function). nr_lines >= 1: an
 * unknown function still gets a line named "binary+0xVADDR" (or
 * "[unknown]", "[truncated]", "[incomplete]" for markers). */
struct ddprof_symbol {
	struct ddprof_symbol_mapping mapping;
	uint64_t address;                      /* the frame's pc */
	unsigned nr_lines;
	const struct ddprof_symbol_line *lines;
};

struct ddprof_symbolizer_stats {
	uint64_t lookups, addr_hits;      /* per-address cache */
	uint64_t files_opened, files_failed, files_evicted;
	uint64_t perfmap_loads, perfmap_refused;
};

struct ddprof_symbolizer;

/* Creates a symbolizer; kallsyms is loaded on the first kernel frame.
 * Returns 0 and *out, or -ENOMEM. */
int ddprof_symbolizer_new(struct ddprof_symbolizer **out);

/* Frees everything; accepts NULL. */
void ddprof_symbolizer_free(struct ddprof_symbolizer *s);

/* Resolves frame f of process pid into *out. Files are opened as
 * /proc/PID/root/<path>, or /proc/PID/map_files/<start>-<end> when that
 * file was deleted or replaced. Returns 0 (out filled, possibly with the
 * "binary+0xVADDR" fallback), or -DDPROF_ERR_INVALID.
 * Ownership: every string and the lines array belong to the symbolizer and
 * stay valid until the next ddprof_symbolizer_trim(), _evict_file() or
 * _free() call: lookups never evict, so a whole stack can be converted. */
int ddprof_symbolizer_lookup(struct ddprof_symbolizer *s, pid_t pid,
			     const struct ddprof_frame *f,
			     struct ddprof_symbol *out);

/* Brings the caches back under their bounds (least recently used files
 * and addresses go first). Call between samples, after converting. */
void ddprof_symbolizer_trim(struct ddprof_symbolizer *s);

/* Drops everything cached about ELF file (dev, ino): call when no live
 * process maps it any more. */
void ddprof_symbolizer_evict_file(struct ddprof_symbolizer *s, uint64_t dev,
				  uint64_t ino);

/* Forgets pid's JIT perf map (call when the process exits or execs). */
void ddprof_symbolizer_forget_pid(struct ddprof_symbolizer *s, pid_t pid);

/* Returns the counters (owned by s). */
const struct ddprof_symbolizer_stats *ddprof_symbolizer_stats(const struct ddprof_symbolizer *s);

#endif
