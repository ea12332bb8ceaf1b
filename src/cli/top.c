/* Name -> weight table (linear probing on a string hash) and a top-N pick
 * by insertion into a small sorted array: n is 10, names are thousands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/top.h"
#include "common/hash.h"

#define OTHER "[other]"

void ddprof_cli_top_init(struct ddprof_cli_top *t)
{
	memset(t, 0, sizeof(*t));
}

void ddprof_cli_top_fini(struct ddprof_cli_top *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].name);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static struct ddprof_cli_top_entry *slot_for(struct ddprof_cli_top_entry *slots,
					     size_t cap, uint64_t h,
					     const char *name, size_t len)
{
	for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		struct ddprof_cli_top_entry *e = &slots[i];

		if (!e->name || (e->hash == h && !strncmp(e->name, name, len) &&
				 !e->name[len]))
			return e;
	}
}

static int grow(struct ddprof_cli_top *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct ddprof_cli_top_entry *s = calloc(cap, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct ddprof_cli_top_entry *e = &t->slots[i];

		if (e->name)
			*slot_for(s, cap, e->hash, e->name, strlen(e->name)) = *e;
	}
	free(t->slots);
	t->slots = s;
	t->cap = cap;
	return 0;
}

int ddprof_cli_top_add(struct ddprof_cli_top *t, const char *name, size_t len,
		       uint64_t weight)
{
	struct ddprof_cli_top_entry *e;
	uint64_t h = ddprof_hash_bytes(name, len);

	t->total += weight;
	if ((t->count + 1) * 4 > t->cap * 3 && grow(t))
		return -ENOMEM;
	e = slot_for(t->slots, t->cap, h, name, len);
	if (!e->name && t->count >= DDPROF_CLI_TOP_MAX) {
		name = OTHER;
		len = sizeof(OTHER) - 1;
		h = ddprof_hash_bytes(name, len);
		e = slot_for(t->slots, t->cap, h, name, len);
	}
	if (!e->name) {
		e->name = strndup(name, len);
		if (!e->name)
			return -ENOMEM;
		e->hash = h;
		e->weight = 0;
		t->count++;
	}
	e->weight += weight;
	return 0;
}

static int heavier(const struct ddprof_cli_top_entry *a,
		   const struct ddprof_cli_top_entry *b)
{
	if (a->weight != b->weight)
		return a->weight > b->weight;
	return strcmp(a->name, b->name) < 0;
}

size_t ddprof_cli_top_get(const struct ddprof_cli_top *t,
			  const struct ddprof_cli_top_entry **out, size_t n)
{
	size_t got = 0;

	for (size_t i = 0; i < t->cap && n; i++) {
		const struct ddprof_cli_top_entry *e = &t->slots[i];
		size_t j;

		if (!e->name || (got == n && !heavier(e, out[n - 1])))
			continue;
		j = got < n ? got++ : n - 1;
		for (; j > 0 && heavier(e, out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = e;
	}
	return got;
}
