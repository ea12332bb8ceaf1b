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
	bool cfi_tried;               /* libdw opened on the image */
	void *elf;                    /* Elf *, Dwarf *, Dwarf_CFI * x2 */
	void *dwarf;
	void *eh_cfi;
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

/* Registers a rule restores, DWARF numbers: rbx, rbp, r12-r15, rip. */
#define DDPROF_CFI_NSAVED 7
extern const uint8_t ddprof_cfi_saved_regs[DDPROF_CFI_NSAVED];

#define DDPROF_CFI_SAME INT32_MIN        /* register keeps its value */
#define DDPROF_CFI_UNDEF (INT32_MIN + 1) /* not recoverable */

enum ddprof_cfi_rule_kind {
	DDPROF_CFI_RULE_SIMPLE = 0, /* CFA = reg + off, regs at CFA + off */
	DDPROF_CFI_RULE_COMPLEX,    /* expressions: let libunwind step */
	DDPROF_CFI_RULE_NONE,       /* no CFI covers the address */
};

/* The unwind rule in force at one address, in the form the fast path
 * applies without interpreting DWARF. */
struct ddprof_cfi_rule {
	uint8_t kind;
	uint8_t cfa_reg;
	bool signal;       /* a signal trampoline: the caller is no call site */
	int32_t cfa_off;
	int32_t off[DDPROF_CFI_NSAVED]; /* from the CFA, or SAME / UNDEF */
};

/* Computes the rule at ELF address vaddr from .eh_frame, else from
 * .debug_frame (libdw's CFI). Always fills *rule (kind NONE when no CFI
 * covers vaddr). */
void ddprof_cfi_table_rule(struct ddprof_cfi_table *t, uint64_t vaddr,
			   struct ddprof_cfi_rule *rule);

#endif
