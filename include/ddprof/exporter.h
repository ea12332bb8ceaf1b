/* Datadog profile exporter: sends an already-compressed pprof with its
 * event.json to the Datadog agent (HTTP or Unix socket), to the agentless
 * intake, or to a file, synchronously or from a sender thread that never
 * blocks the caller. */
#ifndef DDPROF_EXPORTER_H
#define DDPROF_EXPORTER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ddprof_exporter;

/* The backend drops larger profiles; the exporter refuses them up front. */
#define DDPROF_EXPORTER_MAX_PROFILE (10u << 20)
/* Hard cap on extra attachments per upload. */
#define DDPROF_EXPORTER_MAX_ATTACHMENTS 8

/* Where and how to send. Every string is copied by ddprof_exporter_new();
 * NULL or 0 fields take the default given on each line.
 *
 * Endpoint selection:
 * - url "file:///abs/path": each upload is written to that file instead of
 *   the network: request line, headers (the API key value replaced by
 *   "<redacted>"), a blank line, then the multipart body, exactly the parts
 *   an upload carries. The file is replaced atomically on each upload.
 * - else, api_key set (non-empty): agentless. POST to intake_url, or to
 *   https://intake.profile.<site>/api/v2/profile with site from `site`, else
 *   $DD_SITE, else "datadoghq.com"; the key goes in the DD-API-KEY header.
 * - else agent: url "unix:///path" (Unix socket), "http://host:port",
 *   "https://...", or "host:port"; /profiling/v1/input is appended. NULL url
 *   means ddprof_exporter_agent_url_from_env().
 *
 * Tags (see ddprof_exporter_new() for the validation rule): service, env,
 * version, host (NULL host: gethostname()) become exporter-level tags with
 * language:native, profiler_version and runtime-id; `tags` is a DD_TAGS-like
 * "k:v,k:v" list added to every upload. The library reads DD_SITE and the
 * agent variables (see ddprof_exporter_agent_url_from_env()) but not
 * DD_API_KEY nor DD_TAGS: the caller passes those explicitly. */
struct ddprof_exporter_config {
	const char *url;
	const char *api_key;
	const char *site;
	const char *intake_url;
	const char *service;
	const char *env;
	const char *version;
	const char *host;
	const char *tags;
	const char *process_tags; /* event.json "process_tags"; NULL: null */
	const char *runtime_id;   /* NULL: a fresh random UUID v4; set it to
				   * share one id between exporters of a run */
	long timeout_ms;          /* whole-request timeout; 0: 10000 */
	unsigned queue_size;      /* async queue capacity, 1..16; 0: 2 */
	unsigned max_tries;       /* async attempts per profile, 1..10; 0: 3 */
	long retry_delay_ms;      /* first backoff, doubled each retry; 0: 1000 */
};

/* An extra attachment: a multipart part named and filenamed `name`
 * (1..64 bytes of [A-Za-z0-9._-], not "event", "event.json" nor
 * "profile.pprof"), with Content-Type application/octet-stream. */
struct ddprof_attachment {
	const char *name;
	const void *data;
	size_t size;
};

/* One profile to send. pprof is the compressed pprof (LZ4 frame, gzip or
 * zstd: the intake recognises the magic bytes), at most
 * DDPROF_EXPORTER_MAX_PROFILE bytes. start/end bound the profiled period
 * (CLOCK_REALTIME). tags: extra "k:v,k:v" for this upload only, or NULL. */
struct ddprof_export_request {
	const void *pprof;
	size_t pprof_size;
	struct timespec start;
	struct timespec end;
	const char *tags;
	const struct ddprof_attachment *attachments;
	size_t n_attachments;
};

/* Counters of an exporter since ddprof_exporter_new(); a snapshot. */
struct ddprof_exporter_stats {
	uint64_t sent;        /* profiles accepted (2xx) or written (file) */
	uint64_t failed;      /* profiles given up after an error */
	uint64_t retries;     /* attempts beyond the first */
	uint64_t dropped;     /* oldest pending profiles dropped, queue full */
	uint64_t abandoned;   /* profiles not sent when ddprof_exporter_stop()
			       * ran out of time */
	uint64_t bytes_sent;  /* multipart body bytes of successful uploads */
	int last_error;       /* 0 or the negative code of the last failure */
	long last_status;     /* last HTTP status received, 0 if none */
	unsigned pending;     /* queued or in flight now */
};

