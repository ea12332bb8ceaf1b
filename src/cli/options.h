/* Command-line options of ddprof-perf: parsing (getopt_long plus the DD_*
 * environment) and validation into one struct. Parsing is a pure function of
 * argv and an environment lookup so unit tests can drive every error; the
 * checks that need the system (directories, PIDs, CPUs) are separate. */
#ifndef DDPROF_CLI_OPTIONS_H
#define DDPROF_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define DDPROF_CLI_FREQ_DEFAULT 99
#define DDPROF_CLI_FREQ_MAX 100000     /* kernel's perf_event_max_sample_rate cap */
#define DDPROF_CLI_STACK_DEFAULT 32768
#define DDPROF_CLI_STACK_MIN 256
#define DDPROF_CLI_STACK_MAX 65528     /* kernel limit, multiple of 8 */
#define DDPROF_CLI_MAX_PIDS 1024
#define DDPROF_CLI_UPLOAD_PERIOD_NS (60ULL * 1000000000ULL)
#define DDPROF_CLI_DEFAULT_OUTPUT "ddprof-perf.pb.gz"
#define DDPROF_CLI_DEFAULT_EVENT "cpu-clock"

enum ddprof_cli_mode {
	DDPROF_CLI_MODE_NONE = 0,
	DDPROF_CLI_MODE_WRAP,    /* -- COMMAND [ARGS...] */
	DDPROF_CLI_MODE_ATTACH,  /* -p PID[,PID...] */
	DDPROF_CLI_MODE_SYSTEM,  /* -a [-C CPUS] */
};

/* What main() should do after parsing succeeded. */
enum ddprof_cli_action {
	DDPROF_CLI_RUN = 0,
	DDPROF_CLI_HELP,
	DDPROF_CLI_VERSION,
};

struct ddprof_cli_opts {
	enum ddprof_cli_action action;
	enum ddprof_cli_mode mode;

	/* sampling */
	uint32_t freq;             /* Hz */
	const char *event;         /* event name, as given */
	uint64_t duration_ns;      /* 0: until the command exits / a signal */
	uint32_t stack_size;       /* bytes of user stack copied per sample */
	bool no_kernel, no_inline, timeline;

	/* targets */
	char *const *command;      /* argv of COMMAND (NULL-terminated), or NULL */
	pid_t *pids;               /* -p list (owned), npids entries */
	size_t npids;
	int *cpus;                 /* -C list, sorted, unique (owned) */
	size_t ncpus;              /* 0: every online CPU */

	/* outputs */
	const char *output;        /* gzip pprof path, or NULL when only uploading */
	uint64_t period_ns;        /* 0: one profile at the end */

	/* upload */
	bool upload, agentless;
	const char *url;           /* --url: agent base URL, or full intake URL
	                              with --agentless; NULL: from environment */
	const char *api_key;       /* DD_API_KEY (agentless only) */
	const char *site;          /* DD_SITE, default datadoghq.com */
	const char *agent_host;    /* DD_AGENT_HOST */
	const char *agent_port;    /* DD_TRACE_AGENT_PORT */
	const char *agent_url;     /* DD_TRACE_AGENT_URL */
	const char *service, *env, *version, *tags;

	/* printing: -1 quiet (errors only), 0 normal, 1+ verbose */
	int verbosity;
};

/* Looks up an environment variable; returns NULL when unset. */
typedef const char *(*ddprof_cli_getenv_fn)(const char *name, void *ctx);

/* Parses argv[0..argc) and the DD_* variables seen through getenv_fn into
 * o (which is first reset to the defaults). Strings in o point into argv or
 * into the environment: both must outlive o. No system state is read.
 * Returns 0, or -DDPROF_ERR_INVALID with a one-line message (no trailing
 * newline) in err[errlen]. On -ENOMEM err holds a message too.
 * Call ddprof_cli_opts_fini() afterwards in both cases. */
int ddprof_cli_opts_parse(struct ddprof_cli_opts *o, int argc, char **argv,
			  ddprof_cli_getenv_fn getenv_fn, void *ctx, char *err,
			  size_t errlen);

/* Checks o against the system: the output directory exists, every -p PID
 * exists, every -C CPU is configured. Returns 0 or -DDPROF_ERR_INVALID with
 * a one-line message in err[errlen]. */
int ddprof_cli_opts_check(const struct ddprof_cli_opts *o, char *err,
			  size_t errlen);

/* Frees what parse allocated; o may be partially filled. */
void ddprof_cli_opts_fini(struct ddprof_cli_opts *o);

/* Writes the usage text (for --help) to f. */
void ddprof_cli_usage(FILE *f);

#endif
