/* One perf ring buffer (the mmap'd metadata page + data pages) read as a
 * stream of records: acquire-load of data_head, release-store of
 * data_tail, and records that wrap the end copied to a bounce buffer. */
#ifndef DDPROF_PERF_RING_H
#define DDPROF_PERF_RING_H

#include <stddef.h>
#include <stdint.h>

/* Largest record the kernel can write (header.size is a u16). */
#define DDPROF_RING_MAX_RECORD 65536

struct ddprof_ring {
	void *base;          /* metadata page (struct perf_event_mmap_page) */
	size_t map_len;      /* bytes mapped (0: memory not owned by mmap) */
	uint8_t *data;       /* data area */
	uint64_t size;       /* bytes in the data area, a power of two */
	uint64_t pos;        /* next byte to read (free-running like head) */
	uint64_t head;       /* head snapshot of the current pass */
	uint8_t *bounce;     /* holds the one wrapped record of a pass */
	int fd;              /* perf event fd that owns the mapping, or -1 */
};

/* Binds ring to an existing mapping: base is the metadata page, followed
 * by the data area (data_offset/data_size are read from the page when the
 * kernel set them, else page_size and data_size are assumed). Used both
 * for real mmaps and for in-memory rings in tests. Allocates the bounce
 * buffer. Returns 0, -DDPROF_ERR_INVALID (size not a power of two) or
 * -ENOMEM. */
int ddprof_ring_init(struct ddprof_ring *ring, void *base, size_t page_size,
		     uint64_t data_size);

/* Maps 1 + data_pages pages of perf fd and initializes ring. The fd stays
 * owned by the caller. Returns 0 or -errno of mmap (-EPERM: over the
 * locked memory limit). */
int ddprof_ring_mmap(struct ddprof_ring *ring, int fd, unsigned data_pages);

/* Unmaps (if mapped) and frees the bounce buffer; ring is zeroed. */
void ddprof_ring_fini(struct ddprof_ring *ring);

/* Starts a pass: snapshots data_head (acquire). Returns the bytes
 * available. */
uint64_t ddprof_ring_begin(struct ddprof_ring *ring);

/* Returns the next record of the pass in *rec and *len (pointing into the ring
 * or into the bounce buffer: valid until ddprof_ring_end), 1 if one was
 * returned, 0 at the end of the pass, or -DDPROF_ERR_FORMAT when a header
 * is impossible (size < 8 or beyond head): the rest of the pass is then
 * skipped, since the stream cannot be resynchronized. */
int ddprof_ring_next(struct ddprof_ring *ring, const void **rec,
		     size_t *len);

/* Gives the bytes before pos (a record boundary at or before the read
 * position) back to the kernel early, while the pass goes on. */
void ddprof_ring_release(struct ddprof_ring *ring, uint64_t pos);

/* Ends the pass: gives the bytes read back to the kernel (release store
 * of data_tail). */
void ddprof_ring_end(struct ddprof_ring *ring);

#endif
