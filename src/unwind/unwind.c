/* Remote unwinding of perf samples. Each pid gets a libunwind address
 * space whose accessors read the copied stack, the sampled registers and
 * the ELF files (.eh_frame_hdr tables cached per file, so one libc serves
 * every process). Debian's libunwind takes a lock that blocks signals (two
 * syscalls) around every cached step, so simple CFI rules (CFA = reg +
 * off, registers saved at CFA + off: nearly every frame) are compiled once
 * per pc from libdw's CFI and applied here; libunwind steps the rest. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libunwind.h>
#include <linux/perf_event.h>

#include "common/log.h"
#include "ddprof/error.h"
#include "unwind/cfi_table.h"
#include "unwind/file_cache.h"
#include "unwind/unwind.h"
#include "unwind/unwind_fp.h"

#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)
extern int dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
				     unw_dyn_info_t *di, unw_proc_info_t *pi,
				     int need_unwind_info, void *arg);

#define UW_SPACES 8     /* address spaces: pids unwound in turn */
#define UW_WINDOWS 16   /* file-backed read-only ranges per pid */
#define UW_MAX_FILES 256
#define UW_RED_ZONE 128
#define UW_NREGS 17     /* DWARF numbering: rax..r15, rip */
#define UW_MAX_RULES 16384 /* per pid (40 bytes each), then start over */

/* A read-only file range of one process: [lo, hi) maps to data. */
struct uw_window {
	uint64_t lo, hi;
	const uint8_t *data;
};

struct uw_space {
	pid_t pid;
	unw_addr_space_t as;
	uint64_t last_use;
	unsigned nwin, next_win;
	struct uw_window win[UW_WINDOWS];
	struct ddprof_u64map rule_index; /* lookup pc -> rules[] */
	struct ddprof_cfi_rule *rules;
	size_t nrules, cap_rules;
};

/* State of the sample being unwound, handed to the accessors. */
struct uw_ctx {
	struct ddprof_unwind *u;
	struct uw_space *space;
	const struct ddprof_perf_sample *s;
	ddprof_find_map_fn find_map;
	void *fm_arg;
	uint64_t regs[UW_NREGS];
	uint64_t stack_lo, stack_hi; /* valid copy: [regs SP, + dyn_size) */
	const struct ddprof_map *recent[2]; /* maps found during this sample */
	const uint8_t *stack;
	bool noinfo, unmapped, exhausted;
};

struct ddprof_unwind {
	struct uw_space spaces[UW_SPACES];
	uint64_t clock;
	uint64_t max_stack;              /* the kernel's callchain limit */
	struct ddprof_file_cache tables; /* (dev, ino) -> struct ddprof_cfi_table */
	struct ddprof_unwind_stats stats;
};

/* perf register numbers of the DWARF registers 0..16 */
static const uint8_t dwarf_to_perf[UW_NREGS] = {
	DDPROF_PERF_REG_AX, DDPROF_PERF_REG_DX, DDPROF_PERF_REG_CX,
	DDPROF_PERF_REG_BX, DDPROF_PERF_REG_SI, DDPROF_PERF_REG_DI,
	DDPROF_PERF_REG_BP, DDPROF_PERF_REG_SP, DDPROF_PERF_REG_R8,
	DDPROF_PERF_REG_R9, DDPROF_PERF_REG_R10, DDPROF_PERF_REG_R11,
	DDPROF_PERF_REG_R12, DDPROF_PERF_REG_R13, DDPROF_PERF_REG_R14,
	DDPROF_PERF_REG_R15, DDPROF_PERF_REG_IP,
};

/* The process table's lookup costs a search per call; consecutive frames
 * mostly share a mapping, and map pointers hold for the whole sample. */
static const struct ddprof_map *find_map_cached(struct uw_ctx *ctx,
						uint64_t addr)
{
	const struct ddprof_map *m;

	for (unsigned i = 0; i < 2; i++) {
		m = ctx->recent[i];
		if (m && addr >= m->start && addr < m->end)
			return m;
	}
	m = ctx->find_map(ctx->fm_arg, addr);
	if (m) {
		ctx->recent[1] = ctx->recent[0];
		ctx->recent[0] = m;
	}
	return m;
}