/* Creates an exporter from cfg (copied). Validates the endpoint and every
 * tag: a tag is "key:value" where the key is 1..200 bytes of ASCII letters,
 * digits and "_-./" starting with a letter, the value is non-empty and
 * holds no ',' (the tags_profiler separator), and the whole tag is at most
 * 200 bytes; the value may hold any other byte, UTF-8 included. Surrounding
 * spaces of each "k:v" item in a list are ignored; empty items are skipped.
 * The runtime-id is cfg->runtime_id (at most 36 bytes) or a fresh random
 * UUID v4 (getrandom).
 * Returns 0 and *out (free with ddprof_exporter_free()), or
 * -DDPROF_ERR_INVALID (logged, naming the offending tag or URL), -ENOMEM. */
int ddprof_exporter_new(const struct ddprof_exporter_config *cfg,
			struct ddprof_exporter **out);

/* Stops the sender thread if running, giving up at once on whatever is
 * pending (counted as abandoned; a transfer in flight is cut short), and
 * frees exp. Accepts NULL. Call ddprof_exporter_stop()
 * first to give pending profiles a chance. */
void ddprof_exporter_free(struct ddprof_exporter *exp);

/* Sends req now, in the calling thread, one attempt, honouring the
 * timeout. Returns 0 on a 2xx answer (or a written file), else
 * -DDPROF_ERR_DNS, _CONNECT, _TLS, _TIMEOUT, _AUTH (HTTP 403: bad API
 * key), _HTTP (other status >= 300, see stats.last_status), _IO (file),
 * _TOO_BIG, _INVALID (bad tags or attachments), -ENOMEM. Every failure is
 * logged once, without the API key. Safe to call while the sender thread
 * runs (each request uses its own connection). */
int ddprof_exporter_send(struct ddprof_exporter *exp,
			 const struct ddprof_export_request *req);

/* Starts the sender thread (with every signal blocked, so it never takes
 * the caller's signals). Returns 0, -DDPROF_ERR_CONFLICT if already
 * started, or -errno. May be called again after ddprof_exporter_stop(). */
int ddprof_exporter_start(struct ddprof_exporter *exp);

/* Copies req (profile, tags, attachments) into the send queue and returns
 * at once; the sender thread retries timeouts, connection errors and 5xx
 * with exponential backoff up to max_tries attempts. Returns 0 when queued;
 * -DDPROF_ERR_QUEUE_FULL when queued after dropping the oldest pending
 * profile (counted in stats.dropped, logged); -DDPROF_ERR_INVALID when not
 * started or req is invalid; -DDPROF_ERR_TOO_BIG; -ENOMEM. */
int ddprof_exporter_enqueue(struct ddprof_exporter *exp,
			    const struct ddprof_export_request *req);

/* Waits up to timeout_ms for the queue to drain (every profile sent or
 * given up). Returns 0 when drained, -DDPROF_ERR_TIMEOUT otherwise (the
 * thread keeps working). */
int ddprof_exporter_flush(struct ddprof_exporter *exp, long timeout_ms);

/* Final flush: lets the sender thread work up to timeout_ms on what is
 * queued, then aborts at once any transfer or backoff in flight, discards
 * the rest (counted in stats.abandoned
 * and logged) and joins the thread. Returns 0 when
 * everything pending was handled, -DDPROF_ERR_TIMEOUT when some profiles
 * were abandoned. A no-op returning 0 when the thread is not running. */
int ddprof_exporter_stop(struct ddprof_exporter *exp, long timeout_ms);

/* Fills *st with a consistent snapshot of the counters. Thread-safe. */
void ddprof_exporter_stats_get(struct ddprof_exporter *exp,
			       struct ddprof_exporter_stats *st);

/* The exporter's runtime-id, valid until _free(). */
const char *ddprof_exporter_runtime_id(const struct ddprof_exporter *exp);

/* Writes the agent base URL from the environment into buf:
 * $DD_TRACE_AGENT_URL if set and non-empty, else
 * http://$DD_AGENT_HOST:$DD_TRACE_AGENT_PORT (defaults localhost and 8126;
 * an IPv6 host is bracketed). Returns 0, or -DDPROF_ERR_TOO_BIG if it does
 * not fit in size bytes. */
int ddprof_exporter_agent_url_from_env(char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
