/* The live status line of ddprof-perf: on a terminal, one line on stderr
 * rewritten about once a second (elapsed, samples, lost, processes) and
 * erased at the end; nothing at all when stderr is not a terminal. */
#ifndef DDPROF_CLI_STATUS_H
#define DDPROF_CLI_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/stats.h"

struct ddprof_cli_status {
	int fd;               /* -1: disabled */
	bool shown;           /* a line is on screen */
	uint64_t start_ns, last_ns;
};

/* Enables the line on fd if wanted and fd is a terminal; now_ns is the
 * start of the run (CLOCK_MONOTONIC). */
void ddprof_cli_status_init(struct ddprof_cli_status *s, int fd, bool wanted,
			    uint64_t now_ns);

/* Redraws the line if a second has passed since the last drawing. */
void ddprof_cli_status_update(struct ddprof_cli_status *s, uint64_t now_ns,
			      const struct ddprof_cli_stats *st);

/* Erases the line so later messages start on a clean line. */
void ddprof_cli_status_clear(struct ddprof_cli_status *s);

/* Formats the line's text (no control characters) into buf[len]. */
void ddprof_cli_status_format(char *buf, size_t len, uint64_t elapsed_ns,
			      const struct ddprof_cli_stats *st);

#endif
