/* The library's single logging sink: a user callback, or silence. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int ddprof__log_max_level = -1;
static ddprof_log_fn log_fn;
static void *log_ctx;

ddprof_log_fn ddprof_log_set(ddprof_log_fn fn, void *ctx,
			     enum ddprof_log_level max_level)
{
	ddprof_log_fn old = log_fn;

	log_fn = fn;
	log_ctx = ctx;
	ddprof__log_max_level = fn ? (int)max_level : -1;
	return old;
}

void ddprof__log(enum ddprof_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!log_fn || (int)level > ddprof__log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(level, buf, log_ctx);
}
