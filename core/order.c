// core/order.c: qsort comparators (core/order.h).
#include "core/order.h"

int
gx_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int
gx_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int
gx_cmp_id_at(const void *a, const void *b)
{
    return gx_cmp_u64(&((const gx_id_at_t *)a)->id, &((const gx_id_at_t *)b)->id);
}
