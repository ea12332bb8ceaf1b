/* Error codes of the ddprof library: 0 is success, a negative value is
 * either -errno (a system call or allocation failed) or one of the project
 * codes below. ddprof_strerror() turns any of them into a message. */
#ifndef DDPROF_ERROR_H
#define DDPROF_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Project codes live above the errno range so both fit in one int. */
#define DDPROF_ERR_BASE 4096

enum ddprof_error {
	DDPROF_ERR_INVALID = DDPROF_ERR_BASE + 1, /* invalid argument or option value */
	DDPROF_ERR_STALE_ID,     /* id from before a reset, or never issued */
	DDPROF_ERR_TOO_BIG,      /* a hard size cap was reached */
	DDPROF_ERR_CONFLICT,     /* conflicts with something already registered */
	DDPROF_ERR_FORMAT,       /* malformed input (record, file, text) */
	DDPROF_ERR_ENCODE,       /* protobuf encoding failed */
	DDPROF_ERR_DECODE,       /* protobuf decoding failed */
	DDPROF_ERR_COMPRESS,     /* compression or decompression failed */
	DDPROF_ERR_NOT_FOUND,    /* no such entry (symbol, mapping, process) */
	DDPROF_ERR_UNSUPPORTED,  /* not supported here (event, architecture) */
	DDPROF_ERR_HTTP,         /* the server answered with an error status */
	DDPROF_ERR_AUTH,         /* 403: the API key was refused */
	DDPROF_ERR_TIMEOUT,      /* the operation timed out */
	DDPROF_ERR_CONNECT,      /* could not connect */
	DDPROF_ERR_DNS,          /* the host name did not resolve */
	DDPROF_ERR_TLS,          /* TLS handshake or certificate failure */
	DDPROF_ERR_QUEUE_FULL,   /* a bounded queue dropped its oldest entry */
	DDPROF_ERR_TRUNCATED,    /* data ended before it was complete */
	DDPROF_ERR_IO,           /* a file could not be read or written */
	DDPROF_ERR_LAST
};

/* Returns a static, human-readable message for err (0, -errno, or
 * -DDPROF_ERR_*). Never returns NULL. Thread-safe. */
const char *ddprof_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
