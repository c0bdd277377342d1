// core/launch.h: one process's share of a run (core/launch.c): the
// engine's set-up from a job, its threads (and, in distributed mode, its
// hub over a link), and what is freed after. Used by the run's entry
// (core/run.c) and by a worker process (core/cluster_worker.c).
#ifndef GX_CORE_LAUNCH_H
#define GX_CORE_LAUNCH_H

#include "core/engine.h"
#include "core/link.h"

// The inputs of `job` (and the one `stream` names, read from stream_fd).
int  gx_open_inputs(gx_engine_t *e, const gx_job_t *job, const char *stream,
                    int stream_fd, gx_error_t *err);
// The engine of one process for W worker threads: endpoints, partitioner,
// inputs. e->first, e->n_here and e->has_master are the caller's.
int  gx_engine_init(gx_engine_t *e, const gx_job_t *job, uint32_t W,
                    const char *stream, int stream_fd, gx_error_t *err);
// Checks, then the context, then the threads. `link`: distributed mode.
int  gx_engine_run(gx_engine_t *e, gx_link_t *link, gx_result_t *res,
                   gx_error_t *err);
void gx_engine_free(gx_engine_t *e);

#endif