static void table_free(void *p)
{
	ddprof_cfi_table_free(p);
}

/* Returns the cached table of map's file, loading it on first use; NULL
 * when the file cannot be used (remembered, so it is tried once). */
static struct ddprof_cfi_table *table_get(struct uw_ctx *ctx,
					  const struct ddprof_map *map)
{
	struct ddprof_unwind *u = ctx->u;
	struct ddprof_cfi_table *t;
	uint64_t dev, ino;
	int err;

	if (!ddprof_elf_image_key(map, &dev, &ino))
		return NULL;
	t = ddprof_file_cache_get(&u->tables, dev, ino);
	if (t)
		return t->img ? t : NULL;
	err = ddprof_cfi_table_open(&t, ctx->s->pid, map);
	if (err) {
		u->stats.tables_failed++;
		pr_info("unwind: %s skipped: %s", map->path, ddprof_strerror(err));
		/* an empty table remembers the failure */
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
	} else {
		u->stats.tables_loaded++;
	}
	if (ddprof_file_cache_put(&u->tables, dev, ino, t)) {
		ddprof_cfi_table_free(t);
		return NULL;
	}
	if (ddprof_file_cache_trim(&u->tables, UW_MAX_FILES))
		/* windows may point into an evicted file */
		for (unsigned i = 0; i < UW_SPACES; i++)
			u->spaces[i].nwin = 0;
	return t->img ? t : NULL;
}

/* Remembers the read-only PT_LOADs of t's file as mapped with bias. */
static void add_windows(struct uw_space *sp, const struct ddprof_cfi_table *t,
			uint64_t bias)
{
	const struct ddprof_elf_image *img = t->img;

	for (unsigned i = 0; i < img->nr_loads; i++) {
		const struct ddprof_elf_load *l = &img->loads[i];
		uint64_t lo = l->vaddr + bias;
		unsigned j;

		if (l->flags & PF_W)
			continue;
		for (j = 0; j < sp->nwin; j++)
			if (sp->win[j].lo == lo)
				break;
		if (j < sp->nwin)
			continue;
		if (sp->nwin < UW_WINDOWS) {
			j = sp->nwin++;
		} else {
			j = sp->next_win;
			sp->next_win = (sp->next_win + 1) % UW_WINDOWS;
		}
		sp->win[j] = (struct uw_window){ lo, lo + l->filesz,
						 img->data + l->offset };
	}
}

static int read_file_backed(struct uw_ctx *ctx, uint64_t addr, uint64_t *val)
{
	struct uw_space *sp = ctx->space;
	const struct ddprof_map *map;
	struct ddprof_cfi_table *t;
	uint64_t bias;

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < sp->nwin; i++) {
			const struct uw_window *w = &sp->win[i];

			/* no addr + 8: it wraps for addresses near 2^64 */
			if (addr >= w->lo && addr < w->hi && w->hi - addr >= 8) {
				memcpy(val, w->data + (addr - w->lo), 8);
				return 0;
			}
		}
		if (pass)
			break;
		map = ctx->find_map(ctx->fm_arg, addr);
		if (!map || (map->prot & PROT_WRITE))
			return -1;
		t = table_get(ctx, map);
		if (!t || ddprof_elf_image_bias(t->img, map, &bias))
			return -1;
		add_windows(sp, t, bias);
	}
	return -1;
}

static int uw_access_mem(unw_addr_space_t as, unw_word_t addr,
			 unw_word_t *valp, int write, void *arg)
{
	struct uw_ctx *ctx = arg;

	if (write)
		return -UNW_EINVAL;
	if (addr >= ctx->stack_lo && addr < ctx->stack_hi &&
	    ctx->stack_hi - addr >= 8) {
		memcpy(valp, ctx->stack + (addr - ctx->stack_lo), 8);
		return 0;
	}
	/* below SP: the leaf's red zone was not copied; never guess */
	if (addr < ctx->stack_lo && addr + UW_RED_ZONE >= ctx->stack_lo)
		return -UNW_EINVAL;
	if (!read_file_backed(ctx, addr, valp))
		return 0;
	if (addr >= ctx->stack_lo)
		ctx->exhausted = true;
	return -UNW_EINVAL;
}

