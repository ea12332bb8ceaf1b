/* Exporter tests against real loopback HTTP servers (tests/lib): uploads
 * over TCP, a Unix socket and agentless, the file dump compared part by
 * part with an upload, and the faults (refused, 5xx, hang, 403, full
 * queue, shutdown deadline). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ddprof/error.h"
#include "ddprof/exporter.h"
#include "ddprof/log.h"
#include "ddprof/profile.h"
#include "ddprof/version.h"
#include "../lib/http_server.h"
#include "../lib/multipart.h"
#include "../lib/pprof_fixture.h"
#include "../lib/pprof_reader.h"

#define API_KEY "0123456789abcdefSECRETKEY"
#define T_START {1767322800, 123456789}
#define T_END {1767322860, 5}
#define START_TXT "2026-01-02T03:00:00.123456789Z"
#define END_TXT "2026-01-02T03:01:00.000000005Z"

/* ---- log capture (the sender thread logs too) ------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char logs[1 << 16];
static size_t logs_len;

static void capture(enum ddprof_log_level lvl, const char *msg, void *ctx)
{
	pthread_mutex_lock(&log_lock);
	logs_len += (size_t)snprintf(logs + logs_len, sizeof(logs) - logs_len,
				     "%s\n", msg);
	if (logs_len >= sizeof(logs))
		logs_len = sizeof(logs) - 1;
	pthread_mutex_unlock(&log_lock);
}

static int logs_have(const char *s)
{
	int r;

	pthread_mutex_lock(&log_lock);
	r = strstr(logs, s) != NULL;
	pthread_mutex_unlock(&log_lock);
	return r;
}

static int setup(void **state)
{
	pthread_mutex_lock(&log_lock);
	logs[0] = '\0';
	logs_len = 0;
	pthread_mutex_unlock(&log_lock);
	ddprof_log_set(capture, NULL, DDPROF_LOG_DEBUG);
	return 0;
}

static int teardown(void **state)
{
	/* whatever happened, the key never shows in a log line */
	assert_false(logs_have(API_KEY));
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	return 0;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* ---- fixtures ---------------------------------------------------------- */

struct profile {
	void *lz4;
	size_t len;
};

static struct profile make_profile(unsigned n_samples)
{
	struct profile p;

	assert_int_equal(pprof_fixture_make_lz4(n_samples, &p.lz4, &p.len), 0);
	return p;
}

static const char metrics[] = "{\"samples\":3}";
static const struct ddprof_attachment attach[] = {
	{"metrics.json", metrics, sizeof(metrics) - 1},
};

static struct ddprof_export_request request_of(const struct profile *p)
{
	return (struct ddprof_export_request){
		.pprof = p->lz4, .pprof_size = p->len,
		.start = T_START, .end = T_END,
	};
}

static struct ddprof_exporter_config base_config(const char *url)
{
	return (struct ddprof_exporter_config){
		.url = url, .service = "svc \"quoted\"", .env = "test",
		.version = "1.2", .host = "test-host",
		.tags = "team:perf, path:C:\\dir", .timeout_ms = 5000,
		.retry_delay_ms = 50,
	};
}

static struct ddprof_exporter *exporter_of(const struct ddprof_exporter_config *c)
{
	struct ddprof_exporter *e = NULL;

	assert_int_equal(ddprof_exporter_new(c, &e), 0);
	return e;
}

/* What most tests need: a loopback server (replying as script says), a
 * profile of n samples, its request and the base config aimed at the
 * server. */
struct rig {
	struct http_server *srv;
	struct profile prof;
	struct ddprof_export_request req;
	struct ddprof_exporter_config cfg;
	struct ddprof_exporter_stats st;
};

static void rig_start(struct rig *r, unsigned n_samples,
		      const struct http_reply *script, size_t n_replies)
{
	r->srv = http_server_start(NULL);
	assert_non_null(r->srv);
	if (n_replies)
		http_server_script(r->srv, script, n_replies);
	r->prof = make_profile(n_samples);
	r->req = request_of(&r->prof);
	r->cfg = base_config(http_server_url(r->srv));
}

/* The exporter's stats, kept in r->st. */
static const struct ddprof_exporter_stats *rig_stats(struct rig *r,
						     struct ddprof_exporter *e)
{
	ddprof_exporter_stats_get(e, &r->st);
	return &r->st;
}

static void rig_end(struct rig *r)
{
	http_server_stop(r->srv);
	free(r->prof.lz4);
}

