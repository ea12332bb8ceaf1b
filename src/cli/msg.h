/* Messages of ddprof-perf on stderr, from the CLI and from the libraries
 * (through ddprof_log_set): "ddprof-perf: " prefixed, filtered by -q/-v,
 * the status line erased first, and each warning or error printed at most
 * once per export period so a dead agent or a full disk does not flood. */
#ifndef DDPROF_CLI_MSG_H
#define DDPROF_CLI_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/status.h"
#include "ddprof/log.h"

/* verbosity: -1 errors only, 0 + warnings, 1 + info, 2 + debug. status
 * (may be NULL) is erased before each message. Installs the library log
 * callback. */
void ddprof_cli_msg_init(int verbosity, struct ddprof_cli_status *status);

/* Prints one message (no trailing newline needed) if its level passes. */
void ddprof_cli_msg(enum ddprof_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Starts a new period: messages already printed may be printed again. */
void ddprof_cli_msg_new_period(void);

/* Redraws (erase false) or erases the status line given at init, under the
 * lock messages take, so a message from another thread never splits it. */
void ddprof_cli_msg_status(uint64_t now_ns, const struct ddprof_cli_stats *st,
			   bool erase);

#endif
