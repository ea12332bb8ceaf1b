/* Endpoint resolution: turns the few accepted URL spellings into the URL
 * libcurl gets, so the rest of the exporter knows only four kinds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "endpoint.h"

#define URL_MAX 2048

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Rejects bytes that would let a URL or header value smuggle in extra
 * header lines or confuse the URL parser. */
static int is_clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int dup_url(char **out, const char *base, const char *suffix)
{
	size_t blen = strlen(base);

	while (blen && base[blen - 1] == '/')
		blen--;
	if (blen + strlen(suffix) >= URL_MAX)
		return -DDPROF_ERR_TOO_BIG;
	if (asprintf(out, "%.*s%s", (int)blen, base, suffix) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int ddprof_exporter_agent_url_from_env(char *buf, size_t size)
{
	const char *url = getenv("DD_TRACE_AGENT_URL");
	const char *host = getenv("DD_AGENT_HOST");
	const char *port = getenv("DD_TRACE_AGENT_PORT");
	int n;

	if (url && *url)
		n = snprintf(buf, size, "%s", url);
	else {
		if (!host || !*host)
			host = "localhost";
		if (!port || !*port)
			port = "8126";
		if (strchr(host, ':') && host[0] != '[')
			n = snprintf(buf, size, "http://[%s]:%s", host, port);
		else
			n = snprintf(buf, size, "http://%s:%s", host, port);
	}
	return n < 0 || (size_t)n >= size ? -DDPROF_ERR_TOO_BIG : 0;
}

static int endpoint_agent(struct ddprof_endpoint *ep, const char *url)
{
	if (has_prefix(url, "unix://")) {
		const char *path = url + strlen("unix://");

		if (path[0] != '/') {
			pr_err("exporter: unix socket URL %s needs an absolute path",
			       url);
			return -DDPROF_ERR_INVALID;
		}
		ep->kind = DDPROF_ENDPOINT_UNIX;
		if (!(ep->path = strdup(path)))
			return -ENOMEM;
		return dup_url(&ep->url, "http://localhost", DDPROF_AGENT_PATH);
	}
	ep->kind = DDPROF_ENDPOINT_AGENT;
	if (has_prefix(url, "http://") || has_prefix(url, "https://"))
		return dup_url(&ep->url, url, DDPROF_AGENT_PATH);
	if (strstr(url, "://") || !*url) {
		pr_err("exporter: unsupported agent URL \"%s\" (use host:port, "
		       "http://, https://, unix:// or file://)", url);
		return -DDPROF_ERR_INVALID;
	}
	if (strlen(url) + 8 >= URL_MAX)
		return -DDPROF_ERR_TOO_BIG;
	char base[URL_MAX];

	snprintf(base, sizeof(base), "http://%s", url);
	return dup_url(&ep->url, base, DDPROF_AGENT_PATH);
}

static int endpoint_agentless(struct ddprof_endpoint *ep,
			      const struct ddprof_exporter_config *cfg)
{
	const char *site = cfg->site;

	ep->kind = DDPROF_ENDPOINT_AGENTLESS;
	if (cfg->intake_url && *cfg->intake_url) {
		if (!has_prefix(cfg->intake_url, "https://") &&
		    !has_prefix(cfg->intake_url, "http://")) {
			pr_err("exporter: intake URL \"%s\" must be http(s)://",
			       cfg->intake_url);
			return -DDPROF_ERR_INVALID;
		}
		if (has_prefix(cfg->intake_url, "http://"))
			pr_warn("exporter: intake URL %s is not TLS: the API key "
				"travels in clear text", cfg->intake_url);
		if (strlen(cfg->intake_url) >= URL_MAX)
			return -DDPROF_ERR_TOO_BIG;
		if (!(ep->url = strdup(cfg->intake_url)))
			return -ENOMEM;
		return 0;
	}
	if (!site || !*site)
		site = getenv("DD_SITE");
	if (!site || !*site)
		site = "datadoghq.com";
	if (!is_clean(site) || strchr(site, '/')) {
		pr_err("exporter: invalid site \"%s\"", site);
		return -DDPROF_ERR_INVALID;
	}
	if (strlen(site) + 64 >= URL_MAX)
		return -DDPROF_ERR_TOO_BIG;
	if (asprintf(&ep->url, "https://intake.profile.%s%s", site,
		     DDPROF_INTAKE_PATH) < 0) {
		ep->url = NULL;
		return -ENOMEM;
	}
	return 0;
}

int ddprof_endpoint_init(struct ddprof_endpoint *ep,
			 const struct ddprof_exporter_config *cfg)
{
	char env_url[URL_MAX];
	const char *url = cfg->url;
	int err;

	memset(ep, 0, sizeof(*ep));
	if (cfg->api_key && *cfg->api_key) {
		if (!is_clean(cfg->api_key)) {
			/* never echo the key, not even a broken one */
			pr_err("exporter: the API key holds spaces or control "
			       "characters");
			return -DDPROF_ERR_INVALID;
		}
		if (!(ep->api_key = strdup(cfg->api_key)))
			return -ENOMEM;
	}
	if (url && !is_clean(url)) {
		pr_err("exporter: URL \"%s\" holds spaces or control characters",
		       url);
		err = -DDPROF_ERR_INVALID;
		goto fail;
	}
	if (url && has_prefix(url, "file://")) {
		const char *path = url + strlen("file://");

		if (path[0] != '/') {
			pr_err("exporter: file URL %s needs an absolute path", url);
			err = -DDPROF_ERR_INVALID;
			goto fail;
		}
		ep->kind = DDPROF_ENDPOINT_FILE;
		err = -ENOMEM;
		if (!(ep->path = strdup(path)))
			goto fail;
		/* the dump shows the request line of the endpoint it stands for */
		err = dup_url(&ep->url, ep->api_key ? "https://intake.profile" :
						       "http://localhost",
			      ep->api_key ? DDPROF_INTAKE_PATH : DDPROF_AGENT_PATH);
		if (err)
			goto fail;
		return 0;
	}
	if (ep->api_key)
		err = endpoint_agentless(ep, cfg);
	else {
		if (!url || !*url) {
			err = ddprof_exporter_agent_url_from_env(env_url,
								 sizeof(env_url));
			if (err)
				goto fail;
			url = env_url;
		}
		err = endpoint_agent(ep, url);
	}
	if (err)
		goto fail;
	return 0;
fail:
	ddprof_endpoint_fini(ep);
	return err;
}

void ddprof_endpoint_fini(struct ddprof_endpoint *ep)
{
	if (ep->api_key) {
		explicit_bzero(ep->api_key, strlen(ep->api_key));
		free(ep->api_key);
	}
	free(ep->url);
	free(ep->path);
	memset(ep, 0, sizeof(*ep));
}

const char *ddprof_endpoint_request_path(const struct ddprof_endpoint *ep)
{
	const char *p = strstr(ep->url, "://");

	p = p ? strchr(p + 3, '/') : NULL;
	return p ? p : "/";
}
