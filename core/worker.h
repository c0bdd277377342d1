// core/worker.h: a worker's state, private to core/. worker.c runs the
// phases (load, build, supersteps) and talks to peers; partstore.c turns a
// partition's edges into dense local ids and CSR; scatter.c runs the
// per-edge loops of a superstep. The small helpers every one of them needs
// on a hot path are inline here.
#ifndef GX_CORE_WORKER_H
#define GX_CORE_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "core/engine.h"
#include "core/idmap.h"
#include "core/mem.h"
#include "core/transport.h"

#define BATCH_ROWS   65536u          // rows per frame at most
#define BATCH_BUDGET 524288u         // rows buffered over a set of batches
#define RESULT_ROWS  8192u           // values per RESULT frame
#define READ_BLOCK   65536u          // edges per reader call
#define CHUNK_MIN    4096u           // first edge chunk of a partition
#define CHUNK_MAX    (1u << 20)      // edges per chunk at most (16 MiB)

enum { F_ACTIVE = 1, F_TOUCHED = 2 };   // replica flags
enum { M_TODO = 1, M_HAS_MSG = 2 };     // master flags

// Marks a replica (in rep_part) that has edges along the program's
// direction. Only those scatter, so only those are synced: on RMAT about a
// third of the replicas are pure receivers.
#define REP_SENDS 0x80000000u

typedef struct chunk {
    struct chunk *next;
    size_t        n, cap;
    double       *wt;                // [cap] weights, after e[] (or NULL)
    gx_edge_t     e[];
} chunk_t;

typedef struct part {
    uint32_t  id;
    // Loading: edges as they arrive, in chunks (no doubling realloc, so the
    // slack is one chunk, not the whole array).
    chunk_t  *head, *tail;
    uint64_t  n_edges;
    // Built.
    uint32_t  n_local;
    uint64_t *gid;                   // local -> global id (ascending)
    uint32_t *owner;                 // local -> worker of the master
    uint32_t *route;                 // local -> master index at the owner
    uint64_t *out_off, *in_off;      // CSR offsets [n_local + 1]
    uint32_t *out_dst, *in_src;      // CSR neighbours [n_edges]
    double   *out_w, *in_w;          // their weights (GX_NEEDS_WEIGHTS only)
    // GX_LOCAL_CLOSURE: the partition's connected components (of its own
    // edges), their members, each one's message this step, and what each
    // replica's master has had at best so far.
    uint32_t *comp, n_comp;          // local -> component
    uint32_t *comp_off, *comp_mem;   // members by component (CSR)
    uint8_t  *cmsg, *cseen;          // [n_comp * msg_size], [n_comp]
    uint32_t *ctouch;                // [n_comp]
    uint8_t  *best;                  // [n_local * msg_size]
    uint32_t  n_with_out;            // locals with an out-edge here
    // Superstep state.
    uint8_t  *out_msg;               // [n_local * msg_size]: synced messages
    uint8_t  *acc;                   // [n_local * msg_size]: combined here
    uint8_t  *flags;
    uint32_t *act, n_act, n_act_out; // active locals (n_act_out: with out-edges)
    uint64_t  act_edges;             // their edges along the program's direction
    uint32_t *touch, n_touch;
} part_t;

// A batch of rows for one frame: up to four fixed-width columns.
typedef struct batch {
    uint32_t kind;
    uint64_t a;
    uint32_t dest;                   // worker
    uint32_t n_cols;
    uint32_t width[4];
    uint8_t *col[4];
    uint32_t n;
    uint32_t cap;                    // rows allocated (grown on demand)
    uint32_t max;                    // rows that make a frame
    uint32_t ahead;                  // frames are for step + ahead (DIRECT:
                                     // made at apply, for the next step)
} batch_t;

// Messages listed for masters, not combined: the edge messages of a
// program without a combiner, and gx_send_to messages. Rows (master index,
// message) are kept as they arrive, then laid out master by master in
// arrival order (a counting sort over the masters that heard something)
// just before apply.
// Rows (master index u32, message) in the order they come.
typedef struct msgrows {
    uint8_t  *row;                   // [n * (4 + message size)]
    uint64_t  n, cap;
} msgrows_t;