/* event.json as the exporter must write it for base_config(). */
static void expected_event(char *buf, size_t size,
			   const struct ddprof_exporter *e, unsigned seq,
			   const char *upload_tags, int with_attachment)
{
	snprintf(buf, size,
		 "{\"attachments\":[%s\"profile.pprof\"],"
		 "\"tags_profiler\":\"service:svc \\\"quoted\\\",env:test,"
		 "version:1.2,host:test-host,language:native,"
		 "profiler_version:" DDPROF_VERSION ",runtime-id:%s,"
		 "team:perf,path:C:\\\\dir%s%s,profile_seq:%u\","
		 "\"start\":\"" START_TXT "\",\"end\":\"" END_TXT "\","
		 "\"family\":\"native\",\"version\":\"4\","
		 "\"endpoint_counts\":null,\"process_tags\":null,"
		 "\"internal\":{},\"info\":{}}",
		 with_attachment ? "\"metrics.json\"," : "",
		 ddprof_exporter_runtime_id(e), upload_tags ? "," : "",
		 upload_tags ? upload_tags : "", seq);
}

static void check_part(const struct multipart_part *p, const char *name,
		       const char *filename, const char *type)
{
	char disp[160], ct[80];

	snprintf(disp, sizeof(disp),
		 "Content-Disposition: form-data; name=\"%s\"; filename=\"%s\"",
		 name, filename);
	snprintf(ct, sizeof(ct), "Content-Type: %s", type);
	assert_int_equal(p->n_headers, 2);
	assert_string_equal(p->headers[0], disp);
	assert_string_equal(p->headers[1], ct);
	assert_string_equal(p->name, name);
	assert_string_equal(p->filename, filename);
}

/* Checks one recorded upload: headers, every part, event.json exactly,
 * and the profile bytes, which must decompress and decode. */
static void check_upload(const struct http_request *r, const char *path,
			 const char *api_key, const char *event_json,
			 const struct profile *prof, int with_attachment)
{
	const struct multipart_part *ev, *pp;
	struct pprof_profile dec;
	struct multipart mp;

	assert_non_null(r);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->target, path);
	assert_string_equal(http_request_header(r, "DD-EVP-ORIGIN"), "ddprof-perf");
	assert_string_equal(http_request_header(r, "DD-EVP-ORIGIN-VERSION"),
			    DDPROF_VERSION);
	assert_string_equal(http_request_header(r, "User-Agent"),
			    "ddprof-perf/" DDPROF_VERSION);
	/* sized body, no 100-continue round trip */
	assert_false(r->chunked);
	assert_int_equal(strtoul(http_request_header(r, "Content-Length"), NULL, 10),
			 r->body_len);
	assert_null(http_request_header(r, "Expect"));
	if (api_key)
		assert_string_equal(http_request_header(r, "DD-API-KEY"), api_key);
	else
		assert_null(http_request_header(r, "DD-API-KEY"));
	assert_int_equal(multipart_parse(&mp, http_request_header(r, "Content-Type"),
					 r->body, r->body_len), 0);
	assert_int_equal(mp.n_parts, with_attachment ? 3 : 2);
	ev = &mp.parts[0];
	check_part(ev, "event", "event.json", "application/json");
	pp = &mp.parts[mp.n_parts - 1];
	if (with_attachment) {
		check_part(&mp.parts[1], "metrics.json", "metrics.json",
			   "application/octet-stream");
		assert_int_equal(mp.parts[1].len, sizeof(metrics) - 1);
		assert_memory_equal(mp.parts[1].data, metrics, sizeof(metrics) - 1);
	}
	assert_int_equal(ev->len, strlen(event_json));
	assert_memory_equal(ev->data, event_json, ev->len);
	check_part(pp, "profile.pprof", "profile.pprof", "application/octet-stream");
	assert_int_equal(pp->len, prof->len);
	assert_memory_equal(pp->data, prof->lz4, prof->len);
	assert_memory_equal(pp->data, "\x04\x22\x4d\x18", 4); /* LZ4 frame */
	assert_int_equal(pprof_read(pp->data, pp->len, &dec), 0);
	assert_int_equal(dec.nstrings, 9);
	assert_int_equal(dec.nsample_types, 2);
	assert_string_equal(pprof_str(&dec, dec.sample_types[0].type), "cpu-samples");
	assert_string_equal(pprof_str(&dec, dec.sample_types[1].unit), "nanoseconds");
	assert_int_equal(dec.nsamples, 3);
	for (size_t i = 0; i < dec.nsamples; i++) {
		const struct pprof_label *l;

		assert_int_equal(dec.samples[i].nvalues, 2);
		assert_int_equal(dec.samples[i].values[0], (int64_t)i + 1);
		assert_int_equal(dec.samples[i].values[1], 10000000 * ((int64_t)i + 1));
		assert_non_null(l = pprof_label(&dec, &dec.samples[i], "thread id"));
		assert_int_equal(l->num, 42);
	}
	assert_int_equal(dec.nfunctions, 1);
	assert_string_equal(pprof_str(&dec, dec.functions[0].name), "fixture_main");
	assert_int_equal(dec.nlocations, 1);
	assert_int_equal(dec.nmappings, 1);
	pprof_profile_free(&dec);
	multipart_fini(&mp);
}

/* ---- uploads ------------------------------------------------------------ */

