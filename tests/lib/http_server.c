/* Test HTTP/1.1 server: a poll loop in one thread, with a self-pipe so
 * _stop() interrupts any wait, including a scripted hang. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http_server.h"

#define MAX_SCRIPT 32
#define MAX_HEAD (64 << 10)
#define MAX_BODY (64 << 20)
#define IO_TIMEOUT_MS 15000 /* a stuck client must not wedge the tests */

struct http_server {
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	char url[160];
	char unix_path[108];
	int port;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct http_request *reqs[HTTP_SERVER_MAX_REQUESTS];
	size_t n_reqs;
	size_t n_seen; /* requests received, recorded or not */
	size_t script_base; /* n_seen when the script was set */
	struct http_reply script[MAX_SCRIPT];
	size_t n_script;
};

struct conn {
	int fd;
	int stop_fd;
	char *buf;
	size_t len, cap;
};

/* Waits for fd to be readable; 0 ready, -1 stop, timeout or error. */
static int wait_readable(struct conn *c, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
			      {.fd = c->stop_fd, .events = POLLIN}};
	int n;

	do
		n = poll(p, 2, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0 || p[1].revents)
		return -1;
	return 0;
}

/* Reads more bytes into c->buf. Returns 0, or -1 on EOF/error/stop. */
static int read_more(struct conn *c, size_t max)
{
	ssize_t n;

	if (c->len + 4096 + 1 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 65536;
		char *p;

		if (cap > max + 8192)
			cap = max + 8192;
		if (c->len + 1 >= cap)
			return -1;
		if (!(p = realloc(c->buf, cap)))
			return -1;
		c->buf = p;
		c->cap = cap;
	}
	if (wait_readable(c, IO_TIMEOUT_MS))
		return -1;
	n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
	if (n <= 0)
		return -1;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Offset just past "\r\n" found at or after from, reading as needed;
 * 0 when the connection ends first. */
static size_t find_crlf(struct conn *c, size_t from, size_t max)
{
	for (;;) {
		char *p = c->len > from ? memmem(c->buf + from, c->len - from, "\r\n", 2) : NULL;

		if (p)
			return (size_t)(p - c->buf) + 2;
		if (read_more(c, max))
			return 0;
	}
}

static int need(struct conn *c, size_t n)
{
	while (c->len < n)
		if (read_more(c, MAX_BODY))
			return -1;
	return 0;
}

static int body_append(struct http_request *r, const char *p, size_t n)
{
	unsigned char *b;

	if (r->body_len + n > MAX_BODY || !(b = realloc(r->body, r->body_len + n + 1)))
		return -1;
	memcpy(b + r->body_len, p, n);
	r->body = b;
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

static int read_chunked(struct conn *c, size_t pos, struct http_request *r)
{
	for (;;) {
		size_t eol = find_crlf(c, pos, MAX_BODY), size;
		char *end;

		if (!eol)
			return -1;
		size = strtoul(c->buf + pos, &end, 16);
		if (end == c->buf + pos || size > MAX_BODY)
			return -1;
		pos = eol;
		if (size == 0)
			break;
		if (need(c, pos + size + 2) || body_append(r, c->buf + pos, size))
			return -1;
		pos += size + 2;
	}
	/* trailer lines up to an empty one */
	for (;;) {
		size_t eol = find_crlf(c, pos, MAX_BODY);

		if (!eol)
			return -1;
		if (eol == pos + 2)
			return 0;
		pos = eol;
	}
}

static int parse_head(struct http_request *r, char *head)
{
	char *save = NULL, *line = strtok_r(head, "\r\n", &save);

	if (!line || sscanf(line, "%15s %1023s", r->method, r->target) != 2)
		return -1;
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		char *colon = strchr(line, ':'), *v, *e;
		struct http_header *h;

		if (!colon)
			return -1;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		h = realloc(r->headers, (r->n_headers + 1) * sizeof(*h));
		if (!h)
			return -1;
		r->headers = h;
		h[r->n_headers].name = strdup(line);
		h[r->n_headers].value = strdup(v);
		if (!h[r->n_headers].name || !h[r->n_headers].value) {
			free(h[r->n_headers].name);
			free(h[r->n_headers].value);
			return -1;
		}
		r->n_headers++;
	}
	return 0;
}

static void request_free(struct http_request *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->body);
	free(r);
}

static struct http_request *read_request(struct conn *c)
{
	struct http_request *r = calloc(1, sizeof(*r));
	const char *te, *cl, *expect;
	char *end, *head;
	size_t pos;

	if (!r)
		return NULL;
	while (!(end = c->len ? strstr(c->buf, "\r\n\r\n") : NULL))
		if (read_more(c, MAX_HEAD))
			goto fail;
	pos = (size_t)(end - c->buf) + 4;
	if (!(head = strndup(c->buf, pos - 2)))
		goto fail;
	if (parse_head(r, head)) {
		free(head);
		goto fail;
	}
	free(head);
	expect = http_request_header(r, "Expect");
	if (expect && !strcasecmp(expect, "100-continue") &&
	    write_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25))
		goto fail;
	te = http_request_header(r, "Transfer-Encoding");
	cl = http_request_header(r, "Content-Length");
	if (te && strcasestr(te, "chunked")) {
		r->chunked = true;
		if (read_chunked(c, pos, r))
			goto fail;
	} else if (cl) {
		size_t n = strtoul(cl, NULL, 10);

		if (n > MAX_BODY || need(c, pos + n) || body_append(r, c->buf + pos, n))
			goto fail;
	}
	if (!r->body && body_append(r, "", 0))
		goto fail;
	return r;