typedef struct mlist {
    uint32_t  size;                  // message bytes (0: list unused)
    msgrows_t in;
    uint8_t  *sorted;                // [in.n * size], by master
    uint64_t  cap_sorted;
    uint32_t *count;                 // [n_master] rows this step
    uint64_t *end;                   // [n_master] after sorting: one past
                                     // the master's last message
} mlist_t;

typedef struct worker {
    gx_engine_t        *e;
    const gx_program_t *prog;
    uint32_t            self, W, P;
    size_t              vsz, msz;
    // inbox: a DEALER bound at this worker's endpoint, routing id "w<i>";
    // outbox: one ROUTER, connected to a peer's inbox the first time data
    // goes there, addressing peers by routing id; ctl: a DEALER to the
    // master. Three sockets a worker however many peers, connections only
    // where data flows, and a send to a peer that is gone fails at once
    // (ROUTER_MANDATORY) instead of blocking forever.
    void               *inbox, *outbox, *ctl;
    uint8_t            *connected;   // [W] outbox connected to peer's inbox
    gx_failure_t       *failure;     // the engine reads it after join
    int                 failed;      // this worker failed: the run is over
    // A phase ends by count: data frames sent to each peer (reported at the
    // barrier), received of each kind, and expected (told by the master).
    uint32_t           *sent;        // [W]
    uint64_t            got[GX_F_KINDS];
    uint64_t            expect;
    // Superstep messages are held until every sender's MSG_END is in, then
    // combined in sender order, so sums repeat exactly from run to run.
    gx_inframe_t       *held;
    uint32_t            n_held;
    uint64_t            cap_held;
    uint32_t           *msg_peers, n_msg_peers; // owners of my replicas
    uint32_t            n_msg_senders;          // holders of my masters' replicas
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

    // Masters of the vertices this worker owns.
    gx_idmap_t          mmap;
    uint32_t            n_master;
    uint64_t            cap_master;
    uint64_t           *mid, *outdeg, *indeg;
    uint8_t            *value, *macc, *mflags;
    uint32_t           *todo, n_todo, *next_todo, n_next;
    // Replicas as registered (master, partition, local), then as CSR.
    uint32_t           *reg_m, *reg_p, *reg_l;
    uint64_t            n_reg, cap_reg;
    uint64_t           *rep_off;
    uint32_t           *rep_part, *rep_local;

    // Ids from --vertices read by this worker, registered while building.
    uint64_t           *vids;
    size_t              n_vids;
    uint64_t            cap_vids;

    // Lists for programs without a combiner (elist) and for direct
    // messages (dlist); dself holds the direct messages this worker sent
    // to its own masters at this step, (master, message) rows applied at
    // the next; dout the batches to peers (GX_F_DIRECT, step + 1).
    mlist_t             elist, dlist;
    msgrows_t           dself;
    batch_t            *dout;        // [W]
    uint64_t            got_direct_next; // DIRECT frames seen for step + 1
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

// Records this worker's first error and shuts the run down.
int  gx_worker_fail(worker_t *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int  gx_worker_oom(worker_t *w);
// Sends a batch as one frame (to itself: straight to the frame handler).
int  gx_batch_flush(worker_t *w, batch_t *b);
// The batch of partition p for this phase, made on first use (NULL: out of
// memory, the worker has failed).
batch_t *gx_part_batch_new(worker_t *w, uint32_t p);

static inline batch_t *
part_batch(worker_t *w, uint32_t p)
{
    return w->pbatch[p] ? w->pbatch[p] : gx_part_batch_new(w, p);
}

// partstore.c. Appends n edges (and, for a weighted program, their
// weights; both may be unaligned frame bytes).
int  gx_part_append(worker_t *w, part_t *pt, const void *bytes,
                    const void *weights, size_t n);
int  gx_part_build(worker_t *w, part_t *pt);
int  gx_part_build_out_csr(worker_t *w, part_t *pt);

// scatter.c
void gx_scatter_part(worker_t *w, part_t *pt, batch_t *out);
// closure.c: GX_LOCAL_CLOSURE's components (at build) and scatter.
int  gx_closure_build(worker_t *w, part_t *pt);
void gx_closure_scatter(worker_t *w, part_t *pt, batch_t *out);
void gx_closure_free(part_t *pt);

// Makes room for one more row.
static inline int
batch_reserve(worker_t *w, batch_t *b)
{
    if (b->n < b->cap)
        return 0;
    uint32_t widest = 1;
    for (uint32_t c = 0; c < b->n_cols; c++)
        widest = b->width[c] > widest ? b->width[c] : widest;
    uint64_t cap = gx_grow_cap(b->cap, (uint64_t)b->n + 1, 1024, b->max,
                               widest);
    if (!cap)
        return gx_worker_oom(w);
    for (uint32_t c = 0; c < b->n_cols; c++) {
        uint8_t *col = gx_realloc(b->col[c], (size_t)cap * b->width[c]);
        if (!col)
            return gx_worker_oom(w);
        b->col[c] = col;
    }
    b->cap = (uint32_t)cap;
    return 0;
}

// Copies one message. Built-in combiners fix messages at 8 bytes; a
// constant-size memcpy is a single move, a variable one a libc call.
static inline void
copy_msg(const worker_t *w, void *dst, const void *src)
{
    if (w->msz == 8)
        memcpy(dst, src, 8);
    else
        memcpy(dst, src, w->msz);
}

// The hot rows: (index, message), once per touched replica or synced
// replica every superstep.
static inline int
batch_push_msg(worker_t *w, batch_t *b, uint32_t idx, const void *msg)
{
    if (batch_reserve(w, b) != 0)
        return -1;
    memcpy(b->col[0] + (size_t)b->n * 4, &idx, 4);
    copy_msg(w, b->col[1] + (size_t)b->n * w->msz, msg);
    if (++b->n == b->max)
        return gx_batch_flush(w, b);
    return 0;
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

// Master m has something to apply this step.
static inline void
master_mark(worker_t *w, uint32_t m)
{
    if (!(w->mflags[m] & M_TODO)) {
        w->mflags[m] |= M_TODO;
        w->todo[w->n_todo++] = m;
    }
}

// mlist.c. One more row (master m, `size` bytes of msg). -1: out of
// memory, the worker has failed.
int  gx_rows_push(worker_t *w, msgrows_t *r, uint32_t size, uint32_t m,
                  const void *msg);
// The same into a list, counted for master m.
int  gx_mlist_push(worker_t *w, mlist_t *l, uint32_t m, const void *msg);
// Lays the step's rows out master by master (after every row is in).
int  gx_mlist_sort(worker_t *w, mlist_t *l);
// Master m's messages this step, after sorting; clears its count.
static inline const void *
mlist_take(mlist_t *l, uint32_t m, size_t *n)
{
    *n = l->count[m];
    l->count[m] = 0;
    return *n ? l->sorted + (l->end[m] - *n) * l->size : NULL;
}
int  gx_mlist_init(worker_t *w, mlist_t *l, uint32_t size);
void gx_mlist_free(mlist_t *l);

// An edge message reaches the master of vertex m: combined into its
// accumulator, or listed (a program without a combiner).
static inline int
master_receive(worker_t *w, uint32_t m, const void *msg)
{
    gx_combiner_t c = w->prog->combiner;
    master_mark(w, m);
    if (c == GX_COMBINE_NONE)
        return gx_mlist_push(w, &w->elist, m, msg);
    uint8_t *a = w->macc + (size_t)m * w->msz;
    if (c == GX_COMBINE_CUSTOM && !(w->mflags[m] & M_HAS_MSG))
        memcpy(a, msg, w->msz);
    else
        combine(w->prog, a, msg);
    w->mflags[m] |= M_HAS_MSG;
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
