/* Separate debug files (e.g. from Debian's -dbg packages) store their
 * .debug_* sections zlib-compressed, and libdw inflates every one of them
 * with zlib when it opens the file: for libc that is 10 MiB and the largest
 * fixed cost of a profile. This hands libdw an uncompressed copy instead,
 * inflated with libdeflate (about three times as fast as zlib). */
#ifndef DDPROF_SYMBOLS_DEBUG_INFLATE_H
#define DDPROF_SYMBOLS_DEBUG_INFLATE_H

/* Reads the 64-bit little-endian ELF file open at fd (not moved, not
 * closed; a sealed copy, as the file must not shrink meanwhile) and, when
 * it has zlib-compressed sections, returns a new sealed memfd
 * (close-on-exec, positioned at 0) holding the same file with those
 * sections stored uncompressed. Every other byte, the build-id note
 * included, is kept. Returns -DDPROF_ERR_NOT_FOUND when nothing is
 * compressed (use fd as it is), -DDPROF_ERR_UNSUPPORTED for a file this
 * does not handle (another ELF class, compression type or section-count
 * encoding), -DDPROF_ERR_FORMAT for a malformed one, -DDPROF_ERR_TOO_BIG
 * past DDPROF_ELF_MAX_SIZE inflated, -DDPROF_ERR_COMPRESS
 * when a section does not inflate to its stated size, or -errno. */
int ddprof_debug_inflate(int fd);

#endif
