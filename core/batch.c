// core/batch.c: batches (core/batch.h).
#include "core/batch.h"

#include <stdlib.h>

// Columns are allocated on first use and grown, and a frame goes out at
// `max` rows, so a set buffers at most BATCH_BUDGET rows however many
// workers and partitions there are.
void
batch_init(batch_t *b, const gx_post_t *post, const gx_layout_t *lay,
           uint64_t a, uint32_t dest, uint32_t n_set)
{
    memset(b, 0, sizeof *b);
    b->post = post;
    b->lay = *lay;
    b->a = a;
    b->dest = dest;
    uint32_t max = BATCH_BUDGET / (n_set ? n_set : 1);
    b->max = max < 1024 ? 1024 : max > BATCH_ROWS ? BATCH_ROWS : max;
}

int
gx_batch_grow(batch_t *b)
{
    uint32_t widest = 1;
    for (uint32_t c = 0; c < b->lay.n_cols; c++)
        widest = b->lay.width[c] > widest ? b->lay.width[c] : widest;
    uint64_t cap = gx_grow_cap(b->cap, (uint64_t)b->n + 1, 1024, b->max,
                               widest);
    if (!cap)
        return gx_alarm_oom(b->post->alarm);
    for (uint32_t c = 0; c < b->lay.n_cols; c++) {
        uint8_t *col = gx_realloc(b->col[c], (size_t)cap * b->lay.width[c]);
        if (!col)
            return gx_alarm_oom(b->post->alarm);
        b->col[c] = col;
    }
    b->cap = (uint32_t)cap;
    return 0;
}

void
batch_free(batch_t *b)
{
    for (uint32_t c = 0; c < b->lay.n_cols; c++)
        free(b->col[c]);
    memset(b, 0, sizeof *b);
}

int
gx_batch_flush(batch_t *b)
{
    if (b->n == 0)
        return 0;
    const gx_post_t *post = b->post;
    const void *col[GX_ROWS_MAX_COLS];
    for (uint32_t c = 0; c < b->lay.n_cols; c++)
        col[c] = b->col[c];
    gx_frame_t f = gx_rows_pack(&b->lay, *post->step + b->ahead, b->a, b->n,
                                col);
    b->n = 0;
    return post->send(post->ctx, b->dest, &f);
}
