/* CPU list parsing: the sysfs "online" file and -a's optional list use the
 * same "a-b,c" grammar. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddprof/error.h"
#include "perf/cpus.h"
#include "perf/sampler.h"

/* Far above any real machine; bounds the array a typo could ask for. */
#define CPU_MAX 8192

static int parse_num(const char **p, int *out)
{
	long v = 0;

	if (**p < '0' || **p > '9')
		return -DDPROF_ERR_INVALID;
	while (**p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		if (v >= CPU_MAX)
			return -DDPROF_ERR_INVALID;
		(*p)++;
	}
	*out = (int)v;
	return 0;
}

int ddprof_cpu_list_parse(const char *text, int **cpus, size_t *nr)
{
	unsigned char *set = calloc(CPU_MAX, 1);
	const char *p = text;
	size_t n = 0;
	int *out, err = 0;

	*cpus = NULL;
	*nr = 0;
	if (!set)
		return -ENOMEM;
	for (;;) {
		int a, b;

		err = parse_num(&p, &a);
		if (err)
			goto out;
		b = a;
		if (*p == '-') {
			p++;
			err = parse_num(&p, &b);
			if (err)
				goto out;
			if (b < a) {
				err = -DDPROF_ERR_INVALID;
				goto out;
			}
		}
		for (int c = a; c <= b; c++)
			set[c] = 1;
		if (*p != ',')
			break;
		p++;
	}
	if (*p == '\n')
		p++;
	if (*p) {
		err = -DDPROF_ERR_INVALID;
		goto out;
	}
	for (int c = 0; c < CPU_MAX; c++)
		n += set[c];
	out = malloc(n * sizeof(*out));
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	n = 0;
	for (int c = 0; c < CPU_MAX; c++)
		if (set[c])
			out[n++] = c;
	*cpus = out;
	*nr = n;
out:
	free(set);
	return err;
}

int ddprof_cpus_online(int **cpus, size_t *nr)
{
	char buf[4096];
	ssize_t n;
	int fd;

	fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -DDPROF_ERR_INVALID;
	buf[n] = '\0';
	return ddprof_cpu_list_parse(buf, cpus, nr);
}