static void test_upload_tcp(void **state)
{
	struct http_server *srv = http_server_start(NULL);
	struct profile prof = make_profile(3);
	struct ddprof_exporter_config cfg;
	struct ddprof_export_request req = request_of(&prof);
	const struct multipart_part *pp;
	struct ddprof_exporter_stats st;
	struct ddprof_exporter *e;
	char event[2048], hostport[64];
	struct multipart mp;
	char *out = NULL;
	size_t raw_len;
	void *raw;
	int go_rc;

	assert_non_null(srv);
	cfg = base_config(http_server_url(srv));
	e = exporter_of(&cfg);
	req.tags = "upload:first";
	req.attachments = attach;
	req.n_attachments = 1;
	assert_int_equal(ddprof_exporter_send(e, &req), 0);
	req.tags = NULL;
	req.n_attachments = 0;
	assert_int_equal(ddprof_exporter_send(e, &req), 0);
	assert_int_equal(http_server_wait(srv, 2, 5000), 2);
	expected_event(event, sizeof(event), e, 0, "upload:first", 1);
	check_upload(http_server_request(srv, 0), "/profiling/v1/input", NULL,
		     event, &prof, 1);
	expected_event(event, sizeof(event), e, 1, NULL, 0);
	check_upload(http_server_request(srv, 1), "/profiling/v1/input", NULL,
		     event, &prof, 0);
	ddprof_exporter_stats_get(e, &st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.last_status, 200);
	assert_true(st.bytes_sent > 2 * prof.len);
	assert_true(logs_have("profile 1 sent"));
	ddprof_exporter_free(e);

	/* the "host:port" spelling reaches the same place */
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", http_server_port(srv));
	cfg.url = hostport;
	e = exporter_of(&cfg);
	assert_int_equal(ddprof_exporter_send(e, &req), 0);
	assert_int_equal(http_server_wait(srv, 3, 5000), 3);
	expected_event(event, sizeof(event), e, 0, NULL, 0);
	check_upload(http_server_request(srv, 2), "/profiling/v1/input", NULL,
		     event, &prof, 0);
	ddprof_exporter_free(e);

	/* go tool pprof opens the decompressed uploaded profile */
	const struct http_request *r = http_server_request(srv, 2);

	assert_int_equal(multipart_parse(&mp, http_request_header(r, "Content-Type"),
					 r->body, r->body_len), 0);
	assert_non_null(pp = multipart_find(&mp, "profile.pprof"));
	assert_int_equal(pprof_decompress(pp->data, pp->len, &raw, &raw_len), 0);
	go_rc = pprof_go_tool(raw, raw_len, "-traces", &out);
	if (go_rc == 77) {
		fprintf(stderr, "go not installed: go tool pprof check skipped\n");
	} else {
		assert_int_equal(go_rc, 0);
		assert_non_null(strstr(out, "fixture_main"));
		assert_non_null(strstr(out, "thread id"));
	}
	free(out);
	free(raw);
	multipart_fini(&mp);
	http_server_stop(srv);
	free(prof.lz4);
}

/* The whole library path: a profile built by the profile store, serialized
 * as LZ4 pprof, uploaded, received and read back. */
static void test_upload_profile_library(void **state)
{
	const struct ddprof_value_type types[] = {{"cpu-samples", "count"},
						  {"cpu-time", "nanoseconds"}};
	const struct ddprof_line line = {{"work_loop", NULL, "work.c", 10}, 12};
	const struct ddprof_location loc = {
		{0x400000, 0x500000, 0, "/usr/bin/work", "abcd"}, 0x401234, &line, 1};
	const int64_t values[] = {5, 50000000};
	const struct ddprof_label label = {"thread id", NULL, 7, NULL};
	const struct ddprof_sample sample = {&loc, 1, values, 2, &label, 1};
	struct ddprof_serialize_opts opts = {.compression = DDPROF_COMPRESS_LZ4};
	struct http_server *srv = http_server_start(NULL);
	struct ddprof_exporter_config cfg;
	struct ddprof_export_request req = {.start = T_START, .end = T_END};
	const struct multipart_part *pp;
	const struct http_request *r;
	struct ddprof_profile *prof;
	struct ddprof_exporter *e;
	struct pprof_profile dec;
	struct multipart mp;
	void *lz4;
	size_t len;

	assert_non_null(srv);
	assert_int_equal(ddprof_profile_new(&prof, types, 2, &types[1], 10000000), 0);
	assert_int_equal(ddprof_profile_add(prof, &sample, 0), 0);
	assert_int_equal(ddprof_profile_add(prof, &sample, 0), 0);
	assert_int_equal(ddprof_profile_serialize(prof, &opts, &lz4, &len), 0);
	ddprof_profile_free(prof);

	cfg = base_config(http_server_url(srv));
	e = exporter_of(&cfg);
	req.pprof = lz4;
	req.pprof_size = len;
	assert_int_equal(ddprof_exporter_start(e), 0);
	assert_int_equal(ddprof_exporter_enqueue(e, &req), 0);
	free(lz4); /* the queue holds its own copy */
	assert_int_equal(ddprof_exporter_stop(e, 5000), 0);
	ddprof_exporter_free(e);

	assert_int_equal(http_server_count(srv), 1);
	r = http_server_request(srv, 0);
	assert_int_equal(multipart_parse(&mp, http_request_header(r, "Content-Type"),
					 r->body, r->body_len), 0);
	assert_non_null(pp = multipart_find(&mp, "profile.pprof"));
	assert_memory_equal(pp->data, "\x04\x22\x4d\x18", 4);
	assert_int_equal(pprof_read(pp->data, pp->len, &dec), 0);
	assert_int_equal(dec.nsamples, 1); /* aggregated */
	assert_int_equal(dec.samples[0].values[0], 10);
	assert_int_equal(dec.samples[0].values[1], 100000000);
	assert_int_equal(pprof_label(&dec, &dec.samples[0], "thread id")->num, 7);
	assert_int_equal(dec.nfunctions, 1);
	assert_string_equal(pprof_str(&dec, dec.functions[0].name), "work_loop");
	pprof_profile_free(&dec);
	multipart_fini(&mp);
	http_server_stop(srv);
}

