/* Profile export of one period: gzip file through FILE.tmp + rename,
 * LZ4 upload queued on the exporter's sender thread, top-function fold. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/msg.h"
#include "cli/output.h"
#include "cli/sink.h"
#include "ddprof/error.h"
#include "ddprof/profile.h"

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int start_exporter(struct ddprof_cli_sink *k,
			  const struct ddprof_cli_opts *o)
{
	struct ddprof_exporter_config cfg = {
		.service = o->service,
		.env = o->env,
		.version = o->version,
		.tags = o->tags,
	};
	int ret;

	if (!cfg.service && o->command)
		cfg.service = base_name(o->command[0]);
	if (o->agentless) {
		cfg.api_key = o->api_key;
		cfg.site = o->site;
		cfg.intake_url = o->url;
		if (o->url)
			snprintf(k->upload_to, sizeof(k->upload_to), "%s", o->url);
		else
			snprintf(k->upload_to, sizeof(k->upload_to),
				 "https://intake.profile.%s/api/v2/profile", o->site);
	} else {
		cfg.url = o->url;
		if (o->url)
			snprintf(k->upload_to, sizeof(k->upload_to), "%s", o->url);
		else if (ddprof_exporter_agent_url_from_env(k->upload_to,
							    sizeof(k->upload_to)))
			snprintf(k->upload_to, sizeof(k->upload_to), "the agent");
	}
	if ((ret = ddprof_exporter_new(&cfg, &k->exp))) {
		k->exp = NULL;
		return ret;
	}
	if ((ret = ddprof_exporter_start(k->exp))) {
		ddprof_cli_msg(DDPROF_LOG_ERROR, "cannot start the upload thread: %s",
			       ddprof_strerror(ret));
		return ret;
	}
	return 0;
}

int ddprof_cli_sink_init(struct ddprof_cli_sink *k,
			 const struct ddprof_cli_opts *o)
{
	memset(k, 0, sizeof(*k));
	ddprof_cli_top_init(&k->top);
	k->output = o->output;
	k->numbered = o->output && o->period_ns &&
		      !ddprof_cli_output_is_special(o->output);
	return o->upload ? start_exporter(k, o) : 0;
}

static int write_file(struct ddprof_cli_sink *k, const struct ddprof_profile *p,
		      bool last)
{
	const struct ddprof_serialize_opts so = {
		.compression = DDPROF_COMPRESS_GZIP,
	};
	struct ddprof_cli_file f;
	char path[PATH_MAX];
	int ret;

	k->seq++;
	ret = ddprof_cli_output_name(path, sizeof(path), k->output,
				     k->numbered ? k->seq : 0);
	if (!ret)
		ret = ddprof_cli_file_open(&f, path);
	if (!ret) {
		ret = ddprof_profile_serialize_fd(p, &so, f.fd, NULL);
		if (ret)
			ddprof_cli_file_abort(&f);
		else
			ret = ddprof_cli_file_commit(&f);
	}
	if (ret) {
		k->file_errors++;
		k->last_file_err = ret;
		ddprof_cli_msg(DDPROF_LOG_ERROR, "cannot write %s: %s%s", path,
			       ddprof_strerror(ret), last ? "" : " (sampling goes on)");
		return ret;
	}
	k->files++;
	if (!k->first_path[0])
		memcpy(k->first_path, path, sizeof(path));
	memcpy(k->last_path, path, sizeof(path));
	return 0;
}

static void ns_to_timespec(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

static int upload(struct ddprof_cli_sink *k, const struct ddprof_profile *p)
{
	const struct ddprof_serialize_opts so = {
		.compression = DDPROF_COMPRESS_LZ4,
		.max_size = DDPROF_EXPORTER_MAX_PROFILE,
	};
	struct ddprof_export_request req = { 0 };
	void *buf = NULL;
	int ret;

	ns_to_timespec(ddprof_profile_start_time(p), &req.start);
	clock_gettime(CLOCK_REALTIME, &req.end);
	ret = ddprof_profile_serialize(p, &so, &buf, &req.pprof_size);
	if (!ret) {
		req.pprof = buf;
		ret = ddprof_exporter_enqueue(k->exp, &req);
		free(buf);
		/* the oldest pending one was dropped, this one is queued */
		if (ret == -DDPROF_ERR_QUEUE_FULL)
			return 0;
	}
	if (ret) {
		k->upload_errors++;
		ddprof_cli_msg(DDPROF_LOG_ERROR, "cannot upload this period's profile: %s",
			       ddprof_strerror(ret));
	}
	return ret;
}

