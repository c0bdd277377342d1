// store/store.h: the spill store. Scratch storage for blocks of bytes by
// key, in one LMDB environment per store under a spill dir: what a worker
// cannot keep within its memory budget goes here and streams back block by
// block. Not a database: nothing survives the process, nothing is synced,
// and a block is meant to be large (MiBs of edges, a partition's CSR),
// never one edge. Depends on LMDB, libc and graphx/error.h only, so that
// core/ (above it) and, later, checkpoints can use it.
//
// Every call but gx_store_close may come from many threads at once.
// Failures return -1 with one line in err naming the store's file (which
// names the spill dir) and the cause; the store stays usable where it
// can, and closable always. docs/design.md, "The spill store", says why.
#ifndef GX_STORE_STORE_H
#define GX_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "graphx/error.h"

typedef struct gx_store gx_store_t;          // opaque; fields live in env.h

// A block's key. Packed big-endian, so blocks sort by (space, part, seq):
// a partition's blocks are adjacent and in sequence order.
typedef struct gx_store_key {
    uint32_t space;              // what the data is (the caller's enum)
    uint32_t part;               // the partition it belongs to
    uint64_t seq;                // its order within (space, part)
} gx_store_key_t;

#define GX_STORE_KEY_BYTES 16
void gx_store_key_pack(gx_store_key_t key, uint8_t out[GX_STORE_KEY_BYTES]);

// Where a test's fault hook is asked whether to fail.
typedef enum gx_store_point {
    GX_STORE_OPEN = 0,           // creating the environment (the first put)
    GX_STORE_PUT,                // a write transaction's commit (put, del, drop)
    GX_STORE_GET,                // a read (get, len)
    GX_STORE_GROW,               // a growth of the map
    GX_STORE_POINTS
} gx_store_point_t;

// Returns true when the operation at `point` must fail; it then fails as
// the real failure would (EIO for OPEN, PUT and GET; ENOMEM for GROW).
// Called from any thread that uses the store, under the store's lock: it
// must not call the store.
typedef bool gx_store_fault_fn(gx_store_point_t point, void *arg);

#define GX_STORE_MAP_DEFAULT ((size_t)64 << 20)

typedef struct gx_store_opts {
    size_t             map_bytes;    // first map size; 0: GX_STORE_MAP_DEFAULT
    size_t             map_max;      // the map never grows past it; 0: no bound
    bool               keep_names;   // names on disk until close (see new)
    gx_store_fault_fn *fault;        // NULL in production
    void              *fault_arg;
} gx_store_opts_t;

typedef struct gx_store_block {
    gx_store_key_t key;
    const void    *data;
    size_t         len;
} gx_store_block_t;

// Read at any time, from any thread; each field on its own (not a snapshot).
typedef struct gx_store_stats {
    uint64_t bytes_put;          // bytes of blocks put
    uint64_t bytes_got;          // bytes of blocks read back
    uint64_t puts;               // blocks put
    uint64_t gets;               // blocks read back
    uint64_t grows;              // growths of the map
    uint64_t map_bytes;          // the map's size now (address space)
    uint64_t file_bytes;         // the file's used size after the last commit
    double   seconds;            // in store calls, summed over threads
} gx_store_stats_t;

// Whether dir is an existing directory this process can create files in,
// by creating (and at once removing) a nameless one-page file in it. One
// line naming dir otherwise. Meant for the start of a run.
int         gx_store_check_dir(const char *dir, gx_error_t *err);

// A store in dir. Touches nothing on disk: the environment is created by
// the first put, so a run that never spills writes nothing. Its file is
// dir/graphx-spill-HOST-NS-PID-N (HOST the host name, NS the inode of the
// process's pid namespace, N counting the stores of the process), with
// LMDB's lock file beside it (the same name + "-lock"). Both names are
// removed as soon as LMDB has opened them, unless opts->keep_names: LMDB
// works on through its descriptors and map, and the kernel frees the
// space when the last one closes, even after a kill -9. opts may be NULL.
gx_store_t *gx_store_new(const char *dir, const gx_store_opts_t *opts,
                         gx_error_t *err);
// Closes the environment and removes both files, whether or not an
// operation failed before. Copes with NULL and *self_p == NULL; sets
// *self_p to NULL. No other call may be running on the store. In a child
// forked from the store's process it only frees the memory.
void        gx_store_close(gx_store_t **self_p);
// Async-signal-safe: unlink(2) of the two precomputed paths, nothing else
// (a no-op in any process but the store's). For SIGTERM/SIGINT/SIGHUP
// handlers, where close is not safe; LMDB works on without the names.
void        gx_store_unlink(const gx_store_t *self);
// The store's data file (its lock file is this + "-lock").
const char *gx_store_path(const gx_store_t *self);

// One write transaction each; an existing key is replaced. putv puts n
// blocks in one transaction, all or none. The map grows as needed.
int         gx_store_put(gx_store_t *self, gx_store_key_t key,
                         const void *data, size_t len, gx_error_t *err);
int         gx_store_putv(gx_store_t *self, const gx_store_block_t *blocks,
                          size_t n, gx_error_t *err);
// Copies the block into buf and sets *len to its size. 0: copied; 1: no
// such key (not an error: err untouched); -1: failed. A block larger than
// cap is not copied: -1, with *len set to its size. The pages read are
// dropped from the process's resident set (madvise MADV_DONTNEED).
int         gx_store_get(gx_store_t *self, gx_store_key_t key, void *buf,
                         size_t cap, size_t *len, gx_error_t *err);
// The block's size in *len. 0, 1 (no such key) or -1, as get.
int         gx_store_len(gx_store_t *self, gx_store_key_t key, size_t *len,
                         gx_error_t *err);
// Removes one block: 0, 1 (there was none) or -1.
int         gx_store_del(gx_store_t *self, gx_store_key_t key, gx_error_t *err);
// Removes every block of (space, part), in one transaction. Their pages
// are reused by later puts.
int         gx_store_drop(gx_store_t *self, uint32_t space, uint32_t part,
                          gx_error_t *err);
void        gx_store_stats(const gx_store_t *self, gx_store_stats_t *out);

// Removes from dir the store files (regular files of this user) of
// processes of this host and pid namespace that are gone (kill(pid, 0)
// fails with ESRCH): what a kill -9 left while names were on disk. Only
// names of the format above; never a live process's, nothing else.
// Returns how many files it removed, or -1 (one line naming dir; it
// still tried every name).
int         gx_store_sweep(const char *dir, gx_error_t *err);

#endif
