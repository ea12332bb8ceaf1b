/* The one table of project error messages behind ddprof_strerror(). */
#include <string.h>

#include "ddprof/error.h"

static const char *const messages[DDPROF_ERR_LAST - DDPROF_ERR_BASE] = {
	[DDPROF_ERR_INVALID - DDPROF_ERR_BASE] = "invalid argument",
	[DDPROF_ERR_STALE_ID - DDPROF_ERR_BASE] = "stale or unknown id",
	[DDPROF_ERR_TOO_BIG - DDPROF_ERR_BASE] = "size limit reached",
	[DDPROF_ERR_CONFLICT - DDPROF_ERR_BASE] = "conflicts with an existing entry",
	[DDPROF_ERR_FORMAT - DDPROF_ERR_BASE] = "malformed input",
	[DDPROF_ERR_ENCODE - DDPROF_ERR_BASE] = "protobuf encoding failed",
	[DDPROF_ERR_DECODE - DDPROF_ERR_BASE] = "protobuf decoding failed",
	[DDPROF_ERR_COMPRESS - DDPROF_ERR_BASE] = "compression failed",
	[DDPROF_ERR_NOT_FOUND - DDPROF_ERR_BASE] = "not found",
	[DDPROF_ERR_UNSUPPORTED - DDPROF_ERR_BASE] = "not supported",
	[DDPROF_ERR_HTTP - DDPROF_ERR_BASE] = "server answered with an error status",
	[DDPROF_ERR_AUTH - DDPROF_ERR_BASE] = "API key refused (HTTP 403): check DD_API_KEY",
	[DDPROF_ERR_TIMEOUT - DDPROF_ERR_BASE] = "timed out",
	[DDPROF_ERR_CONNECT - DDPROF_ERR_BASE] = "could not connect",
	[DDPROF_ERR_DNS - DDPROF_ERR_BASE] = "host name did not resolve",
	[DDPROF_ERR_TLS - DDPROF_ERR_BASE] = "TLS failure",
	[DDPROF_ERR_QUEUE_FULL - DDPROF_ERR_BASE] = "queue full, oldest entry dropped",
	[DDPROF_ERR_TRUNCATED - DDPROF_ERR_BASE] = "data truncated",
	[DDPROF_ERR_IO - DDPROF_ERR_BASE] = "input/output error",
};

const char *ddprof_strerror(int err)
{
	int e = err < 0 ? -err : err;

	if (e == 0)
		return "success";
	if (e > DDPROF_ERR_BASE && e < DDPROF_ERR_LAST)
		return messages[e - DDPROF_ERR_BASE];
	if (e < DDPROF_ERR_BASE)
		return strerror(e); /* glibc returns static strings for known errnos */
	return "unknown error";
}
