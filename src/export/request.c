/* Emits an upload. Both the curl POST and the file dump walk the same
 * part list and header table, so a dump shows exactly what an upload
 * carries (only the multipart boundary, random in both, differs). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddprof/error.h"
#include "ddprof/version.h"
#include "common/log.h"
#include "request.h"
#include "strbuf.h"
#include "uuid.h"

#define NAME_MAX_LEN 64
/* cap of a whole dump: profile cap plus attachments and event.json */
#define DUMP_MAX (64u << 20)

static const char *const fixed_headers[] = {
	"DD-EVP-ORIGIN: ddprof-perf",
	"DD-EVP-ORIGIN-VERSION: " DDPROF_VERSION,
	"User-Agent: ddprof-perf/" DDPROF_VERSION,
};

static int attachment_name_ok(const char *name, const struct ddprof_attachment *prev,
			      size_t n_prev)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > NAME_MAX_LEN)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '-'))
			return 0;
	if (!strcmp(name, "event") || !strcmp(name, "event.json") ||
	    !strcmp(name, "profile.pprof"))
		return 0;
	for (size_t i = 0; i < n_prev; i++)
		if (!strcmp(prev[i].name, name))
			return 0;
	return 1;
}

int ddprof_upload_init(struct ddprof_upload *up, const char *event_json,
		       size_t ev_len, const struct ddprof_export_request *req)
{
	size_t total = ev_len + 1 + req->pprof_size;
	char *p;

	memset(up, 0, sizeof(*up));
	if (req->pprof_size > DDPROF_EXPORTER_MAX_PROFILE) {
		pr_err("exporter: profile of %zu bytes exceeds the %u-byte limit "
		       "of the intake", req->pprof_size, DDPROF_EXPORTER_MAX_PROFILE);
		return -DDPROF_ERR_TOO_BIG;
	}
	if (!req->pprof || !req->pprof_size) {
		pr_err("exporter: empty profile");
		return -DDPROF_ERR_INVALID;
	}
	/* the caller (ddprof_exporter_prepare) has logged this case already */
	if (req->n_attachments > DDPROF_EXPORTER_MAX_ATTACHMENTS ||
	    (req->n_attachments && !req->attachments))
		return -DDPROF_ERR_INVALID;
	for (size_t i = 0; i < req->n_attachments; i++) {
		const struct ddprof_attachment *a = &req->attachments[i];

		if (!attachment_name_ok(a->name, req->attachments, i)) {
			pr_err("exporter: invalid or duplicate attachment name "
			       "\"%.64s\" (1-64 bytes of [A-Za-z0-9._-], not "
			       "event or profile.pprof)", a->name ? a->name : "");
			return -DDPROF_ERR_INVALID;
		}
		if (a->size > DDPROF_EXPORTER_MAX_PROFILE || (a->size && !a->data)) {
			pr_err("exporter: attachment %s too big or without data",
			       a->name);
			return -DDPROF_ERR_TOO_BIG;
		}
		total += strlen(a->name) + 1 + a->size;
	}
	if (!(up->block = p = malloc(total)))
		return -ENOMEM;
	memcpy(p, event_json, ev_len);
	p[ev_len] = '\0';
	up->parts[up->n_parts++] = (struct ddprof_part){
		"event", "event.json", "application/json", p, ev_len};
	p += ev_len + 1;
	for (size_t i = 0; i < req->n_attachments; i++) {
		const struct ddprof_attachment *a = &req->attachments[i];
		size_t nlen = strlen(a->name) + 1;
		struct ddprof_part *part = &up->parts[up->n_parts++];

		memcpy(p, a->name, nlen);
		part->name = part->filename = p;
		part->type = "application/octet-stream";
		p += nlen;
		if (a->size)
			memcpy(p, a->data, a->size);
		part->data = p;
		part->size = a->size;
		p += a->size;
	}
	memcpy(p, req->pprof, req->pprof_size);
	up->parts[up->n_parts++] = (struct ddprof_part){
		"profile.pprof", "profile.pprof", "application/octet-stream", p,
		req->pprof_size};
	return 0;
}

