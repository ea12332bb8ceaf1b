/* Parsing and validation of ddprof-perf's command line and DD_* environment.
 * Every rejected value gets one line saying what was wrong and what is
 * accepted; main() prints it and exits 2. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>

#include "cli/options.h"
#include "ddprof/error.h"
#include "perf/sampler.h"

#define NS_PER_SEC 1000000000.0
#define MAX_SECONDS (366.0 * 86400.0) /* a year: anything longer is a typo */
#define MIN_PERIOD_SECONDS 0.1
#define PID_MAX_LIMIT 4194304         /* kernel's PID_MAX_LIMIT on 64-bit */

enum {
	OPT_STACK_SIZE = 256,
	OPT_NO_KERNEL,
	OPT_NO_INLINE,
	OPT_PERIOD,
	OPT_UPLOAD,
	OPT_AGENTLESS,
	OPT_SERVICE,
	OPT_ENV,
	OPT_SERVICE_VERSION,
	OPT_TAGS,
	OPT_TIMELINE,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "freq", required_argument, NULL, 'F' },
	{ "event", required_argument, NULL, 'e' },
	{ "duration", required_argument, NULL, 'd' },
	{ "pid", required_argument, NULL, 'p' },
	{ "all-cpus", no_argument, NULL, 'a' },
	{ "cpu", required_argument, NULL, 'C' },
	{ "stack-size", required_argument, NULL, OPT_STACK_SIZE },
	{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
	{ "no-inline", no_argument, NULL, OPT_NO_INLINE },
	{ "output", required_argument, NULL, 'o' },
	{ "period", required_argument, NULL, OPT_PERIOD },
	{ "upload", no_argument, NULL, OPT_UPLOAD },
	{ "url", required_argument, NULL, 'U' },
	{ "agentless", no_argument, NULL, OPT_AGENTLESS },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "service-version", required_argument, NULL, OPT_SERVICE_VERSION },
	{ "tags", required_argument, NULL, OPT_TAGS },
	{ "timeline", no_argument, NULL, OPT_TIMELINE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* '+': stop at the first non-option, so `ddprof-perf ./app -x` leaves -x to
 * the app; ':': report a missing argument apart from an unknown option. */
static const char short_opts[] = "+:F:e:d:p:aC:o:U:qvh";

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -DDPROF_ERR_INVALID;
}

/* Strict unsigned decimal: digits only, no sign, no trailing text. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Seconds as a positive decimal ("30", "1.5") within [min, MAX_SECONDS]. */
static int parse_seconds(const char *s, double min, uint64_t *ns)
{
	char *end;
	double v;

	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > MAX_SECONDS)
		return -1;
	*ns = (uint64_t)(v * NS_PER_SEC + 0.5);
	return *ns ? 0 : -1;
}

