// core/partstore.h: a partition's storage (core/partstore.c).
#ifndef GX_CORE_PARTSTORE_H
#define GX_CORE_PARTSTORE_H

#include "core/wstate.h"

// Appends n edges (and, for a weighted program, their weights; both may be
// unaligned frame bytes).
int  gx_part_append(worker_t *w, part_t *pt, const void *bytes,
                    const void *weights, size_t n);
int  gx_part_build(worker_t *w, part_t *pt);
int  gx_part_build_out_csr(worker_t *w, part_t *pt);
// Frees what the partition holds (its chunks, CSR, superstep state).
// The scratch a scatter needs (accumulators, touched list), made once.
int  gx_part_scratch(worker_t *w, part_t *pt);
void gx_part_free(part_t *pt);

#endif
