/* Lifecycle of a profile: creation, configuration copies, the cheap reset
 * that swaps stores, and the start time. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "ddprof/error.h"
#include "profile_int.h"

/* Id generations are global so ids of one profile are also stale in
 * another; atomic because different threads may own different profiles. */
static uint32_t next_gen = 1;

static uint32_t new_gen(void)
{
	uint32_t g;

	do
		g = __atomic_fetch_add(&next_gen, 1, __ATOMIC_RELAXED);
	while (g == 0);
	return g;
}

int64_t ddprof_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static char *dup_cstr(const char *s)
{
	size_t n = strlen(s ? s : "") + 1;
	char *d = ddprof_palloc(n);

	if (d)
		memcpy(d, s ? s : "", n);
	return d;
}

static int intern_cfg(struct ddprof_store *st, const char *s, uint32_t *idx)
{
	size_t len = strlen(s);

	return ddprof_store_intern_str(st, s, len, ddprof_store_str_hash(s, len), idx);
}

static void box_free(struct ddprof_pbox *b)
{
	if (!b)
		return;
	ddprof_store_fini(&b->st);
	ddprof_pfree(b);
}

/* A fresh store with p's configuration strings interned. */
static int box_new(const struct ddprof_profile *p, struct ddprof_pbox **out)
{
	struct ddprof_pbox *b = ddprof_pcalloc(1, sizeof(*b));
	int rc = -ENOMEM;

	if (!b)
		return -ENOMEM;
	if (ddprof_store_init(&b->st, (uint32_t)p->ntypes))
		goto err_free;
	for (size_t i = 0; i < p->ntypes; i++) {
		rc = intern_cfg(&b->st, p->types[i].type, &b->type_strs[2 * i]);
		if (!rc)
			rc = intern_cfg(&b->st, p->types[i].unit, &b->type_strs[2 * i + 1]);
		if (rc)
			goto err_fini;
	}
	if (p->has_period) {
		rc = intern_cfg(&b->st, p->period_type.type, &b->period_strs[0]);
		if (!rc)
			rc = intern_cfg(&b->st, p->period_type.unit, &b->period_strs[1]);
		if (rc)
			goto err_fini;
	}
	*out = b;
	return 0;
err_fini:
	ddprof_store_fini(&b->st);
err_free:
	ddprof_pfree(b);
	return rc;
}

/* Allocates a profile object with a copy of the configuration of the
 * given types/period and scratch buffers, but no store. */
static int profile_shell(struct ddprof_profile **out,
			 const struct ddprof_value_type *types, size_t ntypes,
			 const struct ddprof_value_type *period_type,
			 int64_t period)
{
	struct ddprof_profile *p = ddprof_pcalloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->ntypes = ntypes;
	p->default_type = ntypes - 1;
	p->types = ddprof_pcalloc(ntypes, sizeof(*p->types));
	if (!p->types)
		goto err;
	for (size_t i = 0; i < ntypes; i++) {
		p->types[i].type = dup_cstr(types[i].type);
		p->types[i].unit = dup_cstr(types[i].unit);
		if (!p->types[i].type || !p->types[i].unit)
			goto err;
	}
	if (period_type) {
		p->has_period = 1;
		p->period = period;
		p->period_type.type = dup_cstr(period_type->type);
		p->period_type.unit = dup_cstr(period_type->unit);
		if (!p->period_type.type || !p->period_type.unit)
			goto err;
	}
	p->scr_locs = ddprof_palloc(DDPROF_PROFILE_MAX_FRAMES * sizeof(*p->scr_locs));
	p->scr_labels = ddprof_palloc((DDPROF_PROFILE_MAX_LABELS + 1) *
				      sizeof(*p->scr_labels));
	p->scr_lines = ddprof_palloc(DDPROF_PROFILE_MAX_LINES * sizeof(*p->scr_lines));
	p->scr_strs = ddprof_palloc((2 + 3 * DDPROF_PROFILE_MAX_LINES) *
				    sizeof(*p->scr_strs));
	p->pcache = ddprof_pcalloc(1u << DDPROF_PCACHE_BITS, sizeof(*p->pcache));
	p->lcache = ddprof_pcalloc(1u << DDPROF_LCACHE_BITS, sizeof(*p->lcache));
	if (!p->scr_locs || !p->scr_labels || !p->scr_lines || !p->scr_strs ||
	    !p->pcache || !p->lcache)
		goto err;
	*out = p;
	return 0;
err:
	ddprof_profile_free(p);
	return -ENOMEM;
}

