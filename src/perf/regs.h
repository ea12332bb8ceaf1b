/* The user registers sampled with PERF_SAMPLE_REGS_USER on x86_64, in the
 * kernel's numbering (arch/x86/include/uapi/asm/perf_regs.h). */
#ifndef DDPROF_PERF_REGS_H
#define DDPROF_PERF_REGS_H

enum ddprof_perf_reg {
	DDPROF_PERF_REG_AX = 0,
	DDPROF_PERF_REG_BX,
	DDPROF_PERF_REG_CX,
	DDPROF_PERF_REG_DX,
	DDPROF_PERF_REG_SI,
	DDPROF_PERF_REG_DI,
	DDPROF_PERF_REG_BP,
	DDPROF_PERF_REG_SP,
	DDPROF_PERF_REG_IP,
	DDPROF_PERF_REG_FLAGS,
	DDPROF_PERF_REG_CS,
	DDPROF_PERF_REG_SS,
	DDPROF_PERF_REG_DS,
	DDPROF_PERF_REG_ES,
	DDPROF_PERF_REG_FS,
	DDPROF_PERF_REG_GS,
	DDPROF_PERF_REG_R8,
	DDPROF_PERF_REG_R9,
	DDPROF_PERF_REG_R10,
	DDPROF_PERF_REG_R11,
	DDPROF_PERF_REG_R12,
	DDPROF_PERF_REG_R13,
	DDPROF_PERF_REG_R14,
	DDPROF_PERF_REG_R15,
	DDPROF_PERF_REG_COUNT
};

/* Registers requested: the general-purpose ones, IP and SP; segments and
 * flags are of no use to unwinding. Delivered in ascending bit order. */
#define DDPROF_PERF_REGS_MASK                                                  \
	(((1ULL << (DDPROF_PERF_REG_IP + 1)) - 1) |                            \
	 (0xffULL << DDPROF_PERF_REG_R8))

#endif
