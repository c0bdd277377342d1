// core/closure.h: GX_LOCAL_CLOSURE's components (at build) and scatter
// (core/closure.c).
#ifndef GX_CORE_CLOSURE_H
#define GX_CORE_CLOSURE_H

#include "core/wstate.h"

int  gx_closure_build(worker_t *w, part_t *pt);
void gx_closure_scatter(worker_t *w, part_t *pt, batch_t *out);
void gx_closure_free(part_t *pt);

#endif
