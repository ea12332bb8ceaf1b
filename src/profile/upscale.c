/* Upscaling: proportional, Poisson over two value columns, and Poisson
 * with a fixed count, for all samples or those with one string label. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "ddprof/error.h"
#include "upscale.h"

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ddprof_palloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

/* Two rules can both apply to one sample when they scale a common column
 * and either covers every sample or they select the same label key (a
 * sample can carry a key twice, or the same key=value). */
static int conflicts(const struct ddprof_urule *a, uint64_t columns,
		     const char *key)
{
	if (!(a->columns & columns))
		return 0;
	if (!a->key || !key)
		return 1;
	return strcmp(a->key, key) == 0;
}

int ddprof_upscaling_add(struct ddprof_upscaling *u, size_t ntypes,
			 const struct ddprof_upscaling_rule *r)
{
	struct ddprof_urule n = { 0 };

	if (!r || !r->values || r->nvalues == 0 || r->nvalues > ntypes ||
	    !r->label_key != !r->label_value)
		return -DDPROF_ERR_INVALID;
	for (size_t i = 0; i < r->nvalues; i++) {
		if (r->values[i] >= ntypes)
			return -DDPROF_ERR_INVALID;
		n.columns |= 1ULL << r->values[i];
	}
	n.kind = r->kind;
	switch (r->kind) {
	case DDPROF_UPSCALE_PROPORTIONAL:
		if (r->total_sampled == 0)
			return -DDPROF_ERR_INVALID;
		n.scale = (double)r->total_real / (double)r->total_sampled;
		break;
	case DDPROF_UPSCALE_POISSON:
		if (r->sum_index >= ntypes || r->count_index >= ntypes ||
		    r->sampling_distance == 0)
			return -DDPROF_ERR_INVALID;
		n.sum_index = r->sum_index;
		n.count_index = r->count_index;
		n.distance = (double)r->sampling_distance;
		break;
	case DDPROF_UPSCALE_POISSON_FIXED_COUNT:
		if (r->sum_index >= ntypes || r->count == 0 ||
		    r->sampling_distance == 0)
			return -DDPROF_ERR_INVALID;
		n.sum_index = r->sum_index;
		n.count = r->count;
		n.distance = (double)r->sampling_distance;
		break;
	default:
		return -DDPROF_ERR_INVALID;
	}
	for (size_t i = 0; i < u->n; i++)
		if (conflicts(&u->rules[i], n.columns, r->label_key))
			return -DDPROF_ERR_CONFLICT;
	if (ddprof_pgrow((void **)&u->rules, &u->cap, u->n + 1, sizeof(n)))
		return -ENOMEM;
	if (r->label_key) {
		n.key = dup_str(r->label_key);
		n.value = dup_str(r->label_value);
		if (!n.key || !n.value) {
			ddprof_pfree(n.key);
			ddprof_pfree(n.value);
			return -ENOMEM;
		}
	}
	u->rules[u->n++] = n;
	return 0;
}

int ddprof_upscaling_copy(struct ddprof_upscaling *dst,
			  const struct ddprof_upscaling *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->n)
		return 0;
	if (ddprof_pgrow((void **)&dst->rules, &dst->cap, src->n, sizeof(*dst->rules)))
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		struct ddprof_urule r = src->rules[i];

		if (r.key) {
			r.key = dup_str(src->rules[i].key);
			r.value = dup_str(src->rules[i].value);
			if (!r.key || !r.value) {
				ddprof_pfree(r.key);
				ddprof_pfree(r.value);
				ddprof_upscaling_fini(dst);
				return -ENOMEM;
			}
		}
		dst->rules[dst->n++] = r;
	}
	return 0;
}

void ddprof_upscaling_fini(struct ddprof_upscaling *u)
{
	for (size_t i = 0; i < u->n; i++) {
		ddprof_pfree(u->rules[i].key);
		ddprof_pfree(u->rules[i].value);
	}
	ddprof_pfree(u->rules);
	memset(u, 0, sizeof(*u));
}

void ddprof_upscaling_resolve(struct ddprof_upscaling *u,
			      const struct ddprof_store *s)
{
	for (size_t i = 0; i < u->n; i++) {
		struct ddprof_urule *r = &u->rules[i];

		r->resolved = !r->key ||
			(ddprof_store_find_str(s, r->key, strlen(r->key), &r->key_idx) &&
			 ddprof_store_find_str(s, r->value, strlen(r->value), &r->value_idx) &&
			 r->value_idx != 0);
	}
}

static int matches(const struct ddprof_urule *r,
		   const struct ddprof_slabel *labels, uint32_t n)
{
	if (!r->key)
		return 1;
	if (!r->resolved)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (labels[i].key == r->key_idx && labels[i].str == r->value_idx)
			return 1;
	return 0;
}

static double poisson_scale(double sum, double count, double distance)
{
	double avg, denom;

	if (count <= 0 || sum <= 0)
		return 1.0;
	avg = sum / count;
	denom = 1.0 - exp(-avg / distance);
	return denom > 0 ? 1.0 / denom : 1.0;
}

static int64_t scale_value(int64_t v, double scale)
{
	double r = round((double)v * scale);

	if (r >= 9223372036854775807.0)
		return INT64_MAX;
	if (r <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)r;
}

void ddprof_upscaling_apply(const struct ddprof_upscaling *u,
			    const struct ddprof_slabel *labels, uint32_t nlabels,
			    int64_t *vals, uint32_t nv)
{
	double scales[64];
	uint64_t touched = 0;

	for (size_t i = 0; i < u->n; i++) {
		const struct ddprof_urule *r = &u->rules[i];
		double sc;

		if (!matches(r, labels, nlabels))
			continue;
		switch (r->kind) {
		case DDPROF_UPSCALE_PROPORTIONAL:
			sc = r->scale;
			break;
		case DDPROF_UPSCALE_POISSON:
			sc = poisson_scale((double)vals[r->sum_index],
					   (double)vals[r->count_index], r->distance);
			break;
		default:
			sc = poisson_scale((double)vals[r->sum_index],
					   (double)r->count, r->distance);
			break;
		}
		for (uint32_t c = 0; c < nv; c++) {
			if (!(r->columns & (1ULL << c)))
				continue;
			scales[c] = (touched & (1ULL << c)) ? scales[c] * sc : sc;
			touched |= 1ULL << c;
		}
	}
	for (uint32_t c = 0; c < nv && touched; c++)
		if (touched & (1ULL << c))
			vals[c] = scale_value(vals[c], scales[c]);
}
