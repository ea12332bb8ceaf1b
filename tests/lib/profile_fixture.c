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

int fx_stacks_new(struct fx_stacks *s, size_t n, size_t depth)
{
	size_t total = n * depth;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->depth = depth;
	s->locs = calloc(total, sizeof(*s->locs));
	s->lines = calloc(total, sizeof(*s->lines));
	s->names = calloc(total, sizeof(*s->names));
	s->files = calloc(total, sizeof(*s->files));
	if (!s->locs || !s->lines || !s->names || !s->files) {
		fx_stacks_free(s);
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < depth; i++) {
			size_t j = k * depth + i;
			/* root-side frames are shared by many stacks, the leaf
			 * is unique to the stack */
			size_t fn = i == 0 ? 100000 + k : (k / 16 + i * 7) % 160;
			const struct ddprof_mapping *m = &fx_maps[fn % 5 == 0];

			if (i == 0)
				snprintf(s->names[j], sizeof(s->names[j]),
					 "app::worker::leaf_task_%zu", k);
			else
				snprintf(s->names[j], sizeof(s->names[j]),
					 "app::module_%02zu::process_step_%zu",
					 fn % 23, fn);
			snprintf(s->files[j], sizeof(s->files[j]),
				 "src/module_%02zu.cc", fn % 23);
			s->lines[j].function.name = s->names[j];
			s->lines[j].function.filename = s->files[j];
			s->lines[j].function.start_line = (int64_t)(fn % 997) + 1;
			s->lines[j].line = (int64_t)(fn % 997) + 10;
			s->locs[j].mapping = *m;
			s->locs[j].address = m->start + 0x1000 + fn * 0x40;
			s->locs[j].lines = &s->lines[j];
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
	return s->names[(k % s->n) * s->depth + i];
}
