// core/mtable.c: a worker's master table (core/mtable.h).
#include "core/mtable.h"

#include <stdlib.h>
#include <string.h>
#include "core/mem.h"
#include "core/order.h"

int
gx_mtable_init(gx_mtable_t *mt, gx_alarm_t *al)
{
    if (gx_idmap_init(&mt->mmap, 64) != 0)
        return gx_alarm_oom(al);
    return 0;
}

// Masters are indexed by u32 in frames: at most UINT32_MAX of them.
static int
grow(gx_mtable_t *mt, gx_alarm_t *al)
{
    gx_col_t col[3] = { { mt->mid, sizeof *mt->mid },
                        { mt->outdeg, sizeof *mt->outdeg },
                        { mt->indeg, sizeof *mt->indeg } };
    int rc = gx_grow_cols(col, 3, &mt->cap_master, (uint64_t)mt->n_master + 1,
                          1024, UINT32_MAX);
    mt->mid = col[0].p;
    mt->outdeg = col[1].p;
    mt->indeg = col[2].p;
    return rc != 0 ? gx_alarm_oom(al) : 0;
}

int64_t
gx_mtable_add(gx_mtable_t *mt, gx_alarm_t *al, uint64_t id, uint64_t o,
              uint64_t d)
{
    int inserted;
    if (mt->n_master == mt->cap_master && grow(mt, al) != 0)
        return -1;
    int64_t m = gx_idmap_put(&mt->mmap, id, mt->n_master, &inserted);
    if (m < 0)
        return gx_alarm_oom(al);
    if (inserted) {
        mt->mid[m] = id;
        mt->outdeg[m] = mt->indeg[m] = 0;
        mt->n_master++;
    }
    mt->outdeg[m] += o;
    mt->indeg[m] += d;
    return m;
}

// Masters are numbered as registrations arrived, an order that changes
// from run to run; renumbered by id, init, apply and the aggregator
// partials run in the same order every time. O(M log M), once.
int
gx_mtable_sort(gx_mtable_t *mt, gx_alarm_t *al, uint32_t **rankp)
{
    uint32_t n = mt->n_master;
    *rankp = NULL;
    if (n == 0)
        return 0;                    // no registration names a master
    // Registration is over: the columns lose their doubling's slack (up
    // to half of them) before the master arrays join them.
    mt->mid = gx_shrink(mt->mid, (size_t)n * sizeof *mt->mid);
    mt->outdeg = gx_shrink(mt->outdeg, (size_t)n * sizeof *mt->outdeg);
    mt->indeg = gx_shrink(mt->indeg, (size_t)n * sizeof *mt->indeg);
    mt->cap_master = n;
    gx_id_at_t *order = gx_malloc((size_t)n * sizeof *order);
    uint32_t *rank = gx_malloc((size_t)n * sizeof *rank);
    uint64_t *tmp = gx_malloc((size_t)n * sizeof *tmp);
    if (!order || !rank || !tmp) {
        gx_free(order); gx_free(rank); gx_free(tmp);
        return gx_alarm_oom(al);
    }
    for (uint32_t m = 0; m < n; m++)
        order[m] = (gx_id_at_t){ mt->mid[m], m };
    qsort(order, n, sizeof *order, gx_cmp_id_at);
    for (uint32_t m = 0; m < n; m++)
        rank[order[m].at] = m;
    uint64_t *cols[3] = { mt->mid, mt->outdeg, mt->indeg };
    for (int c = 0; c < 3; c++) {
        for (uint32_t m = 0; m < n; m++)
            tmp[m] = cols[c][order[m].at];
        memcpy(cols[c], tmp, (size_t)n * sizeof *tmp);
    }
    gx_free(order);
    gx_free(tmp);
    *rankp = rank;
    return 0;
}

int
gx_mtable_alloc(gx_mtable_t *mt, gx_alarm_t *al, uint64_t n_reg, size_t vsz,
                size_t msz)
{
    size_t nm = mt->n_master ? mt->n_master : 1;
    mt->value = gx_big_alloc(nm * vsz);
    mt->macc = gx_big_alloc(nm * msz);
    mt->mflags = gx_big_calloc(nm, 1);
    mt->todo = gx_big_alloc(nm * sizeof *mt->todo);
    mt->next_todo = gx_big_alloc(nm * sizeof *mt->next_todo);
    mt->rep_off = gx_big_calloc(nm + 1, sizeof *mt->rep_off);
    mt->rep_part = gx_big_alloc((n_reg ? n_reg : 1) * sizeof *mt->rep_part);
    mt->rep_local = gx_big_alloc((n_reg ? n_reg : 1) * sizeof *mt->rep_local);
    if (!mt->value || !mt->macc || !mt->mflags || !mt->todo
        || !mt->next_todo || !mt->rep_off || !mt->rep_part || !mt->rep_local)
        return gx_alarm_oom(al);
    return 0;
}

void
gx_mtable_count(gx_mtable_t *mt, const uint32_t *rank,
                const gx_reg_rows_t *rows)
{
    for (uint64_t i = 0; i < rows->n; i++)
        mt->rep_off[rank[rows->m[i]] + 1]++;
}

void
gx_mtable_offsets(gx_mtable_t *mt)
{
    for (uint32_t m = 0; m < mt->n_master; m++)
        mt->rep_off[m + 1] += mt->rep_off[m];
}

// rep_off[m] is master m's next free slot while placing; settle shifts
// the offsets back.
void
gx_mtable_place(gx_mtable_t *mt, const uint32_t *rank,
                const gx_reg_rows_t *rows)
{
    for (uint64_t i = 0; i < rows->n; i++) {
        uint64_t at = mt->rep_off[rank[rows->m[i]]]++;
        mt->rep_part[at] = rows->p[i];
        mt->rep_local[at] = rows->l[i];
    }
}

void
gx_mtable_settle(gx_mtable_t *mt, size_t msz, const uint8_t *identity)
{
    for (uint32_t m = mt->n_master; m > 0; m--)
        mt->rep_off[m] = mt->rep_off[m - 1];
    mt->rep_off[0] = 0;
    for (uint32_t m = 0; m < mt->n_master; m++)
        memcpy(mt->macc + (size_t)m * msz, identity, msz);
}

int64_t
gx_mtable_find(const gx_mtable_t *mt, uint64_t id)
{
    uint32_t lo = 0, hi = mt->n_master;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (mt->mid[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < mt->n_master && mt->mid[lo] == id ? (int64_t)lo : -1;
}

void
gx_mtable_free(gx_mtable_t *mt)
{
    gx_idmap_free(&mt->mmap);
    gx_free(mt->mid); gx_free(mt->outdeg); gx_free(mt->indeg);
    gx_free(mt->value); gx_free(mt->macc); gx_free(mt->mflags);
    gx_free(mt->todo); gx_free(mt->next_todo);
    gx_free(mt->rep_off); gx_free(mt->rep_part); gx_free(mt->rep_local);
}
