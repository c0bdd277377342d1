// core/mlist.c: messages listed for masters instead of combined (a program
// without a combiner, and gx_send_to). Rows arrive in a fixed order (this
// worker's own, then each peer's in worker order: docs/design.md, "Same
// configuration, same bytes") and keep it: a stable counting sort over the
// masters that heard something lays each master's messages out together.
// Only masters on this step's todo list are visited, so a quiet step costs
// what it carries, not the number of masters.
#include "core/mlist.h"

#include <stdlib.h>
#include <string.h>
#include "core/mem.h"

int
gx_mlist_init(gx_alarm_t *al, mlist_t *l, uint32_t size, uint32_t n_master)
{
    memset(l, 0, sizeof *l);
    l->size = size;
    size_t nm = n_master ? n_master : 1;
    l->count = gx_big_calloc(nm, sizeof *l->count);
    l->end = gx_big_alloc(nm * sizeof *l->end);
    if (!l->count || !l->end)
        return gx_alarm_oom(al);
    return 0;
}

void
gx_mlist_free(mlist_t *l)
{
    gx_free(l->in.row);
    gx_free(l->sorted);
    gx_free(l->count);
    gx_free(l->end);
    memset(l, 0, sizeof *l);
}

int
gx_lists_dout_init(gx_lists_t *ls, gx_alarm_t *al, const gx_post_t *post,
                   uint32_t self, uint32_t W, uint32_t direct_size)
{
    ls->dout = gx_calloc(W, sizeof *ls->dout);
    if (!ls->dout)
        return gx_alarm_oom(al);
    gx_layout_t lay = gx_rows_layout(GX_F_DIRECT, direct_size);
    for (uint32_t d = 0; d < W; d++) {
        batch_init(&ls->dout[d], post, &lay, self, d, W);
        ls->dout[d].ahead = 1;       // made at apply, read at the next step
    }
    return 0;
}

void
gx_lists_free(gx_lists_t *ls, uint32_t W)
{
    gx_mlist_free(&ls->elist);
    gx_mlist_free(&ls->dlist);
    gx_free(ls->dself.row);
    for (uint32_t d = 0; ls->dout && d < W; d++)
        batch_free(&ls->dout[d]);
    gx_free(ls->dout);
    ls->dout = NULL;
}

int
gx_rows_push(gx_alarm_t *al, msgrows_t *r, uint32_t size, uint32_t m,
             const void *msg)
{
    size_t width = 4 + (size_t)size;
    uint8_t *row = gx_grow(r->row, &r->cap, r->n + 1, 4096, UINT64_MAX, width);
    if (!row)
        return gx_alarm_oom(al);
    r->row = row;
    uint8_t *at = r->row + r->n++ * width;
    memcpy(at, &m, 4);
    memcpy(at + 4, msg, size);
    return 0;
}

// Rows a list keeps in memory before, short of memory, they go to the
// spill as one block: at most MLIST_BLOCK, fewer under a small budget
// (gx_acct_scaled), never fewer than MLIST_FLOOR.
#define MLIST_BLOCK 65536u
#define MLIST_FLOOR 1024u

static uint64_t
block_rows(const mlist_t *l)
{
    size_t width = 4 + (size_t)l->size;
    return gx_acct_scaled(MLIST_BLOCK * width, MLIST_FLOOR * width, 1) / width;
}

void
gx_mlist_spill_to(mlist_t *l, gx_spill_t *spill, uint32_t key)
{
    l->spill = spill;
    l->key = key;
}

// The rows in memory to the spill, as the next block.
static int
rows_out(gx_alarm_t *al, mlist_t *l)
{
    gx_error_t err;
    size_t width = 4 + (size_t)l->size;
    if (gx_spill_put(l->spill, GX_SPACE_MLIST, l->key, l->blocks, l->in.row,
                     l->in.n * width, &err) != 0)
        return gx_alarm_raise(al, "%s", err.msg);
    l->blocks++;
    l->n_spilled += l->in.n;
    l->in.n = 0;
    return 0;
}

int
gx_mlist_push(gx_alarm_t *al, mlist_t *l, uint32_t m, const void *msg)
{
    if (gx_rows_push(al, &l->in, l->size, m, msg) != 0)
        return -1;
    l->count[m]++;
    if (l->spill && l->in.n >= block_rows(l) && gx_acct_tight(0))
        return rows_out(al, l);
    return 0;
}

// Places rows (master, message) at their masters' next slots.
static void
place(mlist_t *l, const uint8_t *rows, uint64_t n)
{
    size_t width = 4 + (size_t)l->size;
    for (uint64_t r = 0; r < n; r++) {
        const uint8_t *row = rows + r * width;
        uint32_t m;
        memcpy(&m, row, 4);
        memcpy(l->sorted + l->end[m]++ * l->size, row + 4, l->size);
    }
}

// The spilled blocks placed, oldest first, then forgotten.
static int
place_spilled(gx_alarm_t *al, mlist_t *l)
{
    size_t width = 4 + (size_t)l->size, cap = (size_t)MLIST_BLOCK * width;
    // (The budget, and so block_rows, may have changed: no block is
    // larger than MLIST_BLOCK rows.)
    uint8_t *buf = gx_malloc(cap);
    if (!buf)
        return gx_alarm_oom(al);
    gx_error_t err;
    int rc = 0;
    for (uint64_t b = 0; b < l->blocks && rc == 0; b++) {
        size_t n = 0;
        rc = gx_spill_len(l->spill, GX_SPACE_MLIST, l->key, b, &n, &err);
        if (rc == 0 && (n > cap || n % width != 0))
            rc = gx_error_set(&err, "a message block of %zu bytes", n);
        if (rc == 0)
            rc = gx_spill_get(l->spill, GX_SPACE_MLIST, l->key, b, buf, n,
                              &err);
        if (rc == 0)
            place(l, buf, n / width);
    }
    gx_free(buf);
    if (rc == 0)
        rc = gx_spill_drop(l->spill, GX_SPACE_MLIST, l->key, &err);
    l->blocks = l->n_spilled = 0;
    return rc == 0 ? 0 : gx_alarm_raise(al, "%s", err.msg);
}

int
gx_mlist_sort(gx_alarm_t *al, mlist_t *l, const uint32_t *todo,
              uint32_t n_todo)
{
    if (l->size == 0)
        return 0;
    uint64_t n = l->n_spilled + l->in.n;
    if (n > l->cap_sorted) {
        gx_free(l->sorted);
        l->sorted = gx_malloc((n ? n : 1) * l->size);
        l->cap_sorted = l->sorted ? n : 0;
        if (!l->sorted)
            return gx_alarm_oom(al);
    }
    // end[m] starts as the master's first slot and ends one past its last.
    uint64_t at = 0;
    for (uint32_t i = 0; i < n_todo; i++) {
        uint32_t m = todo[i];
        l->end[m] = at;
        at += l->count[m];
    }
    // Arrival order: the spilled rows came first.
    if (l->blocks && place_spilled(al, l) != 0)
        return -1;
    place(l, l->in.row, l->in.n);
    l->in.n = 0;
    return 0;
}

void
gx_mlist_trim(mlist_t *l)
{
    if (!l->sorted || !gx_acct_tight(0))
        return;
    gx_free(l->sorted);
    l->sorted = NULL;
    l->cap_sorted = 0;
}
