// core/desc.c: the run's description, as the master sends it to every
// worker process (a msgpack map, so a field can be added without breaking
// the frame's shape), and the table of the run's processes (fixed-width
// rows). Both come off the network on the worker's side: every field is
// type-checked, every string bounded and free of NUL bytes.
#include "core/desc.h"
#include "core/engine.h"            // GX_MAX_WORKERS

#include <stdlib.h>
#include <string.h>
#include "core/mem.h"

static void
pack_str(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void
pack_key(msgpack_packer *pk, const char *k)
{
    pack_str(pk, k);
}

int
gx_desc_pack(const gx_desc_t *d, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 12);
    pack_key(&pk, "program");    pack_str(&pk, d->program);
    pack_key(&pk, "hash");
    msgpack_pack_bin(&pk, d->has_hash ? 32 : 0);
    msgpack_pack_bin_body(&pk, d->hash, d->has_hash ? 32 : 0);
    pack_key(&pk, "input");      pack_str(&pk, d->input);
    pack_key(&pk, "vertices");   pack_str(&pk, d->vertices);
    pack_key(&pk, "parts");      pack_str(&pk, d->parts);
    pack_key(&pk, "strategy");   msgpack_pack_uint32(&pk, d->strategy);
    pack_key(&pk, "partitions"); msgpack_pack_uint32(&pk, d->partitions);
    pack_key(&pk, "workers");    msgpack_pack_uint32(&pk, d->workers);
    pack_key(&pk, "stream");     msgpack_pack_uint32(&pk, d->stream);
    pack_key(&pk, "undirected");
    d->undirected ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    pack_key(&pk, "max_supersteps"); msgpack_pack_uint64(&pk, d->max_supersteps);
    pack_key(&pk, "params");
    msgpack_pack_array(&pk, d->n_params * 2);
    for (size_t i = 0; i < d->n_params; i++) {
        pack_str(&pk, d->params[i].key);
        pack_str(&pk, d->params[i].value);
    }
    return 0;
}

// A string field: NULL for nil; refused if it holds a NUL byte or is
// longer than a path can be.
static int
get_str(const msgpack_object *o, char **out, bool nil_ok, const char *what,
        gx_error_t *err)
{
    *out = NULL;
    if (o->type == MSGPACK_OBJECT_NIL && nil_ok)
        return 0;
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > 4096
        || memchr(o->via.str.ptr, 0, o->via.str.size))
        return gx_error_set(err, "run description: bad '%s'", what);
    if (!(*out = gx_malloc(o->via.str.size + 1)))
        return gx_error_set(err, "run description: out of memory");
    memcpy(*out, o->via.str.ptr, o->via.str.size);
    (*out)[o->via.str.size] = 0;
    return 0;
}

static int
get_u32(const msgpack_object *o, uint32_t *out, const char *what,
        gx_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER
        || o->via.u64 > UINT32_MAX)
        return gx_error_set(err, "run description: bad '%s'", what);
    *out = (uint32_t)o->via.u64;
    return 0;
}

static int
get_params(const msgpack_object *o, gx_desc_t *d, gx_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size % 2
        || o->via.array.size > 2048)
        return gx_error_set(err, "run description: bad 'params'");
    size_t n = o->via.array.size / 2;
    if (n && !(d->params = gx_calloc(n, sizeof *d->params)))
        return gx_error_set(err, "run description: out of memory");
    for (size_t i = 0; i < n; i++) {
        char *k, *v;
        if (get_str(&o->via.array.ptr[2 * i], &k, false, "params", err) != 0)
            return -1;
        d->params[d->n_params++].key = k;
        if (get_str(&o->via.array.ptr[2 * i + 1], &v, false, "params", err)
            != 0)
            return -1;
        d->params[i].value = v;
    }
    return 0;
}

// ---- Shape, before msgpack-c sees the bytes ----------------------------------
//
// msgpack-c allocates a container's entries as soon as it reads their
// count: five bytes claiming a map of 2^32 - 1 pairs would ask for 256 GiB.
// So the bytes are walked first: every container's entries must fit in the
// bytes left (each takes one at least), nesting is at most 4 deep (the
// description is a map of strings, integers and one array), and only the
// types a description can hold appear.

