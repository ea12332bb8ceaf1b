/* CPU lists ("0-3,7") as the kernel prints them in sysfs and as users
 * give them on the command line. */
#ifndef DDPROF_PERF_CPUS_H
#define DDPROF_PERF_CPUS_H

#include <stddef.h>

/* Reads /sys/devices/system/cpu/online into a malloc'd sorted array.
 * Returns 0, -errno, -DDPROF_ERR_INVALID or -ENOMEM. */
int ddprof_cpus_online(int **cpus, size_t *nr);

#endif
