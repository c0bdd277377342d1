// store/env.h: the store's handle and environment, private to store/.
// env.c owns the environment: its lazy open, the lock every transaction
// runs under, growth, errors, close. store.c makes the calls of store.h
// out of write transactions (gx_store_write) and read ones (under
// gx_store_enter / gx_store_leave).
#ifndef GX_STORE_ENV_H
#define GX_STORE_ENV_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "store/files.h"
#include "store/store.h"

struct gx_store {
    pthread_rwlock_t   lock;         // shared: a transaction; exclusive:
                                     // open, grow
    MDB_env           *env;          // NULL until the first put (under lock)
    MDB_dbi            dbi;
    size_t             map;          // the map's size (under lock)
    void              *map_at;       // where it is mapped (NULL: unknown)
    size_t             map_len;
    size_t             map_max;      // 0: no bound
    int                broken;       // why a growth lost the map; 0 (under lock)
    size_t             psize;        // LMDB's page size, once open
    size_t             os_page;
    bool               keep_names;
    pid_t              pid;          // the process that made it
    gx_store_fault_fn *fault;
    void              *fault_arg;
    atomic_ullong      bytes_put, bytes_got, puts, gets, grows;
    atomic_ullong      map_now, file_bytes, ns;
    char               dir[4096];
    char               path[4096];
    char               lock_path[4096 + sizeof GX_STORE_LOCKSFX];
};

// Takes the lock shared with the environment open: 0. With `create` (a
// put) the environment is opened first if need be; without, 1 when there
// is none (nothing was ever put: nothing to read or remove), without the
// lock. -1 with err, without the lock.
int  gx_store_enter(gx_store_t *self, bool create, gx_error_t *err);
void gx_store_leave(gx_store_t *self);

// A write transaction's work: 0 or an LMDB error (MDB_NOTFOUND: nothing
// to do, which is no failure).
typedef int gx_store_txn_fn(MDB_txn *txn, MDB_dbi dbi, const void *arg);

// Runs body in one write transaction, growing the map and running it
// again while LMDB finds the map full. `bytes`: what body writes; `doing`
// names the work in an error. 0; 1 (MDB_NOTFOUND, or no environment and
// !create); -1 with err.
int  gx_store_write(gx_store_t *self, gx_store_txn_fn *body, const void *arg,
                    size_t bytes, bool create, const char *doing,
                    gx_error_t *err);

// One line for an LMDB or system error rc of a write while `doing`
// (wrote: the bytes of blocks it writes).
int  gx_store_fail(const gx_store_t *self, int rc, const char *doing,
                   size_t wrote, gx_error_t *err);

static inline uint64_t
gx_store_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void
gx_store_count(atomic_ullong *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

// Adds the time since t0 to the store's seconds.
static inline void
gx_store_spent(gx_store_t *self, uint64_t t0)
{
    gx_store_count(&self->ns, gx_store_now_ns() - t0);
}

static inline bool
gx_store_fault_at(const gx_store_t *self, gx_store_point_t point)
{
    return self->fault && self->fault(point, self->fault_arg);
}

#endif
