/* Symbolized frames -> interned pprof mappings, functions and locations,
 * with a per-period cache of location ids. */
#include "cli/frames.h"
#include "common/hash.h"

uint64_t ddprof_cli_frame_key(const struct ddprof_frame *f, pid_t pid,
			      uint64_t maps_gen)
{
	const struct ddprof_map *m = f->map;
	uint64_t h = ddprof_hash_u64(((uint64_t)f->kind << 1) | f->call_site);

	switch (f->kind) {
	case DDPROF_FRAME_USER:
		if (m && (m->dev || m->ino)) {
			h = ddprof_hash_combine(h, m->dev);
			h = ddprof_hash_combine(h, m->ino);
			return ddprof_hash_combine(h, f->pc - m->start + m->pgoff);
		}
		break;
	case DDPROF_FRAME_KERNEL:
		return ddprof_hash_combine(h, f->pc);
	case DDPROF_FRAME_TRUNCATED:
	case DDPROF_FRAME_INCOMPLETE:
		return h; /* markers name no address */
	}
	/* anonymous code (JIT), vdso, unmapped: only valid in this process
	 * and this layout of its mappings */
	h = ddprof_hash_combine(h, (uint64_t)pid);
	h = ddprof_hash_combine(h, maps_gen);
	return ddprof_hash_combine(h, f->pc);
}

/* Interns the symbolizer's answer for one frame as a location. */
static int intern_symbol(struct ddprof_cli_agg *a, const struct ddprof_symbol *s,
			 bool no_inline, uint64_t *loc)
{
	struct ddprof_cli_line lines[DDPROF_CLI_MAX_LINES];
	struct ddprof_cli_sym cs = {
		.start = s->mapping.start,
		.limit = s->mapping.limit,
		.file_offset = s->mapping.file_offset,
		.path = s->mapping.path,
		.build_id = s->mapping.build_id,
		.address = s->address,
		.lines = lines,
	};
	unsigned first = s->nr_lines > DDPROF_CLI_MAX_LINES ?
				 s->nr_lines - DDPROF_CLI_MAX_LINES : 0;

	for (unsigned i = first; i < s->nr_lines; i++) {
		const struct ddprof_symbol_line *l = &s->lines[i];

		lines[cs.nr_lines++] = (struct ddprof_cli_line){
			.name = l->name,
			.system_name = l->system_name,
			.file = l->file,
			.line = l->line,
			.start_line = l->start_line,
		};
	}
	return ddprof_cli_agg_intern_location(a, &cs, no_inline, loc);
}

int ddprof_cli_frames_convert(struct ddprof_cli_agg *a,
			      struct ddprof_symbolizer *sym, pid_t pid,
			      uint64_t maps_gen,
			      const struct ddprof_unwind_result *res,
			      bool no_inline, uint64_t *locs,
			      bool *looked_up)
{
	*looked_up = false;
	for (unsigned i = 0; i < res->nr; i++) {
		const struct ddprof_frame *f = &res->frames[i];
		uint64_t key = ddprof_cli_frame_key(f, pid, maps_gen);
		struct ddprof_symbol s;
		int ret;

		if (ddprof_cli_agg_loc_get(a, key, &locs[i]))
			continue;
		*looked_up = true;
		if ((ret = ddprof_symbolizer_lookup(sym, pid, f, &s)) ||
		    (ret = intern_symbol(a, &s, no_inline, &locs[i])))
			return ret;
		/* a failed put only costs a later lookup */
		(void)ddprof_cli_agg_loc_put(a, key, locs[i]);
	}
	return 0;
}