static void test_upload_unix(void **state)
{
	char path[64];
	struct http_server *srv;
	struct profile prof = make_profile(3);
	struct ddprof_exporter_config cfg;
	struct ddprof_export_request req = request_of(&prof);
	struct ddprof_exporter *e;
	char event[2048];

	snprintf(path, sizeof(path), "/tmp/ddprof-export-%d.sock", (int)getpid());
	assert_non_null(srv = http_server_start(path));
	assert_string_equal(http_server_url(srv) + 7, path);
	cfg = base_config(http_server_url(srv));
	e = exporter_of(&cfg);
	assert_int_equal(ddprof_exporter_send(e, &req), 0);
	assert_int_equal(http_server_wait(srv, 1, 5000), 1);
	expected_event(event, sizeof(event), e, 0, NULL, 0);
	check_upload(http_server_request(srv, 0), "/profiling/v1/input", NULL,
		     event, &prof, 0);
	assert_string_equal(http_request_header(http_server_request(srv, 0), "Host"),
			    "localhost");
	ddprof_exporter_free(e);
	http_server_stop(srv);
	assert_int_not_equal(access(path, F_OK), 0);
	free(prof.lz4);
}

static void test_agentless(void **state)
{
	struct http_server *srv = http_server_start(NULL);
	struct profile prof = make_profile(3);
	struct ddprof_exporter_config cfg;
	struct ddprof_export_request req = request_of(&prof);
	struct ddprof_exporter *e;
	char intake[128], event[2048];

	assert_non_null(srv);
	snprintf(intake, sizeof(intake), "%s/api/v2/profile", http_server_url(srv));
	cfg = base_config("http://ignored.invalid:1");
	cfg.api_key = API_KEY;
	cfg.intake_url = intake;
	e = exporter_of(&cfg);
	assert_true(logs_have("not TLS")); /* a clear-text intake is flagged */
	assert_int_equal(ddprof_exporter_send(e, &req), 0);
	assert_int_equal(http_server_wait(srv, 1, 5000), 1);
	expected_event(event, sizeof(event), e, 0, NULL, 0);
	check_upload(http_server_request(srv, 0), "/api/v2/profile", API_KEY,
		     event, &prof, 0);
	ddprof_exporter_free(e);
	http_server_stop(srv);
	free(prof.lz4);
}

/* Splits a dump file into its head (request line and headers) and the
 * multipart body, and returns the Content-Type value. */
