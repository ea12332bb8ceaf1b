/* Frame naming: dispatches each frame to the kernel table, a JIT perf map
 * or the cached ELF file behind its mapping, and fills the mapping facts
 * pprof wants. Caches only grow during lookups; trim() bounds them. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/hash.h"
#include "common/log.h"
#include "ddprof/error.h"
#include "symbols/kallsyms.h"
#include "symbols/perfmap.h"
#include "symbols/symbolizer.h"
#include "symbols/symfile.h"
#include "unwind/file_cache.h"

#define SYM_MAX_FILES 256
#define SYM_FILE_BYTES (16u << 20)   /* per-file address cache */
#define SYM_MISC_BYTES (4u << 20)
#define SYM_PERFMAPS 32
#define SYM_MAP_SLOTS 64

/* A mapping already resolved to its file and load bias: most frames hit
 * here and skip the file cache and the program headers. */
struct sym_map_slot {
	uint64_t start, pgoff, dev, ino, bias;
	struct ddprof_symfile *f;
};

struct ddprof_symbolizer {
	struct ddprof_file_cache files;  /* (dev, ino) -> symfile or NULL */
	struct ddprof_kallsyms ksyms;
	struct ddprof_symbol_line *klines; /* one per ksyms entry, lazily */
	bool ksyms_tried;
	struct ddprof_perfmap perfmaps[SYM_PERFMAPS];
	uint64_t perfmap_use[SYM_PERFMAPS];
	uint64_t clock;
	struct ddprof_arena misc;        /* fallback names and their lines */
	struct sym_map_slot mslots[SYM_MAP_SLOTS];
	struct ddprof_symbolizer_stats stats;
};

static void symfile_free(void *p)
{
	ddprof_symfile_free(p);
}

int ddprof_symbolizer_new(struct ddprof_symbolizer **out)
{
	struct ddprof_symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	ddprof_file_cache_init(&s->files, symfile_free);
	ddprof_arena_init(&s->misc);
	*out = s;
	return 0;
}

void ddprof_symbolizer_free(struct ddprof_symbolizer *s)
{
	if (!s)
		return;
	ddprof_file_cache_fini(&s->files);
	ddprof_kallsyms_fini(&s->ksyms);
	free(s->klines);
	for (unsigned i = 0; i < SYM_PERFMAPS; i++)
		ddprof_perfmap_fini(&s->perfmaps[i]);
	ddprof_arena_reset(&s->misc);
	free(s);
}

const struct ddprof_symbolizer_stats *ddprof_symbolizer_stats(const struct ddprof_symbolizer *s)
{
	return &s->stats;
}

/* A one-line answer whose name is built from fmt, in the misc arena. */
static int misc_line(struct ddprof_symbolizer *s, struct ddprof_symbol *out,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int misc_line(struct ddprof_symbolizer *s, struct ddprof_symbol *out,
		     const char *fmt, ...)
{
	struct ddprof_symbol_line *l = ddprof_arena_alloc(&s->misc, sizeof(*l));
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!l)
		return -ENOMEM;
	l->name = l->system_name = ddprof_arena_str(&s->misc, buf);
	l->file = "";
	l->line = l->start_line = 0;
	if (!l->name)
		return -ENOMEM;
	out->lines = l;
	out->nr_lines = 1;
	return 0;
}

static void map_facts(struct ddprof_symbol *out, const struct ddprof_map *map,
		      const char *path)
{
	out->mapping.start = map->start;
	out->mapping.limit = map->end;
	out->mapping.file_offset = map->pgoff;
	out->mapping.path = path;
	out->mapping.build_id = "";
}

static int lookup_kernel(struct ddprof_symbolizer *s, uint64_t pc,
			 struct ddprof_symbol *out)
{
	const struct ddprof_ksym *k;

