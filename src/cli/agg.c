/* Sample aggregation into the period's profile (fast path: ids interned
 * once per period, then one stack intern and one add per sample). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cli/agg.h"
#include "ddprof/error.h"
#include "ddprof/profile.h"

#define LOST_NAME "[lost]"

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool ddprof_cli_agg_event_is_time(const char *event)
{
	return !strcmp(event, "cpu-clock") || !strcmp(event, "task-clock");
}

int ddprof_cli_agg_init(struct ddprof_cli_agg *a, const char *event,
			uint32_t freq, bool timeline)
{
	static const struct ddprof_value_type time_types[] = {
		{ "cpu-samples", "count" }, { "cpu-time", "nanoseconds" },
	};
	static const struct ddprof_value_type event_types[] = {
		{ "samples", "count" }, { "events", "count" },
	};
	bool is_time = ddprof_cli_agg_event_is_time(event);
	int ret;

	memset(a, 0, sizeof(*a));
	ddprof_u64map_init(&a->locs);
	a->timeline = timeline;
	a->mono_to_real = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	ret = ddprof_profile_new(&a->prof, is_time ? time_types : event_types, 2,
				 is_time ? &time_types[1] : NULL,
				 is_time && freq ? 1000000000 / freq : 0);
	if (ret)
		a->prof = NULL;
	return ret;
}

void ddprof_cli_agg_start(struct ddprof_cli_agg *a)
{
	ddprof_profile_set_start_time(a->prof, clock_ns(CLOCK_REALTIME));
}

void ddprof_cli_agg_fini(struct ddprof_cli_agg *a)
{
	ddprof_profile_free(a->prof);
	a->prof = NULL;
	ddprof_u64map_fini(&a->locs);
}

int ddprof_cli_agg_loc_put(struct ddprof_cli_agg *a, uint64_t key,
			   uint64_t loc)
{
	return ddprof_u64map_put(&a->locs, key, loc);
}

/* Interns what every sample of the period needs, once per period. */
static int period_ids(struct ddprof_cli_agg *a)
{
	struct ddprof_profile *p = a->prof;
	struct ddprof_function_ids fn = { 0 };
	struct ddprof_line_ids line = { 0 };
	uint64_t loc;
	int ret;

	if (a->ids_ready)
		return 0;
	if ((ret = ddprof_profile_intern_cstr(p, "process_id", &a->k_pid)) ||
	    (ret = ddprof_profile_intern_cstr(p, "thread id", &a->k_tid)) ||
	    (ret = ddprof_profile_intern_cstr(p, "thread_name", &a->k_tname)) ||
	    (ret = ddprof_profile_intern_cstr(p, "process_name", &a->k_pname)) ||
	    (ret = ddprof_profile_intern_cstr(p, LOST_NAME, &fn.name)))
		return ret;
	fn.system_name = fn.name;
	if ((ret = ddprof_profile_intern_function(p, &fn, &line.function)) ||
	    (ret = ddprof_profile_intern_location(p, 0, 0, &line, 1, &loc)) ||
	    (ret = ddprof_profile_intern_stack(p, &loc, 1, &a->lost_stack)))
		return ret;
	a->ids_ready = true;
	return 0;
}

int ddprof_cli_agg_intern_location(struct ddprof_cli_agg *a,
				   const struct ddprof_cli_sym *s,
				   bool no_inline, uint64_t *loc)
{
	struct ddprof_line_ids lines[DDPROF_CLI_MAX_LINES];
	struct ddprof_mapping_ids m = {
		.start = s->start,
		.limit = s->limit,
		.offset = s->file_offset,
	};
	struct ddprof_profile *p = a->prof;
	unsigned first = 0, n = s->nr_lines;
	uint64_t mapping;
	int ret;

	if (n > DDPROF_CLI_MAX_LINES)
		first = n - DDPROF_CLI_MAX_LINES; /* keep the outer ones */
	if (no_inline && n)
		first = n - 1;
	if ((ret = ddprof_profile_intern_cstr(p, s->path, &m.filename)) ||
	    (ret = ddprof_profile_intern_cstr(p, s->build_id, &m.build_id)) ||
	    (ret = ddprof_profile_intern_mapping(p, &m, &mapping)))
		return ret;
	for (unsigned i = first; i < n; i++) {
		const struct ddprof_cli_line *l = &s->lines[i];
		struct ddprof_function_ids fn = { .start_line = l->start_line };
		struct ddprof_line_ids *li = &lines[i - first];

		if ((ret = ddprof_profile_intern_cstr(p, l->name, &fn.name)) ||
		    (ret = ddprof_profile_intern_cstr(p, l->system_name, &fn.system_name)) ||
		    (ret = ddprof_profile_intern_cstr(p, l->file, &fn.filename)) ||
		    (ret = ddprof_profile_intern_function(p, &fn, &li->function)))
			return ret;
		li->line = l->line;
	}
	return ddprof_profile_intern_location(p, mapping, s->address, lines,
					      n - first, loc);
}

int ddprof_cli_agg_add(struct ddprof_cli_agg *a, const uint64_t *locs,
		       size_t n, pid_t pid, pid_t tid, const char *pname,
		       const char *tname, int64_t weight, uint64_t time_ns)
{
	struct ddprof_label_ids labels[4];
	int64_t values[2] = { 1, weight };
	size_t nl = 0;
	uint64_t stack;
	int ret;

	if ((ret = period_ids(a)) ||
	    (ret = ddprof_profile_intern_stack(a->prof, locs, n, &stack)))
		return ret;
	labels[nl++] = (struct ddprof_label_ids){ .key = a->k_pid, .num = pid };
	labels[nl++] = (struct ddprof_label_ids){ .key = a->k_tid, .num = tid };
	if (tname && *tname) {
		labels[nl] = (struct ddprof_label_ids){ .key = a->k_tname };
		if ((ret = ddprof_profile_intern_cstr(a->prof, tname,
						      &labels[nl++].str)))
			return ret;
	}
	if (pname && *pname) {
		labels[nl] = (struct ddprof_label_ids){ .key = a->k_pname };
		if ((ret = ddprof_profile_intern_cstr(a->prof, pname,
						      &labels[nl++].str)))
			return ret;
	}
	ret = ddprof_profile_add_interned(a->prof, stack, values, 2, labels, nl,
					  a->timeline ? (int64_t)time_ns + a->mono_to_real : 0);
	if (!ret)
		a->period_samples++;
	return ret;
}

int ddprof_cli_agg_add_lost(struct ddprof_cli_agg *a, uint64_t count,
			    uint64_t period)
{
	int64_t values[2];
	int ret;

	if (!count)
		return 0;
	if ((ret = period_ids(a)))
		return ret;
	values[0] = count > INT64_MAX ? INT64_MAX : (int64_t)count;
	values[1] = period && count > (uint64_t)INT64_MAX / period ?
			    INT64_MAX : (int64_t)(count * period);
	return ddprof_profile_add_interned(a->prof, a->lost_stack, values, 2,
					   NULL, 0, 0);
}

int ddprof_cli_agg_rotate(struct ddprof_cli_agg *a,
			  struct ddprof_profile **prev)
{
	int ret = ddprof_profile_reset(a->prof, prev);

	if (ret)
		return ret;
	ddprof_u64map_clear(&a->locs);
	a->ids_ready = false;
	a->period_samples = 0;
	return 0;
}
