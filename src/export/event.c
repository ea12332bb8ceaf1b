/* Builds event.json exactly as the Datadog intake expects it for a
 * native profiler (profile format version 4). */
#include <stdlib.h>

#include "event.h"
#include "json.h"
#include "rfc3339.h"
#include "strbuf.h"

int ddprof_event_render(const struct ddprof_event *ev, char **json,
			size_t *len)
{
	char start[DDPROF_RFC3339_LEN], end[DDPROF_RFC3339_LEN];
	struct ddprof_strbuf sb;
	int err;

	if ((err = ddprof_rfc3339_format(&ev->start, start, sizeof(start))) ||
	    (err = ddprof_rfc3339_format(&ev->end, end, sizeof(end))))
		return err;
	ddprof_strbuf_init(&sb, DDPROF_EVENT_MAX);
	ddprof_strbuf_adds(&sb, "{\"attachments\":[");
	for (size_t i = 0; i < ev->n_attachments; i++) {
		if (i)
			ddprof_strbuf_add(&sb, ",", 1);
		ddprof_json_add_string(&sb, ev->attachments[i]);
	}
	ddprof_strbuf_adds(&sb, "],\"tags_profiler\":");
	ddprof_json_add_string(&sb, ev->tags_profiler ? ev->tags_profiler : "");
	ddprof_strbuf_addf(&sb, ",\"start\":\"%s\",\"end\":\"%s\"", start, end);
	ddprof_strbuf_adds(&sb, ",\"family\":\"native\",\"version\":\"4\""
				",\"endpoint_counts\":null,\"process_tags\":");
	if (ev->process_tags && *ev->process_tags)
		ddprof_json_add_string(&sb, ev->process_tags);
	else
		ddprof_strbuf_adds(&sb, "null");
	ddprof_strbuf_adds(&sb, ",\"internal\":{},\"info\":{}}");
	if (sb.err) {
		err = sb.err;
		ddprof_strbuf_fini(&sb);
		return err;
	}
	*len = sb.len;
	*json = ddprof_strbuf_take(&sb);
	return 0;
}
