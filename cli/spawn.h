// cli/spawn.h: --spawn N, graphx-worker processes on this host, started
// once the master listens and reaped when the run is over.
#ifndef GX_CLI_SPAWN_H
#define GX_CLI_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>
#include "cli/secret.h"
#include "graphx/error.h"

typedef struct gx_spawn {
    unsigned           n;            // to start
    bool               curve, quiet;
    const gx_secret_t *secret;
    // The master's --memory and --spill-dir, passed on: each worker's
    // budget is its own, and one on this host is what the user meant.
    uint64_t           memory;       // 0: the workers' default
    const char        *spill_dir;    // NULL: theirs
    pid_t             *pids;
    unsigned           started;
} gx_spawn_t;

// Starts s->n workers connecting to `endpoint` (a wildcard host becomes
// 127.0.0.1). The graphx-worker next to this executable is used.
int  gx_spawn_start(gx_spawn_t *s, const char *endpoint, gx_error_t *err);
// Waits for them (they exit once the master says the run is over, or is
// gone), killing any still there after a few seconds.
void gx_spawn_reap(gx_spawn_t *s);

#endif
