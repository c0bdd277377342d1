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

int
gx_mlist_push(gx_alarm_t *al, mlist_t *l, uint32_t m, const void *msg)
{
    if (gx_rows_push(al, &l->in, l->size, m, msg) != 0)
        return -1;
    l->count[m]++;
    return 0;
}

int
gx_mlist_sort(gx_alarm_t *al, mlist_t *l, const uint32_t *todo,
              uint32_t n_todo)
{
    if (l->size == 0)
        return 0;
    uint64_t n = l->in.n;
    if (n > l->cap_sorted) {
        gx_free(l->sorted);
        l->sorted = gx_malloc(n * l->size);
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
    size_t width = 4 + (size_t)l->size;
    for (uint64_t r = 0; r < n; r++) {
        const uint8_t *row = l->in.row + r * width;
        uint32_t m;
        memcpy(&m, row, 4);
        memcpy(l->sorted + l->end[m]++ * l->size, row + 4, l->size);
    }
    l->in.n = 0;
    return 0;
}
