/* Where ddprof-perf's finished profiles go: a gzip pprof file (one per
 * period with --period) and/or an upload through the exporter's sender
 * thread. A failure is reported and counted, and the next period tries
 * again: sampling never stops for an output problem. */
#ifndef DDPROF_CLI_SINK_H
#define DDPROF_CLI_SINK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/options.h"
#include "cli/top.h"
#include "ddprof/exporter.h"

struct ddprof_profile; /* see agg.h for why not its header */

struct ddprof_cli_sink {
	const char *output;          /* base path, NULL: no file */
	bool numbered;               /* one numbered file per period */
	unsigned seq;                /* number of the last file */
	char first_path[PATH_MAX];   /* first file written ("" none) */
	char last_path[PATH_MAX];    /* last file written ("" none) */
	uint64_t files, file_errors, upload_errors;
	int last_file_err;
	struct ddprof_exporter *exp; /* NULL: no upload */
	char upload_to[PATH_MAX];    /* where uploads go, for messages */
	struct ddprof_cli_top top;   /* self weight per function, whole run */
};

/* Sets up the outputs of o; with an upload, creates the exporter and
 * starts its sender thread (command is o's command: its basename is the
 * default service). Returns 0; -DDPROF_ERR_INVALID when the exporter
 * refused the configuration (bad URL or tag: already logged, a usage
 * error); another negative code otherwise. */
int ddprof_cli_sink_init(struct ddprof_cli_sink *k,
			 const struct ddprof_cli_opts *o);

/* Exports a finished period's profile p and frees it: writes the file,
 * queues the upload, adds its leaf functions to the run's top table.
 * last: no period follows (messages do not promise a next try).
 * Returns 0, or the last negative code of a failed output (reported). */
int ddprof_cli_sink_put(struct ddprof_cli_sink *k, struct ddprof_profile *p,
			bool last);

/* Waits up to timeout_ms for the upload queue to drain. Returns 0 when it
 * did (or there are no uploads), -DDPROF_ERR_TIMEOUT otherwise. */
int ddprof_cli_sink_flush(struct ddprof_cli_sink *k, long timeout_ms);

/* Waits up to timeout_ms for queued uploads, then stops the sender.
 * Returns 0 or -DDPROF_ERR_TIMEOUT (some profiles were abandoned). */
int ddprof_cli_sink_finish(struct ddprof_cli_sink *k, long timeout_ms);

/* Writes the summary's outcome lines (files written, upload results,
 * failures) into buf[len]. Returns true when every export succeeded. */
bool ddprof_cli_sink_outcome(struct ddprof_cli_sink *k, char *buf,
			     size_t len);

/* Frees the exporter and the top table; accepts a zeroed k. */
void ddprof_cli_sink_fini(struct ddprof_cli_sink *k);

#endif
