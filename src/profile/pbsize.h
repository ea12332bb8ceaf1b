/* Protobuf varint sizes, shared by the encoder and by the store, which
 * precomputes the encoded size of each stack and label set when it is
 * interned so serialization does not size them again for every sample. */
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

#endif
