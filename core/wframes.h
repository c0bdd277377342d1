// core/wframes.h: a worker's frames (core/wframes.c): handlers, pump,
// per-partition batches and the barrier, for the phases in core/worker.c.
#ifndef GX_CORE_WFRAMES_H
#define GX_CORE_WFRAMES_H

#include "core/wstate.h"

// Starts a phase's per-partition batches: rows of this layout; each is
// made when its partition gets its first row.
void gx_pbatch_begin(worker_t *w, const gx_layout_t *lay);
// The batch of partition p for this phase, made on first use (NULL: out of
// memory, the worker has failed).
batch_t *gx_part_batch_new(worker_t *w, uint32_t p);
// Sends what the phase's batches hold (unless the worker failed) and frees
// them.
void gx_pbatch_end(worker_t *w);
// Sends what the phase's batches hold, keeping them for more rows.
void gx_pbatch_flush(worker_t *w);
// Frees the phase's batches without sending them (the table stays, empty;
// none yet if the worker failed before making it).
void gx_pbatch_free(worker_t *w);

static inline batch_t *
part_batch(worker_t *w, uint32_t p)
{
    return w->pbatch[p] ? w->pbatch[p] : gx_part_batch_new(w, p);
}

// The master index of vertex `id` here, or -1. The masters' id map is
// kept for programs that send direct messages (set_up_lists), unless
// memory is short: then the ids, sorted, are searched.
static inline int64_t
master_index(const worker_t *w, uint64_t id)
{
    // Ids above GX_MAX_VERTEX_ID are no vertex (and the map's empty key).
    if (id > GX_MAX_VERTEX_ID)
        return -1;
    return w->mt.mmap.keys ? gx_idmap_get(&w->mt.mmap, id)
                           : gx_mtable_find(&w->mt, id);
}

// MSG and DIRECT frames, applied once the step's are all in.
int  gx_worker_on_msg(worker_t *w, const gx_frame_t *f);
int  gx_worker_on_direct(worker_t *w, const gx_frame_t *f);
// A direct message reaches master m (or no one, m < 0: counted as dropped).
int  gx_worker_direct_receive(worker_t *w, int64_t m, const void *msg);

// Handles one frame from the inbox, waiting at most timeout_ms (-1: until
// one comes or the run is shut down). Returns 0 after a frame, 1 if
// nothing came, -1 if the worker cannot go on.
int  gx_worker_pump(worker_t *w, int timeout_ms);
// The mailbox's wait while a link is full (gx_mailbox_t.take_in).
int  gx_worker_take_in(void *arg);
// Sends a frame to peer d.
int  gx_worker_send(worker_t *w, uint32_t d, const gx_frame_t *f);
// The worker's post (gx_post_t.send): to itself, or to a peer.
int  gx_worker_deliver(void *ctx, uint32_t dest, const gx_frame_t *f);
// Waits for the data frames the master said were sent here this phase.
int  gx_worker_await_data(worker_t *w, uint32_t kind, uint32_t also);
// The master's word: 0 go on, 1 stop, -1 the run is over.
int  gx_worker_await_command(worker_t *w);
// Reports at a barrier and waits for the master's word. 0: go on.
int  gx_worker_barrier(worker_t *w, uint64_t step);
// Loading progress to the master, at most every 0.1 s (best effort).
void gx_worker_progress(worker_t *w, double *last, const gx_reader_t *r,
                        uint64_t edges);

#endif
