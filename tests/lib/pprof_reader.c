/* pprof decoding for tests, through the nanopb code generated from
 * proto/profile.proto: each repeated field has a callback that appends to a
 * plain array. Also gunzip/LZ4 decoding and a `go tool pprof` runner. */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <pb_decode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "pprof_reader.h"
#include "profile.pb.h"

/* Appends one zeroed element to *arr; returns it or NULL. The capacity is
 * the next power of two of *n, so growth is geometric (a realloc per
 * element is quadratic under ASan and valgrind, which always copy). */
static void *push(void *arr_p, size_t *n, size_t elem)
{
	void **arr = arr_p;

	if ((*n & (*n - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
		void *na = realloc(*arr, (*n ? 2 * *n : 1) * elem);

		if (!na)
			return NULL;
		*arr = na;
	}
	memset((char *)*arr + *n * elem, 0, elem);
	return (char *)*arr + (*n)++ * elem;
}

/* ---- decompression --------------------------------------------------- */

static int gunzip(const void *buf, size_t len, void **out, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = len * 4 + 4096, n = 0;
	unsigned char *o = malloc(cap);
	int zr;

	if (!o || inflateInit2(&z, 15 + 32) != Z_OK) {
		free(o);
		return -1;
	}
	z.next_in = (unsigned char *)buf;
	z.avail_in = (uInt)len;
	do {
		if (n == cap) {
			unsigned char *no = realloc(o, cap * 2);

			if (!no)
				break;
			o = no;
			cap *= 2;
		}
		z.next_out = o + n;
		z.avail_out = (uInt)(cap - n);
		zr = inflate(&z, Z_NO_FLUSH);
		n = cap - z.avail_out;
	} while (zr == Z_OK);
	inflateEnd(&z);
	if (zr != Z_STREAM_END) {
		free(o);
		return -1;
	}
	*out = o;
	*out_len = n;
	return 0;
}

static int unlz4(const void *buf, size_t len, void **out, size_t *out_len)
{
	LZ4F_dctx *d;
	size_t cap = len * 4 + 4096, n = 0, in_off = 0, r = 1;
	unsigned char *o = malloc(cap);

	if (!o || LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) {
		free(o);
		return -1;
	}
	while (in_off < len && r != 0) {
		size_t dst = cap - n, src = len - in_off;

		if (dst == 0) {
			unsigned char *no = realloc(o, cap * 2);

			if (!no)
				break;
			o = no;
			cap *= 2;
			continue;
		}
		r = LZ4F_decompress(d, o + n, &dst, (const char *)buf + in_off, &src, NULL);
		if (LZ4F_isError(r))
			break;
		n += dst;
		in_off += src;
	}
	LZ4F_freeDecompressionContext(d);
	if (r != 0) { /* 0 means the frame was fully decoded */
		free(o);
		return -1;
	}
	*out = o;
	*out_len = n;
	return 0;
}

int pprof_decompress(const void *buf, size_t len, void **out, size_t *out_len)
{
	const unsigned char *b = buf;

	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return gunzip(buf, len, out, out_len);
	if (len >= 4 && b[0] == 0x04 && b[1] == 0x22 && b[2] == 0x4d && b[3] == 0x18)
		return unlz4(buf, len, out, out_len);
	*out = malloc(len ? len : 1);
	if (!*out)
		return -1;
	memcpy(*out, buf, len);
	*out_len = len;
	return 0;
}

/* ---- decoding -------------------------------------------------------- */

static bool read_u64s(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct { uint64_t **arr; size_t *n; } *t = *arg;

	while (s->bytes_left) {
		uint64_t v, *slot;

		if (!pb_decode_varint(s, &v))
			return false;
		slot = push(t->arr, t->n, sizeof(v));
		if (!slot)
			return false;
		*slot = v;
	}
	return true;
}

static bool read_label(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct pprof_sample *smp = *arg;
	perftools_profiles_Label l = perftools_profiles_Label_init_zero;
	struct pprof_label *o;

	if (!pb_decode(s, perftools_profiles_Label_fields, &l))
		return false;
	o = push(&smp->labels, &smp->nlabels, sizeof(*o));
	if (!o)
		return false;
	o->key = l.key;
	o->str = l.str;
	o->num = l.num;
	o->num_unit = l.num_unit;
	return true;
}

static bool read_sample(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct pprof_profile *p = *arg;
	perftools_profiles_Sample m = perftools_profiles_Sample_init_zero;
	struct pprof_sample *o = push(&p->samples, &p->nsamples, sizeof(*o));
	struct { uint64_t **arr; size_t *n; } locs, vals;

	if (!o)
		return false;
	locs.arr = &o->location_ids;
	locs.n = &o->nlocations;
	vals.arr = (uint64_t **)&o->values;
	vals.n = &o->nvalues;
	m.location_id.funcs.decode = read_u64s;
	m.location_id.arg = &locs;
	m.value.funcs.decode = read_u64s;
	m.value.arg = &vals;
	m.label.funcs.decode = read_label;
	m.label.arg = o;
	return pb_decode(s, perftools_profiles_Sample_fields, &m);
}

static bool read_value_type(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct pprof_profile *p = *arg;
	perftools_profiles_ValueType m = perftools_profiles_ValueType_init_zero;
	struct pprof_value_type *o;

	if (!pb_decode(s, perftools_profiles_ValueType_fields, &m))
		return false;
	o = push(&p->sample_types, &p->nsample_types, sizeof(*o));
	if (!o)
		return false;
	o->type = m.type;
	o->unit = m.unit;
	return true;
}

static bool read_mapping(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct pprof_profile *p = *arg;
	perftools_profiles_Mapping m = perftools_profiles_Mapping_init_zero;
	struct pprof_mapping *o;

	if (!pb_decode(s, perftools_profiles_Mapping_fields, &m))
		return false;
	o = push(&p->mappings, &p->nmappings, sizeof(*o));
	if (!o)
		return false;
	o->id = m.id;
	o->start = m.memory_start;
	o->limit = m.memory_limit;
	o->offset = m.file_offset;
	o->filename = m.filename;
	o->build_id = m.build_id;
	o->has_functions = m.has_functions;
	o->has_filenames = m.has_filenames;
	o->has_line_numbers = m.has_line_numbers;
	o->has_inline_frames = m.has_inline_frames;
	return true;
}

static bool read_line(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct pprof_location *loc = *arg;
	perftools_profiles_Line m = perftools_profiles_Line_init_zero;
	struct pprof_line *o;

	if (!pb_decode(s, perftools_profiles_Line_fields, &m))
		return false;
	o = push(&loc->lines, &loc->nlines, sizeof(*o));
	if (!o)
		return false;
	o->function_id = m.function_id;
	o->line = m.line;
	return true;
}

static bool read_location(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct pprof_profile *p = *arg;
	perftools_profiles_Location m = perftools_profiles_Location_init_zero;
	struct pprof_location *o = push(&p->locations, &p->nlocations, sizeof(*o));

	if (!o)
		return false;
	m.line.funcs.decode = read_line;
	m.line.arg = o;
	if (!pb_decode(s, perftools_profiles_Location_fields, &m))
		return false;
	o->id = m.id;
	o->mapping_id = m.mapping_id;
	o->address = m.address;
	return true;
}

static bool read_function(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct pprof_profile *p = *arg;
	perftools_profiles_Function m = perftools_profiles_Function_init_zero;
	struct pprof_function *o;

	if (!pb_decode(s, perftools_profiles_Function_fields, &m))
		return false;
	o = push(&p->functions, &p->nfunctions, sizeof(*o));
	if (!o)
		return false;
	o->id = m.id;
	o->name = m.name;
	o->system_name = m.system_name;
	o->filename = m.filename;
	o->start_line = m.start_line;
	return true;
}

static bool read_string(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct pprof_profile *p = *arg;
	size_t n = s->bytes_left;
	char *str = malloc(n + 1), **slot;

	if (!str)
		return false;
	if (!pb_read(s, (pb_byte_t *)str, n)) {
		free(str);
		return false;
	}
	str[n] = '\0';
	slot = push(&p->strings, &p->nstrings, sizeof(*slot));
	if (!slot) {
		free(str);
		return false;
	}
	*slot = str;
	return true;
}

int pprof_decode(const void *buf, size_t len, struct pprof_profile *p)
{
	perftools_profiles_Profile m = perftools_profiles_Profile_init_zero;
	pb_istream_t s = pb_istream_from_buffer(buf, len);

	memset(p, 0, sizeof(*p));
	m.sample_type.funcs.decode = read_value_type;
	m.sample_type.arg = p;
	m.sample.funcs.decode = read_sample;
	m.sample.arg = p;
	m.mapping.funcs.decode = read_mapping;
	m.mapping.arg = p;
	m.location.funcs.decode = read_location;
	m.location.arg = p;
	m.function.funcs.decode = read_function;
	m.function.arg = p;
	m.string_table.funcs.decode = read_string;
	m.string_table.arg = p;
	if (!pb_decode(&s, perftools_profiles_Profile_fields, &m)) {
		pprof_profile_free(p);
		return -1;
	}
	p->time_nanos = m.time_nanos;
	p->duration_nanos = m.duration_nanos;
	p->period = m.period;
	p->default_sample_type = m.default_sample_type;
	p->has_period_type = m.has_period_type;
	p->period_type.type = m.period_type.type;
	p->period_type.unit = m.period_type.unit;
	return 0;
}

int pprof_read(const void *buf, size_t len, struct pprof_profile *p)
{
	void *raw;
	size_t n;
	int rc;

	memset(p, 0, sizeof(*p));
	if (pprof_decompress(buf, len, &raw, &n))
		return -1;
	rc = pprof_decode(raw, n, p);
	free(raw);
	return rc;
}

void pprof_profile_free(struct pprof_profile *p)
{
	for (size_t i = 0; i < p->nsamples; i++) {
		free(p->samples[i].location_ids);
		free(p->samples[i].values);
		free(p->samples[i].labels);
	}
	for (size_t i = 0; i < p->nlocations; i++)
		free(p->locations[i].lines);
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->sample_types);
	free(p->samples);
	free(p->mappings);
	free(p->locations);
	free(p->functions);
	free(p->strings);
	memset(p, 0, sizeof(*p));
}

/* ---- lookups --------------------------------------------------------- */

const char *pprof_str(const struct pprof_profile *p, int64_t id)
{
	if (id < 0 || (size_t)id >= p->nstrings)
		return "<bad string id>";
	return p->strings[id];
}

const struct pprof_location *pprof_location(const struct pprof_profile *p,
					    uint64_t id)
{
	/* the library writes id i at index i-1; fall back to a scan */
	if (id && id <= p->nlocations && p->locations[id - 1].id == id)
		return &p->locations[id - 1];
	for (size_t i = 0; i < p->nlocations; i++)
		if (p->locations[i].id == id)
			return &p->locations[i];
	return NULL;
}

const struct pprof_function *pprof_function(const struct pprof_profile *p,
					    uint64_t id)
{
	if (id && id <= p->nfunctions && p->functions[id - 1].id == id)
		return &p->functions[id - 1];
	for (size_t i = 0; i < p->nfunctions; i++)
		if (p->functions[i].id == id)
			return &p->functions[i];
	return NULL;
}

const struct pprof_mapping *pprof_mapping(const struct pprof_profile *p,
					  uint64_t id)
{
	for (size_t i = 0; i < p->nmappings; i++)
		if (p->mappings[i].id == id)
			return &p->mappings[i];
	return NULL;
}

const struct pprof_label *pprof_label(const struct pprof_profile *p,
				      const struct pprof_sample *s,
				      const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(pprof_str(p, s->labels[i].key), key) == 0)
			return &s->labels[i];
	return NULL;
}

