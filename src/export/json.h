/* JSON string literals for event.json: the one place that escapes text. */
#ifndef DDPROF_EXPORT_JSON_H
#define DDPROF_EXPORT_JSON_H

#include "strbuf.h"

/* Appends s as a quoted JSON string: '"' and '\' are backslash-escaped,
 * bytes below 0x20 become \u00XX, valid UTF-8 passes through unchanged and
 * each byte of an invalid UTF-8 sequence becomes \ufffd, so the output is
 * always valid JSON in valid UTF-8. Returns sb->err. */
int ddprof_json_add_string(struct ddprof_strbuf *sb, const char *s);

#endif