	if (!s->ksyms_tried) {
		int err = ddprof_kallsyms_load(&s->ksyms, "/proc/kallsyms");

		s->ksyms_tried = true;
		if (err)
			pr_warn("kallsyms: %s: kernel frames stay unnamed",
				ddprof_strerror(err));
		else if (!(s->klines = calloc(s->ksyms.n, sizeof(*s->klines))))
			ddprof_kallsyms_fini(&s->ksyms);
	}
	out->mapping.path = "[kernel]";
	out->mapping.build_id = "";
	k = s->ksyms.n ? ddprof_kallsyms_find(&s->ksyms, pc) : NULL;
	if (!k)
		return misc_line(s, out, "[kernel]+0x%" PRIx64, pc);
	out->mapping.start = s->ksyms.syms[0].addr;
	out->mapping.limit = s->ksyms.syms[s->ksyms.n - 1].addr + 1;
	out->mapping.has_functions = true;
	{
		struct ddprof_symbol_line *l = &s->klines[k - s->ksyms.syms];

		if (!l->name) {
			l->name = l->system_name = k->name;
			l->file = "";
		}
		out->lines = l;
		out->nr_lines = 1;
	}
	return 0;
}

static struct ddprof_perfmap *perfmap_for(struct ddprof_symbolizer *s,
					  pid_t pid, bool reread)
{
	unsigned slot = 0;
	int err;

	for (unsigned i = 0; i < SYM_PERFMAPS; i++) {
		if (s->perfmaps[i].loaded && s->perfmaps[i].pid == pid) {
			slot = i;
			goto found;
		}
		if (s->perfmap_use[i] < s->perfmap_use[slot])
			slot = i;
	}
	if (s->perfmaps[slot].pid != pid)
		ddprof_perfmap_fini(&s->perfmaps[slot]);
	reread = true;
found:
	s->perfmap_use[slot] = ++s->clock;
	if (reread) {
		err = ddprof_perfmap_load(&s->perfmaps[slot], pid);
		if (err == -ELOOP || err == -EPERM) {
			s->stats.perfmap_refused++;
			pr_warn("perf map of pid %d refused: %s", (int)pid,
				err == -ELOOP ? "a symlink" :
						"not owned by the process's user");
		} else if (!err) {
			s->stats.perfmap_loads++;
		}
	}
	return s->perfmaps[slot].loaded ? &s->perfmaps[slot] : NULL;
}

/* JIT code: the perf map names it; re-read once when pc is not found. */
static bool lookup_jit(struct ddprof_symbolizer *s, pid_t pid, uint64_t pc,
		       struct ddprof_symbol *out)
{
	const struct ddprof_perfmap_entry *e = NULL;
	struct ddprof_perfmap *m = perfmap_for(s, pid, false);

	if (m)
		e = ddprof_perfmap_find(m, pc);
	if (!e && (m = perfmap_for(s, pid, true)))
		e = ddprof_perfmap_find(m, pc);
	if (!e)
		return false;
	if (misc_line(s, out, "%s", e->name))
		return false;
	out->mapping.has_functions = true;
	return true;
}

static bool is_anon_exec(const struct ddprof_map *map)
{
	return (map->prot & PROT_EXEC) &&
	       (!map->path[0] || !strncmp(map->path, "//anon", 6) ||
		!strncmp(map->path, "[anon", 5) ||
		!strncmp(map->path, "/memfd:", 7));
}

static struct ddprof_symfile *symfile_for(struct ddprof_symbolizer *s,
					  pid_t pid,
					  const struct ddprof_map *map)
{
	struct ddprof_symfile *f;
	uint64_t dev, ino;
	int err;

	if (!ddprof_elf_image_key(map, &dev, &ino))
		return NULL;
	f = ddprof_file_cache_get(&s->files, dev, ino);
	if (f || ddprof_file_cache_get_present(&s->files, dev, ino))
		return f;
	err = ddprof_symfile_open(&f, pid, map);
	if (err) {
		s->stats.files_failed++;
		pr_warn("symbols: %s skipped: %s", map->path, ddprof_strerror(err));
		f = NULL;
	} else {
		s->stats.files_opened++;
	}
	if (ddprof_file_cache_put(&s->files, dev, ino, f)) {
		ddprof_symfile_free(f);
		return NULL;
	}
	return f;
}

static void fill_user(struct ddprof_symbol *out, const struct ddprof_map *map,
		      const struct ddprof_symfile *f,
		      const struct ddprof_sym_entry *e)
{
	map_facts(out, map, f->img->name);
	out->mapping.build_id = f->img->build_id_hex;
	out->mapping.has_functions = f->has_symbols || f->has_dwarf;
	out->mapping.has_filenames = out->mapping.has_line_numbers =
		out->mapping.has_inline_frames = f->has_dwarf;
	out->lines = e->lines;
	out->nr_lines = e->nr;
}

