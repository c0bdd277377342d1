// core/wstate.h: a worker's state (worker_t), private to core/, and the
// small helpers on a hot path that read it, inline. worker_t holds its
// parts by name, each with its own file: the mailbox (mailbox.c), the
// master table (mtable.c), registrations (reg.c), message lists (mlist.c),
// and its partitions (part.h, partstore.c). Every file of the worker reads
// this state; none of the helpers calls back up into worker.c: they
// report failures to the alarm (alarm.c) and send through batches
// (batch.c).
#ifndef GX_CORE_WSTATE_H
#define GX_CORE_WSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "core/alarm.h"
#include "core/batch.h"
#include "core/engine.h"
#include "core/idmap.h"
#include "core/mailbox.h"
#include "core/mem.h"
#include "core/mlist.h"
#include "core/mtable.h"
#include "core/reg.h"
#include "core/part.h"
#include "core/transport.h"

typedef struct worker {
    gx_engine_t        *e;
    const gx_program_t *prog;
    uint32_t            self, W, P;
    size_t              vsz, msz;
    gx_alarm_t          alarm;       // its first failure, told to the run
    gx_post_t           post;        // where its batches' frames go
    // Fixed buffers, sized at the start (smaller under a small memory
    // budget: core/mem.h, gx_acct_scaled): edges per reader call, and
    // per edge chunk at most.
    size_t              read_block;
    size_t              chunk_max;
    size_t              log_cap;     // bytes of an away partition's log buffer
    gx_mailbox_t        mb;          // sockets, phase counts, held frames
    uint64_t            step;        // the superstep frames must carry
    uint64_t            stats[GX_STAT_N];

    part_t             *parts;       // partitions held: p = self + k*W
    uint32_t            n_parts;
    gx_placement_t      place;       // where each partition lives
    // One batch per remote partition for the phase at hand (EDGES, ROUTE,
    // SYNC), made on first use: a partition no row goes to costs a null
    // pointer, not a batch.
    batch_t           **pbatch;      // [P]
    batch_t             pb_proto;    // kind, columns, widths, max of the phase

    gx_mtable_t         mt;          // masters of the vertices it owns
    gx_reg_t            reg;         // replicas and --vertices registered
    gx_lists_t          lists;       // messages listed, not combined
    bool                weighted;    // GX_NEEDS_WEIGHTS: edges carry weights

    // --output-parts: this worker's part, under its temporary name until
    // the master says every part is whole.
    char                part_tmp[4096];
    bool                part_pending; // part_tmp exists

    gx_agg_value_t      agg[GX_MAX_AGGS], agg_local[GX_MAX_AGGS];
    gx_agg_value_t      global[GX_MAX_GLOBALS];
    uint64_t            facts[GX_FACT_N];
    uint8_t             identity[GX_MAX_MSG_SIZE];
} worker_t;

// Partition p lives on worker p % W, at slot p / W there
// (partition/partition.h: gx_placement).
static inline uint32_t
part_slot(const worker_t *w, uint32_t p)
{
    return gx_place_slot(&w->place, p);
}

static inline uint32_t
part_worker(const worker_t *w, uint32_t p)
{
    return gx_place_worker(&w->place, p);
}

// The worker of a vertex's master: the one holding its home partition.
static inline uint32_t
owner_of(const worker_t *w, uint64_t id)
{
    return gx_owner_of(&w->e->parter, id, &w->place);
}

// Copies one message (core/batch.h: gx_copy_msg).
static inline void
copy_msg(const worker_t *w, void *dst, const void *src)
{
    gx_copy_msg(dst, src, w->msz);
}

// One message into an accumulator (the master side: once per message,
// not per edge). Frame bytes are unaligned, hence the memcpy.
#define COMBINE_AS(T, OP)                                                     \
    do {                                                                      \
        T a_, m_;                                                             \
        memcpy(&a_, acc, sizeof a_);                                          \
        memcpy(&m_, msg, sizeof m_);                                          \
        OP(a_, m_);                                                           \
        memcpy(acc, &a_, sizeof a_);                                          \
    } while (0)

#define C_SUM(a, m) ((a) += (m))
#define C_MIN(a, m) do { if ((m) < (a)) (a) = (m); } while (0)
#define C_MAX(a, m) do { if ((m) > (a)) (a) = (m); } while (0)
// int64 sums wrap instead of overflowing into undefined behaviour.
#define C_USUM(a, m) ((a) = (int64_t)((uint64_t)(a) + (uint64_t)(m)))

static inline void
combine(const gx_program_t *prog, void *acc, const void *msg)
{
    switch (prog->combiner) {
    case GX_COMBINE_SUM_F64: COMBINE_AS(double, C_SUM); break;
    case GX_COMBINE_MIN_F64: COMBINE_AS(double, C_MIN); break;
    case GX_COMBINE_MAX_F64: COMBINE_AS(double, C_MAX); break;
    case GX_COMBINE_SUM_I64: COMBINE_AS(int64_t, C_USUM); break;
    case GX_COMBINE_MIN_I64: COMBINE_AS(int64_t, C_MIN); break;
    case GX_COMBINE_MAX_I64: COMBINE_AS(int64_t, C_MAX); break;
    case GX_COMBINE_MIN_U64: COMBINE_AS(uint64_t, C_MIN); break;
    case GX_COMBINE_MAX_U64: COMBINE_AS(uint64_t, C_MAX); break;
    case GX_COMBINE_CUSTOM:  prog->combine(acc, msg); break;
    case GX_COMBINE_NONE:    break;
    }
}

// An edge message reaches the master of vertex m: combined into its
// accumulator, or listed (a program without a combiner).
static inline int
master_receive(worker_t *w, uint32_t m, const void *msg)
{
    gx_combiner_t c = w->prog->combiner;
    master_mark(&w->mt, m);
    if (c == GX_COMBINE_NONE)
        return gx_mlist_push(&w->alarm, &w->lists.elist, m, msg);
    uint8_t *a = w->mt.macc + (size_t)m * w->msz;
    if (c == GX_COMBINE_CUSTOM && !(w->mt.mflags[m] & M_HAS_MSG))
        memcpy(a, msg, w->msz);
    else
        combine(w->prog, a, msg);
    w->mt.mflags[m] |= M_HAS_MSG;
    return 0;
}

// A master's outgoing message reaches its replica l: active next step.
static inline void
replica_receive(worker_t *w, part_t *pt, uint32_t l, const void *msg)
{
    copy_msg(w, pt->out_msg + (size_t)l * w->msz, msg);
    if (!(pt->flags[l] & F_ACTIVE)) {
        pt->flags[l] |= F_ACTIVE;
        pt->act[pt->n_act++] = l;
        // Locals with out-edges are numbered first (assign_local_ids).
        if (l < pt->n_with_out)
            pt->n_act_out++;
        // What a push from the active ones would cost, to choose between
        // pushing and gathering.
        if (w->prog->direction & GX_DIR_OUT)
            pt->act_edges += pt->out_off[l + 1] - pt->out_off[l];
        if (w->prog->direction & GX_DIR_IN)
            pt->act_edges += pt->in_off[l + 1] - pt->in_off[l];
    }
}

#endif
