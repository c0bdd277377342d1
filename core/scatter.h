// core/scatter.h: the per-edge work of a superstep (core/scatter.c).
#ifndef GX_CORE_SCATTER_H
#define GX_CORE_SCATTER_H

#include "core/wstate.h"

// Scatters partition pt's active replicas; messages for peers go into
// out[owner], those for this worker's masters straight in.
void gx_scatter_part(worker_t *w, part_t *pt, batch_t *out);

#endif