fail:
	request_free(r);
	return NULL;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* Sleeps ms unless the server is stopping. */
static void pause_ms(struct conn *c, long ms)
{
	struct pollfd p = {.fd = c->stop_fd, .events = POLLIN};

	poll(&p, 1, (int)ms);
}

static void serve(struct http_server *s, int fd)
{
	struct conn c = {.fd = fd, .stop_fd = s->stop_pipe[0]};
	struct http_reply reply = {.status = 200};
	struct http_request *r = read_request(&c);
	char head[256];
	size_t blen;

	if (!r)
		goto out;
	pthread_mutex_lock(&s->lock);
	if (s->n_script) {
		size_t i = s->n_seen - s->script_base;

		reply = s->script[i < s->n_script ? i : s->n_script - 1];
		/* own copy: _script() may replace the script meanwhile */
		reply.body = reply.body ? strdup(reply.body) : NULL;
	}
	s->n_seen++;
	if (s->n_reqs < HTTP_SERVER_MAX_REQUESTS)
		s->reqs[s->n_reqs++] = r;
	else
		request_free(r);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);

	if (reply.hang) {
		/* until the client gives up (EOF) or the server stops */
		while (!read_more(&c, MAX_BODY))
			c.len = 0;
		goto out;
	}
	if (reply.delay_ms)
		pause_ms(&c, reply.delay_ms);
	blen = reply.body ? strlen(reply.body) : 0;
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 reply.status ? reply.status : 200,
		 reason(reply.status ? reply.status : 200), blen);
	if (!write_all(fd, head, strlen(head)) && blen)
		write_all(fd, reply.body, blen);
out:
	free((char *)reply.body);
	free(c.buf);
}

static void *server_main(void *arg)
{
	struct http_server *s = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
				      {.fd = s->stop_pipe[0], .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(s, fd);
		close(fd);
	}
	return NULL;
}

static int listen_tcp(struct http_server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		close(fd);
		return -1;
	}
	s->port = ntohs(a.sin_port);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	return fd;
}

static int listen_unix(struct http_server *s, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16)) {
		close(fd);
		return -1;
	}
	strcpy(s->unix_path, path);
	snprintf(s->url, sizeof(s->url), "unix://%s", path);
	return fd;
}

struct http_server *http_server_start(const char *unix_path)
{
	struct http_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	s->listen_fd = unix_path ? listen_unix(s, unix_path) : listen_tcp(s);
	if (s->listen_fd < 0 || pipe2(s->stop_pipe, O_CLOEXEC))
		goto fail;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, server_main, s)) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		goto fail;
	}
	return s;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->stop_pipe[0] >= 0) {
		close(s->stop_pipe[0]);
		close(s->stop_pipe[1]);
	}
	free(s);
	return NULL;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	if (write(s->stop_pipe[1], "x", 1) < 0) {
		/* a pipe with room never fails here; nothing else to do */
	}
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	if (*s->unix_path)
		unlink(s->unix_path);
	for (size_t i = 0; i < s->n_reqs; i++)
		request_free(s->reqs[i]);
	for (size_t i = 0; i < s->n_script; i++)
		free((char *)s->script[i].body);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const char *http_server_url(const struct http_server *s)
{
	return s->url;
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_script(struct http_server *s, const struct http_reply *replies,
			size_t n)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_script; i++)
		free((char *)s->script[i].body);
	if (n > MAX_SCRIPT)
		n = MAX_SCRIPT;
	for (size_t i = 0; i < n; i++) {
		s->script[i] = replies[i];
		if (replies[i].body)
			s->script[i].body = strdup(replies[i].body);
	}
	s->n_script = n;
	s->script_base = s->n_seen;
	pthread_mutex_unlock(&s->lock);
}

size_t http_server_wait(struct http_server *s, size_t n, long timeout_ms)
{
	struct timespec d;
	size_t got;

	clock_gettime(CLOCK_REALTIME, &d);
	d.tv_sec += timeout_ms / 1000;
	d.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (d.tv_nsec >= 1000000000L) {
		d.tv_sec++;
		d.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (s->n_reqs < n &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &d) != ETIMEDOUT)
		;
	got = s->n_reqs;
	pthread_mutex_unlock(&s->lock);
	return got;
}

size_t http_server_count(struct http_server *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n_reqs;
	pthread_mutex_unlock(&s->lock);
	return n;
}

const struct http_request *http_server_request(struct http_server *s, size_t i)
{
	const struct http_request *r = NULL;

	pthread_mutex_lock(&s->lock);
	if (i < s->n_reqs)
		r = s->reqs[i];
	pthread_mutex_unlock(&s->lock);
	return r;
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}
