/* Unwind information of one ELF file, parsed once and shared by every
 * process mapping it: the .eh_frame_hdr binary-search table handed to
 * libunwind, and .debug_frame (through libdw) for code without .eh_frame. */
#ifndef DDPROF_UNWIND_CFI_TABLE_H
#define DDPROF_UNWIND_CFI_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc/proc.h"
#include "unwind/elf_image.h"

struct ddprof_cfi_table {
	struct ddprof_elf_image *img; /* NULL: the file could not be used */
	uint64_t table_vaddr;         /* .eh_frame_hdr search table */
	uint32_t fde_count;           /* 0: no usable .eh_frame_hdr */
	bool debug_tried;             /* .debug_frame looked for */
	void *elf;                    /* Elf *, Dwarf *, Dwarf_CFI * */
	void *dwarf;
	void *debug_cfi;
};

/* Opens map's file of process pid and validates its .eh_frame_hdr.
 * Returns 0 and *out (free with ddprof_cfi_table_free), or a negative
 * error from ddprof_elf_image_open(). A file without .eh_frame_hdr is not
 * an error: fde_count is 0 and only .debug_frame can help. */
int ddprof_cfi_table_open(struct ddprof_cfi_table **out, pid_t pid,
			  const struct ddprof_map *map);

/* Frees the table and its image; accepts NULL. */
void ddprof_cfi_table_free(struct ddprof_cfi_table *t);

/* Reads 8 bytes of the unwound process at addr; 0 or negative. */
typedef int (*ddprof_cfi_read_fn)(void *arg, uint64_t addr, uint64_t *val);

/* One unwind step with .debug_frame: regs (DWARF numbering, 16 = rip) hold
 * the frame at regs[16], mapped with load bias; call_site says regs[16] is
 * a return address. On success regs hold the caller's frame (rip = its
 * pc, rsp = CFA) and 0 is returned; -DDPROF_ERR_NOT_FOUND when the file
 * has no .debug_frame entry for the pc, -DDPROF_ERR_FORMAT when the rule
 * cannot be evaluated or the stack would not move up. */
int ddprof_cfi_table_debug_step(struct ddprof_cfi_table *t, uint64_t bias,
				bool call_site, uint64_t regs[17],
				ddprof_cfi_read_fn read, void *arg);

#endif
