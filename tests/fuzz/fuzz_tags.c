/* libFuzzer target: arbitrary bytes as DD_TAGS (and as single tags). A
 * spec that parses must produce a list of tags that each pass the check
 * again, and a refused spec must leave the list unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ddprof/log.h"
#include "export/tags.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddprof_strbuf list;
	char *spec, *before, *after, *tag, *save;
	int err;

	/* raw bytes, not NUL-terminated: the checker must honour len */
	{
		char *exact = malloc(size ? size : 1);

		if (!exact)
			return 0;
		memcpy(exact, data, size);
		(void)ddprof_tag_check(exact, size);
		free(exact);
	}

	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	ddprof_strbuf_init(&list, 4096);
	ddprof_tags_add(&list, "service", "fuzz");
	before = strdup(list.data ? list.data : "");
	err = ddprof_tags_parse(&list, spec);
	after = ddprof_strbuf_take(&list);
	if (!after)
		after = strdup("");
	if (!before || !after)
		goto out;
	if (err) {
		if (strcmp(before, after))
			abort(); /* a refused spec left something behind */
	} else {
		for (tag = strtok_r(after, ",", &save); tag;
		     tag = strtok_r(NULL, ",", &save))
			if (ddprof_tag_check(tag, strlen(tag)))
				abort();
	}
out:
	free(before);
	free(after);
	free(spec);
	ddprof_strbuf_fini(&list);
	return 0;
}
