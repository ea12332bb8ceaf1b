/* Probes perf_event_open access so live tests skip (exit 77) with a
 * reason instead of failing where sampling is not permitted. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "perf_access.h"

bool ddprof_test_perf_usable(char *why, size_t len)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.sample_period = 1000000;
	attr.exclude_kernel = 1;
	attr.disabled = 1;
	fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1,
			  PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "perf_event_open not usable: %s",
			 strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

void ddprof_test_require_perf(void)
{
	char why[256];

	if (ddprof_test_perf_usable(why, sizeof(why)))
		return;
	fprintf(stderr, "skip: %s\n", why);
	exit(77);
}
