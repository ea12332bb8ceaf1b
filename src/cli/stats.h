/* Run-wide counters of a ddprof-perf session, shown on the status line and
 * in the summary. Written by the session thread only. */
#ifndef DDPROF_CLI_STATS_H
#define DDPROF_CLI_STATS_H

#include <stdint.h>

struct ddprof_cli_stats {
	uint64_t samples;      /* samples added to profiles */
	uint64_t lost;         /* samples the kernel dropped (LOST records) */
	uint64_t complete;     /* samples whose user stack reached its root */
	uint64_t processes;    /* processes currently profiled */
	uint64_t files;        /* profile files written */
	uint64_t uploads;      /* profiles handed to the exporter */
	uint64_t errors;       /* export failures (files or uploads) */
};

#endif
