/* Internal logging: formats a message and hands it to the callback
 * installed with ddprof_log_set(). Cheap when nothing listens. */
#ifndef DDPROF_COMMON_LOG_H
#define DDPROF_COMMON_LOG_H

#include "ddprof/log.h"

extern int ddprof__log_max_level; /* -1 when no callback is installed */

void ddprof__log(enum ddprof_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define DDPROF_LOG_AT(lvl, ...)                                                \
	do {                                                                   \
		if ((int)(lvl) <= ddprof__log_max_level)                       \
			ddprof__log((lvl), __VA_ARGS__);                       \
	} while (0)

#define pr_err(...) DDPROF_LOG_AT(DDPROF_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) DDPROF_LOG_AT(DDPROF_LOG_WARN, __VA_ARGS__)
#define pr_info(...) DDPROF_LOG_AT(DDPROF_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) DDPROF_LOG_AT(DDPROF_LOG_DEBUG, __VA_ARGS__)

#endif