static char *read_dump(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void test_dump_matches_upload(void **state)
{
	struct http_server *srv = http_server_start(NULL);
	struct profile prof = make_profile(3);
	struct ddprof_exporter_config cfg;
	struct ddprof_export_request req = request_of(&prof);
	struct ddprof_exporter *up, *dump;
	char intake[128], file_url[128], path[96], ctype[160], *file, *body, *p;
	const struct http_request *r;
	struct multipart a, b;
	size_t len, clen;

	assert_non_null(srv);
	snprintf(path, sizeof(path), "/tmp/ddprof-export-%d.dump", (int)getpid());
	snprintf(file_url, sizeof(file_url), "file://%s", path);
	snprintf(intake, sizeof(intake), "%s/api/v2/profile", http_server_url(srv));
	cfg = base_config(NULL);
	cfg.api_key = API_KEY;
	cfg.intake_url = intake;
	cfg.runtime_id = "3f1c0a3e-5b5e-4c1f-9d8e-2a6b7c8d9e0f";
	req.attachments = attach;
	req.n_attachments = 1;
	req.tags = "upload:x";
	up = exporter_of(&cfg);
	cfg.url = file_url;
	dump = exporter_of(&cfg);
	assert_int_equal(ddprof_exporter_send(up, &req), 0);
	assert_int_equal(ddprof_exporter_send(dump, &req), 0);
	assert_int_equal(http_server_wait(srv, 1, 5000), 1);
	r = http_server_request(srv, 0);

	file = read_dump(path, &len);
	assert_null(memmem(file, len, API_KEY, strlen(API_KEY)));
	assert_true(!strncmp(file, "POST /api/v2/profile HTTP/1.1\r\n", 31));
	assert_non_null(strstr(file, "\r\nDD-EVP-ORIGIN: ddprof-perf\r\n"));
	assert_non_null(strstr(file, "\r\nDD-EVP-ORIGIN-VERSION: " DDPROF_VERSION "\r\n"));
	assert_non_null(strstr(file, "\r\nUser-Agent: ddprof-perf/" DDPROF_VERSION "\r\n"));
	assert_non_null(strstr(file, "\r\nDD-API-KEY: <redacted>\r\n"));
	assert_non_null(p = strstr(file, "\r\nContent-Type: "));
	assert_int_equal(sscanf(p + 16, "%159[^\r]", ctype), 1);
	assert_non_null(p = strstr(file, "\r\nContent-Length: "));
	clen = strtoul(p + 18, NULL, 10);
	assert_non_null(body = strstr(file, "\r\n\r\n"));
	body += 4;
	assert_int_equal(clen, len - (size_t)(body - file));

	assert_int_equal(multipart_parse(&a, http_request_header(r, "Content-Type"),
					 r->body, r->body_len), 0);
	assert_int_equal(multipart_parse(&b, ctype, body, clen), 0);
	assert_int_equal(a.n_parts, 3);
	assert_int_equal(a.n_parts, b.n_parts);
	for (size_t i = 0; i < a.n_parts; i++) {
		assert_int_equal(a.parts[i].n_headers, b.parts[i].n_headers);
		for (size_t h = 0; h < a.parts[i].n_headers; h++)
			assert_string_equal(a.parts[i].headers[h], b.parts[i].headers[h]);
		assert_int_equal(a.parts[i].len, b.parts[i].len);
		assert_memory_equal(a.parts[i].data, b.parts[i].data, a.parts[i].len);
	}
	/* and the dump's body is exactly as long as the uploaded one */
	assert_int_equal(clen, r->body_len);
	multipart_fini(&a);
	multipart_fini(&b);
	free(file);
	unlink(path);

	/* an unwritable dump path is an I/O error */
	ddprof_exporter_free(dump);
	cfg.url = "file:///nonexistent-dir/x/dump";
	dump = exporter_of(&cfg);
	assert_int_equal(ddprof_exporter_send(dump, &req), -DDPROF_ERR_IO);
	assert_true(logs_have("/nonexistent-dir/x/dump"));
	ddprof_exporter_free(dump);
	ddprof_exporter_free(up);
	http_server_stop(srv);
	free(prof.lz4);
}

/* ---- faults ------------------------------------------------------------- */

/* A loopback port nobody listens on. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_server_down(void **state)
{
	struct profile prof = make_profile(1);
	struct ddprof_export_request req = request_of(&prof);
	struct ddprof_exporter_config cfg;
	struct ddprof_exporter_stats st;
	struct ddprof_exporter *e;
	char url[64];
	long t0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
	cfg = base_config(url);
	e = exporter_of(&cfg);
	t0 = now_ms();
	assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_CONNECT);
	assert_true(now_ms() - t0 < 3000);
	assert_true(logs_have("not sent"));
	assert_true(logs_have(url));

	/* async: retried max_tries times, then reported as failed */
	assert_int_equal(ddprof_exporter_start(e), 0);
	assert_int_equal(ddprof_exporter_start(e), -DDPROF_ERR_CONFLICT);
	assert_int_equal(ddprof_exporter_enqueue(e, &req), 0);
	assert_int_equal(ddprof_exporter_flush(e, 5000), 0);
	ddprof_exporter_stats_get(e, &st);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.failed, 2);
	assert_int_equal(st.retries, 2); /* 3 tries by default */
	assert_int_equal(st.last_error, -DDPROF_ERR_CONNECT);
	assert_int_equal(st.pending, 0);
	assert_true(logs_have("attempt 2/3 failed"));
	assert_int_equal(ddprof_exporter_stop(e, 1000), 0);
	ddprof_exporter_free(e);

	/* a name that does not resolve */
	cfg.url = "http://no-such-host.invalid:8126";
	e = exporter_of(&cfg);
	assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_DNS);
	ddprof_exporter_free(e);
	free(prof.lz4);
}

/* Starts `openssl s_server` with a fresh self-signed certificate on an
 * ephemeral loopback port. Returns its pid (and *port), or -1 when the
 * openssl tool is missing. */
