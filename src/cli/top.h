/* Self weight per function name over a whole run, for the summary's top 10.
 * The profile store resets every period, so the session folds each period's
 * leaf functions into this table before the reset. Bounded: past
 * DDPROF_CLI_TOP_MAX names, new names count under "[other]". */
#ifndef DDPROF_CLI_TOP_H
#define DDPROF_CLI_TOP_H

#include <stddef.h>
#include <stdint.h>

#define DDPROF_CLI_TOP_MAX 65536

struct ddprof_cli_top_entry {
	char *name;          /* owned */
	uint64_t hash;
	uint64_t weight;
};

struct ddprof_cli_top {
	struct ddprof_cli_top_entry *slots; /* open addressing, cap slots */
	size_t cap, count;
	uint64_t total;      /* sum of every weight added */
};

void ddprof_cli_top_init(struct ddprof_cli_top *t);
void ddprof_cli_top_fini(struct ddprof_cli_top *t);

/* Adds weight to the function name (len bytes, need not be terminated).
 * Returns 0 or -ENOMEM (the weight still counts in total). */
int ddprof_cli_top_add(struct ddprof_cli_top *t, const char *name, size_t len,
		       uint64_t weight);

/* Fills out[0..n) with the heaviest entries, heaviest first (ties by name).
 * Returns how many were filled (<= n). Pointers stay valid until the next
 * add or fini. */
size_t ddprof_cli_top_get(const struct ddprof_cli_top *t,
			  const struct ddprof_cli_top_entry **out, size_t n);

#endif
