// core/spill.h: a process's spill, the engine's one door to the spill
// store (store/store.h). It holds where spilled blocks go, makes the store
// at the first block spilled (a run that never spills writes nothing),
// passes the engine's fault points to it, and keeps the figures a run
// reports. Blocks are keyed by what they hold (gx_space_t), the
// partition, and their order. docs/design.md, "Out of core".
#ifndef GX_CORE_SPILL_H
#define GX_CORE_SPILL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "graphx/error.h"
#include "store/store.h"

typedef enum gx_space {
    GX_SPACE_EDGES = 1,              // a partition's edge chunks, loading
    GX_SPACE_PART,                   // a built partition's arrays
    GX_SPACE_MSGS,                   // message logs: a worker's held
                                     // frames, part 2 x worker + step parity
    GX_SPACE_ROUTE_LOG,              // routes for an away partition
    GX_SPACE_SYNC_LOG,               // syncs for an away partition
    GX_SPACE_REG,                    // a worker's registrations
    GX_SPACE_MLIST,                  // a worker's listed messages, a step's
} gx_space_t;

// What a run spilled, for its report.
typedef struct gx_spill_stats {
    uint64_t bytes_put, bytes_got;
    double   seconds;                // in the store, summed over threads
} gx_spill_stats_t;

typedef struct gx_spill {
    char             dir[4096];      // where the store goes
    pthread_mutex_t  lock;           // making the store
    _Atomic(gx_store_t *) store;     // NULL until the first block
    gx_spill_stats_t closed;         // the figures when it was closed
} gx_spill_t;

// The spill of a run whose blocks go to dir (NULL or "": $TMPDIR, else
// /tmp). Touches nothing on disk; first removes what killed runs of
// this host left there (their pids gone), quietly: that dir may not be
// ours to tidy, or may not exist yet.
int  gx_spill_init(gx_spill_t *s, const char *dir, gx_error_t *err);
// The store's files go; the figures stay readable until gx_spill_fini.
void gx_spill_close(gx_spill_t *s);
void gx_spill_fini(gx_spill_t *s);
// Puts n bytes under (space, part, seq), replacing any block there.
int  gx_spill_put(gx_spill_t *s, gx_space_t space, uint32_t part,
                  uint64_t seq, const void *p, size_t n, gx_error_t *err);
// Reads the block back into buf (exactly n bytes, as put).
int  gx_spill_get(gx_spill_t *s, gx_space_t space, uint32_t part,
                  uint64_t seq, void *buf, size_t n, gx_error_t *err);
// The size of the block under (space, part, seq) in *n; -1 if there is
// none (an error: the engine asks only for what it put).
int  gx_spill_len(gx_spill_t *s, gx_space_t space, uint32_t part,
                  uint64_t seq, size_t *n, gx_error_t *err);
// Forgets every block of (space, part).
int  gx_spill_drop(gx_spill_t *s, gx_space_t space, uint32_t part,
                   gx_error_t *err);
void gx_spill_stats(gx_spill_t *s, gx_spill_stats_t *out);

#endif