static int uw_access_reg(unw_addr_space_t as, unw_regnum_t reg,
			 unw_word_t *valp, int write, void *arg)
{
	struct uw_ctx *ctx = arg;

	if (write)
		return -UNW_EREADONLYREG;
	if (reg < 0 || reg >= UW_NREGS)
		return -UNW_EBADREG;
	*valp = ctx->regs[reg];
	return 0;
}

static int uw_access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			   unw_fpreg_t *val, int write, void *arg)
{
	return -UNW_EBADREG;
}

static int uw_find_proc_info(unw_addr_space_t as, unw_word_t ip,
			     unw_proc_info_t *pi, int need_unwind_info,
			     void *arg)
{
	struct uw_ctx *ctx = arg;
	const struct ddprof_map *map = find_map_cached(ctx, ip);
	struct ddprof_cfi_table *t;
	unw_dyn_info_t di;
	uint64_t bias;
	int ret;

	if (!map) {
		ctx->unmapped = ctx->noinfo = true;
		return -UNW_ENOINFO;
	}
	t = table_get(ctx, map);
	if (!t || !t->fde_count || ddprof_elf_image_bias(t->img, map, &bias)) {
		ctx->noinfo = true;
		return -UNW_ENOINFO;
	}
	add_windows(ctx->space, t, bias);
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = map->start;
	di.end_ip = map->end;
	di.u.rti.segbase = t->img->eh_hdr_vaddr + bias;
	di.u.rti.table_data = t->table_vaddr + bias;
	di.u.rti.table_len = t->fde_count * 8 / sizeof(unw_word_t);
	ret = dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
	if (ret == -UNW_ENOINFO)
		ctx->noinfo = true;
	return ret;
}

static void uw_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi,
			       void *arg)
{
	/* libunwind frees the DWARF info it allocated itself */
}

static int uw_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dilap,
				     void *arg)
{
	return -UNW_ENOINFO;
}

static int uw_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
			    size_t len, unw_word_t *offp, void *arg)
{
	return -UNW_ENOINFO; /* the symbolizer names frames */
}

static unw_accessors_t uw_accessors = {
	.find_proc_info = uw_find_proc_info,
	.put_unwind_info = uw_put_unwind_info,
	.get_dyn_info_list_addr = uw_get_dyn_info_list_addr,
	.access_mem = uw_access_mem,
	.access_reg = uw_access_reg,
	.access_fpreg = uw_access_fpreg,
	.resume = NULL,
	.get_proc_name = uw_get_proc_name,
};

int ddprof_unwind_new(struct ddprof_unwind **out)
{
	struct ddprof_unwind *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	ddprof_file_cache_init(&u->tables, table_free);
	u->max_stack = ddprof_unwind_fp_max_stack();
	for (unsigned i = 0; i < UW_SPACES; i++) {
		unw_addr_space_t as = unw_create_addr_space(&uw_accessors, 0);

		if (!as) {
			ddprof_unwind_free(u);
			return -DDPROF_ERR_UNSUPPORTED;
		}
		/* one cache per address space (= per pid). Debian's build has
		 * no __thread support, so PER_THREAD would become GLOBAL
		 * anyway, and GLOBAL blocks signals around every step. */
		unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
		/* 2^10 register-rule entries: a busy process's hot pcs */
		unw_set_cache_size(as, 1024, 0);
		u->spaces[i].as = as;
		u->spaces[i].pid = -1;
	}
	*out = u;
	return 0;
}

void ddprof_unwind_free(struct ddprof_unwind *u)
{
	if (!u)
		return;
	for (unsigned i = 0; i < UW_SPACES; i++) {
		if (u->spaces[i].as)
			unw_destroy_addr_space(u->spaces[i].as);
		ddprof_u64map_fini(&u->spaces[i].rule_index);
		free(u->spaces[i].rules);
	}
	ddprof_file_cache_fini(&u->tables);
	free(u);
}

