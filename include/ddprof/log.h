/* Logging hook of the ddprof library. The library never prints: every
 * message goes to the callback installed here, or nowhere. */
#ifndef DDPROF_LOG_H
#define DDPROF_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum ddprof_log_level {
	DDPROF_LOG_ERROR = 0,
	DDPROF_LOG_WARN,
	DDPROF_LOG_INFO,
	DDPROF_LOG_DEBUG,
};

/* Receives one complete message, without a trailing newline. May be called
 * from any thread the library runs (e.g. the exporter's sender thread). */
typedef void (*ddprof_log_fn)(enum ddprof_log_level level, const char *msg,
			      void *ctx);

/* Installs fn (NULL silences the library) with ctx passed back on each call,
 * and the most verbose level delivered. Returns the previous callback.
 * Not thread-safe against concurrent logging: set it before starting work. */
ddprof_log_fn ddprof_log_set(ddprof_log_fn fn, void *ctx,
			     enum ddprof_log_level max_level);

#ifdef __cplusplus
}
#endif

#endif
