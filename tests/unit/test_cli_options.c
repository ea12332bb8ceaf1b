/* Unit tests of ddprof-perf's option parsing and validation: every mode,
 * defaults, the DD_* environment, and each wrong, conflicting or absurd
 * value rejected with a one-line message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/options.h"
#include "ddprof/error.h"

#define MAX_ARGS 32

/* A fake environment: NULL-terminated "NAME=value" strings. */
static const char *const *fake_env;

static const char *env_lookup(const char *name, void *ctx)
{
	size_t n = strlen(name);

	for (const char *const *e = ctx; e && *e; e++)
		if (!strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

static struct ddprof_cli_opts opts;
static char err[256];

/* Parses a NULL-terminated list of arguments (argv[0] added). */
static int parse_list(const char *first, va_list ap)
{
	static char *argv[MAX_ARGS + 2];
	int argc = 0;

	argv[argc++] = "ddprof-perf";
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc < MAX_ARGS);
		argv[argc++] = (char *)a;
	}
	argv[argc] = NULL;
	ddprof_cli_opts_fini(&opts);
	return ddprof_cli_opts_parse(&opts, argc, argv, env_lookup,
				     (void *)fake_env, err, sizeof(err));
}

static int parse(const char *first, ...)
{
	va_list ap;
	int ret;

	va_start(ap, first);
	ret = parse_list(first, ap);
	va_end(ap);
	return ret;
}

/* Expects a rejection whose single-line message contains want. */
static void expect_error(const char *want, const char *first, ...)
{
	va_list ap;
	int ret;

	va_start(ap, first);
	ret = parse_list(first, ap);
	va_end(ap);
	if (ret != -DDPROF_ERR_INVALID || !strstr(err, want))
		fail_msg("expected error containing '%s', got %d '%s'", want, ret, err);
	assert_null(strchr(err, '\n'));
}

static int teardown(void **state)
{
	ddprof_cli_opts_fini(&opts);
	fake_env = NULL;
	return 0;
}

static void test_defaults_wrap(void **state)
{
	assert_int_equal(parse("./app", "-x", "y", NULL), 0);
	assert_int_equal(opts.action, DDPROF_CLI_RUN);
	assert_int_equal(opts.mode, DDPROF_CLI_MODE_WRAP);
	assert_string_equal(opts.command[0], "./app");
	/* options after the command belong to the command */
	assert_string_equal(opts.command[1], "-x");
	assert_string_equal(opts.command[2], "y");
	assert_null(opts.command[3]);
	assert_int_equal(opts.freq, 99);
	assert_string_equal(opts.event, "cpu-clock");
	assert_int_equal(opts.stack_size, 32768);
	assert_string_equal(opts.output, "ddprof-perf.pb.gz");
	assert_int_equal(opts.period_ns, 0);
	assert_int_equal(opts.duration_ns, 0);
	assert_false(opts.upload);
	assert_int_equal(opts.verbosity, 0);
}

static void test_all_options(void **state)
{
	assert_int_equal(parse("-F", "999", "-e", "task-clock", "-d", "2.5",
			       "--stack-size", "8192", "--no-kernel",
			       "--no-inline", "--timeline", "-o", "x.pb.gz",
			       "--period", "0.5", "-v", "-v", "--", "ls", "-l",
			       NULL), 0);
	assert_int_equal(opts.freq, 999);
	assert_string_equal(opts.event, "task-clock");
	assert_int_equal(opts.duration_ns, 2500000000ULL);
	assert_int_equal(opts.stack_size, 8192);
	assert_true(opts.no_kernel && opts.no_inline && opts.timeline);
	assert_string_equal(opts.output, "x.pb.gz");
	assert_int_equal(opts.period_ns, 500000000ULL);
	assert_int_equal(opts.verbosity, 2);
	assert_string_equal(opts.command[0], "ls");
	assert_string_equal(opts.command[1], "-l");

	assert_int_equal(parse("--freq=7", "--event=page-faults", "--quiet",
			       "--duration=1", "--output=y", "sleep", "1", NULL), 0);
	assert_int_equal(opts.freq, 7);
	assert_int_equal(opts.verbosity, -1);
	assert_string_equal(opts.output, "y");
}

static void test_attach_and_system(void **state)
{
	assert_int_equal(parse("-p", "12,34", "-p", "56", "-p", "12", NULL), 0);
	assert_int_equal(opts.mode, DDPROF_CLI_MODE_ATTACH);
	assert_int_equal(opts.npids, 3);
	assert_int_equal(opts.pids[0], 12);
	assert_int_equal(opts.pids[1], 34);
	assert_int_equal(opts.pids[2], 56);
	assert_null(opts.command);

	assert_int_equal(parse("-a", "-d", "1", NULL), 0);
	assert_int_equal(opts.mode, DDPROF_CLI_MODE_SYSTEM);
	assert_int_equal(opts.ncpus, 0);

	assert_int_equal(parse("-a", "-C", "5,0-2,64", "-C", "1,3", NULL), 0);
	assert_int_equal(opts.mode, DDPROF_CLI_MODE_SYSTEM);
	assert_int_equal(opts.ncpus, 2); /* the last -C wins */
	assert_int_equal(opts.cpus[0], 1);
	assert_int_equal(opts.cpus[1], 3);
	assert_int_equal(parse("-C", "5,0-2,64", "-a", NULL), 0);
	assert_int_equal(opts.ncpus, 5);
	assert_int_equal(opts.cpus[0], 0);
	assert_int_equal(opts.cpus[3], 5);
	assert_int_equal(opts.cpus[4], 64);

	/* -C alone implies system-wide, as in perf */
	assert_int_equal(parse("-C", "1", NULL), 0);
	assert_int_equal(opts.mode, DDPROF_CLI_MODE_SYSTEM);
}

