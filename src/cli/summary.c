/* Formatting of the end-of-run summary. */
#include <stdio.h>

#include "cli/summary.h"

void ddprof_cli_summary_print(FILE *f, const struct ddprof_cli_stats *st,
			      double cpu_seconds, const char *outcome,
			      const struct ddprof_cli_top *top,
			      const char *open_path)
{
	const struct ddprof_cli_top_entry *best[DDPROF_CLI_SUMMARY_TOP];
	double complete = st->samples ? 100.0 * st->complete / st->samples : 0;
	double us = st->samples ? cpu_seconds * 1e6 / st->samples : 0;
	size_t n = top ? ddprof_cli_top_get(top, best, DDPROF_CLI_SUMMARY_TOP) : 0;

	fprintf(f, "ddprof-perf: %llu samples, %llu lost, %.1f%% complete stacks, %.1f us CPU per sample\n",
		(unsigned long long)st->samples, (unsigned long long)st->lost,
		complete, us);
	if (outcome && *outcome)
		fputs(outcome, f);
	if (n && top->total) {
		fputs("top functions by self share:\n", f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "  %5.1f%%  %s\n",
				100.0 * best[i]->weight / top->total, best[i]->name);
	}
	if (open_path)
		fprintf(f, "open it with: go tool pprof -http=: %s\n", open_path);
	fflush(f);
}
