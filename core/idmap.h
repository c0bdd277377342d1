// core/idmap.h: global vertex id -> dense index, open addressing with linear
// probing. Used while building partitions and master tables, never inside a
// superstep.
#ifndef GX_CORE_IDMAP_H
#define GX_CORE_IDMAP_H

#include <stddef.h>
#include <stdint.h>

#define GX_IDMAP_EMPTY UINT64_MAX   // never a vertex id (ids are < 2^63)

typedef struct gx_idmap {
    uint64_t *keys;
    uint32_t *vals;
    uint64_t  mask;                 // capacity - 1 (a power of two)
    uint64_t  count;
} gx_idmap_t;

int  gx_idmap_init(gx_idmap_t *m, uint64_t expected);
void gx_idmap_free(gx_idmap_t *m);
// Returns the index of id, inserting it with index `next` if absent
// (*inserted says which). -1 only when growing fails for lack of memory.
int64_t gx_idmap_put(gx_idmap_t *m, uint64_t id, uint32_t next, int *inserted);
// Returns the index of id, or -1 if absent.
int64_t gx_idmap_get(const gx_idmap_t *m, uint64_t id);
// Overwrites the index of a present id.
void gx_idmap_set(gx_idmap_t *m, uint64_t id, uint32_t val);

#endif
