// core/reg.h: a worker's registrations. Replicas registered with their
// masters here (master, partition, local), kept until the masters are
// complete and laid out as their replica lists (core/mtable.c); and the
// --vertices ids this worker read, registered while building.
#ifndef GX_CORE_REG_H
#define GX_CORE_REG_H

#include <stddef.h>
#include <stdint.h>
#include "core/alarm.h"

// A run of registrations, as columns.
typedef struct gx_reg_rows {
    const uint32_t *m, *p, *l;
    uint64_t        n;
} gx_reg_rows_t;

typedef struct gx_reg {
    uint32_t *m, *p, *l;             // master, partition (| REP_SENDS), local
    uint64_t  n, cap;
    // Out of core (core/paging.c): the oldest rows, written to the spill
    // as blocks 0 .. blocks - 1 when memory ran short; m, p, l the rest.
    uint64_t  blocks;
    uint64_t  n_rows;                // in all
    uint64_t *vids;                  // --vertices ids read by this worker
    size_t    n_vids;
    uint64_t  cap_vids;
} gx_reg_t;

int  gx_reg_push(gx_reg_t *r, gx_alarm_t *al, uint32_t m, uint32_t p,
                 uint32_t l);
// Room for n more --vertices ids.
int  gx_reg_vids_room(gx_reg_t *r, gx_alarm_t *al, size_t n);
// The registrations, once laid out (the ids stay until sent).
void gx_reg_drop(gx_reg_t *r);
void gx_reg_free(gx_reg_t *r);

#endif
