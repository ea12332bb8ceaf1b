/* A ddprof-perf run: the event loop over the sampler, the export timer and
 * the signals, from the first sample to the summary. */
#ifndef DDPROF_CLI_SESSION_H
#define DDPROF_CLI_SESSION_H

#include "cli/options.h"

/* Exit code for "profiling could not run". */
#define DDPROF_CLI_EXIT_FAILURE 1
/* Exit code for a usage error (also a configuration the libraries refuse). */
#define DDPROF_CLI_EXIT_USAGE 2

/* Runs the profiling session described by o (already parsed and checked)
 * and prints the summary unless quiet. Returns the process exit code: the
 * wrapped command's own status (128+N if signal N killed it; 1 if it
 * succeeded but the profile could not be exported), otherwise 0 when every
 * export succeeded, 1 on a failure, 2 for a configuration refused by the
 * exporter or the sampler (bad tag, URL, unknown event). */
int ddprof_cli_session_run(const struct ddprof_cli_opts *o);

#endif
