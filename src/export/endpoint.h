/* Where an upload goes: agent (TCP or Unix socket), agentless intake, or a
 * file dump, resolved once from the exporter configuration. */
#ifndef DDPROF_EXPORT_ENDPOINT_H
#define DDPROF_EXPORT_ENDPOINT_H

#include "ddprof/exporter.h"

enum ddprof_endpoint_kind {
	DDPROF_ENDPOINT_AGENT,     /* HTTP(S) to the agent */
	DDPROF_ENDPOINT_UNIX,      /* HTTP to the agent over a Unix socket */
	DDPROF_ENDPOINT_AGENTLESS, /* HTTPS to the intake with DD-API-KEY */
	DDPROF_ENDPOINT_FILE,      /* write the request to a file */
};

#define DDPROF_AGENT_PATH "/profiling/v1/input"
#define DDPROF_INTAKE_PATH "/api/v2/profile"

struct ddprof_endpoint {
	enum ddprof_endpoint_kind kind;
	char *url;     /* what curl is given (http://localhost/... for UNIX);
			* for FILE, the URL the dump pretends to target */
	char *path;    /* socket (UNIX) or file (FILE) path, else NULL */
	char *api_key; /* agentless key (also kept for FILE dumps), or NULL */
};

/* Resolves cfg's url/api_key/site/intake_url as documented in
 * ddprof/exporter.h. Returns 0, -DDPROF_ERR_INVALID (logged, without the
 * key), -DDPROF_ERR_TOO_BIG or -ENOMEM. */
int ddprof_endpoint_init(struct ddprof_endpoint *ep,
			 const struct ddprof_exporter_config *cfg);

/* Frees the strings (wiping the key). Accepts a zeroed endpoint. */
void ddprof_endpoint_fini(struct ddprof_endpoint *ep);

/* The path component of ep->url ("/" if none), for the dump request line. */
const char *ddprof_endpoint_request_path(const struct ddprof_endpoint *ep);

#endif