/* ---- files and go tool pprof ----------------------------------------- */

int pprof_write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (!f)
		return -1;
	if (len && fwrite(buf, 1, len, f) != len)
		rc = -1;
	if (fclose(f))
		rc = -1;
	return rc;
}

/* Reads f to its end into a NUL-terminated malloc'd buffer; *len (if
 * non-NULL) gets the byte count. NULL when out of memory. */
static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0, r;
	char *b = malloc(cap);

	while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n - 1 == 0) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return NULL;
			}
			b = nb;
			cap *= 2;
		}
	}
	if (b) {
		b[n] = '\0';
		if (len)
			*len = n;
	}
	return b;
}

char *pprof_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;

	if (!f)
		return NULL;
	b = read_all(f, len);
	fclose(f);
	return b;
}

int pprof_read_file(const char *path, struct pprof_profile *p)
{
	size_t len;
	char *buf = pprof_slurp(path, &len);
	int rc;

	if (!buf)
		return -1;
	rc = pprof_read(buf, len, p);
	free(buf);
	return rc;
}

int64_t pprof_leaf_sum(const struct pprof_profile *p, const char *name,
		       size_t column)
{
	int64_t n = 0;

	for (size_t i = 0; i < p->nsamples; i++) {
		const struct pprof_sample *s = &p->samples[i];
		const struct pprof_location *l;
		const struct pprof_function *f;

		if (column >= s->nvalues || !s->nlocations ||
		    !(l = pprof_location(p, s->location_ids[0])) || !l->nlines)
			continue;
		f = pprof_function(p, l->lines[0].function_id);
		if (f && !strcmp(pprof_str(p, f->name), name))
			n += s->values[column];
	}
	return n;
}

int pprof_go_tool(const void *buf, size_t len, const char *args, char **output)
{
	char dir[] = "/tmp/pprof-test-XXXXXX", path[256], cmd[1024];
	const char *home = getenv("HOME");
	FILE *f;
	int st, rc = -1;

	*output = NULL;
	if (system("command -v go >/dev/null 2>&1") != 0)
		return 77;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/profile.pb", dir);
	if (pprof_write_file(path, buf, len))
		goto out;
	/* go needs a writable build cache; HOME may be unset under CI */
	if (!home || !*home)
		snprintf(cmd, sizeof(cmd),
			 "HOME='%s' GOCACHE='%s/gocache' GOTOOLCHAIN=local "
			 "go tool pprof %s '%s' 2>&1", dir, dir, args, path);
	else
		snprintf(cmd, sizeof(cmd),
			 "GOTOOLCHAIN=local go tool pprof %s '%s' 2>&1", args, path);
	f = popen(cmd, "r");
	if (!f)
		goto out;
	*output = read_all(f, NULL);
	st = pclose(f);
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
out:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : -1;
	return rc;
}
