/* A decoded PERF_RECORD_SAMPLE: what the sampler hands to the unwinder.
 * Pointers point into the ring buffer (or a copy of a wrapped record) and
 * are valid only during the callback that delivers the sample. */
#ifndef DDPROF_PERF_SAMPLE_H
#define DDPROF_PERF_SAMPLE_H

#include <stdint.h>

#include "perf/regs.h"

struct ddprof_perf_sample {
	uint32_t pid, tid;
	uint64_t time;           /* perf clock (CLOCK_MONOTONIC), ns */
	uint32_t cpu;
	uint64_t period;         /* event units: ns for cpu-clock/task-clock */
	uint64_t ip;
	uint64_t nr_callchain;   /* entries in callchain, 0 when absent */
	const uint64_t *callchain; /* raw, with PERF_CONTEXT_* markers */
	uint64_t abi;            /* PERF_SAMPLE_REGS_ABI_*; 0: no user regs */
	uint64_t regs[DDPROF_PERF_REG_COUNT]; /* indexed by enum ddprof_perf_reg */
	uint64_t stack_size;     /* bytes reserved in the record for the stack */
	uint64_t dyn_size;       /* bytes of stack actually valid (<= stack_size) */
	const uint8_t *stack;    /* copy of user stack from regs[SP] upwards */
};

#endif
