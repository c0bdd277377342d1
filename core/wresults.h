// core/wresults.h: a worker's values at the end of a run (core/wresults.c).
#ifndef GX_CORE_WRESULTS_H
#define GX_CORE_WRESULTS_H

#include "core/wstate.h"

// Streams this worker's values, sorted by id, one batch per MORE.
int  gx_worker_send_results(worker_t *w);
// --output-parts: writes them to the worker's part, renamed on GO.
int  gx_worker_write_part(worker_t *w);

#endif
