/* One profile upload as bytes (parts and headers), and the two ways to
 * emit it: an HTTP POST through libcurl's mime API, or a file dump that
 * carries the very same parts. */
#ifndef DDPROF_EXPORT_REQUEST_H
#define DDPROF_EXPORT_REQUEST_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ddprof/exporter.h"
#include "endpoint.h"

/* One multipart part; name doubles as filename. */
struct ddprof_part {
	const char *name;
	const char *filename;
	const char *type; /* Content-Type of the part */
	const void *data;
	size_t size;
};

/* A request ready to go: event.json first, attachments, profile.pprof
 * last. Owns every byte it points to (one block), so it can wait in the
 * sender queue after the caller's buffers are gone. */
struct ddprof_upload {
	struct ddprof_part parts[DDPROF_EXPORTER_MAX_ATTACHMENTS + 2];
	size_t n_parts;
	void *block; /* event.json, names and data of every part */
	uint64_t seq; /* profile_seq, for log lines */
};

/* Copies event.json (ev_len bytes), the attachments and the profile of req
 * into *up. Returns 0, -DDPROF_ERR_INVALID (bad attachment name, logged),
 * -DDPROF_ERR_TOO_BIG or -ENOMEM. */
int ddprof_upload_init(struct ddprof_upload *up, const char *event_json,
		       size_t ev_len, const struct ddprof_export_request *req);

/* Frees what _init() copied. Accepts a zeroed upload. */
void ddprof_upload_fini(struct ddprof_upload *up);

/* Outcome of one attempt. */
struct ddprof_attempt {
	long status;    /* HTTP status, 0 when none came back */
	size_t body_size; /* multipart body bytes sent or written */
	char why[512];  /* on failure: what happened, never the API key */
};

/* Lets another thread cut a transfer short at once: transfers run on
 * this multi handle, which ddprof_abort_request() wakes up. */
struct ddprof_abort {
	CURLM *multi;
	atomic_int requested;
};

/* Returns 0 or -ENOMEM. */
int ddprof_abort_init(struct ddprof_abort *ab);

/* Accepts a zeroed struct. */
void ddprof_abort_fini(struct ddprof_abort *ab);

/* Marks the abort and wakes a transfer waiting on the network. Any thread. */
void ddprof_abort_request(struct ddprof_abort *ab);

/* Clears a previous request (before reusing the handle). */
void ddprof_abort_reset(struct ddprof_abort *ab);

static inline bool ddprof_abort_requested(struct ddprof_abort *ab)
{
	return atomic_load(&ab->requested) != 0;
}

/* Emits up to ep once: POST with curl (timeout_ms for the whole request;
 * with ab non-NULL the transfer runs on ab->multi and stops as soon as an
 * abort is requested), or the file dump. Returns 0 on 2xx or a written
 * file, else -DDPROF_ERR_DNS, _CONNECT, _TLS, _TIMEOUT (also for an
 * abort), _AUTH (403), _HTTP, _IO or -ENOMEM, with at->why filled. Does
 * not log. Only one thread at a time may use a given ab for transfers. */
int ddprof_upload_emit(const struct ddprof_endpoint *ep,
		       const struct ddprof_upload *up, long timeout_ms,
		       struct ddprof_abort *ab, struct ddprof_attempt *at);

/* Whether a failed attempt is worth retrying: timeouts, connection
 * errors and 5xx answers. */
int ddprof_attempt_retryable(int err, const struct ddprof_attempt *at);

#endif