static int lookup_user(struct ddprof_symbolizer *s, pid_t pid,
		       const struct ddprof_frame *fr, struct ddprof_symbol *out)
{
	const struct ddprof_map *map = fr->map;
	struct sym_map_slot *slot = &s->mslots[ddprof_hash_u64(map->start ^ map->ino) %
					       SYM_MAP_SLOTS];
	const struct ddprof_sym_entry *e;
	struct ddprof_symfile *f;
	uint64_t bias, hits;
	const char *slash;

	if (slot->f && slot->start == map->start && slot->pgoff == map->pgoff &&
	    slot->ino == map->ino && slot->dev == map->dev) {
		f = slot->f;
		bias = slot->bias;
		goto resolve;
	}
	if (is_anon_exec(map) && lookup_jit(s, pid, fr->pc, out)) {
		map_facts(out, map, ddprof_arena_str(&s->misc, map->path));
		return 0;
	}
	f = symfile_for(s, pid, map);
	if (!f || ddprof_elf_image_bias(f->img, map, &bias)) {
		map_facts(out, map, ddprof_arena_str(&s->misc, map->path));
		slash = strrchr(map->path, '/');
		/* no ELF to read: a stable name from the file offset */
		return misc_line(s, out, "%s+0x%" PRIx64,
				 slash ? slash + 1 : map->path[0] ? map->path :
								    "[anon]",
				 fr->pc - map->start + map->pgoff);
	}
	*slot = (struct sym_map_slot){ map->start, map->pgoff, map->dev,
				       map->ino, bias, f };
resolve:
	hits = f->addr_hits;
	e = ddprof_symfile_lookup(f, fr->pc - bias, fr->call_site);
	if (!e)
		return -ENOMEM;
	s->stats.addr_hits += f->addr_hits - hits;
	fill_user(out, map, f, e);
	return 0;
}

int ddprof_symbolizer_lookup(struct ddprof_symbolizer *s, pid_t pid,
			     const struct ddprof_frame *fr,
			     struct ddprof_symbol *out)
{
	if (!s || !fr || !out || (fr->kind == DDPROF_FRAME_USER && !fr->map))
		return -DDPROF_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	out->address = fr->pc;
	out->mapping.path = out->mapping.build_id = "";
	s->stats.lookups++;
	switch (fr->kind) {
	case DDPROF_FRAME_KERNEL:
		return lookup_kernel(s, fr->pc, out);
	case DDPROF_FRAME_USER:
		return lookup_user(s, pid, fr, out);
	case DDPROF_FRAME_UNMAPPED:
		/* JIT code mapped after our last look at the maps */
		if (lookup_jit(s, pid, fr->pc, out))
			return 0;
		return misc_line(s, out, "[unmapped]");
	case DDPROF_FRAME_TRUNCATED:
		return misc_line(s, out, "[truncated]");
	default:
		return misc_line(s, out, "[incomplete]");
	}
}

void ddprof_symbolizer_trim(struct ddprof_symbolizer *s)
{
	size_t evicted = ddprof_file_cache_trim(&s->files, SYM_MAX_FILES);

	if (evicted)
		memset(s->mslots, 0, sizeof(s->mslots));
	s->stats.files_evicted += evicted;
	for (size_t i = 0; i < s->files.count; i++) {
		struct ddprof_symfile *f = s->files.slots[i].val;

		if (f && f->arena.used > SYM_FILE_BYTES)
			ddprof_symfile_clear(f);
	}
	if (s->misc.used > SYM_MISC_BYTES)
		ddprof_arena_reset(&s->misc);
}

void ddprof_symbolizer_evict_file(struct ddprof_symbolizer *s, uint64_t dev,
				  uint64_t ino)
{
	if (s && ddprof_file_cache_del(&s->files, dev, ino)) {
		s->stats.files_evicted++;
		memset(s->mslots, 0, sizeof(s->mslots));
	}
}

void ddprof_symbolizer_forget_pid(struct ddprof_symbolizer *s, pid_t pid)
{
	for (unsigned i = 0; s && i < SYM_PERFMAPS; i++)
		if (s->perfmaps[i].pid == pid) {
			ddprof_perfmap_fini(&s->perfmaps[i]);
			s->perfmaps[i].pid = 0;
			s->perfmap_use[i] = 0;
		}
}
