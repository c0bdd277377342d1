// core/cluster.h: distributed mode's two sides, private to core/: the
// master registers worker processes and hands each the run
// (core/cluster_master.c); a worker registers and takes its run
// (core/cluster_worker.c). Both build their link (core/link.h), and the
// engine then runs over it with a hub in every process (core/hub.h).
// docs/design.md, "Distributed mode".
#ifndef GX_CORE_CLUSTER_H
#define GX_CORE_CLUSTER_H

#include "core/engine.h"
#include "core/link.h"

// The master, when the run fails before its hub could say so: ABORT to
// every worker the run was sent to (best effort; they would notice the
// silence anyway).
void gx_cluster_abort(gx_link_t *l, const char *why);

// The input the master reads and streams to the worker of thread 0, or
// NULL: standard input (as -i or --vertices), or a .gz file given as -i
// (one reader either way). Any other input is read by the workers from
// its path.
const char *gx_cluster_stream(const gx_job_t *job);

// The master's side of registration: binds, waits for the workers,
// sends each the run. Then the engine runs with `l`.
int  gx_cluster_master(const gx_job_t *job, gx_link_t *l, gx_error_t *err);

// A worker's side once it has the run (core/cluster_worker.c).
struct gx_desc;
int  gx_cluster_worker_run(gx_link_t *l, const struct gx_desc *d,
                           const gx_resolved_t *r, const gx_worker_opts_t *o,
                           gx_error_t *err);

#endif
