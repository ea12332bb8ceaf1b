/* libFuzzer target: arbitrary bytes as a JIT perf map. They are written to
 * /tmp/perf-<our pid>.map and loaded through ddprof_perfmap_load() exactly
 * as for a profiled process (ourselves), then looked up. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddprof/log.h"
#include "symbols/perfmap.h"

static char path[64];
static volatile uint64_t sink;

static void cleanup(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddprof_perfmap m;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	memset(&m, 0, sizeof(m));
	if (!ddprof_perfmap_load(&m, getpid())) {
		for (size_t i = 0; i < m.n; i++) {
			const struct ddprof_perfmap_entry *e = &m.e[i];
			const struct ddprof_perfmap_entry *f;

			if (i && m.e[i - 1].start > e->start)
				abort(); /* sorted for the binary search */
			sink += strlen(e->name);
			f = ddprof_perfmap_find(&m, e->start);
			if (f && e->start - f->start >= f->size)
				abort(); /* found must contain the pc */
			(void)ddprof_perfmap_find(&m, e->start + e->size - 1);
			(void)ddprof_perfmap_find(&m, e->start + e->size);
		}
		if (size >= 8) {
			uint64_t pc;

			memcpy(&pc, data + size - 8, 8);
			(void)ddprof_perfmap_find(&m, pc);
		}
		/* unchanged file: no reread, same table */
		if (ddprof_perfmap_load(&m, getpid()))
			abort();
	}
	ddprof_perfmap_fini(&m);
	return 0;
}
