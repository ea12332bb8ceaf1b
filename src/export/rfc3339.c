/* RFC 3339 formatting of profile start/end times (always UTC, always 9
 * fractional digits: the intake parses a fixed layout). */
#include <stdio.h>

#include "ddprof/error.h"
#include "rfc3339.h"

int ddprof_rfc3339_format(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	int n;

	if (size < DDPROF_RFC3339_LEN || ts->tv_nsec < 0 ||
	    ts->tv_nsec > 999999999L || !gmtime_r(&t, &tm) ||
	    tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -DDPROF_ERR_INVALID;
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, (long)ts->tv_nsec);
	return n == DDPROF_RFC3339_LEN - 1 ? 0 : -DDPROF_ERR_INVALID;
}
