/* Fast non-cryptographic hashing shared by every hash table in the tree. */
#ifndef DDPROF_COMMON_HASH_H
#define DDPROF_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Finalizer of a 64-bit value (the splitmix64 mixer): every input bit
 * affects every output bit, so low bits can index a power-of-two table. */
static inline uint64_t ddprof_hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Combines a running hash h with the value v; order-sensitive. */
static inline uint64_t ddprof_hash_combine(uint64_t h, uint64_t v)
{
	return ddprof_hash_u64(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

/* Hashes len bytes at p, 8 bytes per step. */
static inline uint64_t ddprof_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0x243f6a8885a308d3ULL ^ len;
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h = ddprof_hash_u64(h ^ w) * 0x9e3779b97f4a7c15ULL;
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	return ddprof_hash_u64(h ^ w ^ ((uint64_t)len << 56));
}

#endif