void ddprof_upload_fini(struct ddprof_upload *up)
{
	free(up->block);
	memset(up, 0, sizeof(*up));
}

int ddprof_attempt_retryable(int err, const struct ddprof_attempt *at)
{
	return err == -DDPROF_ERR_TIMEOUT || err == -DDPROF_ERR_CONNECT ||
	       (err == -DDPROF_ERR_HTTP && at->status >= 500);
}

/* ---- HTTP through libcurl ---------------------------------------------- */

static int curl_err(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -DDPROF_ERR_DNS;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_ABORTED_BY_CALLBACK:
		return -DDPROF_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return -DDPROF_ERR_TLS;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -DDPROF_ERR_INVALID;
	default:
		/* refused, reset, closed without an answer: the link failed */
		return -DDPROF_ERR_CONNECT;
	}
}

/* Keeps the start of the answer: the intake explains errors in it. */
struct reply {
	char text[128];
	size_t len;
};

static size_t on_reply(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;

	for (size_t i = 0; i < n && r->len + 1 < sizeof(r->text); i++) {
		unsigned char c = (unsigned char)data[i];

		r->text[r->len++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	r->text[r->len] = '\0';
	return n;
}

int ddprof_abort_init(struct ddprof_abort *ab)
{
	atomic_store(&ab->requested, 0);
	ab->multi = curl_multi_init();
	return ab->multi ? 0 : -ENOMEM;
}

void ddprof_abort_fini(struct ddprof_abort *ab)
{
	if (ab->multi)
		curl_multi_cleanup(ab->multi);
	ab->multi = NULL;
}

void ddprof_abort_request(struct ddprof_abort *ab)
{
	atomic_store(&ab->requested, 1);
	curl_multi_wakeup(ab->multi); /* documented safe from any thread */
}

void ddprof_abort_reset(struct ddprof_abort *ab)
{
	atomic_store(&ab->requested, 0);
}

/* curl_easy_perform, but on ab's multi handle so that an abort request
 * from another thread wakes the network wait at once. */
static CURLcode perform(CURL *c, struct ddprof_abort *ab)
{
	CURLcode rc = CURLE_OK;
	CURLMcode mc;
	CURLMsg *msg;
	int running = 1, left;

	if (!ab)
		return curl_easy_perform(c);
	if (curl_multi_add_handle(ab->multi, c) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		mc = curl_multi_perform(ab->multi, &running);
		if (mc != CURLM_OK) {
			rc = mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY :
							 CURLE_SEND_ERROR;
			break;
		}
		if (!running)
			break;
		if (ddprof_abort_requested(ab)) {
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		/* the transfer's own timeout still applies inside perform */
		curl_multi_poll(ab->multi, NULL, 0, 1000, NULL);
	}
	while (rc == CURLE_OK && (msg = curl_multi_info_read(ab->multi, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == c) {
			rc = msg->data.result;
			break;
		}
	curl_multi_remove_handle(ab->multi, c);
	return rc;
}

static void free_headers(struct curl_slist *h)
{
	/* the key was copied into the list: wipe it before it is freed */
	for (struct curl_slist *i = h; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

static int add_header(struct curl_slist **list, const char *h)
{
	struct curl_slist *n = curl_slist_append(*list, h);

	if (!n)
		return -ENOMEM;
	*list = n;
	return 0;
}

static int build_headers(const struct ddprof_endpoint *ep,
			 struct curl_slist **out)
{
	struct curl_slist *h = NULL;
	char key_hdr[512];
	int err = 0;

	for (size_t i = 0; i < sizeof(fixed_headers) / sizeof(*fixed_headers) && !err; i++)
		err = add_header(&h, fixed_headers[i]);
	/* no 100-continue round trip: agents and intakes answer directly */
	if (!err)
		err = add_header(&h, "Expect:");
	if (!err && ep->api_key) {
		if ((size_t)snprintf(key_hdr, sizeof(key_hdr), "DD-API-KEY: %s",
				     ep->api_key) >= sizeof(key_hdr))
			err = -DDPROF_ERR_TOO_BIG;
		else
			err = add_header(&h, key_hdr);
		explicit_bzero(key_hdr, sizeof(key_hdr));
	}
	if (err) {
		free_headers(h);
		return err;
	}
	*out = h;
	return 0;
}

static int build_mime(CURL *c, const struct ddprof_upload *up, curl_mime **out)
{
	curl_mime *mime = curl_mime_init(c);

	if (!mime)
		return -ENOMEM;
	for (size_t i = 0; i < up->n_parts; i++) {
		const struct ddprof_part *p = &up->parts[i];
		curl_mimepart *mp = curl_mime_addpart(mime);

		if (!mp || curl_mime_name(mp, p->name) ||
		    curl_mime_filename(mp, p->filename) ||
		    curl_mime_type(mp, p->type) ||
		    curl_mime_data(mp, p->data, p->size)) {
			curl_mime_free(mime);
			return -ENOMEM;
		}
	}
	*out = mime;
	return 0;
}

static int emit_http(const struct ddprof_endpoint *ep,
		     const struct ddprof_upload *up, long timeout_ms,
		     struct ddprof_abort *ab, struct ddprof_attempt *at)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct reply reply = {.len = 0};
	curl_mime *mime = NULL;
	curl_off_t sent = 0;
	CURLcode rc;
	CURL *c;
	int err;

	if (!(c = curl_easy_init()))
		return -ENOMEM;
	if ((err = build_headers(ep, &headers)))
		goto out_curl;
	if ((err = build_mime(c, up, &mime)))
		goto out_headers;
	rc = curl_easy_setopt(c, CURLOPT_URL, ep->url);
	if (!rc && ep->kind == DDPROF_ENDPOINT_UNIX)
		rc = curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ep->path);
	if (!rc)
		rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (!rc)
		rc = curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	if (!rc)
		rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (!rc)
		rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (!rc)
		rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	if (!rc) /* threads: no SIGALRM-based DNS timeouts */
		rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (!rc)
		rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (!rc)
		rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply);
	if (!rc)
		rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	if (rc) {
		snprintf(at->why, sizeof(at->why), "curl setup: %s",
			 curl_easy_strerror(rc));
		err = curl_err(rc);
		goto out_mime;
	}
	rc = perform(c, ab);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &at->status);
	curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &sent);
	at->body_size = (size_t)sent;
	if (rc != CURLE_OK) {
		err = curl_err(rc);
		snprintf(at->why, sizeof(at->why), "POST %s: %s (%s)", ep->url,
			 rc == CURLE_ABORTED_BY_CALLBACK ? "aborted at shutdown" :
			 *errbuf ? errbuf : curl_easy_strerror(rc),
			 ddprof_strerror(err));
	} else if (at->status >= 200 && at->status < 300) {
		err = 0;
	} else {
		err = at->status == 403 ? -DDPROF_ERR_AUTH : -DDPROF_ERR_HTTP;
		snprintf(at->why, sizeof(at->why), "POST %s: HTTP %ld%s%s%s", ep->url,
			 at->status, err == -DDPROF_ERR_AUTH ?
			 " (API key refused: check DD_API_KEY)" : "",
			 reply.len ? ": " : "", reply.text);
	}
out_mime:
	curl_mime_free(mime);
out_headers:
	free_headers(headers);
out_curl:
	curl_easy_cleanup(c);
	return err;
}

/* ---- file dump ------------------------------------------------------- */

/* A boundary like curl's (24 dashes and 16 random hex digits) that none
 * of the parts contains. */
static int dump_boundary(const struct ddprof_upload *up, char *b, size_t size)
{
	char uuid[DDPROF_UUID_LEN];
	int err;

	for (int tries = 0; tries < 8; tries++) {
		size_t n = (size_t)snprintf(b, size, "------------------------");
		int clash = 0;

		if ((err = ddprof_uuid4(uuid)))
			return err;
		/* 16 hex digits as curl uses, so both bodies have one length */
		for (const char *u = uuid; *u && n < 40 && n + 1 < size; u++)
			if (*u != '-')
				b[n++] = *u;
		b[n] = '\0';
		for (size_t i = 0; i < up->n_parts && !clash; i++)
			clash = memmem(up->parts[i].data, up->parts[i].size, b, n) != NULL;
		if (!clash)
			return 0;
	}
	return -DDPROF_ERR_CONFLICT;
}

/* Serializes the parts as curl's mime code does: per part the delimiter,
 * Content-Disposition (name, filename), Content-Type, a blank line, the
 * data and CRLF; then the closing delimiter. */
static void dump_body(struct ddprof_strbuf *sb, const struct ddprof_upload *up,
		      const char *boundary)
{
	for (size_t i = 0; i < up->n_parts; i++) {
		const struct ddprof_part *p = &up->parts[i];

		ddprof_strbuf_addf(sb, "--%s\r\nContent-Disposition: form-data; "
				   "name=\"%s\"; filename=\"%s\"\r\n"
				   "Content-Type: %s\r\n\r\n",
				   boundary, p->name, p->filename, p->type);
		ddprof_strbuf_add(sb, p->data, p->size);
		ddprof_strbuf_add(sb, "\r\n", 2);
	}
	ddprof_strbuf_addf(sb, "--%s--\r\n", boundary);
}

static int write_file(const char *path, const char *data, size_t len,
		      struct ddprof_attempt *at)
{
	char tmp[4096];
	size_t off = 0;
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid()) >=
	    sizeof(tmp))
		return -DDPROF_ERR_TOO_BIG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) && !err)
		err = -errno;
	/* rename: a reader never sees half a dump */
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	if (!err)
		return 0;
