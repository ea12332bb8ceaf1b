/* JSON string escaping. Tags may carry quotes, backslashes, control
 * characters and arbitrary bytes; the intake must still get valid JSON. */
#include <stdint.h>
#include <string.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

int ddprof_json_add_string(struct ddprof_strbuf *sb, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *run = s; /* start of bytes copied verbatim */

	ddprof_strbuf_add(sb, "\"", 1);
	while (*s) {
		size_t n = utf8_seq_len(s);

		if (n > 1) {
			s += n;
			continue;
		}
		if (n == 1 && *s >= 0x20 && *s != '"' && *s != '\\') {
			s++;
			continue;
		}
		ddprof_strbuf_add(sb, run, (size_t)(s - run));
		if (n == 0)
			ddprof_strbuf_adds(sb, "\\ufffd");
		else if (*s == '"' || *s == '\\')
			ddprof_strbuf_addf(sb, "\\%c", *s);
		else
			ddprof_strbuf_addf(sb, "\\u%04x", *s);
		run = ++s;
	}
	ddprof_strbuf_add(sb, run, (size_t)(s - run));
	return ddprof_strbuf_add(sb, "\"", 1);
}
