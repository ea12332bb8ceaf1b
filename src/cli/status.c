/* Terminal status line: carriage return + erase-line, never a newline, so
 * it stays one line; written with write(2) to bypass stdio buffering. */
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include "cli/status.h"

#define STATUS_INTERVAL_NS 1000000000ULL
#define ERASE "\r\033[K"

void ddprof_cli_status_init(struct ddprof_cli_status *s, int fd, bool wanted,
			    uint64_t now_ns)
{
	s->fd = wanted && isatty(fd) ? fd : -1;
	s->shown = false;
	s->start_ns = now_ns;
	s->last_ns = now_ns;
}

void ddprof_cli_status_format(char *buf, size_t len, uint64_t elapsed_ns,
			      const struct ddprof_cli_stats *st)
{
	unsigned long long secs = elapsed_ns / 1000000000ULL;

	snprintf(buf, len, "ddprof-perf: %llu:%02llu  %llu samples  %llu lost  %llu process%s",
		 secs / 60, secs % 60, (unsigned long long)st->samples,
		 (unsigned long long)st->lost,
		 (unsigned long long)st->processes,
		 st->processes == 1 ? "" : "es");
}

void ddprof_cli_status_update(struct ddprof_cli_status *s, uint64_t now_ns,
			      const struct ddprof_cli_stats *st)
{
	char line[160];
	int n;

	if (s->fd < 0 || now_ns - s->last_ns < STATUS_INTERVAL_NS)
		return;
	s->last_ns = now_ns;
	memcpy(line, ERASE, sizeof(ERASE) - 1);
	ddprof_cli_status_format(line + sizeof(ERASE) - 1,
				 sizeof(line) - sizeof(ERASE) + 1,
				 now_ns - s->start_ns, st);
	n = (int)strlen(line);
	if (write(s->fd, line, n) == n)
		s->shown = true;
}

void ddprof_cli_status_clear(struct ddprof_cli_status *s)
{
	if (s->fd >= 0 && s->shown && write(s->fd, ERASE, sizeof(ERASE) - 1) > 0)
		s->shown = false;
}
