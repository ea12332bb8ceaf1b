/* Register and stack capture for offline unwinding tests. The capture is
 * in assembly so the registers are exactly those at a known pc, and the
 * stack copy is an uninstrumented rep movsb (the stack holds sanitizer
 * redzones that instrumented code may not read). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "../lib/uw_capture.h"

void uw_capture_regs(uint64_t *regs);
void uw_copy_bytes(void *dst, const void *src, size_t n);

/* regs in perf numbering: ax bx cx dx si di bp sp ip ... r8 (16) .. r15 */
__asm__(".text\n"
	".globl uw_capture_regs\n"
	".type uw_capture_regs,@function\n"
	"uw_capture_regs:\n"
	".cfi_startproc\n"
	"mov %rax, 0(%rdi)\n"
	"mov %rbx, 8(%rdi)\n"
	"mov %rcx, 16(%rdi)\n"
	"mov %rdx, 24(%rdi)\n"
	"mov %rsi, 32(%rdi)\n"
	"mov %rdi, 40(%rdi)\n"
	"mov %rbp, 48(%rdi)\n"
	"lea 8(%rsp), %rax\n"
	"mov %rax, 56(%rdi)\n"
	"mov (%rsp), %rax\n"
	"mov %rax, 64(%rdi)\n"
	"mov %r8, 128(%rdi)\n"
	"mov %r9, 136(%rdi)\n"
	"mov %r10, 144(%rdi)\n"
	"mov %r11, 152(%rdi)\n"
	"mov %r12, 160(%rdi)\n"
	"mov %r13, 168(%rdi)\n"
	"mov %r14, 176(%rdi)\n"
	"mov %r15, 184(%rdi)\n"
	"ret\n"
	".cfi_endproc\n"
	".size uw_capture_regs, .-uw_capture_regs\n"
	".globl uw_copy_bytes\n"
	".type uw_copy_bytes,@function\n"
	"uw_copy_bytes:\n"
	".cfi_startproc\n"
	"mov %rdx, %rcx\n"
	"rep movsb\n"
	"ret\n"
	".cfi_endproc\n"
	".size uw_copy_bytes, .-uw_copy_bytes\n");

static uint64_t stack_end(uint64_t sp)
{
	struct uw_maps maps;
	const struct ddprof_map *m;
	uint64_t end = sp;

	if (uw_maps_load(&maps, 0))
		return sp;
	m = uw_maps_find(&maps, sp);
	if (m)
		end = m->end;
	uw_maps_free(&maps);
	return end;
}

/* noinline and not a tail call: the caller's frame must be live */
__attribute__((noinline)) void uw_capture_here(struct uw_capture *c,
					       size_t max)
{
	uint64_t regs[DDPROF_PERF_REG_COUNT], end;

	uw_capture_regs(regs);
	/* the leaf is this function, at the return address of the capture */
	memcpy(c->regs, regs, sizeof(regs));
	end = stack_end(regs[DDPROF_PERF_REG_SP]);
	if (max > UW_CAPTURE_STACK)
		max = UW_CAPTURE_STACK;
	c->len = end - regs[DDPROF_PERF_REG_SP];
	if (c->len > max)
		c->len = max;
	uw_copy_bytes(c->stack, (const void *)(uintptr_t)regs[DDPROF_PERF_REG_SP],
		      c->len);
	__asm__ volatile("" ::: "memory");
}

void uw_capture_to_sample(const struct uw_capture *c, struct ddprof_perf_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->pid = getpid();
	s->tid = gettid();
	s->abi = PERF_SAMPLE_REGS_ABI_64;
	memcpy(s->regs, c->regs, sizeof(s->regs));
	s->ip = c->regs[DDPROF_PERF_REG_IP];
	s->stack_size = s->dyn_size = c->len;
	s->stack = c->stack;
}

int uw_maps_load(struct uw_maps *maps, pid_t pid)
{
	char path[64], *line = NULL;
	size_t len = 0, cap = 0;
	FILE *f;

	maps->m = NULL;
	maps->n = 0;
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &len, f) > 0) {
		uint64_t start, end, off, ino;
		unsigned maj, min;
		char perms[8];
		int pos = 0;
		struct ddprof_map *m;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &start, &end, perms, &off, &maj, &min, &ino, &pos) < 7)
			continue;
		if (maps->n == cap) {
			cap = cap ? 2 * cap : 64;
			maps->m = realloc(maps->m, cap * sizeof(*maps->m));
		}
		line[strcspn(line, "\n")] = 0;
		m = &maps->m[maps->n++];
		*m = (struct ddprof_map){
			.start = start, .end = end, .pgoff = off,
			.prot = (perms[0] == 'r' ? PROT_READ : 0) |
				(perms[1] == 'w' ? PROT_WRITE : 0) |
				(perms[2] == 'x' ? PROT_EXEC : 0),
			.dev = makedev(maj, min), .ino = ino,
			.path = strdup(pos ? line + pos : ""),
		};
	}
	free(line);
	fclose(f);
	return 0;
}

void uw_maps_free(struct uw_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		free((char *)maps->m[i].path);
	free(maps->m);
	maps->m = NULL;
	maps->n = 0;
}

const struct ddprof_map *uw_maps_find(void *arg, uint64_t addr)
{
	const struct uw_maps *maps = arg;
	size_t lo = 0, hi = maps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < maps->m[mid].start)
			hi = mid;
		else if (addr >= maps->m[mid].end)
			lo = mid + 1;
		else
			return &maps->m[mid];
	}
	return NULL;
}
