/* Version of the ddprof library and of the ddprof-perf command. */
#ifndef DDPROF_VERSION_H
#define DDPROF_VERSION_H

#define DDPROF_VERSION_MAJOR 0
#define DDPROF_VERSION_MINOR 1
#define DDPROF_VERSION_PATCH 0
#define DDPROF_VERSION "0.1.0"

#endif