static int add_pid(struct ddprof_cli_opts *o, pid_t pid)
{
	pid_t *p;

	for (size_t i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return 0; /* -p 1,1 is harmless: profile it once */
	if (o->npids == DDPROF_CLI_MAX_PIDS)
		return -DDPROF_ERR_TOO_BIG;
	p = realloc(o->pids, (o->npids + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	o->pids = p;
	o->pids[o->npids++] = pid;
	return 0;
}

/* "1234,5678": each a PID in 1..PID_MAX_LIMIT; may be given several times. */
static int parse_pids(struct ddprof_cli_opts *o, const char *arg, char *err,
		      size_t errlen)
{
	const char *s = arg;

	do {
		char item[32];
		size_t n = strcspn(s, ",");
		uint64_t v;
		int ret;

		if (n == 0 || n >= sizeof(item))
			return fail(err, errlen, "invalid -p value '%s': expected PID[,PID...]", arg);
		memcpy(item, s, n);
		item[n] = '\0';
		if (parse_u64(item, &v) || v == 0 || v > PID_MAX_LIMIT)
			return fail(err, errlen, "invalid PID '%s' in -p '%s': PIDs are 1..%d",
				    item, arg, PID_MAX_LIMIT);
		ret = add_pid(o, (pid_t)v);
		if (ret == -DDPROF_ERR_TOO_BIG)
			return fail(err, errlen, "too many PIDs in -p: at most %d",
				    DDPROF_CLI_MAX_PIDS);
		if (ret)
			return fail(err, errlen, "out of memory");
		s += n;
	} while (*s++ == ',');
	return 0;
}

/* "0-3,6": CPU numbers and ranges, parsed as the sampler reads sysfs. */
static int parse_cpus(struct ddprof_cli_opts *o, const char *arg, char *err,
		      size_t errlen)
{
	int ret;

	free(o->cpus);
	o->cpus = NULL;
	o->ncpus = 0;
	ret = ddprof_cpu_list_parse(arg, &o->cpus, &o->ncpus);
	if (ret == -ENOMEM)
		return fail(err, errlen, "out of memory");
	if (ret || !o->ncpus)
		return fail(err, errlen, "invalid -C value '%s': expected a CPU list like 0-3,6", arg);
	return 0;
}

/* Event names are words of letters, digits and -_:/ (e.g. cpu-clock); the
 * sampler decides which exist. This only stops garbage early. */
static bool event_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_:/.", *s)))
			return false;
	return true;
}

static const char *env_or(ddprof_cli_getenv_fn getenv_fn, void *ctx,
			  const char *name)
{
	const char *v = getenv_fn ? getenv_fn(name, ctx) : NULL;

	return v && *v ? v : NULL;
}

static void opts_defaults(struct ddprof_cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->freq = DDPROF_CLI_FREQ_DEFAULT;
	o->event = DDPROF_CLI_DEFAULT_EVENT;
	o->stack_size = DDPROF_CLI_STACK_DEFAULT;
}

/* Reads one option; returns 0 or a failure from fail(). */
static int parse_one(struct ddprof_cli_opts *o, int c, const char *arg,
		     bool *quiet, int *verbose, bool *period_given, char *err,
		     size_t errlen)
{
	uint64_t v;

	switch (c) {
	case 'F':
		if (parse_u64(arg, &v) || v == 0 || v > DDPROF_CLI_FREQ_MAX)
			return fail(err, errlen, "invalid -F value '%s': frequency must be 1..%d Hz",
				    arg, DDPROF_CLI_FREQ_MAX);
		o->freq = (uint32_t)v;
		break;
	case 'e':
		if (!event_name_ok(arg))
			return fail(err, errlen, "invalid -e value '%s': expected an event name such as cpu-clock",
				    arg);
		o->event = arg;
		break;
	case 'd':
		if (parse_seconds(arg, 0, &o->duration_ns))
			return fail(err, errlen, "invalid -d value '%s': expected seconds > 0 (at most a year)",
				    arg);
		break;
	case 'p':
		return parse_pids(o, arg, err, errlen);
	case 'a':
		o->mode = DDPROF_CLI_MODE_SYSTEM;
		break;
	case 'C':
		return parse_cpus(o, arg, err, errlen);
	case OPT_STACK_SIZE:
		if (parse_u64(arg, &v) || v < DDPROF_CLI_STACK_MIN ||
		    v > DDPROF_CLI_STACK_MAX || v % 8)
			return fail(err, errlen, "invalid --stack-size '%s': bytes must be a multiple of 8 in %d..%d",
				    arg, DDPROF_CLI_STACK_MIN, DDPROF_CLI_STACK_MAX);
		o->stack_size = (uint32_t)v;
		break;
	case OPT_NO_KERNEL:
		o->no_kernel = true;
		break;
	case OPT_NO_INLINE:
		o->no_inline = true;
		break;
	case 'o':
		if (!*arg)
			return fail(err, errlen, "invalid -o value: empty file name");
		o->output = arg;
		break;
	case OPT_PERIOD:
		if (parse_seconds(arg, MIN_PERIOD_SECONDS, &o->period_ns))
			return fail(err, errlen, "invalid --period '%s': expected seconds, at least %.1f",
				    arg, MIN_PERIOD_SECONDS);
		*period_given = true;
		break;
	case OPT_UPLOAD:
		o->upload = true;
		break;
	case 'U':
		if (!*arg || strpbrk(arg, " \t\r\n"))
			return fail(err, errlen, "invalid --url '%s': expected a URL such as http://localhost:8126",
				    arg);
		o->url = arg;
		o->upload = true;
		break;
	case OPT_AGENTLESS:
		o->agentless = true;
		o->upload = true;
		break;
	case OPT_SERVICE:
		o->service = arg;
		break;
	case OPT_ENV:
		o->env = arg;
		break;
	case OPT_SERVICE_VERSION:
		o->version = arg;
		break;
	case OPT_TAGS:
		o->tags = arg;
		break;
	case OPT_TIMELINE:
		o->timeline = true;
		break;
	case 'q':
		*quiet = true;
		break;
	case 'v':
		(*verbose)++;
		break;
	case 'h':
		o->action = DDPROF_CLI_HELP;
		break;
	case OPT_VERSION:
		o->action = DDPROF_CLI_VERSION;
		break;
	}
	return 0;
}

/* Cross-option rules: one mode, nothing contradictory, upload settings. */
static int resolve(struct ddprof_cli_opts *o, bool has_command, bool quiet,
		   int verbose, bool period_given, ddprof_cli_getenv_fn getenv_fn,
		   void *ctx, char *err, size_t errlen)
{
	uint64_t port;
	int modes = has_command + (o->npids > 0) +
		    (o->mode == DDPROF_CLI_MODE_SYSTEM || o->ncpus);

	if (quiet && verbose)
		return fail(err, errlen, "-q and -v conflict: choose one");
	o->verbosity = quiet ? -1 : verbose;

	if (modes == 0)
		return fail(err, errlen, "nothing to profile: give -- COMMAND, -p PID or -a");
	if (modes > 1) {
		if (has_command && (o->mode == DDPROF_CLI_MODE_SYSTEM || o->ncpus))
			return fail(err, errlen, "-a/-C and a COMMAND conflict: profile the whole system or one command");
		if (has_command)
			return fail(err, errlen, "-p and a COMMAND conflict: attach to PIDs or start a command");
		return fail(err, errlen, "-p and -a/-C conflict: attach to PIDs or profile the whole system");
	}
	o->mode = has_command ? DDPROF_CLI_MODE_WRAP :
		  o->npids ? DDPROF_CLI_MODE_ATTACH : DDPROF_CLI_MODE_SYSTEM;

	if (o->duration_ns && o->period_ns && o->period_ns > o->duration_ns)
		return fail(err, errlen, "--period is longer than -d: the first period would never end");

	o->service = o->service ? o->service : env_or(getenv_fn, ctx, "DD_SERVICE");
	o->env = o->env ? o->env : env_or(getenv_fn, ctx, "DD_ENV");
	o->version = o->version ? o->version : env_or(getenv_fn, ctx, "DD_VERSION");
	o->tags = o->tags ? o->tags : env_or(getenv_fn, ctx, "DD_TAGS");

	if (!o->upload) {
		if (!o->output)
			o->output = DDPROF_CLI_DEFAULT_OUTPUT;
		return 0;
	}
	if (!period_given)
		o->period_ns = DDPROF_CLI_UPLOAD_PERIOD_NS;
	if (o->agentless) {
		o->api_key = env_or(getenv_fn, ctx, "DD_API_KEY");
		if (!o->api_key)
			return fail(err, errlen, "--agentless needs DD_API_KEY in the environment");
		o->site = env_or(getenv_fn, ctx, "DD_SITE");
		if (!o->site)
			o->site = "datadoghq.com";
		if (strpbrk(o->site, "/ \t:@"))
			return fail(err, errlen, "invalid DD_SITE '%s': expected a domain such as datadoghq.eu",
				    o->site);
		return 0;
	}
	o->agent_url = env_or(getenv_fn, ctx, "DD_TRACE_AGENT_URL");
	o->agent_host = env_or(getenv_fn, ctx, "DD_AGENT_HOST");
	o->agent_port = env_or(getenv_fn, ctx, "DD_TRACE_AGENT_PORT");
	if (!o->url && !o->agent_url && o->agent_port &&
	    (parse_u64(o->agent_port, &port) || port == 0 || port > 65535))
		return fail(err, errlen, "invalid DD_TRACE_AGENT_PORT '%s': expected 1..65535",
			    o->agent_port);
	return 0;
}

int ddprof_cli_opts_parse(struct ddprof_cli_opts *o, int argc, char **argv,
			  ddprof_cli_getenv_fn getenv_fn, void *ctx, char *err,
			  size_t errlen)
{
	bool quiet = false, period_given = false;
	int verbose = 0, c, ret;

	opts_defaults(o);
	if (errlen)
		err[0] = '\0';
	optind = 0; /* glibc: full reinitialization, so parse can run again */
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		if (c == '?') {
			if (optopt)
				return fail(err, errlen, "unknown option '-%c'", optopt);
			return fail(err, errlen, "unknown option '%s'", argv[optind - 1]);
		}
		if (c == ':') {
			const char *opt = argv[optind - 1];

			if (optopt && opt[0] == '-' && opt[1] != '-')
				return fail(err, errlen, "option '-%c' needs a value", optopt);
			return fail(err, errlen, "option '%s' needs a value", opt);
		}
		ret = parse_one(o, c, optarg, &quiet, &verbose, &period_given,
				err, errlen);
		if (ret)
			return ret;
	}
	if (o->action != DDPROF_CLI_RUN)
		return 0;
	if (optind < argc)
		o->command = &argv[optind];
	return resolve(o, optind < argc, quiet, verbose, period_given,
		       getenv_fn, ctx, err, errlen);
}

/* Output goes to FILE.tmp in the same directory, then a rename: the
 * directory must exist and the path must not be a directory. */
static int check_output(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return fail(err, errlen, "output '%s' is a directory: give a file name", path);
	if (!slash)
		return 0;
	if ((size_t)(slash - path) >= sizeof(dir))
		return fail(err, errlen, "output path too long");
	memcpy(dir, path, slash - path);
	dir[slash - path] = '\0';
	if (!dir[0])
		strcpy(dir, "/");
	if (stat(dir, &st) != 0)
		return fail(err, errlen, "output directory '%s' does not exist", dir);
	if (!S_ISDIR(st.st_mode))
		return fail(err, errlen, "output directory '%s' is not a directory", dir);
	return 0;
}

int ddprof_cli_opts_check(const struct ddprof_cli_opts *o, char *err,
			  size_t errlen)
{
	int ret, ncpus;

	if (o->output && (ret = check_output(o->output, err, errlen)))
		return ret;
	for (size_t i = 0; i < o->npids; i++)
		if (kill(o->pids[i], 0) && errno == ESRCH)
			return fail(err, errlen, "no process with PID %d", (int)o->pids[i]);
	ncpus = get_nprocs_conf();
	/* sorted: the last one is the largest */
	if (o->ncpus && o->cpus[o->ncpus - 1] >= ncpus)
		return fail(err, errlen, "no CPU %d: this machine has CPUs 0-%d",
			    o->cpus[o->ncpus - 1], ncpus - 1);
	return 0;
}

void ddprof_cli_opts_fini(struct ddprof_cli_opts *o)
{
	if (!o)
		return;
	free(o->pids);
	o->pids = NULL;
	o->npids = 0;
	free(o->cpus);
	o->cpus = NULL;
	o->ncpus = 0;
}

void ddprof_cli_usage(FILE *f)
{
	fputs("Usage: ddprof-perf [OPTIONS] [--] COMMAND [ARGS...]\n"
	      "       ddprof-perf [OPTIONS] -p PID[,PID...]\n"
	      "       ddprof-perf [OPTIONS] -a [-C CPUS]\n"
	      "\n"
	      "Samples CPU stacks with perf_event_open and writes a gzip pprof file\n"
	      "(open it with: go tool pprof -http=: FILE) or uploads to Datadog.\n"
	      "\n"
	      "Sampling:\n"
	      "  -F, --freq HZ          samples per second per CPU (default 99)\n"
	      "  -e, --event NAME       cpu-clock (default), task-clock, page-faults,\n"
	      "                         context-switches, cycles, instructions\n"
	      "  -d, --duration SECS    stop profiling after SECS (a command goes on)\n"
	      "  -p, --pid PID[,PID]    attach to running processes and their threads\n"
	      "  -a, --all-cpus         profile the whole system\n"
	      "  -C, --cpu CPUS         only these CPUs (e.g. 0-3,6); implies -a\n"
	      "      --stack-size BYTES user stack copied per sample (default 32768,\n"
	      "                         multiple of 8, 256..65528)\n"
	      "      --no-kernel        no kernel frames\n"
	      "      --no-inline        no inlined frames\n"
	      "      --timeline         keep timestamped samples (one per event)\n"
	      "\n"
	      "Output:\n"
	      "  -o, --output FILE      gzip pprof file (default ddprof-perf.pb.gz\n"
	      "                         unless uploading)\n"
	      "      --period SECS      export every SECS; with -o one file per period\n"
	      "                         (FILE.0001.pb.gz, ...); 60 when uploading\n"
	      "      --upload           upload to the Datadog agent\n"
	      "  -U, --url URL          agent URL (or full intake URL with --agentless)\n"
	      "      --agentless        upload to the Datadog intake with DD_API_KEY\n"
	      "      --service NAME     service tag (DD_SERVICE)\n"
	      "      --env NAME         env tag (DD_ENV)\n"
	      "      --service-version V version tag (DD_VERSION)\n"
	      "      --tags K:V,...     more tags (DD_TAGS)\n"
	      "\n"
	      "  -q, --quiet            print errors only\n"
	      "  -v, --verbose          print more (twice: debug)\n"
	      "  -h, --help             this text\n"
	      "      --version          print the version\n"
	      "\n"
	      "Exit status: the command's own in wrap mode (128+N if killed by\n"
	      "signal N), 0 otherwise, 1 on a profiler failure, 2 on a usage error.\n"
	      "See ddprof-perf(1).\n",
	      f);
}