static pid_t start_tls_server(const char *dir, int *port)
{
	char cmd[512], cert[160], key[160], line[256];
	int pfd[2];
	FILE *out;
	pid_t pid;

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		return -1;
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s "
		 "-days 1 -subj /CN=localhost -batch >/dev/null 2>&1", key, cert);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(pfd[1], 1);
		dup2(null, 2); /* its handshake errors are expected */
		close(pfd[0]);
		close(pfd[1]);
		execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0",
		       "-cert", cert, "-key", key, "-www", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	assert_non_null(out = fdopen(pfd[0], "r"));
	*port = 0;
	while (!*port && fgets(line, sizeof(line), out))
		sscanf(line, "ACCEPT 127.0.0.1:%d", port);
	fclose(out); /* s_server may die of SIGPIPE later: it is killed anyway */
	assert_true(*port > 0);
	return pid;
}

static void test_tls_errors(void **state)
{
	struct profile prof = make_profile(1);
	struct ddprof_export_request req = request_of(&prof);
	struct ddprof_exporter_config cfg;
	struct ddprof_exporter *e;
	char dir[] = "/tmp/ddprof-tls-XXXXXX", url[128], cmd[160];
	int port, status;
	pid_t pid;

	cfg = base_config(NULL);
	cfg.api_key = API_KEY;
	cfg.intake_url = url;
	/* a self-signed certificate is refused: verification stays on */
	assert_non_null(mkdtemp(dir));
	pid = start_tls_server(dir, &port);
	if (pid < 0) {
		fprintf(stderr, "openssl not installed: certificate check skipped\n");
	} else {
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v2/profile", port);
		e = exporter_of(&cfg);
		assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_TLS);
		assert_true(logs_have("certificate"));
		assert_true(logs_have("TLS failure"));
		ddprof_exporter_free(e);
		kill(pid, SIGTERM);
		assert_int_equal(waitpid(pid, &status, 0), pid);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(prof.lz4);
}

static void test_retry_500_then_200(void **state)
{
	const struct http_reply script[] = {{.status = 500, .body = "oops"},
					    {.status = 200}};
	const struct http_reply always_503[] = {{.status = 503}};
	const struct ddprof_exporter_stats *st;
	struct ddprof_exporter *e;
	char event[2048];
	struct rig r;

	rig_start(&r, 3, script, 2);
	e = exporter_of(&r.cfg);
	/* synchronous: one attempt, the 500 comes back */
	assert_int_equal(ddprof_exporter_send(e, &r.req), -DDPROF_ERR_HTTP);
	assert_true(logs_have("HTTP 500: oops"));
	assert_int_equal(rig_stats(&r, e)->last_status, 500);

	http_server_script(r.srv, script, 2);
	assert_int_equal(ddprof_exporter_start(e), 0);
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0);
	assert_int_equal(ddprof_exporter_flush(e, 5000), 0);
	st = rig_stats(&r, e);
	assert_int_equal(st->sent, 1);
	assert_int_equal(st->failed, 1); /* the synchronous one */
	assert_int_equal(st->retries, 1);
	assert_int_equal(st->last_status, 200);
	assert_int_equal(http_server_count(r.srv), 3);
	/* the retry carries the same request */
	expected_event(event, sizeof(event), e, 1, NULL, 0);
	check_upload(http_server_request(r.srv, 1), "/profiling/v1/input", NULL,
		     event, &r.prof, 0);
	check_upload(http_server_request(r.srv, 2), "/profiling/v1/input", NULL,
		     event, &r.prof, 0);

	/* 5xx forever: bounded tries, then failed */
	http_server_script(r.srv, always_503, 1);
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0);
	assert_int_equal(ddprof_exporter_flush(e, 5000), 0);
	st = rig_stats(&r, e);
	assert_int_equal(st->failed, 2);
	assert_int_equal(st->retries, 3);
	assert_int_equal(http_server_count(r.srv), 6);
	assert_true(logs_have("HTTP 503"));
	assert_int_equal(ddprof_exporter_stop(e, 1000), 0);
	ddprof_exporter_free(e);
	rig_end(&r);
}

static void test_timeout(void **state)
{
	const struct http_reply hang[] = {{.hang = true}};
	const struct ddprof_exporter_stats *st;
	struct ddprof_exporter *e;
	struct rig r;
	long t0, dt;

	rig_start(&r, 1, hang, 1);
	r.cfg.timeout_ms = 400;
	r.cfg.max_tries = 2;
	e = exporter_of(&r.cfg);
	t0 = now_ms();
	assert_int_equal(ddprof_exporter_send(e, &r.req), -DDPROF_ERR_TIMEOUT);
	dt = now_ms() - t0;
	assert_true(dt >= 350 && dt < 2000);
	assert_true(logs_have("timed out"));

	/* async: both tries time out, within their bound */
	assert_int_equal(ddprof_exporter_start(e), 0);
	t0 = now_ms();
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0);
	assert_true(now_ms() - t0 < 100); /* the caller never waits */
	assert_int_equal(ddprof_exporter_flush(e, 5000), 0);
	dt = now_ms() - t0;
	assert_true(dt >= 800 && dt < 3000);
	st = rig_stats(&r, e);
	assert_int_equal(st->failed, 2);
	assert_int_equal(st->retries, 1);
	assert_int_equal(st->last_error, -DDPROF_ERR_TIMEOUT);
	assert_int_equal(http_server_count(r.srv), 3);
	ddprof_exporter_free(e);
	rig_end(&r);
}

