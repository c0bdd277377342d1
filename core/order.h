// core/order.h: the orderings core/ sorts by, in one place. Sorting is how
// a run stays repeatable (docs/design.md, "Same configuration, same
// bytes"), so every comparator is a total order on its key.
#ifndef GX_CORE_ORDER_H
#define GX_CORE_ORDER_H

#include <stdint.h>

// A vertex id and where its row is: sorting these by id gives the
// permutation that puts rows in id order.
typedef struct gx_id_at {
    uint64_t id;
    uint64_t at;
} gx_id_at_t;

int gx_cmp_u32(const void *a, const void *b);
int gx_cmp_u64(const void *a, const void *b);
int gx_cmp_id_at(const void *a, const void *b);    // by id

#endif
