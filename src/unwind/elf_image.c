/* Opening and validating the ELF files behind a process's mappings: every
 * header read is bounds-checked, so a corrupt file is refused, not trusted.
 * Files are copied into a sealed memfd, never mapped directly: a profiled
 * process truncating its own file must not kill us with SIGBUS. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "unwind/elf_image.h"

int ddprof_elf_image_key(const struct ddprof_map *map, uint64_t *dev,
			 uint64_t *ino)
{
	if (!map->path)
		return 0;
	if (!strcmp(map->path, "[vdso]")) {
		*dev = 0;
		*ino = 1;
		return 1;
	}
	if (map->path[0] != '/' || !map->ino)
		return 0;
	*dev = map->dev;
	*ino = map->ino;
	return 1;
}

static int range_ok(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static void parse_build_id(struct ddprof_elf_image *img, uint64_t off,
			   uint64_t len)
{
	uint64_t end = off + len;

	while (off + sizeof(Elf64_Nhdr) <= end) {
		Elf64_Nhdr nh;
		uint64_t name_off = off + sizeof(nh), desc_off;

		memcpy(&nh, img->data + off, sizeof(nh));
		desc_off = name_off + ((nh.n_namesz + 3) & ~3ULL);
		off = desc_off + ((nh.n_descsz + 3ULL) & ~3ULL);
		if (off > end)
			return;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(img->data + name_off, "GNU", 4) && nh.n_descsz &&
		    nh.n_descsz <= DDPROF_ELF_MAX_BUILD_ID) {
			img->build_id_len = nh.n_descsz;
			memcpy(img->build_id, img->data + desc_off, nh.n_descsz);
			for (unsigned i = 0; i < nh.n_descsz; i++)
				sprintf(img->build_id_hex + 2 * i, "%02x",
					img->build_id[i]);
			return;
		}
	}
}

/* Validates the ELF header and program headers and fills the fields
 * derived from them. */
static int parse(struct ddprof_elf_image *img)
{
	Elf64_Ehdr eh;

	if (img->size < sizeof(eh))
		return -DDPROF_ERR_FORMAT;
	memcpy(&eh, img->data, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !range_ok(img->size, eh.e_phoff,
		      (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))
		return -DDPROF_ERR_FORMAT;
	img->type = eh.e_type;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD) {
			struct ddprof_elf_load *l;

			if (img->nr_loads == DDPROF_ELF_MAX_LOADS ||
			    ph.p_filesz > ph.p_memsz)
				return -DDPROF_ERR_FORMAT;
			/* a file shorter than its segments is truncated */
			if (!range_ok(img->size, ph.p_offset, ph.p_filesz))
				return -DDPROF_ERR_FORMAT;
			l = &img->loads[img->nr_loads++];
			l->vaddr = ph.p_vaddr;
			l->offset = ph.p_offset;
			l->filesz = ph.p_filesz;
			l->memsz = ph.p_memsz;
			l->flags = ph.p_flags;
		} else if (ph.p_type == PT_GNU_EH_FRAME) {
			if (!range_ok(img->size, ph.p_offset, ph.p_filesz))
				return -DDPROF_ERR_FORMAT;
			img->eh_hdr_vaddr = ph.p_vaddr;
			img->eh_hdr_offset = ph.p_offset;
			img->eh_hdr_size = ph.p_filesz;
		} else if (ph.p_type == PT_NOTE && !img->build_id_len) {
			if (range_ok(img->size, ph.p_offset, ph.p_filesz))
				parse_build_id(img, ph.p_offset, ph.p_filesz);
		}
	}
	if (!img->nr_loads)
		return -DDPROF_ERR_FORMAT;
	return 0;
}

int ddprof_elf_copy_fd(int fd, size_t *size)
{
	struct stat st;
	off_t off = 0;
	int memfd, err;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return -DDPROF_ERR_FORMAT;
	if ((uint64_t)st.st_size > DDPROF_ELF_MAX_SIZE) {
		pr_info("ELF file of %lld bytes over the %llu limit: not read",
			(long long)st.st_size,
			(unsigned long long)DDPROF_ELF_MAX_SIZE);
		return -DDPROF_ERR_FORMAT;
	}
	memfd = memfd_create("ddprof-elf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (memfd < 0)
		return -errno;
	/* a file shrinking meanwhile just ends the copy early */
	while (off < st.st_size) {
		ssize_t n = sendfile(memfd, fd, &off, st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto err_close;
		}
		if (!n)
			break;
	}
	if (off < (off_t)sizeof(Elf64_Ehdr)) {
		err = -DDPROF_ERR_FORMAT;
		goto err_close;
	}
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_WRITE | F_SEAL_SEAL)) {
		err = -errno;
		goto err_close;
	}
	*size = off;
	return memfd;
err_close:
	close(memfd);
	return err;
}

