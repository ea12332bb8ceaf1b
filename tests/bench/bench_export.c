/* Exporter benchmarks against a loopback test server: what the caller pays
 * to enqueue a profile (it must never wait on the network), the time of one
 * synchronous upload, and of one file dump. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ddprof/exporter.h"
#include "../lib/http_server.h"

#define PROFILE_SIZE (1u << 20)
#define ROUNDS 30

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	return v[n / 2];
}

/* Median time in us of ROUNDS synchronous sends of req through a new
 * exporter for cfg; -1 on a failure. */
static double median_send_us(const struct ddprof_exporter_config *cfg,
			     const struct ddprof_export_request *req)
{
	struct ddprof_exporter *e;
	double t[ROUNDS];

	if (ddprof_exporter_new(cfg, &e))
		return -1;
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = now_us();

		if (ddprof_exporter_send(e, req)) {
			ddprof_exporter_free(e);
			return -1;
		}
		t[i] = now_us() - t0;
	}
	ddprof_exporter_free(e);
	return median(t, ROUNDS);
}

int main(void)
{
	struct ddprof_exporter_config cfg = {.service = "bench", .host = "bench",
					     .queue_size = 4};
	struct ddprof_export_request req = {.pprof_size = PROFILE_SIZE,
					    .start = {1767322800, 0},
					    .end = {1767322860, 0}};
	struct ddprof_exporter *e;
	struct http_server *srv;
	double t[ROUNDS], m;
	char path[64], url[80];
	unsigned char *buf;

	setenv("NO_PROXY", "*", 1);
	if (!(buf = malloc(PROFILE_SIZE)) || !(srv = http_server_start(NULL)))
		return 1;
	/* random bytes: the exporter treats the profile as opaque */
	for (size_t off = 0; off < PROFILE_SIZE;)
		off += (size_t)getrandom(buf + off, PROFILE_SIZE - off, 0);
	memcpy(buf, "\x04\x22\x4d\x18", 4);
	req.pprof = buf;
	cfg.url = http_server_url(srv);
	if ((m = median_send_us(&cfg, &req)) < 0)
		return 1;
	printf("bench: export_upload_1mib_loopback %.0f us\n", m);

	if (ddprof_exporter_new(&cfg, &e) || ddprof_exporter_start(e))
		return 1;
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = now_us();

		ddprof_exporter_enqueue(e, &req); /* may drop the oldest: fine */
		t[i] = now_us() - t0;
	}
	printf("bench: export_enqueue_1mib %.0f us\n", median(t, ROUNDS));
	if (ddprof_exporter_stop(e, 30000))
		return 1;
	ddprof_exporter_free(e);

	snprintf(path, sizeof(path), "/tmp/ddprof-bench-%d.dump", (int)getpid());
	snprintf(url, sizeof(url), "file://%s", path);
	cfg.url = url;
	if ((m = median_send_us(&cfg, &req)) < 0)
		return 1;
	printf("bench: export_dump_1mib %.0f us\n", m);
	unlink(path);
	http_server_stop(srv);
	free(buf);
	return 0;
}