static void test_help_version(void **state)
{
	assert_int_equal(parse("--help", NULL), 0);
	assert_int_equal(opts.action, DDPROF_CLI_HELP);
	assert_int_equal(parse("-h", "-F", "0", NULL), -DDPROF_ERR_INVALID);
	assert_int_equal(parse("--version", NULL), 0);
	assert_int_equal(opts.action, DDPROF_CLI_VERSION);
}

static void test_bad_values(void **state)
{
	expect_error("frequency must be 1..100000", "-F", "0", "ls", NULL);
	expect_error("frequency must be", "-F", "1000000000", "ls", NULL);
	expect_error("frequency must be", "-F", "-5", "ls", NULL);
	expect_error("frequency must be", "-F", "99x", "ls", NULL);
	expect_error("frequency must be", "-F", "", "ls", NULL);
	expect_error("frequency must be", "-F", "99999999999999999999999", "ls", NULL);
	expect_error("multiple of 8", "--stack-size", "1", "ls", NULL);
	expect_error("multiple of 8", "--stack-size", "1000000", "ls", NULL);
	expect_error("multiple of 8", "--stack-size", "4100", "ls", NULL);
	expect_error("multiple of 8", "--stack-size", "65536", "ls", NULL);
	expect_error("invalid -d", "-d", "0", "ls", NULL);
	expect_error("invalid -d", "-d", "-1", "ls", NULL);
	expect_error("invalid -d", "-d", "nan", "ls", NULL);
	expect_error("invalid -d", "-d", "inf", "ls", NULL);
	expect_error("invalid -d", "-d", "1e12", "ls", NULL);
	expect_error("invalid -d", "-d", "3s", "ls", NULL);
	expect_error("invalid --period", "--period", "0", "ls", NULL);
	expect_error("invalid --period", "--period", "0.01", "ls", NULL);
	expect_error("invalid -e", "-e", "cpu clock", "ls", NULL);
	expect_error("invalid -e", "-e", "", "ls", NULL);
	expect_error("empty file name", "-o", "", "ls", NULL);
	expect_error("invalid --url", "--url", "http://a b", "ls", NULL);
	expect_error("CPU list", "-C", "3-1", NULL);
	expect_error("CPU list", "-C", "a", NULL);
	expect_error("CPU list", "-C", "-1", NULL);
	expect_error("CPU list", "-C", "", NULL);
	expect_error("CPU list", "-C", "99999", NULL);
}

static void test_bad_pids(void **state)
{
	expect_error("invalid PID '0'", "-p", "0", NULL);
	expect_error("invalid PID 'abc'", "-p", "abc", NULL);
	expect_error("invalid PID '-3'", "-p", "-3", NULL);
	expect_error("invalid PID '99999999'", "-p", "99999999", NULL);
	expect_error("invalid PID '12x'", "-p", "1,12x", NULL);
	expect_error("expected PID[,PID...]", "-p", "1,", NULL);
	expect_error("expected PID[,PID...]", "-p", ",1", NULL);
}

static void test_usage_errors(void **state)
{
	expect_error("nothing to profile", NULL);
	expect_error("nothing to profile", "-F", "99", NULL);
	expect_error("-a/-C and a COMMAND conflict", "-a", "ls", NULL);
	expect_error("-a/-C and a COMMAND conflict", "-C", "0", "ls", NULL);
	expect_error("-p and a COMMAND conflict", "-p", "1", "ls", NULL);
	expect_error("-p and -a/-C conflict", "-p", "1", "-a", NULL);
	expect_error("-q and -v conflict", "-q", "-v", "ls", NULL);
	expect_error("unknown option '-Z'", "-Z", "ls", NULL);
	expect_error("unknown option '--bogus'", "--bogus", "ls", NULL);
	expect_error("option '-F' needs a value", "-F", NULL);
	expect_error("option '--output' needs a value", "--output", NULL);
	expect_error("longer than -d", "-d", "1", "--period", "2", "ls", NULL);
}