static void rules_clear(struct uw_space *sp)
{
	ddprof_u64map_clear(&sp->rule_index);
	sp->nrules = 0;
}

static void space_reset(struct uw_space *sp, pid_t pid)
{
	unw_flush_cache(sp->as, 0, 0);
	rules_clear(sp);
	sp->pid = pid;
	sp->nwin = sp->next_win = 0;
}

static struct uw_space *space_for(struct ddprof_unwind *u, pid_t pid)
{
	struct uw_space *old = &u->spaces[0];

	for (unsigned i = 0; i < UW_SPACES; i++) {
		struct uw_space *sp = &u->spaces[i];

		if (sp->pid == pid) {
			sp->last_use = ++u->clock;
			return sp;
		}
		if (sp->last_use < old->last_use)
			old = sp;
	}
	space_reset(old, pid);
	old->last_use = ++u->clock;
	return old;
}

void ddprof_unwind_forget_pid(struct ddprof_unwind *u, pid_t pid)
{
	for (unsigned i = 0; u && i < UW_SPACES; i++)
		if (u->spaces[i].pid == pid) {
			space_reset(&u->spaces[i], -1);
			u->spaces[i].last_use = 0;
		}
}

void ddprof_unwind_evict_file(struct ddprof_unwind *u, uint64_t dev,
			      uint64_t ino)
{
	if (!u || !ddprof_file_cache_del(&u->tables, dev, ino))
		return;
	for (unsigned i = 0; i < UW_SPACES; i++) {
		u->spaces[i].nwin = 0;
		rules_clear(&u->spaces[i]);
	}
}

const struct ddprof_unwind_stats *ddprof_unwind_stats(const struct ddprof_unwind *u)
{
	return &u->stats;
}

static bool push(struct ddprof_unwind_result *res, uint64_t pc,
		 const struct ddprof_map *map, uint8_t kind, bool call_site)
{
	if (res->nr == DDPROF_UNWIND_MAX_DEPTH)
		return false;
	res->frames[res->nr++] = (struct ddprof_frame){
		.pc = pc, .map = map, .kind = kind, .call_site = call_site
	};
	return true;
}

/* Copies the kernel part of the callchain; returns the index of the first
 * user entry (after PERF_CONTEXT_USER) or nr when there is none. */
static uint64_t kernel_frames(const struct ddprof_perf_sample *s,
			      struct ddprof_unwind_result *res)
{
	uint64_t i, user = s->nr_callchain;
	bool kernel = false;

	for (i = 0; i < s->nr_callchain; i++) {
		uint64_t pc = s->callchain[i];

		if (pc >= PERF_CONTEXT_MAX) {
			kernel = pc == PERF_CONTEXT_KERNEL;
			if (pc == PERF_CONTEXT_USER) {
				user = i + 1;
				break;
			}
			continue;
		}
		if (kernel && push(res, pc, NULL, DDPROF_FRAME_KERNEL, false))
			res->nr_kernel++;
	}
	return user;
}

/* The rule for lookup address pc (cached per pid), or NULL when the
 * cache cannot grow. */
static const struct ddprof_cfi_rule *rule_for(struct uw_ctx *ctx,
					      const struct ddprof_map *map,
					      uint64_t pc)
{
	struct uw_space *sp = ctx->space;
	uint64_t *idx = ddprof_u64map_get(&sp->rule_index, pc), bias;
	struct ddprof_cfi_table *t;
	struct ddprof_cfi_rule *r;

	if (idx)
		return &sp->rules[*idx];
	if (sp->nrules == UW_MAX_RULES)
		rules_clear(sp);
	if (sp->nrules == sp->cap_rules) {
		size_t cap = sp->cap_rules ? 2 * sp->cap_rules : 256;
		void *p = realloc(sp->rules, cap * sizeof(*sp->rules));

		if (!p)
			return NULL;
		sp->rules = p;
		sp->cap_rules = cap;
	}
	r = &sp->rules[sp->nrules];
	t = table_get(ctx, map);
	if (!t || ddprof_elf_image_bias(t->img, map, &bias)) {
		memset(r, 0, sizeof(*r));
		r->kind = DDPROF_CFI_RULE_NONE;
	} else {
		ddprof_cfi_table_rule(t, pc - bias, r);
	}
	if (ddprof_u64map_put(&sp->rule_index, pc, sp->nrules))
		return NULL;
	return &sp->rules[sp->nrules++];
}