/* Adds p's self weight per leaf function (second value column) to the
 * run's table, which survives the store's reset. */
static void fold_top(struct ddprof_cli_sink *k, const struct ddprof_profile *p)
{
	struct ddprof_profile_stats st;
	struct ddprof_profile_top *t;
	int n;

	ddprof_profile_stats(p, &st);
	if (!st.functions)
		return;
	t = calloc(st.functions, sizeof(*t));
	if (!t)
		return; /* the summary only loses this period's share */
	n = ddprof_profile_top_functions(p, 1, t, st.functions);
	for (int i = 0; i < n; i++) {
		const char *name = *t[i].function ? t[i].function : "[unknown]";

		if (t[i].value > 0)
			ddprof_cli_top_add(&k->top, name, strlen(name),
					   (uint64_t)t[i].value);
	}
	free(t);
}

int ddprof_cli_sink_put(struct ddprof_cli_sink *k, struct ddprof_profile *p,
			bool last)
{
	int ret = 0, r;

	if (k->output && (r = write_file(k, p, last)))
		ret = r;
	if (k->exp && (r = upload(k, p)))
		ret = r;
	fold_top(k, p);
	ddprof_profile_free(p);
	return ret;
}

int ddprof_cli_sink_flush(struct ddprof_cli_sink *k, long timeout_ms)
{
	return k->exp ? ddprof_exporter_flush(k->exp, timeout_ms) : 0;
}

int ddprof_cli_sink_finish(struct ddprof_cli_sink *k, long timeout_ms)
{
	return k->exp ? ddprof_exporter_stop(k->exp, timeout_ms) : 0;
}

bool ddprof_cli_sink_outcome(struct ddprof_cli_sink *k, char *buf,
			     size_t len)
{
	struct ddprof_exporter_stats es;
	size_t n = 0;
	bool ok = true;

#define OUT(...) \
	(n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))
	if (len)
		buf[0] = '\0';
	if (k->files == 1 && !k->numbered)
		OUT("ddprof-perf: profile written to %s\n", k->last_path);
	else if (k->files == 1)
		OUT("ddprof-perf: 1 profile written to %s\n", k->last_path);
	else if (k->files)
		OUT("ddprof-perf: %llu profiles written, %s ... %s\n",
		    (unsigned long long)k->files, k->first_path, k->last_path);
	if (k->file_errors) {
		OUT("ddprof-perf: %llu profile%s not written to %s: %s\n",
		    (unsigned long long)k->file_errors,
		    k->file_errors == 1 ? "" : "s", k->output,
		    ddprof_strerror(k->last_file_err));
		ok = false;
	}
	if (k->exp) {
		ddprof_exporter_stats_get(k->exp, &es);
		OUT("ddprof-perf: %llu profile%s uploaded to %s",
		    (unsigned long long)es.sent, es.sent == 1 ? "" : "s",
		    k->upload_to);
		if (es.failed || es.dropped || es.abandoned || k->upload_errors) {
			OUT(", %llu failed (%s)",
			    (unsigned long long)(es.failed + es.dropped +
						 es.abandoned + k->upload_errors),
			    es.last_error ? ddprof_strerror(es.last_error) :
					    "not queued");
			ok = false;
		}
		OUT("\n");
	}
#undef OUT
	return ok;
}

void ddprof_cli_sink_fini(struct ddprof_cli_sink *k)
{
	ddprof_exporter_free(k->exp);
	k->exp = NULL;
	ddprof_cli_top_fini(&k->top);
}
