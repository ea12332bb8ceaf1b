/* Datadog tags: validation and the comma-joined list that becomes
 * event.json's tags_profiler. */
#ifndef DDPROF_EXPORT_TAGS_H
#define DDPROF_EXPORT_TAGS_H

#include <stddef.h>

#include "strbuf.h"

/* Longest tag accepted, "key:value" as a whole. */
#define DDPROF_TAG_MAX 200

/* Checks the tag of len bytes at tag: "key:value", key 1.. bytes of
 * [A-Za-z0-9_./-] starting with a letter, value non-empty without ',',
 * at most DDPROF_TAG_MAX bytes, no NUL. Returns 0, or -DDPROF_ERR_INVALID
 * after logging the tag and the broken rule. */
int ddprof_tag_check(const char *tag, size_t len);

/* Appends "key:value" (checked) to the comma-joined list. Returns 0,
 * -DDPROF_ERR_INVALID (logged) or the list's error. */
int ddprof_tags_add(struct ddprof_strbuf *list, const char *key,
		    const char *value);

/* Appends every item of a "k:v,k:v" spec (DD_TAGS syntax: spaces around
 * an item are trimmed, empty items skipped) after checking it. On error
 * the list is left as it was. Returns 0, -DDPROF_ERR_INVALID (logged,
 * naming the first bad tag) or the list's error. */
int ddprof_tags_parse(struct ddprof_strbuf *list, const char *spec);

#endif