// One element at p[0..len): its header's size (*hdr), its payload bytes
// (*skip) and the elements it contains (*items). -1: not allowed.
static int
element(const uint8_t *p, size_t len, size_t *hdr, uint64_t *skip,
        uint64_t *items)
{
    uint8_t t = p[0];
    *hdr = 1;
    *skip = *items = 0;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return 0;                                   // fixints, nil, bool
    if ((t & 0xe0) == 0xa0) {                       // fixstr
        *skip = t & 0x1f;
        return 0;
    }
    if ((t & 0xf0) == 0x90 || (t & 0xf0) == 0x80) { // fixarray, fixmap
        *items = (uint64_t)(t & 0x0f) * ((t & 0xf0) == 0x80 ? 2 : 1);
        return 0;
    }
    int w;
    if (t >= 0xcc && t <= 0xcf) {                   // uint 8..64
        *hdr = 1 + (size_t)(1 << (t - 0xcc));
        return *hdr <= len ? 0 : -1;
    }
    if (t >= 0xd0 && t <= 0xd3) {                   // int 8..64
        *hdr = 1 + (size_t)(1 << (t - 0xd0));
        return *hdr <= len ? 0 : -1;
    }
    if (t == 0xca || t == 0xcb) {                   // float 32, 64
        *hdr = t == 0xca ? 5 : 9;
        return *hdr <= len ? 0 : -1;
    }
    if ((t >= 0xc4 && t <= 0xc6) || (t >= 0xd9 && t <= 0xdb)) {  // bin, str
        w = t <= 0xc6 ? 1 << (t - 0xc4) : 1 << (t - 0xd9);
        if (len < 1 + (size_t)w)
            return -1;
        *hdr = 1 + (size_t)w;
        *skip = gx_be_uint(p + 1, w);
        return 0;
    }
    if (t >= 0xdc && t <= 0xdf) {                   // array, map 16/32
        w = t == 0xdc || t == 0xde ? 2 : 4;
        if (len < 1 + (size_t)w)
            return -1;
        *hdr = 1 + (size_t)w;
        *items = gx_be_uint(p + 1, w) * (t >= 0xde ? 2 : 1);
        return 0;
    }
    return -1;                                      // ext and the rest
}

static bool
shape_ok(const uint8_t *p, size_t len)
{
    uint64_t left[5] = { 1 };                       // elements to read, by depth
    int depth = 0;
    size_t off = 0;
    while (depth >= 0) {
        if (left[depth] == 0) {
            depth--;
            continue;
        }
        if (off >= len)
            return false;
        size_t hdr;
        uint64_t skip, items;
        if (element(p + off, len - off, &hdr, &skip, &items) != 0
            || skip > len - off - hdr)
            return false;
        left[depth]--;
        off += hdr + skip;
        if (items) {
            if (depth == 4 || items > len - off)
                return false;
            left[++depth] = items;
        }
    }
    return off == len;
}

static bool
key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
           && memcmp(k->via.str.ptr, name, n) == 0;
}

static const char *keys[] = { "program", "hash", "input", "vertices", "parts",
                              "strategy", "partitions", "workers",
                              "undirected", "max_supersteps", "params",
                              "stream" };

// The index of a key the description knows, or -1 (a later version's).
static int
known_key(const msgpack_object *k)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (key_is(k, keys[i]))
            return (int)i;
    return -1;
}

static int
get_field(const msgpack_object *k, const msgpack_object *v, gx_desc_t *d,
          gx_error_t *err)
{
    if (key_is(k, "program"))
        return get_str(v, &d->program, false, "program", err);
    if (key_is(k, "input"))
        return get_str(v, &d->input, false, "input", err);
    if (key_is(k, "vertices"))
        return get_str(v, &d->vertices, true, "vertices", err);
    if (key_is(k, "parts"))
        return get_str(v, &d->parts, true, "parts", err);
    if (key_is(k, "strategy"))
        return get_u32(v, &d->strategy, "strategy", err);
    if (key_is(k, "partitions"))
        return get_u32(v, &d->partitions, "partitions", err);
    if (key_is(k, "workers"))
        return get_u32(v, &d->workers, "workers", err);
    if (key_is(k, "stream"))
        return get_u32(v, &d->stream, "stream", err);
    if (key_is(k, "params"))
        return get_params(v, d, err);
    if (key_is(k, "undirected")) {
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            return gx_error_set(err, "run description: bad 'undirected'");
        d->undirected = v->via.boolean;
        return 0;
    }
    if (key_is(k, "max_supersteps")) {
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return gx_error_set(err, "run description: bad 'max_supersteps'");
        d->max_supersteps = v->via.u64;
        return 0;
    }
    if (key_is(k, "hash")) {
        if (v->type != MSGPACK_OBJECT_BIN
            || (v->via.bin.size != 0 && v->via.bin.size != 32))
            return gx_error_set(err, "run description: bad 'hash'");
        d->has_hash = v->via.bin.size == 32;
        memcpy(d->hash, v->via.bin.ptr, v->via.bin.size);
        return 0;
    }
    return 0;                        // a field of a later version: ignored
}

