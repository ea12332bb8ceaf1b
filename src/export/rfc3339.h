/* UTC timestamps in the RFC 3339 form event.json requires. */
#ifndef DDPROF_EXPORT_RFC3339_H
#define DDPROF_EXPORT_RFC3339_H

#include <stddef.h>
#include <time.h>

/* Bytes of "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" plus the NUL. */
#define DDPROF_RFC3339_LEN 31

/* Writes ts as UTC with exactly 9 fractional digits into buf (at least
 * DDPROF_RFC3339_LEN bytes). Returns 0, or -DDPROF_ERR_INVALID for
 * tv_nsec outside 0..999999999 or a year outside 0..9999. */
int ddprof_rfc3339_format(const struct timespec *ts, char *buf, size_t size);

#endif
