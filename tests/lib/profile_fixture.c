/* Synthetic stacks for profile tests and benchmarks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_fixture.h"

static const struct ddprof_mapping fx_maps[2] = {
	{ 0x400000, 0x1000000, 0, "/usr/local/bin/app-server",
	  "4f2c1b9a0d3e8f7766554433221100aabbccddee" },
	{ 0x7f0000000000, 0x7f0000800000, 0x28000,
	  "/usr/lib/x86_64-linux-gnu/libc.so.6",
	  "c2b8ef4a77d1e9a1b5e3b1c8e0e4a5e1d1f0f2a3" },
};

#define FX_SHARED 160 /* functions shared by stacks, near the root */

/* Slot in the function table of frame i of stack k. */
static size_t fn_slot(size_t k, size_t i)
{
	return i == 0 ? FX_SHARED + k : (k / 16 + i * 7) % FX_SHARED;
}

int fx_stacks_new(struct fx_stacks *s, size_t n, size_t depth)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->depth = depth;
	s->nfuncs = FX_SHARED + n;
	s->locs = calloc(n * depth, sizeof(*s->locs));
	s->lines = calloc(s->nfuncs, sizeof(*s->lines));
	s->names = calloc(s->nfuncs, sizeof(*s->names));
	s->files = calloc(s->nfuncs, sizeof(*s->files));
	if (!s->locs || !s->lines || !s->names || !s->files) {
		fx_stacks_free(s);
		return -1;
	}
	for (size_t fn = 0; fn < s->nfuncs; fn++) {
		if (fn >= FX_SHARED)
			snprintf(s->names[fn], sizeof(s->names[fn]),
				 "app::worker::leaf_task_%zu", fn - FX_SHARED);
		else
			snprintf(s->names[fn], sizeof(s->names[fn]),
				 "app::module_%02zu::process_step_%zu", fn % 23, fn);
		/* one string per source file, as a symbolizer hands out */
		if (fn < 23)
			snprintf(s->files[fn], sizeof(s->files[fn]), "src/module_%02zu.cc", fn);
		s->lines[fn].function.name = s->names[fn];
		s->lines[fn].function.filename = s->files[fn % 23];
		s->lines[fn].function.start_line = (int64_t)(fn % 997) + 1;
		s->lines[fn].line = (int64_t)(fn % 997) + 10;
	}
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < depth; i++) {
			size_t j = k * depth + i, fn = fn_slot(k, i);
			const struct ddprof_mapping *m = &fx_maps[fn % 5 == 0];

			s->locs[j].mapping = *m;
			s->locs[j].address = m->start + 0x1000 + fn * 0x40;
			s->locs[j].lines = &s->lines[fn];
			s->locs[j].nlines = 1;
		}
	}
	return 0;
}

void fx_stacks_free(struct fx_stacks *s)
{
	free(s->locs);
	free(s->lines);
	free(s->names);
	free(s->files);
	memset(s, 0, sizeof(*s));
}

const char *fx_function(const struct fx_stacks *s, size_t k, size_t i)
{
	return s->names[fn_slot(k % s->n, i)];
}