int ddprof_profile_new(struct ddprof_profile **out,
		       const struct ddprof_value_type *types, size_t ntypes,
		       const struct ddprof_value_type *period_type,
		       int64_t period)
{
	struct ddprof_profile *p;
	int rc;

	if (!out || !types || ntypes == 0 || ntypes > DDPROF_MAX_TYPES ||
	    (period_type && !period_type->type))
		return -DDPROF_ERR_INVALID;
	for (size_t i = 0; i < ntypes; i++)
		if (!types[i].type)
			return -DDPROF_ERR_INVALID;
	rc = profile_shell(&p, types, ntypes, period_type, period);
	if (rc)
		return rc;
	rc = box_new(p, &p->box);
	if (rc) {
		ddprof_profile_free(p);
		return rc;
	}
	p->gen = new_gen();
	p->start_ns = ddprof_now_ns();
	*out = p;
	return 0;
}

void ddprof_profile_free(struct ddprof_profile *p)
{
	if (!p)
		return;
	box_free(p->box);
	if (p->types) {
		for (size_t i = 0; i < p->ntypes; i++) {
			ddprof_pfree((void *)p->types[i].type);
			ddprof_pfree((void *)p->types[i].unit);
		}
		ddprof_pfree(p->types);
	}
	ddprof_pfree((void *)p->period_type.type);
	ddprof_pfree((void *)p->period_type.unit);
	ddprof_upscaling_fini(&p->up);
	ddprof_pfree(p->scr_locs);
	ddprof_pfree(p->scr_labels);
	ddprof_pfree(p->scr_lines);
	ddprof_pfree(p->scr_strs);
	ddprof_pfree(p->pcache);
	ddprof_pfree(p->fcache);
	ddprof_scache_fini(&p->sc);
	ddprof_pfree(p->lcache);
	ddprof_pfree(p);
}

int ddprof_profile_reset(struct ddprof_profile *p, struct ddprof_profile **prev)
{
	struct ddprof_profile *old = NULL;
	struct ddprof_pbox *fresh;
	int rc;

	if (!p)
		return -DDPROF_ERR_INVALID;
	rc = box_new(p, &fresh);
	if (rc)
		return rc;
	if (prev) {
		rc = profile_shell(&old, p->types, p->ntypes,
				   p->has_period ? &p->period_type : NULL, p->period);
		if (!rc)
			rc = ddprof_upscaling_copy(&old->up, &p->up);
		if (rc) {
			ddprof_profile_free(old);
			box_free(fresh);
			return rc;
		}
		old->box = p->box;
		old->gen = p->gen;
		old->start_ns = p->start_ns;
		old->default_type = p->default_type;
		*prev = old;
	} else {
		box_free(p->box);
	}
	p->box = fresh;
	p->epoch = p->stamp; /* string and sample cache entries predate the new store */
	p->gen = new_gen();
	p->start_ns = ddprof_now_ns();
	return 0;
}

void ddprof_profile_set_start_time(struct ddprof_profile *p, int64_t ns)
{
	p->start_ns = ns;
}

int64_t ddprof_profile_start_time(const struct ddprof_profile *p)
{
	return p->start_ns;
}

int ddprof_profile_set_default_sample_type(struct ddprof_profile *p,
					   size_t index)
{
	if (index >= p->ntypes)
		return -DDPROF_ERR_INVALID;
	p->default_type = index;
	return 0;
}

int ddprof_profile_add_upscaling_rule(struct ddprof_profile *p,
				      const struct ddprof_upscaling_rule *rule)
{
	return ddprof_upscaling_add(&p->up, p->ntypes, rule);
}