static int read_mem(void *arg, uint64_t addr, uint64_t *val)
{
	return uw_access_mem(NULL, addr, val, 0, arg) ? -1 : 0;
}

/* Applies a simple rule to ctx->regs. Returns 1 (stepped), 0 (outermost
 * frame), or a negative stop reason. */
static int apply_rule(struct uw_ctx *ctx, const struct ddprof_cfi_rule *r)
{
	uint64_t regs[UW_NREGS], cfa;

	if (r->off[DDPROF_CFI_NSAVED - 1] == DDPROF_CFI_UNDEF)
		return 0;
	memcpy(regs, ctx->regs, sizeof(regs));
	cfa = ctx->regs[r->cfa_reg] + (int64_t)r->cfa_off;
	for (unsigned i = 0; i < DDPROF_CFI_NSAVED; i++) {
		int32_t off = r->off[i];

		if (off == DDPROF_CFI_SAME || off == DDPROF_CFI_UNDEF)
			continue;
		if (read_mem(ctx, cfa + off, &regs[ddprof_cfi_saved_regs[i]]))
			return ctx->exhausted ? -DDPROF_UNWIND_STOP_STACK :
						-DDPROF_UNWIND_STOP_ERROR;
	}
	/* the stack only grows down: anything else is a loop */
	if (cfa <= ctx->regs[7])
		return -DDPROF_UNWIND_STOP_ERROR;
	regs[7] = cfa;
	memcpy(ctx->regs, regs, sizeof(regs));
	return 1;
}

/* One step with libunwind for rules the fast path does not apply
 * (DWARF expressions: PLT stubs, signal trampolines). Same returns. */
static int libunwind_step(struct uw_ctx *ctx)
{
	unw_cursor_t c;
	int r;

	if (unw_init_remote(&c, ctx->space->as, ctx))
		return -DDPROF_UNWIND_STOP_ERROR;
	ctx->noinfo = ctx->unmapped = ctx->exhausted = false;
	r = unw_step(&c);
	if (ctx->noinfo)
		return ctx->unmapped ? -DDPROF_UNWIND_STOP_UNMAPPED :
				       -DDPROF_UNWIND_STOP_NO_CFI;
	if (r == 0)
		return 0;
	if (r < 0)
		return ctx->exhausted ? -DDPROF_UNWIND_STOP_STACK :
					-DDPROF_UNWIND_STOP_ERROR;
	for (unsigned i = 0; i < UW_NREGS; i++) {
		unw_word_t v;

		if (!unw_get_reg(&c, i, &v))
			ctx->regs[i] = v;
	}
	return 1;
}

/* Walks the user stack from ctx->regs, appending frames: cached simple
 * CFI rules are applied directly (a few loads per frame), the rest goes
 * through libunwind. */
static void walk(struct uw_ctx *ctx, struct ddprof_unwind_result *res)
{
	bool call_site = false;

	for (;;) {
		uint64_t ip = ctx->regs[16];
		const struct ddprof_map *map = find_map_cached(ctx, ip);
		const struct ddprof_cfi_rule *rule;
		int r;

		if (!push(res, ip, map, map ? DDPROF_FRAME_USER :
				       DDPROF_FRAME_UNMAPPED, call_site)) {
			res->stop = DDPROF_UNWIND_STOP_DEPTH;
			return;
		}
		if (!map) {
			res->stop = DDPROF_UNWIND_STOP_UNMAPPED;
			return;
		}
		/* a return address may follow the last instruction of its
		 * function: look up the call instead */
		rule = rule_for(ctx, map, ip - call_site);
		if (!rule) {
			res->stop = DDPROF_UNWIND_STOP_ERROR;
			return;
		}
		ctx->exhausted = false;
		if (rule->kind == DDPROF_CFI_RULE_NONE)
			r = -DDPROF_UNWIND_STOP_NO_CFI;
		else if (rule->kind == DDPROF_CFI_RULE_SIMPLE)
			r = apply_rule(ctx, rule);
		else
			r = libunwind_step(ctx);
		if (r <= 0) {
			res->stop = r ? -r : DDPROF_UNWIND_STOP_ROOT;
			return;
		}
		if (!ctx->regs[16]) {
			res->stop = DDPROF_UNWIND_STOP_ERROR;
			return;
		}
		call_site = !rule->signal;
	}
}

