/* Tag rules. Datadog normalizes tags loosely on ingestion; we reject what
 * it would mangle or what would break our own comma-joined encoding, and
 * say which tag was wrong so a typo in DD_TAGS is found at start-up. */
#include <stdbool.h>
#include <string.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "tags.h"

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_key_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '/' || c == '-';
}

static int tag_reject(const char *tag, size_t len, const char *why)
{
	int shown = len > DDPROF_TAG_MAX + 20 ? DDPROF_TAG_MAX + 20 : (int)len;

	pr_err("invalid tag \"%.*s%s\": %s", shown, tag,
	       (size_t)shown < len ? "..." : "", why);
	return -DDPROF_ERR_INVALID;
}

int ddprof_tag_check(const char *tag, size_t len)
{
	const char *colon = memchr(tag, ':', len);
	size_t klen;

	if (len > DDPROF_TAG_MAX)
		return tag_reject(tag, len, "longer than 200 bytes");
	if (memchr(tag, '\0', len))
		return tag_reject(tag, len, "holds a NUL byte");
	if (!colon)
		return tag_reject(tag, len, "not of the form key:value");
	klen = (size_t)(colon - tag);
	if (klen == 0)
		return tag_reject(tag, len, "empty key");
	if (!is_alpha(tag[0]))
		return tag_reject(tag, len, "key must start with a letter");
	for (size_t i = 1; i < klen; i++)
		if (!is_key_char(tag[i]))
			return tag_reject(tag, len,
					  "key may hold only letters, digits and _-./");
	if (klen + 1 == len)
		return tag_reject(tag, len, "empty value");
	if (memchr(colon + 1, ',', len - klen - 1))
		return tag_reject(tag, len, "value holds a ','");
	return 0;
}

/* Appends one already-checked tag to the list. */
static int tags_append(struct ddprof_strbuf *list, const char *tag, size_t len)
{
	if (list->len)
		ddprof_strbuf_add(list, ",", 1);
	return ddprof_strbuf_add(list, tag, len);
}

int ddprof_tags_add(struct ddprof_strbuf *list, const char *key,
		    const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);
	char tag[DDPROF_TAG_MAX + 1];

	if (klen + 1 + vlen > DDPROF_TAG_MAX) {
		pr_err("invalid tag \"%s:%.40s...\": longer than 200 bytes", key,
		       value);
		return -DDPROF_ERR_INVALID;
	}
	memcpy(tag, key, klen);
	tag[klen] = ':';
	memcpy(tag + klen + 1, value, vlen);
	if (ddprof_tag_check(tag, klen + 1 + vlen))
		return -DDPROF_ERR_INVALID;
	return tags_append(list, tag, klen + 1 + vlen);
}

int ddprof_tags_parse(struct ddprof_strbuf *list, const char *spec)
{
	size_t old_len = list->len;
	int old_err = list->err;
	const char *p = spec;
	int err = 0;

	while (*p && !err) {
		const char *end = strchr(p, ',');
		const char *b = p, *e = end ? end : p + strlen(p);

		while (b < e && *b == ' ')
			b++;
		while (e > b && e[-1] == ' ')
			e--;
		if (e > b) {
			err = ddprof_tag_check(b, (size_t)(e - b));
			if (!err)
				err = tags_append(list, b, (size_t)(e - b));
		}
		p = end ? end + 1 : b + strlen(b);
	}
	/* also when the list itself failed (its size cap): the tags appended
	 * before stay out, and so does the list's sticky error */
	if (err && list->data) {
		list->len = old_len;
		list->data[old_len] = '\0';
		list->err = old_err;
	}
	return err;
}