static int image_from_fd(struct ddprof_elf_image **out, int fd,
			 const char *name, int *memfd_out)
{
	struct ddprof_elf_image *img;
	struct stat st;
	size_t size;
	void *p;
	int err, memfd;

	if (fstat(fd, &st))
		return -errno;
	memfd = ddprof_elf_copy_fd(fd, &size);
	if (memfd < 0)
		return memfd;
	img = calloc(1, sizeof(*img));
	if (!img) {
		err = -ENOMEM;
		goto err_memfd;
	}
	img->name = strdup(name);
	if (!img->name) {
		err = -ENOMEM;
		goto err_img;
	}
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto err_img;
	}
	img->data = p;
	img->size = size;
	img->mapped = 1;
	/* an inaccessible page of the file itself, never read (so never a
	 * fault): it keeps the inode alive as the old whole-file mapping did,
	 * so no new file reuses our (dev, ino) cache key meanwhile */
	p = mmap(NULL, 1, PROT_NONE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto err_img;
	}
	img->pin = p;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	err = parse(img);
	if (err)
		goto err_img;
	*out = img;
	if (memfd_out)
		*memfd_out = memfd;
	else
		close(memfd);
	return 0;
err_img:
	ddprof_elf_image_free(img);
err_memfd:
	close(memfd);
	return err;
}

int ddprof_elf_image_open_path(struct ddprof_elf_image **out, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = image_from_fd(out, fd, path, NULL);
	close(fd);
	return err;
}

/* Our vdso is the profiled process's vdso: same kernel, same image. */
static int open_vdso(struct ddprof_elf_image **out)
{
	const uint8_t *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	struct ddprof_elf_image *img;
	Elf64_Ehdr eh;
	size_t size;
	int err;

	if (!base)
		return -ENOENT;
	memcpy(&eh, base, sizeof(eh));
	/* the section headers come last in the vdso image */
	size = eh.e_shoff + (size_t)eh.e_shnum * eh.e_shentsize;
	if (size < sizeof(eh) || size > (1 << 20))
		return -DDPROF_ERR_FORMAT;
	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->name = strdup("[vdso]");
	img->data = base;
	img->size = size;
	img->ino = 1;
	err = img->name ? parse(img) : -ENOMEM;
	if (err) {
		ddprof_elf_image_free(img);
		return err;
	}
	*out = img;
	return 0;
}

int ddprof_elf_file_open(pid_t pid, const struct ddprof_map *map, char *path,
			 size_t path_len)
{
	const char *deleted;
	struct stat st;
	int fd = -1;

	if (map->path[0] != '/')
		return -DDPROF_ERR_INVALID;
	deleted = strstr(map->path, " (deleted)");
	if (!deleted || deleted[10]) {
		snprintf(path, path_len, "/proc/%d/root%s", (int)pid, map->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		/* replaced since it was mapped: not the bytes that run */
		if (fd >= 0 && map->ino &&
		    (fstat(fd, &st) || st.st_ino != map->ino)) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		snprintf(path, path_len, "/proc/%d/map_files/%llx-%llx",
			 (int)pid, (unsigned long long)map->start,
			 (unsigned long long)map->end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	return fd;
}

int ddprof_elf_image_from_fd(struct ddprof_elf_image **out, int fd,
			     const struct ddprof_map *map, int *memfd)
{
	int err = image_from_fd(out, fd, map->path, memfd);

	if (!err) {
		/* keyed as the process table knows it (overlayfs devs differ) */
		(*out)->dev = map->dev;
		(*out)->ino = map->ino;
	}
	return err;
}

int ddprof_elf_image_open(struct ddprof_elf_image **out, pid_t pid,
			  const struct ddprof_map *map)
{
	char path[4096 + 64];
	int fd, err;

	if (!strcmp(map->path, "[vdso]"))
		return open_vdso(out);
	fd = ddprof_elf_file_open(pid, map, path, sizeof(path));
	if (fd < 0)
		return fd;
	err = ddprof_elf_image_from_fd(out, fd, map, NULL);
	close(fd);
	return err;
}

void ddprof_elf_image_free(struct ddprof_elf_image *img)
{
	if (!img)
		return;
	if (img->mapped)
		munmap((void *)img->data, img->size);
	if (img->pin)
		munmap(img->pin, 1);
	free(img->name);
	free(img);
}

int ddprof_elf_image_bias(const struct ddprof_elf_image *img,
			  const struct ddprof_map *map, uint64_t *bias)
{
	for (unsigned i = 0; i < img->nr_loads; i++) {
		const struct ddprof_elf_load *l = &img->loads[i];
		/* pages: the mapping offset is page-aligned, p_offset not */
		uint64_t pstart = l->offset & ~0xfffULL;

		if (map->pgoff >= pstart && map->pgoff < l->offset + l->filesz) {
			*bias = map->start - map->pgoff + l->offset - l->vaddr;
			return 0;
		}
	}
	return -DDPROF_ERR_NOT_FOUND;
}

int ddprof_elf_image_read(const struct ddprof_elf_image *img, uint64_t vaddr,
			  size_t len, const uint8_t **p)
{
	for (unsigned i = 0; i < img->nr_loads; i++) {
		const struct ddprof_elf_load *l = &img->loads[i];

		if (vaddr >= l->vaddr && vaddr - l->vaddr <= l->filesz &&
		    len <= l->filesz - (vaddr - l->vaddr)) {
			*p = img->data + l->offset + (vaddr - l->vaddr);
			return 0;
		}
	}
	return -DDPROF_ERR_NOT_FOUND;
}
