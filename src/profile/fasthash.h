/* Byte-string hash for the profile store's interning tables. It consumes
 * 16 bytes per 64x64->128 multiply and reads short tails with two
 * overlapping loads, which is several times cheaper than the word-by-word
 * ddprof_hash_bytes() on the short names the add path hashes per frame. */
#ifndef DDPROF_PROFILE_FASTHASH_H
#define DDPROF_PROFILE_FASTHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t ddprof_fh_mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t ddprof_fh_load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t ddprof_fh_load32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Hashes len bytes at p, starting from seed (chain calls by passing the
 * previous result as the seed). */
static inline uint64_t ddprof_fasthash(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = seed ^ ((uint64_t)len * 0x9e3779b97f4a7c15ULL);
	uint64_t a, b;

	while (len > 16) {
		h = ddprof_fh_mix(ddprof_fh_load64(s) ^ 0xa0761d6478bd642fULL,
				  ddprof_fh_load64(s + 8) ^ h);
		s += 16;
		len -= 16;
	}
	if (len >= 8) {
		a = ddprof_fh_load64(s);
		b = ddprof_fh_load64(s + len - 8);
	} else if (len >= 4) {
		a = ddprof_fh_load32(s);
		b = ddprof_fh_load32(s + len - 4);
	} else if (len > 0) {
		a = (uint64_t)s[0] << 16 | (uint64_t)s[len >> 1] << 8 | s[len - 1];
		b = 0;
	} else {
		a = b = 0;
	}
	return ddprof_fh_mix(a ^ 0xe7037ed1a0b428dbULL ^ h,
			     b ^ 0x8ebc6af09c88c6e3ULL) ^ h;
}

/* Mixes one 64-bit value into h. */
static inline uint64_t ddprof_fh_u64(uint64_t h, uint64_t v)
{
	return ddprof_fh_mix(h ^ 0x589965cc75374cc3ULL, v ^ 0x1d8e4e27c47d124fULL);
}

#endif
