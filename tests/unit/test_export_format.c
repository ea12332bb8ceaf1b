/* Unit tests of the exporter's text formats: JSON escaping, RFC 3339
 * times, tag rules, event.json layout, endpoint resolution, UUIDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "ddprof/exporter.h"
#include "export/endpoint.h"
#include "export/event.h"
#include "export/json.h"
#include "export/rfc3339.h"
#include "export/tags.h"
#include "export/uuid.h"

static char last_log[1024];
static void capture(enum ddprof_log_level lvl, const char *msg, void *ctx)
{
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static int setup(void **state)
{
	last_log[0] = '\0';
	ddprof_log_set(capture, NULL, DDPROF_LOG_DEBUG);
	return 0;
}

static void expect_json(const char *in, const char *want)
{
	struct ddprof_strbuf sb;

	ddprof_strbuf_init(&sb, 4096);
	assert_int_equal(ddprof_json_add_string(&sb, in), 0);
	assert_string_equal(sb.data, want);
	ddprof_strbuf_fini(&sb);
}

static void test_json_escape(void **state)
{
	expect_json("", "\"\"");
	expect_json("plain", "\"plain\"");
	expect_json("a\"b\\c", "\"a\\\"b\\\\c\"");
	expect_json("\n\t\r\b\f", "\"\\u000a\\u0009\\u000d\\u0008\\u000c\"");
	expect_json("\x01\x1f", "\"\\u0001\\u001f\"");
	expect_json("/ \x7f", "\"/ \x7f\"");
	/* valid UTF-8 passes through: é, €, 😀 */
	expect_json("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
		    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* invalid: lone continuation, truncated, overlong, surrogate */
	expect_json("a\x80z", "\"a\\ufffdz\"");
	expect_json("\xc3", "\"\\ufffd\"");
	expect_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	expect_json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	expect_json("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_strbuf_cap(void **state)
{
	struct ddprof_strbuf sb;

	ddprof_strbuf_init(&sb, 8);
	assert_int_equal(ddprof_strbuf_adds(&sb, "1234567"), 0);
	assert_int_equal(ddprof_strbuf_adds(&sb, "8"), -DDPROF_ERR_TOO_BIG);
	/* sticky */
	assert_int_equal(ddprof_strbuf_adds(&sb, ""), -DDPROF_ERR_TOO_BIG);
	assert_string_equal(sb.data, "1234567");
	ddprof_strbuf_fini(&sb);
}

static void expect_time(time_t s, long ns, const char *want)
{
	struct timespec ts = {s, ns};
	char buf[DDPROF_RFC3339_LEN];

	assert_int_equal(ddprof_rfc3339_format(&ts, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_rfc3339(void **state)
{
	struct timespec bad = {0, 1000000000L};
	char buf[DDPROF_RFC3339_LEN];

	expect_time(0, 0, "1970-01-01T00:00:00.000000000Z");
	expect_time(1767322800 + 3600 + 4 * 60 + 5, 123456789,
		    "2026-01-02T04:04:05.123456789Z");
	expect_time(951782400, 1, "2000-02-29T00:00:00.000000001Z");
	expect_time(4102444799L, 999999999, "2099-12-31T23:59:59.999999999Z");
	assert_int_equal(ddprof_rfc3339_format(&bad, buf, sizeof(buf)),
			 -DDPROF_ERR_INVALID);
	bad.tv_nsec = -1;
	assert_int_equal(ddprof_rfc3339_format(&bad, buf, sizeof(buf)),
			 -DDPROF_ERR_INVALID);
	bad.tv_nsec = 0;
	assert_int_equal(ddprof_rfc3339_format(&bad, buf, 30), -DDPROF_ERR_INVALID);
}

static void expect_tags(const char *spec, int err, const char *want,
			const char *log_part)
{
	struct ddprof_strbuf sb;

	ddprof_strbuf_init(&sb, 4096);
	ddprof_strbuf_adds(&sb, "pre:x");
	last_log[0] = '\0';
	assert_int_equal(ddprof_tags_parse(&sb, spec), err);
	assert_string_equal(sb.data, want);
	if (log_part)
		assert_non_null(strstr(last_log, log_part));
	ddprof_strbuf_fini(&sb);
}

static void test_tags(void **state)
{
	char long_tag[260], want[270];

	expect_tags("", 0, "pre:x", NULL);
	expect_tags("a:b", 0, "pre:x,a:b", NULL);
	expect_tags(" a:b , c.d/e-f_g:h:i ,, team:\"q\\\" ", 0,
		    "pre:x,a:b,c.d/e-f_g:h:i,team:\"q\\\"", NULL);
	expect_tags("k:caf\xc3\xa9 ok", 0, "pre:x,k:caf\xc3\xa9 ok", NULL);
	/* every rule names the tag; the list is left unchanged */
	expect_tags("a:b,nocolon", -DDPROF_ERR_INVALID, "pre:x",
		    "\"nocolon\": not of the form key:value");
	expect_tags(":v", -DDPROF_ERR_INVALID, "pre:x", "\":v\": empty key");
	expect_tags("1a:v", -DDPROF_ERR_INVALID, "pre:x",
		    "\"1a:v\": key must start with a letter");
	expect_tags("a b:v", -DDPROF_ERR_INVALID, "pre:x",
		    "\"a b:v\": key may hold only");
	expect_tags("key:", -DDPROF_ERR_INVALID, "pre:x", "\"key:\": empty value");
	memset(long_tag, 'x', sizeof(long_tag));
	memcpy(long_tag, "k:", 2);
	long_tag[201] = '\0';
	expect_tags(long_tag, -DDPROF_ERR_INVALID, "pre:x", "longer than 200");
	long_tag[200] = '\0';
	snprintf(want, sizeof(want), "pre:x,%s", long_tag);
	expect_tags(long_tag, 0, want, NULL);
}

/* Regression (fuzz_tags): a spec whose valid tags overflow the list's
 * size cap left the tags appended before the overflow in the list. */
static void test_tags_over_cap_leaves_list(void **state)
{
	struct ddprof_strbuf sb;
	char spec[64 * 12 + 1] = "";

	for (int i = 0; i < 64; i++)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
			 "k%02d:vvvvvv,", i);
	ddprof_strbuf_init(&sb, 256);
	ddprof_strbuf_adds(&sb, "pre:x");
	assert_int_equal(ddprof_tags_parse(&sb, spec), -DDPROF_ERR_TOO_BIG);
	assert_string_equal(sb.data, "pre:x");
	assert_int_equal(sb.err, 0);
	/* still usable */
	assert_int_equal(ddprof_tags_parse(&sb, "a:b"), 0);
	assert_string_equal(sb.data, "pre:x,a:b");
	ddprof_strbuf_fini(&sb);
}

static void test_tags_add(void **state)
{
	struct ddprof_strbuf sb;

	ddprof_strbuf_init(&sb, 4096);
	assert_int_equal(ddprof_tags_add(&sb, "service", "my svc"), 0);
	assert_int_equal(ddprof_tags_add(&sb, "env", "a,b"), -DDPROF_ERR_INVALID);
	assert_non_null(strstr(last_log, "\"env:a,b\": value holds a ','"));
	assert_int_equal(ddprof_tags_add(&sb, "host", "h\n1"), 0);
	assert_string_equal(sb.data, "service:my svc,host:h\n1");
	ddprof_strbuf_fini(&sb);
}

static void test_event(void **state)
{
	const char *names[] = {"extra.bin", "profile.pprof"};
	struct ddprof_event ev = {
		.attachments = names, .n_attachments = 2,
		.tags_profiler = "service:a\"b,k:\x01\\",
		.start = {1767322800, 5}, .end = {1767322860, 999999999},
	};
	char *json;
	size_t len;

	assert_int_equal(ddprof_event_render(&ev, &json, &len), 0);
	assert_string_equal(json,
		"{\"attachments\":[\"extra.bin\",\"profile.pprof\"],"
		"\"tags_profiler\":\"service:a\\\"b,k:\\u0001\\\\\","
		"\"start\":\"2026-01-02T03:00:00.000000005Z\","
		"\"end\":\"2026-01-02T03:01:00.999999999Z\","
		"\"family\":\"native\",\"version\":\"4\","
		"\"endpoint_counts\":null,\"process_tags\":null,"
		"\"internal\":{},\"info\":{}}");
	assert_int_equal(len, strlen(json));
	free(json);
	ev.process_tags = "entrypoint.name:x";
	ev.end.tv_nsec = 1000000000L;
	assert_int_equal(ddprof_event_render(&ev, &json, &len), -DDPROF_ERR_INVALID);
	ev.end.tv_nsec = 0;
	assert_int_equal(ddprof_event_render(&ev, &json, &len), 0);
	assert_non_null(strstr(json, ",\"process_tags\":\"entrypoint.name:x\","));
	free(json);
}

static void expect_endpoint(const struct ddprof_exporter_config *cfg,
			    int kind, const char *url, const char *path)
{
	struct ddprof_endpoint ep;

	assert_int_equal(ddprof_endpoint_init(&ep, cfg), 0);
	assert_int_equal(ep.kind, kind);
	assert_string_equal(ep.url, url);
	if (path)
		assert_string_equal(ep.path, path);
	else
		assert_null(ep.path);
	ddprof_endpoint_fini(&ep);
}

static void test_endpoints(void **state)
{
	struct ddprof_exporter_config c = {0};
	struct ddprof_endpoint ep;
	char buf[256];

	c.url = "agent:8126";
	expect_endpoint(&c, DDPROF_ENDPOINT_AGENT,
			"http://agent:8126/profiling/v1/input", NULL);
	c.url = "http://10.0.0.1:9000/";
	expect_endpoint(&c, DDPROF_ENDPOINT_AGENT,
			"http://10.0.0.1:9000/profiling/v1/input", NULL);
	c.url = "https://agent.example/base";
	expect_endpoint(&c, DDPROF_ENDPOINT_AGENT,
			"https://agent.example/base/profiling/v1/input", NULL);
	c.url = "unix:///var/run/datadog/apm.socket";
	expect_endpoint(&c, DDPROF_ENDPOINT_UNIX,
			"http://localhost/profiling/v1/input",
			"/var/run/datadog/apm.socket");
	c.url = "file:///tmp/dump.bin";
	expect_endpoint(&c, DDPROF_ENDPOINT_FILE,
			"http://localhost/profiling/v1/input", "/tmp/dump.bin");
	c.url = NULL;
	c.api_key = "0123456789abcdef";
	unsetenv("DD_SITE");
	expect_endpoint(&c, DDPROF_ENDPOINT_AGENTLESS,
			"https://intake.profile.datadoghq.com/api/v2/profile", NULL);
	setenv("DD_SITE", "datadoghq.eu", 1);
	expect_endpoint(&c, DDPROF_ENDPOINT_AGENTLESS,
			"https://intake.profile.datadoghq.eu/api/v2/profile", NULL);
	c.site = "us5.datadoghq.com";
	expect_endpoint(&c, DDPROF_ENDPOINT_AGENTLESS,
			"https://intake.profile.us5.datadoghq.com/api/v2/profile", NULL);
	unsetenv("DD_SITE");
	c.intake_url = "https://proxy.example/api/v2/profile";
	expect_endpoint(&c, DDPROF_ENDPOINT_AGENTLESS,
			"https://proxy.example/api/v2/profile", NULL);

	/* rejected, and the key is never echoed */
	c = (struct ddprof_exporter_config){.url = "ftp://x"};
	assert_int_equal(ddprof_endpoint_init(&ep, &c), -DDPROF_ERR_INVALID);
	c.url = "unix://relative";
	assert_int_equal(ddprof_endpoint_init(&ep, &c), -DDPROF_ERR_INVALID);
	c.url = "file://relative";
	assert_int_equal(ddprof_endpoint_init(&ep, &c), -DDPROF_ERR_INVALID);
	c.url = "http://a b";
	assert_int_equal(ddprof_endpoint_init(&ep, &c), -DDPROF_ERR_INVALID);
	c = (struct ddprof_exporter_config){.api_key = "secret key\r\nX: y"};
	assert_int_equal(ddprof_endpoint_init(&ep, &c), -DDPROF_ERR_INVALID);
	assert_null(strstr(last_log, "secret"));

	/* agent URL from the environment */
	unsetenv("DD_TRACE_AGENT_URL");
	unsetenv("DD_AGENT_HOST");
	unsetenv("DD_TRACE_AGENT_PORT");
	assert_int_equal(ddprof_exporter_agent_url_from_env(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://localhost:8126");
	setenv("DD_AGENT_HOST", "dd-agent", 1);
	setenv("DD_TRACE_AGENT_PORT", "9126", 1);
	assert_int_equal(ddprof_exporter_agent_url_from_env(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://dd-agent:9126");
	setenv("DD_AGENT_HOST", "fd00::1", 1);
	assert_int_equal(ddprof_exporter_agent_url_from_env(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "http://[fd00::1]:9126");
	setenv("DD_TRACE_AGENT_URL", "unix:///run/apm.sock", 1);
	assert_int_equal(ddprof_exporter_agent_url_from_env(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "unix:///run/apm.sock");
	assert_int_equal(ddprof_exporter_agent_url_from_env(buf, 8),
			 -DDPROF_ERR_TOO_BIG);
	c = (struct ddprof_exporter_config){0};
	expect_endpoint(&c, DDPROF_ENDPOINT_UNIX,
			"http://localhost/profiling/v1/input", "/run/apm.sock");
	unsetenv("DD_TRACE_AGENT_URL");
	unsetenv("DD_AGENT_HOST");
	unsetenv("DD_TRACE_AGENT_PORT");
}

static void test_uuid(void **state)
{
	char a[DDPROF_UUID_LEN], b[DDPROF_UUID_LEN];

	assert_int_equal(ddprof_uuid4(a), 0);
	assert_int_equal(ddprof_uuid4(b), 0);
	assert_int_equal(strlen(a), 36);
	assert_string_not_equal(a, b);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", a[i]));
	}
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
}

static void test_exporter_config(void **state)
{
	struct ddprof_exporter_config c = {.url = "127.0.0.1:1", .service = "svc",
					   .tags = "team:a,bad tag:x"};
	struct ddprof_exporter *e;

	assert_int_equal(ddprof_exporter_new(&c, &e), -DDPROF_ERR_INVALID);
	assert_null(e);
	assert_non_null(strstr(last_log, "\"bad tag:x\""));
	c.tags = "team:a";
	c.queue_size = 17;
	assert_int_equal(ddprof_exporter_new(&c, &e), -DDPROF_ERR_INVALID);
	c.queue_size = 0;
	c.env = "prod,x";
	assert_int_equal(ddprof_exporter_new(&c, &e), -DDPROF_ERR_INVALID);
	assert_non_null(strstr(last_log, "env:prod,x"));
	c.env = NULL;
	assert_int_equal(ddprof_exporter_new(&c, &e), 0);
	assert_int_equal(strlen(ddprof_exporter_runtime_id(e)), 36);
	/* enqueue needs the thread */
	assert_int_equal(ddprof_exporter_stop(e, 0), 0);
	ddprof_exporter_free(e);
	ddprof_exporter_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_json_escape, setup),
		cmocka_unit_test_setup(test_strbuf_cap, setup),
		cmocka_unit_test_setup(test_rfc3339, setup),
		cmocka_unit_test_setup(test_tags, setup),
		cmocka_unit_test_setup(test_tags_over_cap_leaves_list, setup),
		cmocka_unit_test_setup(test_tags_add, setup),
		cmocka_unit_test_setup(test_event, setup),
		cmocka_unit_test_setup(test_endpoints, setup),
		cmocka_unit_test_setup(test_uuid, setup),
		cmocka_unit_test_setup(test_exporter_config, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
