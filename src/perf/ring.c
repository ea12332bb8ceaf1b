/* Reading a perf ring buffer. The kernel writes at data_head and never past
 * data_tail; we publish data_tail only after we are done with the bytes,
 * so records can be used in place for the whole pass. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ddprof/error.h"
#include "perf/ring.h"

int ddprof_ring_init(struct ddprof_ring *ring, void *base, size_t page_size,
		     uint64_t data_size)
{
	struct perf_event_mmap_page *meta = base;
	uint64_t off = page_size;

	memset(ring, 0, sizeof(*ring));
	ring->fd = -1;
	/* kernels since 4.1 say where the data area is */
	if (meta->data_offset && meta->data_size) {
		off = meta->data_offset;
		data_size = meta->data_size;
	}
	if (!data_size || (data_size & (data_size - 1)))
		return -DDPROF_ERR_INVALID;
	ring->bounce = malloc(DDPROF_RING_MAX_RECORD);
	if (!ring->bounce)
		return -ENOMEM;
	ring->base = base;
	ring->data = (uint8_t *)base + off;
	ring->size = data_size;
	ring->pos = __atomic_load_n(&meta->data_tail, __ATOMIC_RELAXED);
	ring->head = ring->pos;
	return 0;
}

int ddprof_ring_mmap(struct ddprof_ring *ring, int fd, unsigned data_pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = page * (1 + (size_t)data_pages);
	void *base;
	int err;

	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	err = ddprof_ring_init(ring, base, page, (uint64_t)page * data_pages);
	if (err) {
		munmap(base, len);
		return err;
	}
	ring->map_len = len;
	ring->fd = fd;
	return 0;
}

void ddprof_ring_fini(struct ddprof_ring *ring)
{
	if (ring->map_len)
		munmap(ring->base, ring->map_len);
	free(ring->bounce);
	memset(ring, 0, sizeof(*ring));
	ring->fd = -1;
}

uint64_t ddprof_ring_begin(struct ddprof_ring *ring)
{
	struct perf_event_mmap_page *meta = ring->base;

	/* pairs with the kernel's store of data_head after writing records */
	ring->head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	if (ring->head - ring->pos > ring->size)
		ring->pos = ring->head - ring->size; /* cannot happen; stay sane */
	return ring->head - ring->pos;
}

int ddprof_ring_next(struct ddprof_ring *ring, const void **rec, size_t *len)
{
	uint64_t avail = ring->head - ring->pos;
	uint64_t off = ring->pos & (ring->size - 1);
	struct perf_event_header h;
	uint64_t first;

	if (avail == 0)
		return 0;
	if (avail < sizeof(h))
		goto bad;
	/* the 8-byte header itself may straddle the end */
	first = ring->size - off;
	if (first >= sizeof(h)) {
		memcpy(&h, ring->data + off, sizeof(h));
	} else {
		memcpy(&h, ring->data + off, first);
		memcpy((uint8_t *)&h + first, ring->data, sizeof(h) - first);
	}
	if (h.size < sizeof(h) || h.size > avail)
		goto bad;
	if (first >= h.size) {
		*rec = ring->data + off;
	} else {
		memcpy(ring->bounce, ring->data + off, first);
		memcpy(ring->bounce + first, ring->data, h.size - first);
		*rec = ring->bounce;
	}
	*len = h.size;
	ring->pos += h.size;
	return 1;
bad:
	ring->pos = ring->head;
	return -DDPROF_ERR_FORMAT;
}

void ddprof_ring_release(struct ddprof_ring *ring, uint64_t pos)
{
	struct perf_event_mmap_page *meta = ring->base;

	/* our reads of the records must complete before the kernel may
	 * overwrite them */
	__atomic_store_n(&meta->data_tail, pos, __ATOMIC_RELEASE);
}

void ddprof_ring_end(struct ddprof_ring *ring)
{
	ddprof_ring_release(ring, ring->pos);
}
