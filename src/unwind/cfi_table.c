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
	if (t->dwarf)
		dwarf_end(t->dwarf);
	if (t->elf)
		elf_end(t->elf);
	ddprof_elf_image_free(t->img);
	free(t);
}

static Dwarf_CFI *debug_cfi(struct ddprof_cfi_table *t)
{
	if (t->debug_tried)
		return t->debug_cfi;
	t->debug_tried = true;
	if (!t->img->mapped)
		return NULL;
	elf_version(EV_CURRENT);
	t->elf = elf_memory((char *)t->img->data, t->img->size);
	if (!t->elf)
		return NULL;
	t->dwarf = dwarf_begin_elf(t->elf, DWARF_C_READ, NULL);
	if (t->dwarf)
		t->debug_cfi = dwarf_getcfi(t->dwarf);
	return t->debug_cfi;
}

/* Evaluates a location expression as libdw renders CFI rules. *is_value
 * tells a value (DW_OP_stack_value) from an address. */
static int eval(const Dwarf_Op *ops, size_t nops, uint64_t cfa,
		const uint64_t *regs, ddprof_cfi_read_fn read, void *arg,
		uint64_t *res, bool *is_value)
{
	uint64_t st[8];
	unsigned n = 0;

	*is_value = false;
	for (size_t i = 0; i < nops; i++) {
		uint8_t op = ops[i].atom;

		if (n == 8)
			return -DDPROF_ERR_FORMAT;
		if (op >= DW_OP_breg0 && op <= DW_OP_breg16) {
			st[n++] = regs[op - DW_OP_breg0] + (int64_t)ops[i].number;
		} else if (op == DW_OP_bregx && ops[i].number < 17) {
			st[n++] = regs[ops[i].number] + (int64_t)ops[i].number2;
		} else if (op >= DW_OP_lit0 && op <= DW_OP_lit31) {
			st[n++] = op - DW_OP_lit0;
		} else if (op == DW_OP_call_frame_cfa) {
			st[n++] = cfa;
		} else if (op == DW_OP_consts || op == DW_OP_constu ||
			   op == DW_OP_const1u || op == DW_OP_const1s ||
			   op == DW_OP_const2u || op == DW_OP_const2s ||
			   op == DW_OP_const4u || op == DW_OP_const4s ||
			   op == DW_OP_const8u || op == DW_OP_const8s) {
			st[n++] = ops[i].number;
		} else if (op == DW_OP_plus_uconst && n) {
			st[n - 1] += ops[i].number;
		} else if ((op == DW_OP_plus || op == DW_OP_minus) && n >= 2) {
			n--;
			st[n - 1] = op == DW_OP_plus ? st[n - 1] + st[n] :
						       st[n - 1] - st[n];
		} else if (op == DW_OP_deref && n) {
			if (read(arg, st[n - 1], &st[n - 1]))
				return -DDPROF_ERR_FORMAT;
		} else if (op == DW_OP_stack_value && i + 1 == nops) {
			*is_value = true;
		} else {
			return -DDPROF_ERR_FORMAT;
		}
	}
	if (n != 1)
		return -DDPROF_ERR_FORMAT;
	*res = st[0];
	return 0;
}

int ddprof_cfi_table_debug_step(struct ddprof_cfi_table *t, uint64_t bias,
				bool call_site, uint64_t regs[17],
				ddprof_cfi_read_fn read, void *arg)
{
	static const uint8_t saved[] = { 3, 6, 12, 13, 14, 15, 16 };
	Dwarf_CFI *cfi = debug_cfi(t);
	uint64_t out[17], cfa;
	Dwarf_Frame *frame;
	Dwarf_Op *ops, mem[3];
	size_t nops;
	bool is_value;
	int err = -DDPROF_ERR_FORMAT;

	if (!cfi || dwarf_cfi_addrframe(cfi, regs[16] - bias - call_site,
					&frame))
		return -DDPROF_ERR_NOT_FOUND;
	if (dwarf_frame_cfa(frame, &ops, &nops) ||
	    eval(ops, nops, 0, regs, read, arg, &cfa, &is_value))
		goto out;
	memcpy(out, regs, sizeof(out));
	for (unsigned i = 0; i < sizeof(saved); i++) {
		unsigned r = saved[i];
		uint64_t v;

		if (dwarf_frame_register(frame, r, mem, &ops, &nops))
			goto out;
		if (!nops) {
			/* ops = mem: undefined; an undefined return address
			 * marks the outermost frame. NULL: same value */
			if (ops && r == 16)
				goto out;
			continue;
		}
		if (eval(ops, nops, cfa, regs, read, arg, &v, &is_value) ||
		    (!is_value && read(arg, v, &v)))
			goto out;
		out[r] = v;
	}
	if (cfa <= regs[7] || !out[16])
		goto out;
	out[7] = cfa;
	memcpy(regs, out, sizeof(out));
	err = 0;
out:
	free(frame);
	return err;
}
