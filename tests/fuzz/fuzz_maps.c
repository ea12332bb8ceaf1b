/* libFuzzer target: arbitrary text as /proc/PID/maps. Each line goes
 * through the line parser from an exact-size heap copy (so ASan sees any
 * read past the line), then the whole text is loaded by the process table
 * from a fake procfs, which splits overlapping mappings and answers
 * lookups. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ddprof/log.h"
#include "proc/maps.h"
#include "proc/table.h"

static char procfs[] = "/tmp/ddprof-fuzz-maps-XXXXXX";
static char maps_path[128];
static volatile uint64_t sink;

static void cleanup(void)
{
	char dir[96];

	unlink(maps_path);
	snprintf(dir, sizeof(dir), "%s/4242", procfs);
	rmdir(dir);
	rmdir(procfs);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[96];

	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	if (!mkdtemp(procfs))
		abort();
	snprintf(dir, sizeof(dir), "%s/4242", procfs);
	if (mkdir(dir, 0700))
		abort();
	snprintf(maps_path, sizeof(maps_path), "%s/maps", dir);
	atexit(cleanup);
	return 0;
}

static void parse_lines(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size, *line, *nl;

	for (line = text; line < end; line = nl + 1) {
		struct ddprof_map m;
		const char *path;
		size_t plen;
		char *copy;

		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		copy = malloc((size_t)(nl - line) + 1);
		if (!copy)
			return;
		memcpy(copy, line, (size_t)(nl - line));
		if (!ddprof_maps_parse_line(copy, (size_t)(nl - line), &m, &path,
					    &plen)) {
			if (m.end < m.start || path < copy ||
			    path + plen > copy + (nl - line))
				abort();
			for (size_t i = 0; i < plen; i++)
				sink += (uint8_t)path[i];
		}
		free(copy);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddprof_proc_table *t;
	struct ddprof_proc *p;
	size_t n = 0;
	int fd;

	parse_lines(data, size);

	fd = open(maps_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (ddprof_proc_table_new(&t, procfs, NULL))
		return 0;
	if (!ddprof_proc_table_get(t, 4242, &p)) {
		const struct ddprof_map *m = ddprof_proc_maps(p, &n);
		uint64_t prev_end = 0;

		/* the table keeps mappings sorted and disjoint */
		for (size_t i = 0; i < n; i++) {
			if (m[i].end <= m[i].start || m[i].start < prev_end)
				abort();
			prev_end = m[i].end;
			if (ddprof_proc_find_map(p, m[i].start) != &m[i])
				abort();
			sink += strlen(m[i].path);
		}
		if (size >= 8) {
			uint64_t addr;

			memcpy(&addr, data, 8);
			(void)ddprof_proc_find_map(p, addr);
		}
		/* a second load replaces the first */
		ddprof_proc_reload_maps(p);
	}
	ddprof_proc_table_free(t);
	return 0;
}
