/* Public ids: the profile's generation in the high 32 bits, the store
 * index in the low 32 (plus one for entities, so 0 can mean "none"). */
#ifndef DDPROF_PROFILE_IDS_H
#define DDPROF_PROFILE_IDS_H

#include <stdint.h>

#include "ddprof/error.h"
#include "profile_int.h"

static inline uint64_t ddprof_id_make(const struct ddprof_profile *p,
				      uint32_t idx)
{
	return ((uint64_t)p->gen << 32) | ((uint64_t)idx + 1);
}

static inline uint64_t ddprof_id_str(const struct ddprof_profile *p,
				     uint32_t idx)
{
	return ((uint64_t)p->gen << 32) | idx;
}

/* Decodes an entity id against count entries. */
static inline int ddprof_id_get(const struct ddprof_profile *p, uint64_t id,
				size_t count, uint32_t *idx)
{
	uint32_t low = (uint32_t)id;

	if ((uint32_t)(id >> 32) != p->gen || low == 0 || low > count)
		return -DDPROF_ERR_STALE_ID;
	*idx = low - 1;
	return 0;
}

/* Decodes a string id; 0 is always "". */
static inline int ddprof_id_get_str(const struct ddprof_profile *p,
				    uint64_t id, uint32_t *idx)
{
	if (id == 0) {
		*idx = 0;
		return 0;
	}
	if ((uint32_t)(id >> 32) != p->gen || (uint32_t)id >= p->box->st.nstrs)
		return -DDPROF_ERR_STALE_ID;
	*idx = (uint32_t)id;
	return 0;
}

#endif
