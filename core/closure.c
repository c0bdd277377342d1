// core/closure.c: GX_LOCAL_CLOSURE, block-centric label propagation. At
// build, each partition finds the connected components of its own edges
// (a union-find over the CSR); each superstep, the messages of a
// component's active replicas are combined once, and every member hears
// the result, as if the message had crossed every path of the partition
// in one step. For labels that only go down (MIN) or up (MAX) the
// fixpoint is the same and comes in fewer supersteps: on a grid whose
// edges two partitions share at random, each holds a critical percolation
// cluster, and labels cross it whole (docs/design.md, "Connected
// components"). A member is sent the component's message only when it
// improves on the best its master has had from this replica, so a quiet
// component costs nothing.
#include "core/closure.h"

#include <stdlib.h>
#include "core/mem.h"

static uint32_t
find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

// Component ids 0..n_comp-1 by a union-find over the CSR by destination.
static int
label_components(worker_t *w, part_t *pt)
{
    uint32_t n = pt->n_local;
    uint32_t *parent = gx_big_alloc((size_t)n * sizeof *parent);
    pt->comp = gx_big_alloc((size_t)n * sizeof *pt->comp);
    if (!parent || !pt->comp) {
        gx_free(parent);
        return gx_alarm_oom(&w->alarm);
    }
    for (uint32_t l = 0; l < n; l++)
        parent[l] = l;
    for (uint32_t v = 0; v < n; v++)
        for (uint64_t e = pt->in_off[v]; e < pt->in_off[v + 1]; e++) {
            uint32_t a = find(parent, pt->in_src[e]), b = find(parent, v);
            if (a != b)
                parent[a < b ? b : a] = a < b ? a : b;
        }
    // Roots are the smallest member (unions keep the smaller), so one pass
    // in local order numbers each root before its members.
    pt->n_comp = 0;
    for (uint32_t l = 0; l < n; l++) {
        uint32_t r = find(parent, l);
        pt->comp[l] = r == l ? pt->n_comp++ : pt->comp[r];
    }
    gx_free(parent);
    return 0;
}

int
gx_closure_build(worker_t *w, part_t *pt)
{
    if (label_components(w, pt) != 0)
        return -1;
    uint32_t n = pt->n_local, nc = pt->n_comp;
    pt->comp_off = gx_big_calloc((size_t)nc + 1, sizeof *pt->comp_off);
    pt->comp_mem = gx_big_alloc((size_t)n * sizeof *pt->comp_mem);
    pt->cmsg = gx_big_alloc((size_t)nc * w->msz);
    pt->cseen = gx_big_calloc(nc, 1);
    pt->ctouch = gx_big_alloc((size_t)nc * sizeof *pt->ctouch);
    pt->best = gx_big_alloc((size_t)n * w->msz);
    if (!pt->comp_off || !pt->comp_mem || !pt->cmsg || !pt->cseen
        || !pt->ctouch || !pt->best)
        return gx_alarm_oom(&w->alarm);
    for (uint32_t l = 0; l < n; l++)
        pt->comp_off[pt->comp[l] + 1]++;
    for (uint32_t c = 0; c < nc; c++)
        pt->comp_off[c + 1] += pt->comp_off[c];
    for (uint32_t l = 0; l < n; l++)
        pt->comp_mem[pt->comp_off[pt->comp[l]]++] = l;
    for (uint32_t c = nc; c > 0; c--)
        pt->comp_off[c] = pt->comp_off[c - 1];
    pt->comp_off[0] = 0;
    for (uint32_t l = 0; l < n; l++)
        memcpy(pt->best + (size_t)l * w->msz, w->identity, w->msz);
    return 0;
}

void
gx_closure_free(part_t *pt)
{
    gx_free(pt->comp); gx_free(pt->comp_off); gx_free(pt->comp_mem);
    gx_free(pt->cmsg); gx_free(pt->cseen); gx_free(pt->ctouch);
    gx_free(pt->best);
}

// Folds msg into *best; true if that changed it (the master gains).
static bool
improves(const worker_t *w, uint8_t *best, const uint8_t *msg)
{
    uint8_t t[GX_MAX_MSG_SIZE];
    memcpy(t, best, w->msz);
    combine(w->prog, t, msg);
    if (memcmp(t, best, w->msz) == 0)
        return false;
    memcpy(best, t, w->msz);
    return true;
}

// The component's message to each member that gains by it.
static void
deliver_component(worker_t *w, part_t *pt, batch_t *out, uint32_t c)
{
    const uint8_t *m = pt->cmsg + (size_t)c * w->msz;
    uint64_t sent = 0;
    for (uint32_t k = pt->comp_off[c]; k < pt->comp_off[c + 1]; k++) {
        uint32_t v = pt->comp_mem[k], o = pt->owner[v];
        if (!improves(w, pt->best + (size_t)v * w->msz, m))
            continue;
        if ((o == w->self ? master_receive(w, pt->route[v], m)
                          : batch_push_msg(&out[o], pt->route[v], m,
                                           w->msz)) != 0)
            return;
        sent++;
    }
    w->stats[GX_STAT_MESSAGES] += sent;
}

void
gx_closure_scatter(worker_t *w, part_t *pt, batch_t *out)
{
    size_t ms = w->msz;
    uint32_t n_touch = 0;
    for (uint32_t i = 0; i < pt->n_act; i++) {
        uint32_t u = pt->act[i], c = pt->comp[u];
        const uint8_t *m = pt->out_msg + (size_t)u * ms;
        // The sender's master made this message: it has it already.
        improves(w, pt->best + (size_t)u * ms, m);
        uint8_t *cm = pt->cmsg + (size_t)c * ms;
        if (!pt->cseen[c]) {
            pt->cseen[c] = 1;
            pt->ctouch[n_touch++] = c;
            memcpy(cm, m, ms);
        } else {
            combine(w->prog, cm, m);
        }
    }
    for (uint32_t i = 0; i < n_touch && !w->alarm.raised; i++)
        deliver_component(w, pt, out, pt->ctouch[i]);
    for (uint32_t i = 0; i < n_touch; i++)
        pt->cseen[pt->ctouch[i]] = 0;
}