static void test_upload_env(void **state)
{
	static const char *const env[] = {
		"DD_SERVICE=svc", "DD_ENV=prod", "DD_VERSION=1.2",
		"DD_TAGS=team:x,a:b", "DD_TRACE_AGENT_PORT=9126",
		"DD_AGENT_HOST=agent", NULL,
	};

	fake_env = env;
	assert_int_equal(parse("--upload", "--env", "staging", "ls", NULL), 0);
	assert_true(opts.upload);
	assert_null(opts.output); /* uploading alone writes no file */
	assert_int_equal(opts.period_ns, 60000000000ULL);
	assert_string_equal(opts.service, "svc");
	assert_string_equal(opts.env, "staging"); /* option beats environment */
	assert_string_equal(opts.version, "1.2");
	assert_string_equal(opts.tags, "team:x,a:b");
	assert_string_equal(opts.agent_host, "agent");
	assert_string_equal(opts.agent_port, "9126");

	/* --url implies --upload; an explicit --period wins; -o keeps a file */
	assert_int_equal(parse("-U", "http://127.0.0.1:1", "--period", "2",
			       "-o", "f.pb.gz", "ls", NULL), 0);
	assert_true(opts.upload);
	assert_string_equal(opts.url, "http://127.0.0.1:1");
	assert_int_equal(opts.period_ns, 2000000000ULL);
	assert_string_equal(opts.output, "f.pb.gz");
}

static void test_agentless(void **state)
{
	static const char *const no_key[] = { "DD_SITE=datadoghq.eu", NULL };
	static const char *const key[] = { "DD_API_KEY=abc", NULL };
	static const char *const bad_site[] = { "DD_API_KEY=abc",
						"DD_SITE=http://x", NULL };
	static const char *const bad_port[] = { "DD_TRACE_AGENT_PORT=70000", NULL };

	fake_env = no_key;
	expect_error("needs DD_API_KEY", "--agentless", "ls", NULL);
	fake_env = key;
	assert_int_equal(parse("--agentless", "ls", NULL), 0);
	assert_true(opts.upload && opts.agentless);
	assert_string_equal(opts.api_key, "abc");
	assert_string_equal(opts.site, "datadoghq.com");
	fake_env = bad_site;
	expect_error("invalid DD_SITE", "--agentless", "ls", NULL);
	fake_env = bad_port;
	expect_error("invalid DD_TRACE_AGENT_PORT", "--upload", "ls", NULL);
	/* the port does not matter when the URL is given */
	assert_int_equal(parse("--url", "http://h:1", "ls", NULL), 0);
}

static void test_check_system(void **state)
{
	char path[64];

	assert_int_equal(parse("-o", "/nonexistent-dir/x.pb.gz", "ls", NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)),
			 -DDPROF_ERR_INVALID);
	assert_non_null(strstr(err, "'/nonexistent-dir' does not exist"));

	assert_int_equal(parse("-o", "/tmp", "ls", NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)),
			 -DDPROF_ERR_INVALID);
	assert_non_null(strstr(err, "is a directory"));

	assert_int_equal(parse("-o", "/etc/hostname/x", "ls", NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)),
			 -DDPROF_ERR_INVALID);
	assert_non_null(strstr(err, "is not a directory"));

	assert_int_equal(parse("-o", "/tmp/ok.pb.gz", "ls", NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)), 0);
	assert_int_equal(parse("-o", "relative.pb.gz", "ls", NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)), 0);

	snprintf(path, sizeof(path), "%d", (int)getpid());
	assert_int_equal(parse("-p", path, NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)), 0);
	/* PID_MAX_LIMIT itself is never a live process */
	assert_int_equal(parse("-p", "4194304", NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)),
			 -DDPROF_ERR_INVALID);
	assert_non_null(strstr(err, "no process with PID 4194304"));

	assert_int_equal(parse("-C", "0", NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)), 0);
	assert_int_equal(parse("-C", "4000", NULL), 0);
	assert_int_equal(ddprof_cli_opts_check(&opts, err, sizeof(err)),
			 -DDPROF_ERR_INVALID);
	assert_non_null(strstr(err, "no CPU 4000"));
}

static void test_usage_text(void **state)
{
	char buf[8192];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	assert_non_null(f);
	ddprof_cli_usage(f);
	fclose(f);
	/* every long option is documented */
	for (const char *o = "--freq --event --duration --pid --all-cpus --cpu "
			     "--stack-size --no-kernel --no-inline --output "
			     "--period --upload --url --agentless --service "
			     "--env --service-version --tags --timeline --quiet "
			     "--verbose --help --version";
	     *o;) {
		char name[32];
		size_t n = strcspn(o, " ");

		memcpy(name, o, n);
		name[n] = '\0';
		if (!strstr(buf, name))
			fail_msg("usage lacks %s", name);
		o += n + (o[n] == ' ');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults_wrap, teardown),
		cmocka_unit_test_teardown(test_all_options, teardown),
		cmocka_unit_test_teardown(test_attach_and_system, teardown),
		cmocka_unit_test_teardown(test_help_version, teardown),
		cmocka_unit_test_teardown(test_bad_values, teardown),
		cmocka_unit_test_teardown(test_bad_pids, teardown),
		cmocka_unit_test_teardown(test_usage_errors, teardown),
		cmocka_unit_test_teardown(test_upload_env, teardown),
		cmocka_unit_test_teardown(test_agentless, teardown),
		cmocka_unit_test_teardown(test_check_system, teardown),
		cmocka_unit_test_teardown(test_usage_text, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
