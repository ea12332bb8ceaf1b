/* Builds the fixture pprof of the exporter tests with nanopb alone (no
 * profile library). Repeated fields are nanopb callbacks; scalars are
 * written unpacked, which every protobuf reader (pprof included) accepts. */
#include <lz4frame.h>
#include <pb_encode.h>
#include <stdlib.h>
#include <string.h>

#include "pprof_fixture.h"
#include "profile.pb.h"

static const char *const strings[] = {
	"", "cpu-samples", "count", "cpu-time", "nanoseconds",
	"fixture_main", "/usr/bin/fixture", "thread id", "fixture.c",
};
enum { S_EMPTY, S_SAMPLES, S_COUNT, S_CPU, S_NS, S_MAIN, S_BIN, S_TID, S_FILE };

static bool enc_strings(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++)
		if (!pb_encode_tag_for_field(s, f) ||
		    !pb_encode_string(s, (const pb_byte_t *)strings[i], strlen(strings[i])))
			return false;
	return true;
}

static bool enc_sample_types(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	perftools_profiles_ValueType vt[2] = {{S_SAMPLES, S_COUNT}, {S_CPU, S_NS}};

	for (int i = 0; i < 2; i++)
		if (!pb_encode_tag_for_field(s, f) ||
		    !pb_encode_submessage(s, perftools_profiles_ValueType_fields, &vt[i]))
			return false;
	return true;
}

static bool enc_u64s(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const uint64_t *v = *arg; /* v[0] = count, then values */

	for (uint64_t i = 0; i < v[0]; i++)
		if (!pb_encode_tag_for_field(s, f) || !pb_encode_varint(s, v[1 + i]))
			return false;
	return true;
}

static bool enc_labels(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	perftools_profiles_Label l = {.key = S_TID, .num = 42};

	return pb_encode_tag_for_field(s, f) &&
	       pb_encode_submessage(s, perftools_profiles_Label_fields, &l);
}

static bool enc_samples(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const unsigned *n = *arg;
	static const uint64_t locs[] = {1, 1};

	for (unsigned i = 0; i < *n; i++) {
		uint64_t vals[] = {2, 1 + i, 10000000ull * (1 + i)};
		perftools_profiles_Sample sm = perftools_profiles_Sample_init_zero;

		sm.location_id = (pb_callback_t){{.encode = enc_u64s}, (void *)locs};
		sm.value = (pb_callback_t){{.encode = enc_u64s}, vals};
		sm.label.funcs.encode = enc_labels;
		if (!pb_encode_tag_for_field(s, f) ||
		    !pb_encode_submessage(s, perftools_profiles_Sample_fields, &sm))
			return false;
	}
	return true;
}

static bool enc_lines(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	perftools_profiles_Line l = {.function_id = 1, .line = 7};

	return pb_encode_tag_for_field(s, f) &&
	       pb_encode_submessage(s, perftools_profiles_Line_fields, &l);
}

static bool enc_locations(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	perftools_profiles_Location l = perftools_profiles_Location_init_zero;

	l.id = 1;
	l.mapping_id = 1;
	l.address = 0x401000;
	l.line.funcs.encode = enc_lines;
	return pb_encode_tag_for_field(s, f) &&
	       pb_encode_submessage(s, perftools_profiles_Location_fields, &l);
}

static bool enc_functions(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	perftools_profiles_Function fn = {.id = 1, .name = S_MAIN,
					  .system_name = S_MAIN, .filename = S_FILE,
					  .start_line = 5};

	return pb_encode_tag_for_field(s, f) &&
	       pb_encode_submessage(s, perftools_profiles_Function_fields, &fn);
}

static bool enc_mappings(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	perftools_profiles_Mapping m = {.id = 1, .memory_start = 0x400000,
					.memory_limit = 0x500000, .filename = S_BIN,
					.has_functions = true, .has_filenames = true,
					.has_line_numbers = true};

	return pb_encode_tag_for_field(s, f) &&
	       pb_encode_submessage(s, perftools_profiles_Mapping_fields, &m);
}

static void fill_profile(perftools_profiles_Profile *p, unsigned *n_samples)
{
	*p = (perftools_profiles_Profile)perftools_profiles_Profile_init_zero;
	p->sample_type.funcs.encode = enc_sample_types;
	p->sample = (pb_callback_t){{.encode = enc_samples}, n_samples};
	p->mapping.funcs.encode = enc_mappings;
	p->location.funcs.encode = enc_locations;
	p->function.funcs.encode = enc_functions;
	p->string_table.funcs.encode = enc_strings;
	p->time_nanos = 1700000000123456789LL;
	p->duration_nanos = 60000000000LL;
	p->has_period_type = true;
	p->period_type = (perftools_profiles_ValueType){S_CPU, S_NS};
	p->period = 10000000;
}

int pprof_fixture_make_lz4(unsigned n_samples, void **out, size_t *len)
{
	perftools_profiles_Profile p;
	pb_ostream_t sizing = PB_OSTREAM_SIZING, st;
	void *raw = NULL, *lz = NULL;
	size_t bound, n;

	fill_profile(&p, &n_samples);
	if (!pb_encode(&sizing, perftools_profiles_Profile_fields, &p))
		return -1;
	if (!(raw = malloc(sizing.bytes_written ? sizing.bytes_written : 1)))
		return -1;
	st = pb_ostream_from_buffer(raw, sizing.bytes_written);
	if (!pb_encode(&st, perftools_profiles_Profile_fields, &p))
		goto fail;
	bound = LZ4F_compressFrameBound(st.bytes_written, NULL);
	if (!(lz = malloc(bound)))
		goto fail;
	n = LZ4F_compressFrame(lz, bound, raw, st.bytes_written, NULL);
	if (LZ4F_isError(n))
		goto fail;
	free(raw);
	*out = lz;
	*len = n;
	return 0;
fail:
	free(raw);
	free(lz);
	return -1;
}