fail:
	snprintf(at->why, sizeof(at->why), "writing %s: %s", path,
		 ddprof_strerror(err));
	return -DDPROF_ERR_IO;
}

static int emit_file(const struct ddprof_endpoint *ep,
		     const struct ddprof_upload *up, struct ddprof_attempt *at)
{
	struct ddprof_strbuf body, all;
	char boundary[80];
	int err;

	if ((err = dump_boundary(up, boundary, sizeof(boundary))))
		return err;
	ddprof_strbuf_init(&body, DUMP_MAX);
	ddprof_strbuf_init(&all, DUMP_MAX);
	dump_body(&body, up, boundary);
	ddprof_strbuf_addf(&all, "POST %s HTTP/1.1\r\n",
			   ddprof_endpoint_request_path(ep));
	for (size_t i = 0; i < sizeof(fixed_headers) / sizeof(*fixed_headers); i++)
		ddprof_strbuf_addf(&all, "%s\r\n", fixed_headers[i]);
	if (ep->api_key)
		ddprof_strbuf_adds(&all, "DD-API-KEY: <redacted>\r\n");
	ddprof_strbuf_addf(&all, "Content-Type: multipart/form-data; "
			   "boundary=%s\r\nContent-Length: %zu\r\n\r\n",
			   boundary, body.len);
	ddprof_strbuf_add(&all, body.data, body.len);
	if ((err = body.err ? body.err : all.err)) {
		snprintf(at->why, sizeof(at->why), "building the dump: %s",
			 ddprof_strerror(err));
		goto out;
	}
	at->body_size = body.len;
	err = write_file(ep->path, all.data, all.len, at);
out:
	ddprof_strbuf_fini(&body);
	ddprof_strbuf_fini(&all);
	return err;
}

int ddprof_upload_emit(const struct ddprof_endpoint *ep,
		       const struct ddprof_upload *up, long timeout_ms,
		       struct ddprof_abort *ab, struct ddprof_attempt *at)
{
	memset(at, 0, sizeof(*at));
	if (ep->kind == DDPROF_ENDPOINT_FILE)
		return emit_file(ep, up, at);
	return emit_http(ep, up, timeout_ms, ab, at);
}