static void test_auth_403(void **state)
{
	const struct http_reply forbidden[] = {{.status = 403,
						.body = "{\"errors\":[\"Forbidden\"]}"}};
	const struct ddprof_exporter_stats *st;
	struct ddprof_exporter *e;
	char intake[128];
	struct rig r;

	rig_start(&r, 1, forbidden, 1);
	snprintf(intake, sizeof(intake), "%s/api/v2/profile", http_server_url(r.srv));
	r.cfg.url = NULL;
	r.cfg.api_key = API_KEY;
	r.cfg.intake_url = intake;
	e = exporter_of(&r.cfg);
	assert_int_equal(ddprof_exporter_send(e, &r.req), -DDPROF_ERR_AUTH);
	assert_true(logs_have("HTTP 403 (API key refused: check DD_API_KEY)"));
	assert_non_null(strstr(ddprof_strerror(-DDPROF_ERR_AUTH), "API key"));

	/* a refused key is not retried */
	assert_int_equal(ddprof_exporter_start(e), 0);
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0);
	assert_int_equal(ddprof_exporter_stop(e, 5000), 0);
	st = rig_stats(&r, e);
	assert_int_equal(st->failed, 2);
	assert_int_equal(st->retries, 0);
	assert_int_equal(st->last_error, -DDPROF_ERR_AUTH);
	assert_int_equal(st->last_status, 403);
	assert_int_equal(http_server_count(r.srv), 2);
	ddprof_exporter_free(e);
	rig_end(&r);
}

/* profile_seq of a recorded upload, read from its event.json. */
static int seq_of(const struct http_request *r)
{
	const char *p = strstr((const char *)r->body, "profile_seq:");

	return p ? atoi(p + 12) : -1;
}

static void test_queue_full(void **state)
{
	const struct http_reply slow[] = {{.status = 200, .delay_ms = 600},
					  {.status = 200}};
	const struct ddprof_exporter_stats *st;
	struct ddprof_exporter *e;
	struct rig r;
	long t0;

	rig_start(&r, 1, slow, 2);
	r.cfg.queue_size = 2;
	e = exporter_of(&r.cfg);
	assert_int_equal(ddprof_exporter_start(e), 0);
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0); /* seq 0 */
	/* seq 0 is in flight once the server has it */
	assert_int_equal(http_server_wait(r.srv, 1, 5000), 1);
	t0 = now_ms();
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0); /* 1 */
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0); /* 2 */
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), -DDPROF_ERR_QUEUE_FULL);
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), -DDPROF_ERR_QUEUE_FULL);
	assert_true(now_ms() - t0 < 300); /* never blocked on the network */
	st = rig_stats(&r, e);
	assert_int_equal(st->dropped, 2);
	assert_int_equal(st->pending, 3);
	assert_true(logs_have("dropped profile 1"));
	assert_true(logs_have("dropped profile 2"));
	assert_int_equal(ddprof_exporter_stop(e, 5000), 0);
	st = rig_stats(&r, e);
	assert_int_equal(st->sent, 3);
	assert_int_equal(st->dropped, 2);
	assert_int_equal(st->abandoned, 0);
	assert_int_equal(st->pending, 0);
	/* the oldest pending ones went: 0 (in flight), then 3 and 4 */
	assert_int_equal(http_server_count(r.srv), 3);
	assert_int_equal(seq_of(http_server_request(r.srv, 0)), 0);
	assert_int_equal(seq_of(http_server_request(r.srv, 1)), 3);
	assert_int_equal(seq_of(http_server_request(r.srv, 2)), 4);
	/* stopped: no more enqueues */
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), -DDPROF_ERR_INVALID);
	ddprof_exporter_free(e);
	rig_end(&r);
}

