/* A small real HTTP/1.1 server for tests: runs in its own thread on
 * 127.0.0.1 (ephemeral port) or on a Unix socket, records every request
 * (method, target, headers, body; Content-Length or chunked bodies) and
 * answers with a scripted sequence of replies, which may be delayed or
 * never sent (to test client timeouts). One connection at a time; every
 * connection is closed after its reply. tests/lib is not on the include
 * path: include it as "../lib/http_server.h" from tests/<dir>/. Set
 * NO_PROXY=* in tests so libcurl never routes loopback through a proxy. */
#ifndef DDPROF_TESTS_HTTP_SERVER_H
#define DDPROF_TESTS_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct http_server;

/* Requests beyond this many are answered but not recorded. */
#define HTTP_SERVER_MAX_REQUESTS 64

struct http_header {
	char *name;  /* as received */
	char *value; /* leading and trailing blanks removed */
};

/* One received request. Owned by the server; valid until _stop(). */
struct http_request {
	char method[16];
	char target[1024];          /* path and query as received */
	struct http_header *headers;
	size_t n_headers;
	unsigned char *body;        /* de-chunked; NUL-terminated */
	size_t body_len;
	bool chunked;               /* came with Transfer-Encoding: chunked */
};

/* How to answer one request. */
struct http_reply {
	int status;        /* e.g. 200; 0 means 200 */
	long delay_ms;     /* wait this long before answering */
	bool hang;         /* never answer: hold the connection until the
			    * client closes it or the server stops */
	const char *body;  /* reply body (copied), NULL for "" */
};

/* Starts a server on unix_path (an existing file there is replaced), or
 * on 127.0.0.1 with an ephemeral port when unix_path is NULL. Returns
 * NULL on failure (errno set). */
struct http_server *http_server_start(const char *unix_path);

/* Stops the thread, closes every socket (unlinking the Unix socket) and
 * frees every recorded request. Accepts NULL. */
void http_server_stop(struct http_server *s);

/* "http://127.0.0.1:PORT" or "unix:///path"; valid until _stop(). */
const char *http_server_url(const struct http_server *s);

/* TCP port, or 0 on a Unix socket. */
int http_server_port(const struct http_server *s);

/* Sets the replies: the i-th request received from now on gets
 * replies[i], the last one repeating. n == 0 restores "always 200".
 * The array is copied. */
void http_server_script(struct http_server *s, const struct http_reply *replies,
			size_t n);

/* Waits until at least n requests were recorded or timeout_ms passed.
 * Returns the number recorded. */
size_t http_server_wait(struct http_server *s, size_t n, long timeout_ms);

/* Number of requests recorded so far. */
size_t http_server_count(struct http_server *s);

/* The i-th recorded request (0-based), or NULL. */
const struct http_request *http_server_request(struct http_server *s, size_t i);

/* Value of the first header named name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);

#endif
