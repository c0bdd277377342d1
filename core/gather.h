// core/gather.h: the values from the workers to the master, merged in id
// order in bounded memory (core/gather.c).
#ifndef GX_CORE_GATHER_H
#define GX_CORE_GATHER_H

#include "core/engine.h"
#include "core/transport.h"

// After STOP: every worker's sorted RESULT stream, merged into the job's
// sink or, without one, into res->ids/values (res->n_vertices of them).
int gx_gather(gx_engine_t *e, void *router, gx_result_t *res, gx_error_t *err);

#endif
