// core/hub.h: the hub, the one thread of each process of a distributed
// run that touches the network (core/hub.c). docs/design.md, "Distributed
// mode".
#ifndef GX_CORE_HUB_H
#define GX_CORE_HUB_H

#include <stdbool.h>
#include "core/engine.h"
#include "core/link.h"

// The hub of one process: started once the engine's inproc endpoints
// exist (the master's ROUTER in the master; nothing yet in a worker), and
// told by gx_hub_finish that this process's side of the run is over.
typedef struct gx_hub gx_hub_t;

int  gx_hub_start(gx_engine_t *e, gx_link_t *link, gx_hub_t **out,
                  gx_error_t *err);
// ok: this process's threads all finished their part. Waits for the hub
// (in a worker: until the master says the run is over).
void gx_hub_finish(gx_hub_t *h, bool ok);
const gx_failure_t *gx_hub_failure(const gx_hub_t *h);
void gx_hub_destroy(gx_hub_t **h);

#endif
