/* Entry point of ddprof-perf: options, logging to stderr, the session, the
 * summary and the exit status (the command's own in wrap mode, 2 on a
 * usage error, 1 when profiling could not run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "cli/session.h"
#include "ddprof/log.h"
#include "ddprof/version.h"

static const char *env_getenv(const char *name, void *ctx)
{
	return getenv(name);
}

int main(int argc, char **argv)
{
	struct ddprof_cli_opts o;
	char err[512];
	int ret;

	ret = ddprof_cli_opts_parse(&o, argc, argv, env_getenv, NULL, err,
				    sizeof(err));
	if (!ret && o.action == DDPROF_CLI_RUN)
		ret = ddprof_cli_opts_check(&o, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ddprof-perf: %s (see ddprof-perf --help)\n", err);
		ddprof_cli_opts_fini(&o);
		return DDPROF_CLI_EXIT_USAGE;
	}
	if (o.action == DDPROF_CLI_HELP) {
		ddprof_cli_usage(stdout);
		ddprof_cli_opts_fini(&o);
		return 0;
	}
	if (o.action == DDPROF_CLI_VERSION) {
		printf("ddprof-perf %s\n", DDPROF_VERSION);
		ddprof_cli_opts_fini(&o);
		return 0;
	}
	ret = ddprof_cli_session_run(&o);
	ddprof_cli_opts_fini(&o);
	return ret;
}
