/* Uncompressed copies of ELF files with compressed sections, for libdw.
 * Layout of the copy: the original bytes at their offsets, minus the
 * compressed contents; the inflated sections appended; a new section
 * header table after them. */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>

#include "ddprof/error.h"
#include "symbols/debug_inflate.h"
#include "unwind/elf_image.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Checks the headers of the file image f (size bytes); returns 0 and the
 * section table, or a negative error. */
static int check_headers(const uint8_t *f, uint64_t size, const Elf64_Ehdr **eh,
			 const Elf64_Shdr **sh)
{
	const Elf64_Ehdr *e = (const void *)f;

	if (size < sizeof(*e) || memcmp(e->e_ident, ELFMAG, SELFMAG))
		return -DDPROF_ERR_FORMAT;
	if (e->e_ident[EI_CLASS] != ELFCLASS64 ||
	    e->e_ident[EI_DATA] != ELFDATA2LSB)
		return -DDPROF_ERR_UNSUPPORTED;
	/* 0 sections: perhaps more than fit in e_shnum (SHN_XINDEX) */
	if (!e->e_shnum)
		return -DDPROF_ERR_UNSUPPORTED;
	if (e->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(e->e_shoff, (uint64_t)e->e_shnum * sizeof(Elf64_Shdr), size) ||
	    e->e_shoff % 8 ||
	    (e->e_phnum && (e->e_phentsize != sizeof(Elf64_Phdr) ||
			    !in_file(e->e_phoff, (uint64_t)e->e_phnum *
						 sizeof(Elf64_Phdr), size))))
		return -DDPROF_ERR_FORMAT;
	*eh = e;
	*sh = (const void *)(f + e->e_shoff);
	return 0;
}

/* Plans the copy: new section headers in out (e_shnum entries) and the
 * copy's total size; returns how many sections get inflated, or a negative
 * error. */
static int plan(const uint8_t *f, uint64_t size, const Elf64_Ehdr *e,
		const Elf64_Shdr *sh, Elf64_Shdr *out, uint64_t *total)
{
	uint64_t end = ALIGN_UP(size, 64);
	int n = 0;

	for (unsigned i = 0; i < e->e_shnum; i++) {
		const Elf64_Shdr *s = &sh[i];
		Elf64_Chdr ch;

		out[i] = *s;
		if (!(s->sh_flags & SHF_COMPRESSED) || s->sh_type == SHT_NOBITS)
			continue;
		if (s->sh_size < sizeof(ch) || !in_file(s->sh_offset, s->sh_size, size))
			return -DDPROF_ERR_FORMAT;
		memcpy(&ch, f + s->sh_offset, sizeof(ch));
		if (ch.ch_type != ELFCOMPRESS_ZLIB)
			return -DDPROF_ERR_UNSUPPORTED;
		if (ch.ch_addralign & (ch.ch_addralign - 1) || ch.ch_addralign > 4096 ||
		    ch.ch_size > (1ULL << 32))
			return -DDPROF_ERR_FORMAT;
		out[i].sh_flags &= ~(uint64_t)SHF_COMPRESSED;
		out[i].sh_addralign = ch.ch_addralign;
		end = ALIGN_UP(end, ch.ch_addralign ? ch.ch_addralign : 1);
		out[i].sh_offset = end;
		out[i].sh_size = ch.ch_size;
		end += ch.ch_size;
		n++;
	}
	*total = ALIGN_UP(end, 8) + (uint64_t)e->e_shnum * sizeof(Elf64_Shdr);
	return n;
}

/* Writes the copy into m (total bytes, zero-filled). */
static int fill(uint8_t *m, const uint8_t *f, uint64_t size,
		const Elf64_Ehdr *e, const Elf64_Shdr *sh, Elf64_Shdr *out,
		uint64_t total)
{
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	uint64_t shoff = total - (uint64_t)e->e_shnum * sizeof(Elf64_Shdr);
	Elf64_Ehdr *ne = (void *)m;
	int err = 0;

	if (!d)
		return -ENOMEM;
	memcpy(m, f, sizeof(*e));
	if (e->e_phnum)
		memcpy(m + e->e_phoff, f + e->e_phoff,
		       (size_t)e->e_phnum * sizeof(Elf64_Phdr));
	for (unsigned i = 0; i < e->e_shnum && !err; i++) {
		const Elf64_Shdr *s = &sh[i];

		if (s->sh_type == SHT_NOBITS || !s->sh_size)
			continue;
		if (!(s->sh_flags & SHF_COMPRESSED)) {
			if (!in_file(s->sh_offset, s->sh_size, size))
				err = -DDPROF_ERR_FORMAT;
			else
				memcpy(m + s->sh_offset, f + s->sh_offset, s->sh_size);
		} else if (libdeflate_zlib_decompress(d, f + s->sh_offset + sizeof(Elf64_Chdr),
						      s->sh_size - sizeof(Elf64_Chdr),
						      m + out[i].sh_offset,
						      out[i].sh_size, NULL) !=
				   LIBDEFLATE_SUCCESS) {
			err = -DDPROF_ERR_COMPRESS;
		}
	}
	libdeflate_free_decompressor(d);
	memcpy(m + shoff, out, (size_t)e->e_shnum * sizeof(Elf64_Shdr));
	ne->e_shoff = shoff;
	return err;
}

int ddprof_debug_inflate(int fd)
{
	const Elf64_Shdr *sh;
	const Elf64_Ehdr *e;
	Elf64_Shdr *out = NULL;
	uint64_t total;
	uint8_t *f = MAP_FAILED, *m = MAP_FAILED;
	struct stat st;
	int mfd = -1, err;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return -DDPROF_ERR_FORMAT;
	f = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED)
		return -errno;
	err = check_headers(f, st.st_size, &e, &sh);
	if (err)
		goto out;
	out = malloc((size_t)e->e_shnum * sizeof(*out));
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	err = plan(f, st.st_size, e, sh, out, &total);
	if (err <= 0) {
		err = err ? err : -DDPROF_ERR_NOT_FOUND;
		goto out;
	}
	if (total > DDPROF_ELF_MAX_SIZE) {
		err = -DDPROF_ERR_TOO_BIG;
		goto out;
	}
	mfd = memfd_create("ddprof-debuginfo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0 || ftruncate(mfd, (off_t)total)) {
		err = -errno;
		goto out;
	}
	m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (m == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	err = fill(m, f, st.st_size, e, sh, out, total);
	munmap(m, total);
	m = MAP_FAILED;
	/* sealed like every ELF copy libdwfl gets (see ddprof_elf_copy_fd) */
	if (!err && fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
			  F_SEAL_WRITE | F_SEAL_SEAL))
		err = -errno;
out:
	if (m != MAP_FAILED)
		munmap(m, total);
	if (f != MAP_FAILED)
		munmap(f, st.st_size);
	free(out);
	if (err) {
		if (mfd >= 0)
			close(mfd);
		return err;
	}
	return mfd;
}
