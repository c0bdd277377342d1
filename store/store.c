// store/store.c: the calls of store.h made of transactions (env.h runs
// them): blocks put in one write transaction, read back by copy in a
// read one, removed one by one or by (space, part). Keys are packed
// big-endian, so LMDB's byte order is (space, part, seq) order and the
// blocks of a partition are adjacent.
#include "store/env.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

void
gx_store_key_pack(gx_store_key_t key, uint8_t out[GX_STORE_KEY_BYTES])
{
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t)(key.space >> (24 - 8 * i));
        out[4 + i] = (uint8_t)(key.part >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; i++)
        out[8 + i] = (uint8_t)(key.seq >> (56 - 8 * i));
}

typedef struct blocks {
    const gx_store_block_t *v;
    size_t                  n;
} blocks_t;

static int
put_body(MDB_txn *txn, MDB_dbi dbi, const void *arg)
{
    static const char none;                   // data of a 0-byte block
    const blocks_t *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        uint8_t k[GX_STORE_KEY_BYTES];
        gx_store_key_pack(b->v[i].key, k);
        MDB_val kv = { sizeof k, k };
        const void *data = b->v[i].data ? b->v[i].data : &none;
        MDB_val v = { b->v[i].len, (void *)data };
        int rc = mdb_put(txn, dbi, &kv, &v, 0);   // LMDB only reads v
        if (rc)
            return rc;
    }
    return 0;
}

int
gx_store_putv(gx_store_t *self, const gx_store_block_t *blocks, size_t n,
              gx_error_t *err)
{
    if (n == 0)
        return 0;                             // and no environment for it
    uint64_t t0 = gx_store_now_ns();
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (blocks[i].len > SIZE_MAX - bytes)
            return gx_error_set(err, "spill %s: %zu blocks of more bytes than "
                                "a size_t counts", self->path, n);
        bytes += blocks[i].len;
    }
    char doing[64];
    snprintf(doing, sizeof doing, "writing %zu bytes", bytes);
    blocks_t b = { blocks, n };
    int rc = gx_store_write(self, put_body, &b, bytes, true, doing, err);
    if (rc == 0) {
        gx_store_count(&self->puts, n);
        gx_store_count(&self->bytes_put, bytes);
    }
    gx_store_spent(self, t0);
    return rc;
}

int
gx_store_put(gx_store_t *self, gx_store_key_t key, const void *data, size_t len,
             gx_error_t *err)
{
    gx_store_block_t b = { key, data, len };
    return gx_store_putv(self, &b, 1, err);
}

static int
del_body(MDB_txn *txn, MDB_dbi dbi, const void *arg)
{
    uint8_t k[GX_STORE_KEY_BYTES];
    gx_store_key_pack(*(const gx_store_key_t *)arg, k);
    MDB_val kv = { sizeof k, k };
    return mdb_del(txn, dbi, &kv, NULL);
}

int
gx_store_del(gx_store_t *self, gx_store_key_t key, gx_error_t *err)
{
    uint64_t t0 = gx_store_now_ns();
    int rc = gx_store_write(self, del_body, &key, 0, false, "deleting a block",
                            err);
    gx_store_spent(self, t0);
    return rc;
}

// Every key of (space, part): from (space, part, 0) while the first 8
// bytes match. A seek per key (O(log n) each) rather than trusting where
// a cursor stands after a delete.
static int
drop_body(MDB_txn *txn, MDB_dbi dbi, const void *arg)
{
    uint8_t first[GX_STORE_KEY_BYTES];
    gx_store_key_pack(*(const gx_store_key_t *)arg, first);
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, dbi, &c);
    while (rc == 0) {
        MDB_val kv = { sizeof first, first }, v;
        rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc || kv.mv_size != sizeof first || memcmp(kv.mv_data, first, 8) != 0)
            break;
        rc = mdb_cursor_del(c, 0);
    }
    if (c)
        mdb_cursor_close(c);
    return rc;
}

int
gx_store_drop(gx_store_t *self, uint32_t space, uint32_t part, gx_error_t *err)
{
    uint64_t t0 = gx_store_now_ns();
    gx_store_key_t first = { space, part, 0 };
    char doing[80];
    snprintf(doing, sizeof doing, "dropping the blocks of (%u, %u)", space, part);
    int rc = gx_store_write(self, drop_body, &first, 0, false, doing, err);
    gx_store_spent(self, t0);
    return rc == 1 ? 0 : rc;
}

typedef struct read_req {
    gx_store_key_t key;
    void          *buf;          // NULL: the size only (len)
    size_t         cap;
    size_t         len;          // out: the block's size
} read_req_t;

// One read transaction, begun and ended here. Under MDB_NOTLS it takes a
// reader slot of its own, not its thread's, for as long as it lasts.
// 0, MDB_NOTFOUND, ERANGE (larger than cap) or an LMDB error.
static int
read_locked(gx_store_t *self, read_req_t *r)
{
    uint8_t k[GX_STORE_KEY_BYTES];
    gx_store_key_pack(r->key, k);
    MDB_val kv = { sizeof k, k }, v;
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = gx_store_fault_at(self, GX_STORE_GET) ? EIO
         : mdb_get(txn, self->dbi, &kv, &v);
    if (rc == 0) {
        r->len = v.mv_size;
        if (r->buf && v.mv_size > r->cap)
            rc = ERANGE;
        else if (r->buf && v.mv_size > 0) {
            memcpy(r->buf, v.mv_data, v.mv_size);   // its pages go at leave
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

static int
read_block(gx_store_t *self, read_req_t *r, gx_error_t *err)
{
    int in = gx_store_enter(self, false, err);
    if (in != 0)
        return in;                            // 1: nothing was ever put
    int rc = read_locked(self, r);
    gx_store_leave(self);
    if (rc == 0 || rc == MDB_NOTFOUND)
        return rc == 0 ? 0 : 1;
    const gx_store_key_t *k = &r->key;
    if (rc == ERANGE)
        return gx_error_set(err, "spill %s: block (%u, %u, %llu) is %zu bytes, "
                            "more than the %zu of the buffer", self->path,
                            k->space, k->part, (unsigned long long)k->seq,
                            r->len, r->cap);
    return gx_error_set(err, "spill %s: reading block (%u, %u, %llu): %s",
                        self->path, k->space, k->part,
                        (unsigned long long)k->seq, mdb_strerror(rc));
}

int
gx_store_get(gx_store_t *self, gx_store_key_t key, void *buf, size_t cap,
             size_t *len, gx_error_t *err)
{
    static char none;                         // buf for a 0-byte cap
    uint64_t t0 = gx_store_now_ns();
    read_req_t r = { key, buf ? buf : &none, buf ? cap : 0, 0 };
    int rc = read_block(self, &r, err);
    *len = r.len;
    if (rc == 0) {
        gx_store_count(&self->gets, 1);
        gx_store_count(&self->bytes_got, r.len);
    }
    gx_store_spent(self, t0);
    return rc;
}

int
gx_store_len(gx_store_t *self, gx_store_key_t key, size_t *len, gx_error_t *err)
{
    uint64_t t0 = gx_store_now_ns();
    read_req_t r = { key, NULL, 0, 0 };
    int rc = read_block(self, &r, err);
    *len = r.len;
    gx_store_spent(self, t0);
    return rc;
}