int ddprof_unwind_sample(struct ddprof_unwind *u, const struct ddprof_perf_sample *s,
			 ddprof_find_map_fn find_map, void *arg,
			 struct ddprof_unwind_result *res)
{
	struct uw_ctx ctx;
	uint64_t user;
	unsigned first_user;

	if (!u || !s || !find_map || !res)
		return -DDPROF_ERR_INVALID;
	res->nr = res->nr_kernel = res->nr_fp = 0;
	res->complete = res->truncated = res->incomplete = false;
	u->stats.samples++;
	user = kernel_frames(s, res);
	first_user = res->nr;
	if (!s->abi) {
		res->stop = DDPROF_UNWIND_STOP_NO_USER;
		/* kernel threads have no user part: that is their whole stack */
		res->complete = s->nr_callchain && user == s->nr_callchain &&
				res->nr_kernel;
		goto out;
	}
	ctx = (struct uw_ctx){
		.u = u, .s = s, .find_map = find_map, .fm_arg = arg,
		.space = space_for(u, s->pid),
		.stack = s->stack,
		.stack_lo = s->regs[DDPROF_PERF_REG_SP],
	};
	ctx.stack_hi = ctx.stack_lo + (s->stack ? s->dyn_size : 0);
	for (unsigned i = 0; i < UW_NREGS; i++)
		ctx.regs[i] = s->regs[dwarf_to_perf[i]];
	walk(&ctx, res);
	switch (res->stop) {
	case DDPROF_UNWIND_STOP_ROOT:
		res->complete = true;
		break;
	case DDPROF_UNWIND_STOP_STACK:
		u->stats.stack_exhausted++;
		break;
	case DDPROF_UNWIND_STOP_NO_CFI:
		u->stats.no_cfi++;
		break;
	case DDPROF_UNWIND_STOP_UNMAPPED:
		u->stats.unmapped++;
		break;
	case DDPROF_UNWIND_STOP_ERROR:
		u->stats.errors++;
		break;
	}
	if (!res->complete && user < s->nr_callchain &&
	    (res->stop == DDPROF_UNWIND_STOP_STACK ||
	     res->stop == DDPROF_UNWIND_STOP_NO_CFI ||
	     res->stop == DDPROF_UNWIND_STOP_ERROR)) {
		unsigned before = res->nr;

		ddprof_unwind_fp_continue(res, first_user, s->callchain + user,
					  s->nr_callchain - user, s->nr_callchain,
					  u->max_stack, find_map, arg);
		if (res->nr > before) {
			u->stats.fp_used++;
			u->stats.fp_frames += res->nr - before;
			if (res->complete)
				u->stats.fp_completed++;
		}
	}
out:
	if (res->stop == DDPROF_UNWIND_STOP_DEPTH || res->nr == DDPROF_UNWIND_MAX_DEPTH) {
		res->truncated = true;
		res->complete = false;
		u->stats.truncated++;
		res->frames[res->nr++] = (struct ddprof_frame){
			.kind = DDPROF_FRAME_TRUNCATED };
	} else if (!res->complete && res->stop != DDPROF_UNWIND_STOP_NO_USER) {
		res->incomplete = true;
		res->frames[res->nr++] = (struct ddprof_frame){
			.kind = DDPROF_FRAME_INCOMPLETE };
	}
	if (res->complete)
		u->stats.complete++;
	return 0;
}
