/* Unit tests of src/common: error messages, logging hook, u64 map. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "common/u64map.h"
#include "ddprof/error.h"

static void test_strerror(void **state)
{
	assert_string_equal(ddprof_strerror(0), "success");
	assert_string_equal(ddprof_strerror(-ENOMEM), strerror(ENOMEM));
	assert_non_null(strstr(ddprof_strerror(-DDPROF_ERR_AUTH), "API key"));
	for (int e = DDPROF_ERR_BASE + 1; e < DDPROF_ERR_LAST; e++)
		assert_non_null(ddprof_strerror(-e));
	assert_string_equal(ddprof_strerror(-999999), "unknown error");
}

static int log_calls;
static char last_msg[256];
static void capture(enum ddprof_log_level lvl, const char *msg, void *ctx)
{
	log_calls++;
	strncpy(last_msg, msg, sizeof(last_msg) - 1);
}

static void test_log(void **state)
{
	pr_err("nobody listens %d", 1);
	assert_int_equal(log_calls, 0);
	ddprof_log_set(capture, NULL, DDPROF_LOG_WARN);
	pr_warn("value %d", 42);
	pr_debug("filtered");
	assert_int_equal(log_calls, 1);
	assert_string_equal(last_msg, "value 42");
	ddprof_log_set(NULL, NULL, DDPROF_LOG_DEBUG);
	pr_err("silent again");
	assert_int_equal(log_calls, 1);
}

static void test_u64map(void **state)
{
	struct ddprof_u64map m;
	const uint64_t n = 100000;

	ddprof_u64map_init(&m);
	assert_null(ddprof_u64map_get(&m, 1));
	assert_int_equal(ddprof_u64map_del(&m, 1), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(ddprof_u64map_put(&m, i * 7, i), 0);
	assert_int_equal(m.count, n);
	for (uint64_t i = 0; i < n; i += 2)
		assert_int_equal(ddprof_u64map_del(&m, i * 7), 1);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t *v = ddprof_u64map_get(&m, i * 7);
		if (i % 2)
			assert_true(v && *v == i);
		else
			assert_null(v);
	}
	assert_int_equal(m.count, n / 2);
	ddprof_u64map_clear(&m);
	assert_null(ddprof_u64map_get(&m, 7));
	ddprof_u64map_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_u64map),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
