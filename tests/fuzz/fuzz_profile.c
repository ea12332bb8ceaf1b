/* libFuzzer target: the profile API driven by operation sequences decoded
 * from the input: interning (valid, stale and made-up ids), adds through
 * both paths (aggregated and timeline), resets (keeping or dropping the
 * previous contents), upscaling rules, read helpers and serialization with
 * each compression. Oracles: stored totals equal the sum of what was
 * added successfully, and every serialized profile decodes again with all
 * referenced ids present. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ddprof/error.h"
#include "ddprof/log.h"
#include "ddprof/profile.h"
#include "lib/pprof_reader.h"

#define POOL 8
#define MAX_TYPES 4

struct in {
	const uint8_t *p;
	size_t left;
};

static uint8_t u8(struct in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint64_t u64(struct in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | u8(in);
	return v;
}

/* Bytes of the input used as a string: length first. */
static const char *bytes(struct in *in, size_t *len)
{
	const char *s = (const char *)in->p;

	*len = u8(in) % 24;
	if (*len > in->left)
		*len = in->left;
	s = (const char *)in->p;
	in->p += *len;
	in->left -= *len;
	return s;
}

/* A NUL-terminated copy into buf (at most 23 bytes). */
static const char *cstr(struct in *in, char buf[24])
{
	size_t len;
	const char *s = bytes(in, &len);

	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

struct state {
	struct ddprof_profile *p;
	size_t ntypes;
	uint64_t strs[POOL], maps[POOL], funcs[POOL], locs[POOL], stacks[POOL];
	int64_t totals[MAX_TYPES];
	uint64_t added;
};

/* An id from a pool, or now and then a made-up or zero one. */
static uint64_t pick(struct in *in, const uint64_t *pool)
{
	uint8_t b = u8(in);

	if (b >= 0xf0)
		return u64(in);
	if (b >= 0xe0)
		return 0;
	return pool[b % POOL];
}

static void check_pprof(const void *buf, size_t len, size_t ntypes)
{
	struct pprof_profile pp;

	if (pprof_read(buf, len, &pp))
		abort();
	if (!pp.nstrings || pp.strings[0][0] || pp.nsample_types != ntypes)
		abort();
	for (size_t i = 0; i < pp.nsamples; i++) {
		const struct pprof_sample *s = &pp.samples[i];

		if (s->nvalues != ntypes)
			abort();
		for (size_t k = 0; k < s->nlocations; k++)
			if (!pprof_location(&pp, s->location_ids[k]))
				abort();
		for (size_t k = 0; k < s->nlabels; k++)
			/* key 0 ("") is legal through the interned path */
			if (s->labels[k].key < 0 ||
			    (size_t)s->labels[k].key >= pp.nstrings ||
			    s->labels[k].str < 0 ||
			    (size_t)s->labels[k].str >= pp.nstrings)
				abort();
	}
	for (size_t i = 0; i < pp.nlocations; i++) {
		const struct pprof_location *l = &pp.locations[i];

		if (!l->id || (l->mapping_id && !pprof_mapping(&pp, l->mapping_id)))
			abort();
		for (size_t k = 0; k < l->nlines; k++)
			if (!pprof_function(&pp, l->lines[k].function_id))
				abort();
	}
	for (size_t i = 0; i < pp.nfunctions; i++) {
		const struct pprof_function *f = &pp.functions[i];

		if (!f->id || f->name < 0 || (size_t)f->name >= pp.nstrings ||
		    f->system_name < 0 || (size_t)f->system_name >= pp.nstrings ||
		    f->filename < 0 || (size_t)f->filename >= pp.nstrings)
			abort();
	}
	for (size_t i = 0; i < pp.nmappings; i++)
		if (!pp.mappings[i].id || pp.mappings[i].filename < 0 ||
		    (size_t)pp.mappings[i].filename >= pp.nstrings)
			abort();
	pprof_profile_free(&pp);
}

static void serialize(struct state *st, const struct ddprof_profile *p,
		      struct in *in)
{
	struct ddprof_serialize_opts o = { 0 };
	uint8_t b = u8(in);
	void *out = NULL;
	size_t len = 0;
	int err;

	o.compression = b % 3;
	o.level = (int)((b >> 2) & 7) - 2; /* LZ4: faster, default and HC; gzip refuses < 0 */
	o.max_size = (b & 0x80) ? 64 + u8(in) * 16 : 0;
	o.end_time_ns = (int64_t)(u64(in) >> 2);
	if (b & 0x40) {
		int fd = memfd_create("fuzz-pprof", MFD_CLOEXEC);
		size_t written = 0;

		if (fd < 0)
			return;
		(void)ddprof_profile_serialize_fd(p, &o, fd, &written);
		close(fd);
		return;
	}
	err = ddprof_profile_serialize(p, &o, &out, &len);
	if (err) {
		if (out)
			abort();
		return;
	}
	if (o.max_size && len > o.max_size)
		abort();
	check_pprof(out, len, st->ntypes);
	free(out);
}

static void add_values(struct state *st, const int64_t *v)
{
	for (size_t i = 0; i < st->ntypes; i++)
		st->totals[i] += v[i];
	st->added++;
}

static void check_totals(struct state *st)
{
	int64_t t[MAX_TYPES];
	struct ddprof_profile_stats ps;

	if (ddprof_profile_totals(st->p, t, st->ntypes))
		abort();
	for (size_t i = 0; i < st->ntypes; i++)
		if (t[i] != st->totals[i])
			abort();
	ddprof_profile_stats(st->p, &ps);
	if (ps.samples_added != st->added)
		abort();
}

static void op_add_simple(struct state *st, struct in *in)
{
	struct ddprof_line lines[3];
	struct ddprof_location locs[4];
	struct ddprof_label labels[3];
	char sbuf[16][24];
	int64_t v[MAX_TYPES];
	struct ddprof_sample s = { 0 };
	unsigned nb = 0;
	int64_t ts;

	s.nlocations = u8(in) % 5;
	for (size_t i = 0; i < s.nlocations; i++) {
		struct ddprof_location *l = &locs[i];

		memset(l, 0, sizeof(*l));
		if (u8(in) & 1) {
			l->mapping.start = u8(in) << 12;
			l->mapping.limit = l->mapping.start + (u8(in) << 12);
			l->mapping.filename = nb < 16 ? cstr(in, sbuf[nb++]) : NULL;
		}
		l->address = u64(in);
		l->nlines = u8(in) % 4;
		l->lines = lines;
	}
	for (size_t i = 0; i < 3; i++) {
		memset(&lines[i], 0, sizeof(lines[i]));
		lines[i].function.name = nb < 16 ? cstr(in, sbuf[nb++]) : "f";
		lines[i].line = (int8_t)u8(in);
	}
	s.locations = locs;
	s.nvalues = st->ntypes + (u8(in) == 0xff); /* sometimes wrong */
	for (size_t i = 0; i < MAX_TYPES; i++)
		v[i] = (int16_t)(u8(in) << 8 | u8(in));
	s.values = v;
	s.nlabels = u8(in) % 4;
	for (size_t i = 0; i < s.nlabels; i++) {
		uint8_t k = u8(in);

		labels[i].key = k == 0xff ? NULL : (nb < 16 ? cstr(in, sbuf[nb++]) : "k");
		labels[i].str = (k & 1) && nb < 16 ? cstr(in, sbuf[nb++]) : NULL;
		labels[i].num = (int8_t)u8(in);
		labels[i].num_unit = (k & 2) ? "bytes" : NULL;
	}
	s.labels = labels;
	ts = (u8(in) & 1) ? (int64_t)(u64(in) >> 1) : 0;
	if (!ddprof_profile_add(st->p, &s, ts)) {
		if (s.nvalues != st->ntypes)
			abort();
		add_values(st, v);
	}
}

static void op_add_interned(struct state *st, struct in *in)
{
	struct ddprof_label_ids labels[3];
	int64_t v[MAX_TYPES];
	size_t nl = u8(in) % 4, nv = st->ntypes + (u8(in) == 0xff);
	uint64_t stack = pick(in, st->stacks);
	int64_t ts;

	for (size_t i = 0; i < MAX_TYPES; i++)
		v[i] = (int16_t)(u8(in) << 8 | u8(in));
	for (size_t i = 0; i < nl; i++) {
		labels[i].key = pick(in, st->strs);
		labels[i].str = (u8(in) & 1) ? pick(in, st->strs) : 0;
		labels[i].num = (int8_t)u8(in);
		labels[i].num_unit = (u8(in) & 1) ? pick(in, st->strs) : 0;
	}
	ts = (u8(in) & 1) ? (int64_t)(u64(in) >> 1) : 0;
	if (!ddprof_profile_add_interned(st->p, stack, v, nv, labels, nl, ts)) {
		if (nv != st->ntypes)
			abort();
		add_values(st, v);
	}
}

static void op_rule(struct state *st, struct in *in)
{
	struct ddprof_upscaling_rule r = { 0 };
	size_t cols[MAX_TYPES + 1];
	char kb[24], vb[24];
	uint8_t b = u8(in);

	r.kind = 1 + b % 4; /* 4: an unknown kind */
	r.nvalues = u8(in) % (MAX_TYPES + 2);
	for (size_t i = 0; i < r.nvalues; i++)
		cols[i] = u8(in) % (MAX_TYPES + 1);
	r.values = cols;
	if (b & 0x10) {
		r.label_key = cstr(in, kb);
		r.label_value = (b & 0x20) ? cstr(in, vb) : NULL;
	}
	r.total_sampled = u8(in);
	r.total_real = u64(in) >> (u8(in) % 64);
	r.sum_index = u8(in) % (MAX_TYPES + 1);
	r.count_index = u8(in) % (MAX_TYPES + 1);
	r.count = u8(in);
	r.sampling_distance = u64(in) >> (u8(in) % 64);
	(void)ddprof_profile_add_upscaling_rule(st->p, &r);
}

static void op_intern(struct state *st, struct in *in, uint8_t what)
{
	uint8_t slot = u8(in) % POOL;
	uint64_t id;

	switch (what) {
	case 0: {
		size_t len;
		const char *s = bytes(in, &len);

		if (!ddprof_profile_intern_string(st->p, s, len, &id))
			st->strs[slot] = id;
		break;
	}
	case 1: {
		struct ddprof_mapping_ids m;

		m.start = (uint64_t)u8(in) << 12;
		m.limit = m.start + ((uint64_t)u8(in) << 12);
		m.offset = (uint64_t)u8(in) << 12;
		m.filename = pick(in, st->strs);
		m.build_id = pick(in, st->strs);
		if (!ddprof_profile_intern_mapping(st->p, &m, &id))
			st->maps[slot] = id;
		break;
	}
	case 2: {
		struct ddprof_function_ids f;

		f.name = pick(in, st->strs);
		f.system_name = pick(in, st->strs);
		f.filename = pick(in, st->strs);
		f.start_line = (int8_t)u8(in);
		if (!ddprof_profile_intern_function(st->p, &f, &id))
			st->funcs[slot] = id;
		break;
	}
	case 3: {
		struct ddprof_line_ids lines[4];
		size_t n = u8(in) % 5;
		uint64_t map = pick(in, st->maps), addr = u64(in);

		for (size_t i = 0; i < n; i++) {
			lines[i].function = pick(in, st->funcs);
			lines[i].line = (int8_t)u8(in);
		}
		if (!ddprof_profile_intern_location(st->p, map, addr, lines, n,
						    &id))
			st->locs[slot] = id;
		break;
	}
	case 4: {
		uint64_t locs[8];
		size_t n = u8(in) % 9;

		for (size_t i = 0; i < n; i++)
			locs[i] = pick(in, st->locs);
		if (!ddprof_profile_intern_stack(st->p, locs, n, &id))
			st->stacks[slot] = id;
		break;
	}
	}
}

static int new_profile(struct state *st, struct in *in)
{
	static const struct ddprof_value_type types[MAX_TYPES] = {
		{ "cpu-samples", "count" }, { "cpu-time", "nanoseconds" },
		{ "alloc-space", "bytes" }, { "wall", NULL },
	};
	static const struct ddprof_value_type period = { "cpu-time",
							 "nanoseconds" };
	uint8_t b = u8(in);

	memset(st, 0, sizeof(*st));
	st->ntypes = 1 + b % MAX_TYPES;
	return ddprof_profile_new(&st->p, types, st->ntypes,
				  (b & 0x10) ? &period : NULL, (int8_t)u8(in));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ddprof_log_set(NULL, NULL, DDPROF_LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct state st;
	unsigned ops = 0;

	if (new_profile(&st, &in))
		return 0;
	while (in.left && ops++ < 256) {
		uint8_t op = u8(&in);

		switch (op % 12) {
		case 0: case 1: case 2: case 3: case 4:
			op_intern(&st, &in, op % 12);
			break;
		case 5:
			op_add_interned(&st, &in);
			break;
		case 6:
			op_add_simple(&st, &in);
			break;
		case 7: {
			struct ddprof_profile *prev = NULL;

			if (ddprof_profile_reset(st.p, (op & 0x10) ? &prev : NULL))
				break;
			if (prev) {
				serialize(&st, prev, &in);
				ddprof_profile_free(prev);
			}
			memset(st.totals, 0, sizeof(st.totals));
			st.added = 0;
			break;
		}
		case 8:
			serialize(&st, st.p, &in);
			break;
		case 9:
			op_rule(&st, &in);
			break;
		case 10: {
			struct ddprof_profile_top top[4];
			int n = ddprof_profile_top_functions(st.p, u8(&in) % 5,
							     top, 4);

			for (int i = 0; i < n; i++)
				if (!top[i].function)
					abort();
			break;
		}
		case 11:
			(void)ddprof_profile_set_default_sample_type(st.p,
								     u8(&in) % 5);
			ddprof_profile_set_start_time(st.p, (int64_t)u64(&in));
			break;
		}
		check_totals(&st);
	}
	serialize(&st, st.p, &in);
	ddprof_profile_free(st.p);
	return 0;
}
