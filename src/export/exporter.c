/* Exporter construction, tags, event.json assembly and the synchronous
 * send. The sender thread lives in sender.c. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "ddprof/version.h"
#include "event.h"
#include "exporter_int.h"
#include "tags.h"

/* Cap of one tags_profiler string (exporter, user and upload tags). */
#define TAGS_MAX (16u << 10)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init is not thread-safe on every build: do it once. */
static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int exporter_tags(struct ddprof_exporter *exp,
			 const struct ddprof_exporter_config *cfg)
{
	char hostname[256] = "";
	const char *host = cfg->host;
	struct ddprof_strbuf sb;
	int err = 0;

	if (!host && gethostname(hostname, sizeof(hostname)) == 0) {
		hostname[sizeof(hostname) - 1] = '\0';
		host = hostname;
	}
	ddprof_strbuf_init(&sb, TAGS_MAX);
	if (cfg->service && *cfg->service)
		err = ddprof_tags_add(&sb, "service", cfg->service);
	if (!err && cfg->env && *cfg->env)
		err = ddprof_tags_add(&sb, "env", cfg->env);
	if (!err && cfg->version && *cfg->version)
		err = ddprof_tags_add(&sb, "version", cfg->version);
	if (!err && host && *host)
		err = ddprof_tags_add(&sb, "host", host);
	if (!err)
		err = ddprof_tags_add(&sb, "language", "native");
	if (!err)
		err = ddprof_tags_add(&sb, "profiler_version", DDPROF_VERSION);
	if (!err)
		err = ddprof_tags_add(&sb, "runtime-id", exp->runtime_id);
	if (!err && cfg->tags)
		err = ddprof_tags_parse(&sb, cfg->tags);
	if (!err && !(exp->tags = ddprof_strbuf_take(&sb)))
		err = -ENOMEM;
	ddprof_strbuf_fini(&sb);
	return err;
}

static int config_check(const struct ddprof_exporter_config *cfg)
{
	if (cfg->timeout_ms < 0 || cfg->retry_delay_ms < 0 ||
	    cfg->queue_size > DDPROF_EXPORTER_QUEUE_MAX || cfg->max_tries > 10) {
		pr_err("exporter: invalid timeout, retry delay, queue size "
		       "(max %d) or tries (max 10)", DDPROF_EXPORTER_QUEUE_MAX);
		return -DDPROF_ERR_INVALID;
	}
	return 0;
}

static int sync_init(struct ddprof_exporter *exp)
{
	pthread_condattr_t ca;
	int err;

	if ((err = pthread_condattr_init(&ca)))
		return -err;
	/* deadlines must not jump with the wall clock */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if ((err = pthread_mutex_init(&exp->lock, NULL)))
		goto out;
	if ((err = pthread_cond_init(&exp->wake, &ca)))
		goto out_lock;
	if ((err = pthread_cond_init(&exp->idle, &ca)))
		goto out_wake;
	pthread_condattr_destroy(&ca);
	return 0;
out_wake:
	pthread_cond_destroy(&exp->wake);
out_lock:
	pthread_mutex_destroy(&exp->lock);
out:
	pthread_condattr_destroy(&ca);
	return -err;
}

int ddprof_exporter_new(const struct ddprof_exporter_config *cfg,
			struct ddprof_exporter **out)
{
	struct ddprof_exporter *exp;
	int err;

	*out = NULL;
	if ((err = config_check(cfg)))
		return err;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		pr_err("exporter: curl_global_init: %s",
		       curl_easy_strerror(curl_init_rc));
		return -ENOMEM;
	}
	if (!(exp = calloc(1, sizeof(*exp))))
		return -ENOMEM;
	exp->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
	exp->queue_size = cfg->queue_size ? cfg->queue_size : 2;
	exp->max_tries = cfg->max_tries ? cfg->max_tries : 3;
	exp->retry_delay_ms = cfg->retry_delay_ms ? cfg->retry_delay_ms : 1000;
	if (cfg->runtime_id && *cfg->runtime_id) {
		if (strlen(cfg->runtime_id) >= sizeof(exp->runtime_id)) {
			pr_err("exporter: runtime-id \"%s\" longer than 36 bytes",
			       cfg->runtime_id);
			err = -DDPROF_ERR_INVALID;
			goto out_free;
		}
		strcpy(exp->runtime_id, cfg->runtime_id);
	} else if ((err = ddprof_uuid4(exp->runtime_id))) {
		goto out_free;
	}
	if ((err = ddprof_endpoint_init(&exp->ep, cfg)))
		goto out_free;
	if ((err = exporter_tags(exp, cfg)))
		goto out_endpoint;
	err = -ENOMEM;
	if (cfg->process_tags && *cfg->process_tags &&
	    !(exp->process_tags = strdup(cfg->process_tags)))
		goto out_tags;
	if ((err = ddprof_abort_init(&exp->abort)))
		goto out_tags;
	if ((err = sync_init(exp)))
		goto out_abort;
	pr_debug("exporter: sending to %s, runtime-id %s", exp->ep.url,
		 exp->runtime_id);
	*out = exp;
	return 0;