int
gx_desc_unpack(const void *data, size_t len, gx_desc_t *d, gx_error_t *err)
{
    memset(d, 0, sizeof *d);
    if (!shape_ok(data, len))
        return gx_error_set(err, "run description: not a well-formed map");
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = -1;
    if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS
        || off != len || up.data.type != MSGPACK_OBJECT_MAP) {
        gx_error_set(err, "run description: not a msgpack map");
        goto done;
    }
    const msgpack_object_map *m = &up.data.via.map;
    uint32_t seen = 0;
    for (uint32_t i = 0; i < m->size; i++) {
        int k = known_key(&m->ptr[i].key);
        if (k >= 0 && (seen & 1u << k)) {
            gx_error_set(err, "run description: '%s' given twice", keys[k]);
            goto done;
        }
        if (k >= 0)
            seen |= 1u << k;
        if (get_field(&m->ptr[i].key, &m->ptr[i].val, d, err) != 0)
            goto done;
    }
    if (!d->program || !d->input || d->workers == 0 || d->partitions == 0
        || d->stream > 2 || (d->stream == 2 && !d->vertices)) {
        gx_error_set(err, "run description: incomplete");
        goto done;
    }
    rc = 0;
done:
    msgpack_unpacked_destroy(&up);
    if (rc != 0)
        gx_desc_free(d);
    return rc;
}

void
gx_desc_free(gx_desc_t *d)
{
    gx_free(d->program);
    gx_free(d->input);
    gx_free(d->vertices);
    gx_free(d->parts);
    for (size_t i = 0; i < d->n_params; i++) {
        gx_free((char *)d->params[i].key);
        gx_free((char *)d->params[i].value);
    }
    gx_free(d->params);
    memset(d, 0, sizeof *d);
}

// ---- The process table -----------------------------------------------------

typedef struct row {
    uint32_t first, n;
    uint16_t port;
    char     host[GX_HOST_MAX];
} __attribute__((packed)) row_t;

size_t
gx_procs_size(uint32_t n)
{
    return (size_t)n * sizeof(row_t);
}

void
gx_procs_pack(const gx_proc_t *procs, uint32_t n, void *out)
{
    for (uint32_t p = 0; p < n; p++) {
        row_t r = { procs[p].first, procs[p].n, procs[p].port, { 0 } };
        snprintf(r.host, sizeof r.host, "%s", procs[p].host);
        memcpy((uint8_t *)out + p * sizeof r, &r, sizeof r);
    }
}

// Checked: whole rows, terminated hosts, thread ranges that tile [0, W)
// in order, each non-empty (the master's is empty).
int
gx_procs_unpack(const void *data, size_t len, uint32_t W, gx_proc_t **out,
                uint32_t *n_out, gx_error_t *err)
{
    *out = NULL;
    if (len % sizeof(row_t) || len < 2 * sizeof(row_t)
        || len / sizeof(row_t) > GX_MAX_WORKERS + 1)
        return gx_error_set(err, "run description: bad process table");
    uint32_t n = (uint32_t)(len / sizeof(row_t)), next = 0;
    gx_proc_t *p = gx_calloc(n, sizeof *p);
    if (!p)
        return gx_error_set(err, "run description: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        row_t r;
        memcpy(&r, (const uint8_t *)data + i * sizeof r, sizeof r);
        bool ok = memchr(r.host, 0, sizeof r.host) != NULL
                  && (i == 0 ? r.n == 0 : r.n > 0 && r.first == next
                               && r.n <= W - next);
        if (!ok) {
            gx_free(p);
            return gx_error_set(err, "run description: bad process table");
        }
        next += r.n;
        p[i].first = r.first;
        p[i].n = r.n;
        p[i].port = r.port;
        memcpy(p[i].host, r.host, sizeof r.host);
    }
    if (next != W) {
        gx_free(p);
        return gx_error_set(err, "run description: the process table holds "
                            "%u threads, not %u", next, W);
    }
    *out = p;
    *n_out = n;
    return 0;
}
