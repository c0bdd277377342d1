// core/idmap.c: a flat hash table from 64-bit vertex ids to 32-bit dense
// indexes. Keys are mixed first because real ids are often sequential or
// strided, which would pile them into runs under linear probing. Kept at
// most half full: probes stay short and the table costs 24 bytes a key.
#include "core/mem.h"
#include "core/idmap.h"

#include <stdlib.h>
#include <string.h>
#include "partition/partition.h"

// Salted: the partitioners use gx_mix64(id) modulo the grid size, so every
// source in a 2D partition shares those low bits; unsalted, they would
// collide here.
static inline uint64_t
slot(uint64_t id, uint64_t mask)
{
    return gx_mix64(id + 0x632be59bd9b4e019ULL) & mask;
}

int
gx_idmap_init(gx_idmap_t *m, uint64_t expected)
{
    uint64_t cap = 64;
    while (cap < expected * 2)
        cap <<= 1;
    m->keys = gx_malloc(cap * sizeof *m->keys);
    m->vals = gx_malloc(cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        gx_idmap_free(m);
        return -1;
    }
    memset(m->keys, 0xff, cap * sizeof *m->keys);
    m->mask = cap - 1;
    m->count = 0;
    return 0;
}

void
gx_idmap_free(gx_idmap_t *m)
{
    gx_free(m->keys);
    gx_free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->mask = m->count = 0;
}

static int
grow(gx_idmap_t *m)
{
    gx_idmap_t bigger;
    if (gx_idmap_init(&bigger, (m->mask + 1)) != 0)
        return -1;
    for (uint64_t i = 0; i <= m->mask; i++) {
        if (m->keys[i] == GX_IDMAP_EMPTY)
            continue;
        uint64_t h = slot(m->keys[i], bigger.mask);
        while (bigger.keys[h] != GX_IDMAP_EMPTY)
            h = (h + 1) & bigger.mask;
        bigger.keys[h] = m->keys[i];
        bigger.vals[h] = m->vals[i];
    }
    bigger.count = m->count;
    gx_idmap_free(m);
    *m = bigger;
    return 0;
}

int64_t
gx_idmap_put(gx_idmap_t *m, uint64_t id, uint32_t next, int *inserted)
{
    if ((m->count + 1) * 2 > m->mask + 1 && grow(m) != 0)
        return -1;
    uint64_t h = slot(id, m->mask);
    for (;;) {
        uint64_t k = m->keys[h];
        if (k == id) {
            *inserted = 0;
            return m->vals[h];
        }
        if (k == GX_IDMAP_EMPTY) {
            m->keys[h] = id;
            m->vals[h] = next;
            m->count++;
            *inserted = 1;
            return next;
        }
        h = (h + 1) & m->mask;
    }
}

int64_t
gx_idmap_get(const gx_idmap_t *m, uint64_t id)
{
    uint64_t h = slot(id, m->mask);
    for (;;) {
        uint64_t k = m->keys[h];
        if (k == id)
            return m->vals[h];
        if (k == GX_IDMAP_EMPTY)
            return -1;
        h = (h + 1) & m->mask;
    }
}

void
gx_idmap_set(gx_idmap_t *m, uint64_t id, uint32_t val)
{
    uint64_t h = slot(id, m->mask);
    while (m->keys[h] != id)
        h = (h + 1) & m->mask;
    m->vals[h] = val;
}
