/* The end-of-run summary of ddprof-perf on stderr. Its first line is parsed
 * by benchmark scripts and must keep this exact shape:
 * "ddprof-perf: N samples, L lost, P% complete stacks, X.X us CPU per sample" */
#ifndef DDPROF_CLI_SUMMARY_H
#define DDPROF_CLI_SUMMARY_H

#include <stdio.h>

#include "cli/stats.h"
#include "cli/top.h"

#define DDPROF_CLI_SUMMARY_TOP 10

/* Prints the summary: the counters line (cpu_seconds is the profiler's own
 * CPU time), then outcome (lines the caller built: where the profile went,
 * upload results; may be NULL), the top functions of top by self share,
 * and, when open_path is not NULL, how to open it with go tool pprof. */
void ddprof_cli_summary_print(FILE *f, const struct ddprof_cli_stats *st,
			      double cpu_seconds, const char *outcome,
			      const struct ddprof_cli_top *top,
			      const char *open_path);

#endif
