// core/mem.h: allocation of the big arrays (edge chunks, CSR, per-vertex
// arrays). They are asked for huge pages: a graph's arrays are touched at
// random, and with 4 KiB pages both the first-touch faults (one per page)
// and the TLB misses of the per-edge loops cost more than the loops' work.
#ifndef GX_CORE_MEM_H
#define GX_CORE_MEM_H

#include <stddef.h>

// malloc() for big blocks; small ones are plain malloc. Freed with free().
void *gx_big_alloc(size_t bytes);
// The same, zeroed.
void *gx_big_calloc(size_t n, size_t size);

#endif
