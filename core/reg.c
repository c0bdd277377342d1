// core/reg.c: a worker's registrations (core/reg.h).
#include "core/reg.h"

#include <stdlib.h>
#include "core/mem.h"

int
gx_reg_push(gx_reg_t *r, gx_alarm_t *al, uint32_t m, uint32_t p, uint32_t l)
{
    if (r->n == r->cap) {
        gx_col_t col[3] = { { r->m, sizeof *r->m }, { r->p, sizeof *r->p },
                            { r->l, sizeof *r->l } };
        int rc = gx_grow_cols(col, 3, &r->cap, r->n + 1, 4096, UINT64_MAX);
        r->m = col[0].p;
        r->p = col[1].p;
        r->l = col[2].p;
        if (rc != 0)
            return gx_alarm_oom(al);
    }
    r->m[r->n] = m;
    r->p[r->n] = p;
    r->l[r->n] = l;
    r->n++;
    r->n_rows++;
    return 0;
}

int
gx_reg_vids_room(gx_reg_t *r, gx_alarm_t *al, size_t n)
{
    uint64_t *v = gx_grow(r->vids, &r->cap_vids, r->n_vids + n, 8192,
                          UINT64_MAX, sizeof *v);
    if (!v)
        return gx_alarm_oom(al);
    r->vids = v;
    return 0;
}

void
gx_reg_drop(gx_reg_t *r)
{
    gx_free(r->m);
    gx_free(r->p);
    gx_free(r->l);
    r->m = r->p = r->l = NULL;
    r->n = r->cap = 0;
}

void
gx_reg_free(gx_reg_t *r)
{
    gx_reg_drop(r);
    gx_free(r->vids);
    r->vids = NULL;
}
