/* Per-file unwind tables: .eh_frame_hdr validated for libunwind, and a
 * small DWARF expression evaluator over libdw's .debug_frame rules. */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdw.h>
#include <libelf.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "unwind/cfi_table.h"

/* Bytes taken by a DW_EH_PE-encoded value of the header, 0 if unsupported. */
static unsigned enc_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		return 4;
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		return 8;
	default:
		return 0;
	}
}

static void parse_eh_frame_hdr(struct ddprof_cfi_table *t)
{
	const struct ddprof_elf_image *img = t->img;
	const uint8_t *h = img->data + img->eh_hdr_offset;
	unsigned ptr_len, cnt_len;
	uint64_t count = 0;

	if (!img->eh_hdr_vaddr || img->eh_hdr_size < 4 || h[0] != 1)
		return;
	ptr_len = enc_size(h[1]);
	cnt_len = enc_size(h[2]);
	/* libunwind's search wants datarel sdata4 pairs */
	if (!ptr_len || !cnt_len || h[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4) ||
	    4 + ptr_len + cnt_len > img->eh_hdr_size)
		return;
	memcpy(&count, h + 4 + ptr_len, cnt_len);
	if (count > (img->eh_hdr_size - 4 - ptr_len - cnt_len) / 8)
		return;
	t->table_vaddr = img->eh_hdr_vaddr + 4 + ptr_len + cnt_len;
	t->fde_count = count;
}

int ddprof_cfi_table_open(struct ddprof_cfi_table **out, pid_t pid,
			  const struct ddprof_map *map)
{
	struct ddprof_cfi_table *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	err = ddprof_elf_image_open(&t->img, pid, map);
	if (err) {
		free(t);
		return err;
	}
	parse_eh_frame_hdr(t);
	*out = t;
	return 0;
}

void ddprof_cfi_table_free(struct ddprof_cfi_table *t)
{
	if (!t)
		return;
	if (t->eh_cfi)
		dwarf_cfi_end(t->eh_cfi);
	if (t->dwarf)
		dwarf_end(t->dwarf);
	if (t->elf)
		elf_end(t->elf);
	ddprof_elf_image_free(t->img);
	free(t);
}

const uint8_t ddprof_cfi_saved_regs[DDPROF_CFI_NSAVED] = {
	3, 6, 12, 13, 14, 15, 16
};

/* Opens libdw's view of the image once: .eh_frame and .debug_frame. */
static void open_cfi(struct ddprof_cfi_table *t)
{
	if (t->cfi_tried)
		return;
	t->cfi_tried = true;
	elf_version(EV_CURRENT);
	t->elf = elf_memory((char *)t->img->data, t->img->size);
	if (!t->elf)
		return;
	t->eh_cfi = dwarf_getcfi_elf(t->elf);
	t->dwarf = dwarf_begin_elf(t->elf, DWARF_C_READ, NULL);
	if (t->dwarf)
		t->debug_cfi = dwarf_getcfi(t->dwarf);
}

/* Offset from the CFA of a location rendered by libdw as
 * "DW_OP_call_frame_cfa [+ n]"; false for anything else. */
static bool cfa_offset(const Dwarf_Op *ops, size_t nops, int64_t *off)
{
	if (!nops || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nops == 1) {
		*off = 0;
		return true;
	}
	if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		return true;
	}
	if (nops == 3 && (ops[1].atom == DW_OP_consts ||
			  ops[1].atom == DW_OP_constu) &&
	    (ops[2].atom == DW_OP_plus || ops[2].atom == DW_OP_minus)) {
		*off = ops[2].atom == DW_OP_plus ? (int64_t)ops[1].number :
						   -(int64_t)ops[1].number;
		return true;
	}
	return false;
}

static void compile(Dwarf_Frame *frame, struct ddprof_cfi_rule *rule)
{
	Dwarf_Addr start, end;
	Dwarf_Op *ops, mem[3];
	bool signal = false;
	size_t nops;

	rule->kind = DDPROF_CFI_RULE_COMPLEX;
	if (dwarf_frame_info(frame, &start, &end, &signal) < 0)
		return;
	rule->signal = signal;
	if (dwarf_frame_cfa(frame, &ops, &nops) || nops != 1)
		return;
	if (ops[0].atom == DW_OP_bregx && ops[0].number < 17) {
		rule->cfa_reg = ops[0].number;
		rule->cfa_off = (int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg16) {
		rule->cfa_reg = ops[0].atom - DW_OP_breg0;
		rule->cfa_off = (int64_t)ops[0].number;
	} else {
		return;
	}
	for (unsigned i = 0; i < DDPROF_CFI_NSAVED; i++) {
		int64_t off;

		if (dwarf_frame_register(frame, ddprof_cfi_saved_regs[i], mem,
					 &ops, &nops))
			return;
		if (!nops)
			rule->off[i] = ops ? DDPROF_CFI_UNDEF : DDPROF_CFI_SAME;
		else if (cfa_offset(ops, nops, &off) && off > -4096 && off < 4096)
			rule->off[i] = off;
		else
			return;
	}
	rule->kind = DDPROF_CFI_RULE_SIMPLE;
}

void ddprof_cfi_table_rule(struct ddprof_cfi_table *t, uint64_t vaddr,
			   struct ddprof_cfi_rule *rule)
{
	Dwarf_Frame *frame = NULL;

	memset(rule, 0, sizeof(*rule));
	rule->kind = DDPROF_CFI_RULE_NONE;
	open_cfi(t);
	if ((t->eh_cfi && !dwarf_cfi_addrframe(t->eh_cfi, vaddr, &frame)) ||
	    (t->debug_cfi && !dwarf_cfi_addrframe(t->debug_cfi, vaddr, &frame))) {
		compile(frame, rule);
		free(frame);
	}
}