out_abort:
	ddprof_abort_fini(&exp->abort);
out_tags:
	free(exp->process_tags);
	free(exp->tags);
out_endpoint:
	ddprof_endpoint_fini(&exp->ep);
out_free:
	free(exp);
	return err;
}

void ddprof_exporter_free(struct ddprof_exporter *exp)
{
	if (!exp)
		return;
	ddprof_exporter_stop(exp, 0);
	pthread_cond_destroy(&exp->idle);
	pthread_cond_destroy(&exp->wake);
	pthread_mutex_destroy(&exp->lock);
	ddprof_abort_fini(&exp->abort);
	free(exp->process_tags);
	free(exp->tags);
	ddprof_endpoint_fini(&exp->ep);
	free(exp);
}

const char *ddprof_exporter_runtime_id(const struct ddprof_exporter *exp)
{
	return exp->runtime_id;
}

int ddprof_exporter_prepare(struct ddprof_exporter *exp,
			    const struct ddprof_export_request *req,
			    struct ddprof_upload *up)
{
	const char *names[DDPROF_EXPORTER_MAX_ATTACHMENTS + 1];
	struct ddprof_event ev = {.start = req->start, .end = req->end,
				  .process_tags = exp->process_tags};
	struct ddprof_strbuf tags;
	char *json = NULL;
	size_t json_len;
	uint64_t seq;
	int err;

	ddprof_strbuf_init(&tags, TAGS_MAX);
	if (req->n_attachments > DDPROF_EXPORTER_MAX_ATTACHMENTS ||
	    (req->n_attachments && !req->attachments)) {
		pr_err("exporter: at most %d extra attachments",
		       DDPROF_EXPORTER_MAX_ATTACHMENTS);
		err = -DDPROF_ERR_INVALID;
		goto out;
	}
	for (size_t i = 0; i < req->n_attachments; i++)
		names[i] = req->attachments[i].name ? req->attachments[i].name : "";
	names[req->n_attachments] = "profile.pprof";
	ev.attachments = names;
	ev.n_attachments = req->n_attachments + 1;

	ddprof_strbuf_adds(&tags, exp->tags);
	if (req->tags && (err = ddprof_tags_parse(&tags, req->tags)))
		goto out;
	pthread_mutex_lock(&exp->lock);
	seq = exp->seq++;
	pthread_mutex_unlock(&exp->lock);
	ddprof_strbuf_addf(&tags, ",profile_seq:%llu", (unsigned long long)seq);
	if ((err = tags.err)) {
		pr_err("exporter: tags: %s", ddprof_strerror(err));
		goto out;
	}
	ev.tags_profiler = tags.data;
	if ((err = ddprof_event_render(&ev, &json, &json_len))) {
		pr_err("exporter: event.json: %s", ddprof_strerror(err));
		goto out;
	}
	if ((err = ddprof_upload_init(up, json, json_len, req)))
		goto out;
	up->seq = seq;
out:
	free(json);
	ddprof_strbuf_fini(&tags);
	if (err) { /* a profile that cannot be sent counts as failed */
		pthread_mutex_lock(&exp->lock);
		exp->stats.failed++;
		exp->stats.last_error = err;
		pthread_mutex_unlock(&exp->lock);
	}
	return err;
}

void ddprof_exporter_account(struct ddprof_exporter *exp, int err,
			     const struct ddprof_attempt *at)
{
	if (at->status)
		exp->stats.last_status = at->status;
	if (!err) {
		exp->stats.sent++;
		exp->stats.bytes_sent += at->body_size;
	} else {
		exp->stats.failed++;
		exp->stats.last_error = err;
	}
}

int ddprof_exporter_send(struct ddprof_exporter *exp,
			 const struct ddprof_export_request *req)
{
	struct ddprof_attempt at;
	struct ddprof_upload up;
	int err;

	if ((err = ddprof_exporter_prepare(exp, req, &up)))
		return err;
	err = ddprof_upload_emit(&exp->ep, &up, exp->timeout_ms, NULL, &at);
	if (err)
		pr_err("exporter: profile %llu not sent: %s",
		       (unsigned long long)up.seq,
		       *at.why ? at.why : ddprof_strerror(err));
	else
		pr_info("exporter: profile %llu sent (%zu bytes, HTTP %ld)",
			(unsigned long long)up.seq, at.body_size, at.status);
	pthread_mutex_lock(&exp->lock);
	ddprof_exporter_account(exp, err, &at);
	pthread_mutex_unlock(&exp->lock);
	ddprof_upload_fini(&up);
	return err;
}

void ddprof_exporter_stats_get(struct ddprof_exporter *exp,
			       struct ddprof_exporter_stats *st)
{
	pthread_mutex_lock(&exp->lock);
	*st = exp->stats;
	st->pending = exp->count + (exp->busy ? 1 : 0);
	pthread_mutex_unlock(&exp->lock);
}
