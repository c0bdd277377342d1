// core/mlist.h: messages listed for masters, not combined: the edge
// messages of a program without a combiner, and gx_send_to messages. Rows
// (master index, message) are kept as they arrive, then laid out master
// by master in arrival order (a counting sort over the masters that heard
// something) just before apply.
#ifndef GX_CORE_MLIST_H
#define GX_CORE_MLIST_H

#include <stdint.h>
#include "core/alarm.h"
#include "core/batch.h"
#include "core/spill.h"

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
    // Out of core: past half the budget, full blocks of rows go to the
    // spill as they come (blocks 0 .. blocks - 1 of (GX_SPACE_MLIST, key)),
    // and the sort reads them back ahead of the rows in memory.
    gx_spill_t *spill;               // NULL: never spilled
    uint32_t  key;
    uint64_t  blocks, n_spilled;
} mlist_t;

// One more row (master m, `size` bytes of msg). -1: out of memory, the
// alarm is raised.
int  gx_rows_push(gx_alarm_t *al, msgrows_t *r, uint32_t size, uint32_t m,
                  const void *msg);
// The same into a list, counted for master m.
int  gx_mlist_push(gx_alarm_t *al, mlist_t *l, uint32_t m, const void *msg);
// Lays the step's rows out master by master (after every row is in); the
// masters that heard something are todo[0..n_todo).
int  gx_mlist_sort(gx_alarm_t *al, mlist_t *l, const uint32_t *todo,
                   uint32_t n_todo);
// Master m's messages this step, after sorting; clears its count.
static inline const void *
mlist_take(mlist_t *l, uint32_t m, size_t *n)
{
    *n = l->count[m];
    l->count[m] = 0;
    return *n ? l->sorted + (l->end[m] - *n) * l->size : NULL;
}
// A worker's message lists: for programs without a combiner (elist) and
// for direct messages (dlist); dself holds the direct messages this worker
// sent to its own masters at this step, (master, message) rows applied at
// the next; dout the batches to peers (GX_F_DIRECT, step + 1).
typedef struct gx_lists {
    mlist_t   elist, dlist;
    msgrows_t dself;
    batch_t  *dout;                  // [W], or NULL
} gx_lists_t;

int  gx_mlist_init(gx_alarm_t *al, mlist_t *l, uint32_t size,
                   uint32_t n_master);
// Lets l spill its rows to `spill` under `key` (unique in the process).
void gx_mlist_spill_to(mlist_t *l, gx_spill_t *spill, uint32_t key);
// After apply: past half the budget, the sorted messages' array goes
// (made again at the next sort that needs it).
void gx_mlist_trim(mlist_t *l);
void gx_mlist_free(mlist_t *l);
// Makes the W DIRECT batches from worker `self` (rows: vertex id, message
// of direct_size bytes), sent through `post` for the next step. -1: out
// of memory, the alarm is raised.
int  gx_lists_dout_init(gx_lists_t *ls, gx_alarm_t *al, const gx_post_t *post,
                        uint32_t self, uint32_t W, uint32_t direct_size);
// Frees the lists and the W DIRECT batches.
void gx_lists_free(gx_lists_t *ls, uint32_t W);

#endif
