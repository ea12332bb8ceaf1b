/* stderr messages with per-period de-duplication (a small set of message
 * hashes, reset every period). A mutex: the exporter logs from its sender
 * thread. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/msg.h"
#include "common/hash.h"

#define SEEN_MAX 64
#define WARN_MAX 5 /* warnings per period shown without -v */

static int max_level = DDPROF_LOG_WARN;
static struct ddprof_cli_status *status_line;
static uint64_t seen[SEEN_MAX];
static unsigned nseen, nwarn;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Returns true if msg was already printed this period (and remembers it). */
static int already_seen(const char *msg)
{
	uint64_t h = ddprof_hash_bytes(msg, strlen(msg));

	for (unsigned i = 0; i < nseen; i++)
		if (seen[i] == h)
			return 1;
	if (nseen < SEEN_MAX)
		seen[nseen++] = h;
	return 0;
}

static void emit(enum ddprof_log_level level, const char *msg)
{
	if ((int)level > max_level)
		return;
	pthread_mutex_lock(&lock);
	if (level > DDPROF_LOG_WARN || !already_seen(msg)) {
		/* many processes can each warn (a binary gone before it was
		 * read): a few per period, then a hint */
		if (level == DDPROF_LOG_WARN && max_level < DDPROF_LOG_INFO &&
		    ++nwarn > WARN_MAX) {
			if (nwarn == WARN_MAX + 1)
				msg = "more warnings this period not shown (-v shows them)";
			else
				msg = NULL;
		}
		if (msg && status_line)
			ddprof_cli_status_clear(status_line);
		if (msg)
			fprintf(stderr, "ddprof-perf: %s\n", msg);
	}
	pthread_mutex_unlock(&lock);
}

static void lib_log(enum ddprof_log_level level, const char *msg, void *ctx)
{
	emit(level, msg);
}

void ddprof_cli_msg_init(int verbosity, struct ddprof_cli_status *status)
{
	max_level = verbosity < 0 ? DDPROF_LOG_ERROR :
		    verbosity == 0 ? DDPROF_LOG_WARN :
		    verbosity == 1 ? DDPROF_LOG_INFO : DDPROF_LOG_DEBUG;
	status_line = status;
	nseen = 0;
	nwarn = 0;
	ddprof_log_set(lib_log, NULL, (enum ddprof_log_level)max_level);
}

void ddprof_cli_msg(enum ddprof_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	emit(level, buf);
}

void ddprof_cli_msg_new_period(void)
{
	pthread_mutex_lock(&lock);
	nseen = 0;
	nwarn = 0;
	pthread_mutex_unlock(&lock);
}

void ddprof_cli_msg_status(uint64_t now_ns, const struct ddprof_cli_stats *st,
			   bool erase)
{
	if (!status_line)
		return;
	pthread_mutex_lock(&lock);
	if (erase)
		ddprof_cli_status_clear(status_line);
	else
		ddprof_cli_status_update(status_line, now_ns, st);
	pthread_mutex_unlock(&lock);
}
