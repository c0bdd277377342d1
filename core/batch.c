// core/batch.c: batches (core/batch.h).
#include "core/batch.h"

#include <stdlib.h>

// Columns are allocated on first use and grown, and a frame goes out at
// `max` rows, so a set buffers at most BATCH_BUDGET rows (the post's
// set_rows under a small memory budget) however many workers and
// partitions there are, but for the floor of 1024 rows a batch.
void
batch_init(batch_t *b, const gx_post_t *post, const gx_layout_t *lay,
           uint64_t a, uint32_t dest, uint32_t n_set)
{
    memset(b, 0, sizeof *b);
    b->post = post;
    b->lay = *lay;
    b->a = a;
    b->dest = dest;
    uint32_t rows = post->set_rows ? post->set_rows : BATCH_BUDGET;
    uint32_t max = rows / (n_set ? n_set : 1);
    b->max = max < 1024 ? 1024 : max > BATCH_ROWS ? BATCH_ROWS : max;
}

int
gx_batch_grow(batch_t *b)
{
    gx_col_t cols[GX_ROWS_MAX_COLS];
    for (uint32_t c = 0; c < b->lay.n_cols; c++)
        cols[c] = (gx_col_t){ b->col[c], b->lay.width[c] };
    uint64_t cap = b->cap;
    int rc = gx_grow_cols(cols, b->lay.n_cols, &cap, (uint64_t)b->n + 1, 1024,
                          b->max);
    for (uint32_t c = 0; c < b->lay.n_cols; c++)
        b->col[c] = cols[c].p;
    b->cap = (uint32_t)cap;
    return rc == 0 ? 0 : gx_alarm_oom(b->post->alarm);
}

void
batch_free(batch_t *b)
{
    for (uint32_t c = 0; c < b->lay.n_cols; c++)
        gx_free(b->col[c]);
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