static void test_stop_deadline(void **state)
{
	const struct http_reply hang[] = {{.hang = true}};
	const struct ddprof_exporter_stats *st;
	struct ddprof_exporter *e;
	struct rig r;
	long t0, dt;

	rig_start(&r, 1, hang, 1);
	r.cfg.timeout_ms = 20000; /* the stop deadline must cut this short */
	e = exporter_of(&r.cfg);
	assert_int_equal(ddprof_exporter_start(e), 0);
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0);
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0);
	assert_int_equal(http_server_wait(r.srv, 1, 5000), 1);
	assert_int_equal(ddprof_exporter_flush(e, 100), -DDPROF_ERR_TIMEOUT);
	t0 = now_ms();
	assert_int_equal(ddprof_exporter_stop(e, 300), -DDPROF_ERR_TIMEOUT);
	dt = now_ms() - t0;
	/* the transfer in flight is cut at once, not at curl's next tick */
	assert_true(dt >= 250 && dt < 800);
	st = rig_stats(&r, e);
	assert_int_equal(st->abandoned, 2);
	assert_int_equal(st->sent, 0);
	assert_int_equal(st->pending, 0);
	assert_true(logs_have("gave up on 2 profile(s)"));
	assert_true(logs_have("abandoned at shutdown"));

	/* free() with work pending gives up at once too */
	assert_int_equal(ddprof_exporter_start(e), 0);
	assert_int_equal(ddprof_exporter_enqueue(e, &r.req), 0);
	assert_int_equal(http_server_wait(r.srv, 2, 5000), 2);
	t0 = now_ms();
	ddprof_exporter_free(e);
	assert_true(now_ms() - t0 < 500);
	rig_end(&r);
}

static void test_bad_requests(void **state)
{
	struct profile prof = make_profile(1);
	struct ddprof_export_request req = request_of(&prof);
	struct ddprof_exporter_config cfg = base_config("http://127.0.0.1:1");
	const struct ddprof_attachment bad_names[] = {
		{"profile.pprof", "x", 1}, {"a b", "x", 1}, {"", "x", 1},
	};
	const struct ddprof_attachment dup[] = {{"a.bin", "x", 1}, {"a.bin", "y", 1}};
	struct ddprof_exporter *e = exporter_of(&cfg);
	struct ddprof_exporter_stats st;

	for (size_t i = 0; i < 3; i++) {
		req.attachments = &bad_names[i];
		req.n_attachments = 1;
		assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_INVALID);
	}
	req.attachments = dup;
	req.n_attachments = 2;
	assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_INVALID);
	req.n_attachments = DDPROF_EXPORTER_MAX_ATTACHMENTS + 1;
	assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_INVALID);
	req.n_attachments = 0;
	req.tags = "ok:1,:bad";
	assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_INVALID);
	assert_true(logs_have("\":bad\": empty key"));
	req.tags = NULL;
	req.pprof_size = DDPROF_EXPORTER_MAX_PROFILE + 1;
	assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_TOO_BIG);
	req.pprof_size = prof.len;
	req.end.tv_nsec = 2000000000L;
	assert_int_equal(ddprof_exporter_send(e, &req), -DDPROF_ERR_INVALID);
	/* the same checks guard the queue, and every refusal is counted */
	assert_int_equal(ddprof_exporter_start(e), 0);
	assert_int_equal(ddprof_exporter_enqueue(e, &req), -DDPROF_ERR_INVALID);
	ddprof_exporter_stats_get(e, &st);
	assert_int_equal(st.failed, 9);
	assert_int_equal(st.last_error, -DDPROF_ERR_INVALID);
	assert_int_equal(st.sent + st.pending, 0);
	ddprof_exporter_free(e);
	free(prof.lz4);
}

/* ---- the test server itself (the CLI tests reuse it) ------------------- */

struct feed {
	const char *data;
	size_t len, off;
};

static size_t feed_read(char *buf, size_t size, size_t n, void *arg)
{
	struct feed *f = arg;
	size_t k = size * n < 7 ? size * n : 7; /* many small chunks */

	if (k > f->len - f->off)
		k = f->len - f->off;
	memcpy(buf, f->data + f->off, k);
	f->off += k;
	return k;
}

static void test_http_server_chunked(void **state)
{
	static const char text[] = "a chunked body\r\nwith CRLF and \0 a NUL";
	struct feed feed = {text, sizeof(text) - 1, 0};
	const struct http_reply teapot[] = {{.status = 418, .delay_ms = 50}};
	struct http_server *srv = http_server_start(NULL);
	struct curl_slist *h = NULL;
	const struct http_request *r;
	char url[128];
	long status = 0;
	CURL *c;

	assert_non_null(srv);
	http_server_script(srv, teapot, 1);
	snprintf(url, sizeof(url), "%s/x?y=1", http_server_url(srv));
	assert_non_null(c = curl_easy_init());
	h = curl_slist_append(h, "Transfer-Encoding: chunked");
	h = curl_slist_append(h, "Expect: 100-continue");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, feed_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &feed);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 418);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	assert_int_equal(http_server_count(srv), 1);
	assert_non_null(r = http_server_request(srv, 0));
	assert_string_equal(r->target, "/x?y=1");
	assert_true(r->chunked);
	assert_int_equal(r->body_len, sizeof(text) - 1);
	assert_memory_equal(r->body, text, sizeof(text) - 1);
	assert_null(http_server_request(srv, 1));
	http_server_stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upload_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_profile_library, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_unix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agentless, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_matches_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_500_then_200, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_403, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_server_chunked, setup, teardown),
	};

	/* loopback tests must not be routed through a proxy from the env */
	setenv("NO_PROXY", "*", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
