// core/batch.h: batches, the rows a worker gathers for one frame (EDGES,
// REG, ROUTE, MSG, SYNC, DIRECT): up to four fixed-width columns, sent as
// one frame when `max` rows are in or when the phase flushes. A batch
// knows where its frames go through its post (the worker's send), so the
// per-edge loops that fill batches need nothing from the worker above.
#ifndef GX_CORE_BATCH_H
#define GX_CORE_BATCH_H

#include <stdint.h>
#include <string.h>
#include "core/alarm.h"
#include "core/codec.h"
#include "core/frames.h"
#include "core/mem.h"

#define BATCH_ROWS   65536u          // rows per frame at most
#define BATCH_BUDGET 524288u         // rows buffered over a set of batches
                                     // (8 MiB of EDGES rows), by default

// Where a batch's frames go: send(ctx, dest, frame) delivers one (to the
// worker itself: straight to its frame handler); frames carry the step at
// *step (plus the batch's `ahead`); a failure is told to *alarm.
typedef struct gx_post {
    int              (*send)(void *ctx, uint32_t dest, const gx_frame_t *f);
    void              *ctx;
    const uint64_t    *step;
    gx_alarm_t        *alarm;
    uint32_t           set_rows;     // rows a set buffers (0: BATCH_BUDGET)
} gx_post_t;

// A batch of rows for one frame: up to four fixed-width columns.
typedef struct batch {
    gx_layout_t lay;                 // the frame's kind and columns
    uint64_t a;
    uint32_t dest;                   // worker
    uint8_t *col[GX_ROWS_MAX_COLS];
    uint32_t n;
    uint32_t cap;                    // rows allocated (grown on demand)
    uint32_t max;                    // rows that make a frame
    uint32_t ahead;                  // frames are for step + ahead (DIRECT:
                                     // made at apply, for the next step)
    const gx_post_t *post;
} batch_t;

// A batch of a set of `n_set` (one per peer, or per partition).
void batch_init(batch_t *b, const gx_post_t *post, const gx_layout_t *lay,
                uint64_t a, uint32_t dest, uint32_t n_set);
void batch_free(batch_t *b);
// Sends the batch as one frame (nothing if it is empty).
int  gx_batch_flush(batch_t *b);

// Copies one message of `size` bytes. Built-in combiners fix messages at 8
// bytes; a constant-size memcpy is a single move, a variable one a libc
// call.
static inline void
gx_copy_msg(void *dst, const void *src, size_t size)
{
    if (size == 8)
        memcpy(dst, src, 8);
    else
        memcpy(dst, src, size);
}

// Grows the columns for one more row (core/batch.c).
int  gx_batch_grow(batch_t *b);

// Makes room for one more row. The test is inline, the growing is not:
// the test runs once per row on the hottest loops (routing, messages).
static inline int
batch_reserve(batch_t *b)
{
    return b->n < b->cap ? 0 : gx_batch_grow(b);
}

// Appends one row; the caller passes a pointer per column.
static inline int
batch_push(batch_t *b, const void *c0, const void *c1, const void *c2,
           const void *c3)
{
    const void *src[4] = { c0, c1, c2, c3 };
    if (batch_reserve(b) != 0)
        return -1;
    for (uint32_t c = 0; c < b->lay.n_cols; c++) {
        uint32_t wd = b->lay.width[c];
        memcpy(b->col[c] + (size_t)b->n * wd, src[c], wd);
    }
    if (++b->n == b->max)
        return gx_batch_flush(b);
    return 0;
}

// The hot rows: (index, message of `msz` bytes), once per touched replica
// or synced replica every superstep.
static inline int
batch_push_msg(batch_t *b, uint32_t idx, const void *msg, size_t msz)
{
    if (batch_reserve(b) != 0)
        return -1;
    memcpy(b->col[0] + (size_t)b->n * 4, &idx, 4);
    gx_copy_msg(b->col[1] + (size_t)b->n * msz, msg, msz);
    if (++b->n == b->max)
        return gx_batch_flush(b);
    return 0;
}

#endif
