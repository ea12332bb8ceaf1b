/* Atomic profile files (write FILE.tmp, fsync, rename) and the per-period
 * file names of --period. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/output.h"

/* Extensions kept at the end when a sequence number is inserted; the
 * longest first so out.pb.gz gives out.0001.pb.gz, not out.pb.0001.gz. */
static const char *const known_exts[] = { ".pb.gz", ".pprof.gz", ".pprof",
					  ".gz", ".pb" };

bool ddprof_cli_output_is_special(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

int ddprof_cli_file_open(struct ddprof_cli_file *f, const char *path)
{
	size_t n = strlen(path);
	int fd;

	f->fd = -1;
	f->tmp[0] = '\0';
	if (n >= sizeof(f->path))
		return -ENAMETOOLONG;
	memcpy(f->path, path, n + 1);
	f->direct = ddprof_cli_output_is_special(path);
	if (f->direct) {
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	} else {
		snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", path);
		fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY,
			  0644);
	}
	if (fd < 0) {
		f->tmp[0] = '\0';
		return -errno;
	}
	f->fd = fd;
	return 0;
}

int ddprof_cli_file_write(struct ddprof_cli_file *f, const void *buf,
			  size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(f->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ddprof_cli_file_commit(struct ddprof_cli_file *f)
{
	int ret = 0;

	/* a full disk can show up only at fsync or close (NFS, delayed
	 * allocation): the rename waits until both have succeeded */
	if (!f->direct && fsync(f->fd))
		ret = -errno;
	if (close(f->fd) && !ret && errno != EINTR)
		ret = -errno;
	f->fd = -1;
	if (!ret && !f->direct && rename(f->tmp, f->path))
		ret = -errno;
	if (ret && !f->direct)
		unlink(f->tmp);
	f->tmp[0] = '\0';
	return ret;
}

void ddprof_cli_file_abort(struct ddprof_cli_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->tmp[0])
		unlink(f->tmp);
	f->tmp[0] = '\0';
}

int ddprof_cli_file_save(const char *path, const void *buf, size_t len)
{
	struct ddprof_cli_file f;
	int ret = ddprof_cli_file_open(&f, path);

	if (ret)
		return ret;
	ret = ddprof_cli_file_write(&f, buf, len);
	if (ret) {
		ddprof_cli_file_abort(&f);
		return ret;
	}
	return ddprof_cli_file_commit(&f);
}

int ddprof_cli_output_name(char *buf, size_t len, const char *base,
			   unsigned seq)
{
	const char *slash = strrchr(base, '/');
	const char *name = slash ? slash + 1 : base;
	size_t n = strlen(base), stem = n;
	int w;

	if (seq == 0) {
		w = snprintf(buf, len, "%s", base);
	} else {
		for (size_t i = 0; i < sizeof(known_exts) / sizeof(*known_exts); i++) {
			size_t e = strlen(known_exts[i]);

			/* the extension must leave a non-empty file name */
			if (n - (size_t)(name - base) > e &&
			    !strcmp(base + n - e, known_exts[i])) {
				stem = n - e;
				break;
			}
		}
		w = snprintf(buf, len, "%.*s.%04u%s", (int)stem, base, seq,
			     base + stem);
	}
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	return 0;
}
