// core/mtable.h: a worker's master table. The masters of the vertices it
// owns (ids, degrees, values, accumulators, flags), the step's todo list,
// and each master's replicas (partition, local index) as a CSR. Filled by
// registration (REG frames), renumbered by id once complete.
#ifndef GX_CORE_MTABLE_H
#define GX_CORE_MTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "core/alarm.h"
#include "core/idmap.h"
#include "core/reg.h"

enum { M_TODO = 1, M_HAS_MSG = 2 };     // master flags

// Marks a replica (in rep_part) that has edges along the program's
// direction. Only those scatter, so only those are synced: on RMAT about a
// third of the replicas are pure receivers.
#define REP_SENDS 0x80000000u

typedef struct gx_mtable {
    gx_idmap_t   mmap;               // id -> master index
    uint32_t     n_master;
    uint64_t     cap_master;
    uint64_t    *mid, *outdeg, *indeg;
    uint8_t     *value, *macc, *mflags;
    uint32_t    *todo, n_todo, *next_todo, n_next;
    // Replicas of master m: rep_off[m] .. rep_off[m + 1].
    uint64_t    *rep_off;
    uint32_t    *rep_part, *rep_local;
} gx_mtable_t;

// Registrations may arrive from a fast peer while this worker still waits
// for its edges, so the table exists from the start.
int  gx_mtable_init(gx_mtable_t *mt, gx_alarm_t *al);
// The master of `id` (made on first sight) with o out- and d in-edges
// more. Its index, or -1 (the alarm is raised).
int64_t gx_mtable_add(gx_mtable_t *mt, gx_alarm_t *al, uint64_t id,
                      uint64_t o, uint64_t d);
// Renumbers the masters by id; *rank (the caller frees it) maps the old
// numbers, which registrations name, to the new.
int  gx_mtable_sort(gx_mtable_t *mt, gx_alarm_t *al, uint32_t **rank);
// Allocates values, accumulators, flags, todo lists and replica lists.
int  gx_mtable_alloc(gx_mtable_t *mt, gx_alarm_t *al, uint64_t n_reg,
                     size_t vsz, size_t msz);
// The replica lists from the registrations, in two passes over them in
// the same order: count every run, then offsets, then place every run,
// then settle (which also sets the accumulators at `identity`).
void gx_mtable_count(gx_mtable_t *mt, const uint32_t *rank,
                     const gx_reg_rows_t *rows);
void gx_mtable_offsets(gx_mtable_t *mt);
void gx_mtable_place(gx_mtable_t *mt, const uint32_t *rank,
                     const gx_reg_rows_t *rows);
void gx_mtable_settle(gx_mtable_t *mt, size_t msz, const uint8_t *identity);
// The index of the master of `id`, once sorted (binary search), or -1.
int64_t gx_mtable_find(const gx_mtable_t *mt, uint64_t id);
void gx_mtable_free(gx_mtable_t *mt);

// Master m has something to apply this step.
static inline void
master_mark(gx_mtable_t *mt, uint32_t m)
{
    if (!(mt->mflags[m] & M_TODO)) {
        mt->mflags[m] |= M_TODO;
        mt->todo[mt->n_todo++] = m;
    }
}

#endif
