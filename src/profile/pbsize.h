/* Protobuf varint sizes and writers, shared by the encoder and by the
 * store, which encodes each stack's location ids and each label set's
 * Label messages once when they are interned, so serialization copies
 * them instead of encoding them again for every sample. */
#ifndef DDPROF_PROFILE_PBSIZE_H
#define DDPROF_PROFILE_PBSIZE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the varint of v (7 payload bits per byte), by leading zeros. */
static const uint8_t ddprof_vsize_by_clz[64] = {
	10, 9, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8, 7, 7, 7, 7, 7, 7, 7,
	6, 6, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4,
	3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
};

static inline size_t ddprof_vsize(uint64_t v)
{
	return ddprof_vsize_by_clz[__builtin_clzll(v | 1)];
}

/* Size of a varint field with a one-byte key, 0 when omitted (zero, as
 * proto3 does). */
static inline size_t ddprof_fsize(uint64_t v)
{
	return v ? 1 + ddprof_vsize(v) : 0;
}

/* Writes v as a varint at o; returns the end. */
static inline uint8_t *ddprof_put_varint(uint8_t *o, uint64_t v)
{
	if (v < 0x80) { /* most ids and lengths */
		*o = (uint8_t)v;
		return o + 1;
	}
	if (v < 0x4000) {
		o[0] = (uint8_t)(v | 0x80);
		o[1] = (uint8_t)(v >> 7);
		return o + 2;
	}
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}

/* Writes a key of a field number below 16 (all of profile.proto's). */
static inline uint8_t *ddprof_put_key(uint8_t *o, uint32_t field, uint32_t wire_type)
{
	*o++ = (uint8_t)(field << 3 | wire_type);
	return o;
}

/* Writes a varint field, omitted when zero (as proto3 does). */
static inline uint8_t *ddprof_put_field(uint8_t *o, uint32_t field, uint64_t v)
{
	if (!v)
		return o;
	return ddprof_put_varint(ddprof_put_key(o, field, 0), v);
}

#endif
