/* event.json: the metadata part of every profile upload. */
#ifndef DDPROF_EXPORT_EVENT_H
#define DDPROF_EXPORT_EVENT_H

#include <stddef.h>
#include <time.h>

/* What event.json describes; all borrowed. */
struct ddprof_event {
	const char *const *attachments; /* part names, "profile.pprof" last */
	size_t n_attachments;
	const char *tags_profiler;      /* comma-joined key:value */
	struct timespec start;
	struct timespec end;
	const char *process_tags;       /* NULL or "": null */
};

/* Cap on the size of one event.json. */
#define DDPROF_EVENT_MAX (64u << 10)

/* Renders ev as compact JSON with the keys, in order: attachments,
 * tags_profiler, start, end (RFC 3339 UTC, 9 fractional digits), family
 * "native", version "4", endpoint_counts null, process_tags, internal {},
 * info {}. Returns 0 and *json (NUL-terminated, caller frees) and its
 * length, or -DDPROF_ERR_INVALID (bad time), -DDPROF_ERR_TOO_BIG, -ENOMEM. */
int ddprof_event_render(const struct ddprof_event *ev, char **json,
			size_t *len);

#endif
