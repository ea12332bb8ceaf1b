/* An ELF file of a profiled process, opened the way that process sees it
 * and copied once into private memory (never mapped: it could shrink): program headers, build id, .eh_frame_hdr
 * location. Shared by the unwinder (CFI, code bytes) and the symbolizer. */
#ifndef DDPROF_UNWIND_ELF_IMAGE_H
#define DDPROF_UNWIND_ELF_IMAGE_H

#include <stdint.h>
#include <sys/types.h>

#include "proc/proc.h"

#define DDPROF_ELF_MAX_LOADS 16
#define DDPROF_ELF_MAX_BUILD_ID 64
/* Larger files are refused: each open image holds a full copy. */
#define DDPROF_ELF_MAX_SIZE (512ULL << 20)

struct ddprof_elf_load {
	uint64_t vaddr, offset, filesz, memsz;
	uint32_t flags; /* PF_X | PF_W | PF_R */
};

struct ddprof_elf_image {
	uint64_t dev, ino;          /* cache key (see ddprof_elf_image_key) */
	const uint8_t *data;        /* whole file, read-only */
	size_t size;
	int mapped;                 /* data maps our sealed copy (else: vdso) */
	void *pin;                  /* PROT_NONE page of the file (see .c) */
	uint16_t type;              /* ET_EXEC / ET_DYN */
	unsigned nr_loads;
	struct ddprof_elf_load loads[DDPROF_ELF_MAX_LOADS];
	uint64_t eh_hdr_vaddr;      /* PT_GNU_EH_FRAME, 0 when absent */
	uint64_t eh_hdr_offset, eh_hdr_size;
	unsigned build_id_len;
	uint8_t build_id[DDPROF_ELF_MAX_BUILD_ID];
	char build_id_hex[2 * DDPROF_ELF_MAX_BUILD_ID + 1];
	char *name;                 /* path as the process sees it (owned) */
};

/* Returns 1 and the cache key of map's file, or 0 when map is not backed
 * by an ELF file we can open (anonymous, heap, stack, vvar...). [vdso]
 * gets the fixed key (0, 1): every process shares the kernel's vdso. */
int ddprof_elf_image_key(const struct ddprof_map *map, uint64_t *dev,
			 uint64_t *ino);

/* Opens and validates the file behind map of process pid: first
 * /proc/PID/root/<path> (checked against the mapping's inode), then
 * /proc/PID/map_files/<start>-<end> for deleted or replaced files; [vdso]
 * comes from our own vdso. Returns 0 and *out (owned by the caller, free
 * with ddprof_elf_image_free), -ENOENT/-EACCES..., or -DDPROF_ERR_FORMAT
 * for a file that is not a well-formed x86_64 ELF. */
int ddprof_elf_image_open(struct ddprof_elf_image **out, pid_t pid,
			  const struct ddprof_map *map);

/* Opens the file behind map of process pid as ddprof_elf_image_open()
 * does (not [vdso]), writing the path used into path. Returns an fd the
 * caller closes, or a negative error. */
int ddprof_elf_file_open(pid_t pid, const struct ddprof_map *map, char *path,
			 size_t path_len);

/* Copies the regular file open on fd (not consumed, at most
 * DDPROF_ELF_MAX_SIZE bytes, ending early if it shrinks meanwhile) into a
 * memfd sealed against any size or content change, so mapping it can
 * never fault. Returns the memfd (the caller closes it) and its *size,
 * or a negative error. */
int ddprof_elf_copy_fd(int fd, size_t *size);

/* Copies (ddprof_elf_copy_fd) and validates the ELF file open on fd (not
 * consumed), keyed by map's (dev, ino). Returns 0 and *out, or a negative
 * error. When memfd is not NULL it receives the copy's memfd (owned by
 * the caller; the image does not need it). */
int ddprof_elf_image_from_fd(struct ddprof_elf_image **out, int fd,
			     const struct ddprof_map *map, int *memfd);

/* Same for a file path in our own mount namespace (tests, debug files). */
int ddprof_elf_image_open_path(struct ddprof_elf_image **out, const char *path);

/* Unmaps and frees; accepts NULL. */
void ddprof_elf_image_free(struct ddprof_elf_image *img);

/* Load bias of img as mapped by map: runtime address = ELF vaddr + bias.
 * Returns 0, or -DDPROF_ERR_NOT_FOUND if map's offset is in no PT_LOAD. */
int ddprof_elf_image_bias(const struct ddprof_elf_image *img,
			  const struct ddprof_map *map, uint64_t *bias);

/* Points *p at the file bytes of ELF vaddr range [vaddr, vaddr+len) when
 * they lie in one PT_LOAD's file image. Returns 0 or -DDPROF_ERR_NOT_FOUND. */
int ddprof_elf_image_read(const struct ddprof_elf_image *img, uint64_t vaddr,
			  size_t len, const uint8_t **p);

#endif
