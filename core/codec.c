// core/codec.c: msgpack frames. The header is four unsigned integers; bulk
// data goes in bin objects so a batch of a million messages costs one
// memcpy to encode and none to decode (msgpack-c's unpacker points bin
// objects into the buffer it was given).
#include "core/codec.h"

#include <string.h>

int
gx_frame_encode(const gx_frame_t *f, msgpack_sbuffer *out, gx_error_t *err)
{
    if (f->n_bins > GX_FRAME_MAX_BINS)
        return gx_error_set(err, "codec: %u bins in one frame (max %u)",
                            f->n_bins, GX_FRAME_MAX_BINS);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    int rc = msgpack_pack_array(&pk, 4 + f->n_bins);
    rc |= msgpack_pack_uint32(&pk, f->kind);
    rc |= msgpack_pack_uint64(&pk, f->step);
    rc |= msgpack_pack_uint64(&pk, f->a);
    rc |= msgpack_pack_uint64(&pk, f->b);
    for (uint32_t i = 0; i < f->n_bins; i++) {
        rc |= msgpack_pack_bin(&pk, f->bin_len[i]);
        if (f->bin_len[i])
            rc |= msgpack_pack_bin_body(&pk, f->bin[i], f->bin_len[i]);
    }
    if (rc != 0)
        return gx_error_set(err, "codec: out of memory encoding a %s frame",
                            gx_frame_kind_name(f->kind));
    return 0;
}

size_t
gx_frame_encoded_max(const gx_frame_t *f)
{
    size_t need = 64;               // the array and header: at most 1 + 4 * 9
    for (uint32_t i = 0; i < f->n_bins && i < GX_FRAME_MAX_BINS; i++)
        need += 5 + f->bin_len[i];  // a bin's header: at most 5 bytes
    return need;
}

static int
get_uint(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -1;
    *v = o->via.u64;
    return 0;
}

// Checks the frame's shape before msgpack-c sees it: a fixarray of 4..10
// elements, four unsigned integers then bins, each fitting in the frame.
// msgpack-c allocates an array's (or map's) objects up front from the
// claimed size, so five bytes claiming four billion elements would make it
// ask for 64 GiB; a frame of another shape never reaches it.
static int
check_shape(const uint8_t *p, size_t len, gx_error_t *err)
{
    if (len < 1)
        return gx_error_set(err, "codec: malformed frame of 0 bytes");
    if ((p[0] & 0xf0) != 0x90 || (p[0] & 0x0f) < 4
        || (p[0] & 0x0f) > 4 + GX_FRAME_MAX_BINS)
        return gx_error_set(err, "codec: frame is not a [kind, step, a, b, "
                            "bin...] array");
    size_t n = p[0] & 0x0f, off = 1;
    uint32_t kind = len > 1 && p[1] <= 0x7f ? p[1] : 0;
    for (size_t i = 0; i < n; i++) {
        if (off >= len)
            return gx_error_set(err, "codec: frame cut short at element %zu",
                                i);
        uint8_t t = p[off++];
        int w;
        if (i < 4) {
            if (t <= 0x7f)
                continue;                               // positive fixint
            if (t < 0xcc || t > 0xcf)                   // uint 8/16/32/64
                return gx_error_set(err, "codec: frame header is not four "
                                    "unsigned integers");
            w = 1 << (t - 0xcc);
            if (len - off < (size_t)w)
                return gx_error_set(err, "codec: frame header cut short");
            off += (size_t)w;
            continue;
        }
        if (t < 0xc4 || t > 0xc6)                       // bin 8/16/32
            return gx_error_set(err, "codec: element %zu of a %s frame is not "
                                "binary", i, gx_frame_kind_name(kind));
        w = 1 << (t - 0xc4);
        if (len - off < (size_t)w)
            return gx_error_set(err, "codec: frame cut short at element %zu",
                                i);
        uint64_t blen = gx_be_uint(p + off, w);
        off += (size_t)w;
        if (len - off < blen)
            return gx_error_set(err, "codec: bin of %llu bytes in a frame of "
                                "%zu", (unsigned long long)blen, len);
        off += (size_t)blen;
    }
    if (off != len)
        return gx_error_set(err, "codec: %zu stray bytes after the frame",
                            len - off);
    return 0;
}

int
gx_frame_decode(const void *data, size_t len, gx_frame_t *f, gx_error_t *err)
{
    if (check_shape(data, len, err) != 0)
        return -1;
    // The unpacked objects live in a zone; bins reference `data`, so only
    // the small array of object headers is allocated here.
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = -1;
    msgpack_unpack_return ur = msgpack_unpack_next(&up, data, len, &off);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        gx_error_set(err, "codec: malformed frame of %zu bytes", len);
        goto done;
    }
    const msgpack_object *o = &up.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 4
        || o->via.array.size > 4 + GX_FRAME_MAX_BINS) {
        gx_error_set(err, "codec: frame is not a [kind, step, a, b, bin...] array");
        goto done;
    }
    const msgpack_object *el = o->via.array.ptr;
    uint64_t kind;
    if (get_uint(&el[0], &kind) || get_uint(&el[1], &f->step)
        || get_uint(&el[2], &f->a) || get_uint(&el[3], &f->b)
        || kind > UINT32_MAX) {
        gx_error_set(err, "codec: frame header is not four unsigned integers");
        goto done;
    }
    f->kind = (uint32_t)kind;
    f->n_bins = o->via.array.size - 4;
    for (uint32_t i = 0; i < f->n_bins; i++) {
        const msgpack_object *b = &el[4 + i];
        if (b->type != MSGPACK_OBJECT_BIN) {
            gx_error_set(err, "codec: element %u of a %s frame is not binary",
                         4 + i, gx_frame_kind_name(f->kind));
            goto done;
        }
        f->bin[i] = b->via.bin.ptr;
        f->bin_len[i] = b->via.bin.size;
    }
    rc = 0;
done:
    msgpack_unpacked_destroy(&up);
    return rc;
}

uint32_t
gx_frame_peek_kind(const void *data, size_t len)
{
    // A fixarray of 4 to 10 elements, then the kind; engine kinds are
    // below 128, so a positive fixint.
    const uint8_t *p = data;
    if (len < 2 || (p[0] & 0xf0) != 0x90 || (p[0] & 0x0f) < 4 || p[1] > 0x7f)
        return 0;
    return p[1];
}

const char *
gx_frame_kind_name(uint32_t kind)
{
    static const char *names[] = {
        [GX_F_EDGES] = "EDGES",       [GX_F_REG] = "REG",
        [GX_F_ROUTE] = "ROUTE",       [GX_F_MSG] = "MSG",
        [GX_F_MSG_END] = "MSG_END",   [GX_F_SYNC] = "SYNC",
        [GX_F_REPORT] = "REPORT",     [GX_F_PROGRESS] = "PROGRESS",
        [GX_F_GO] = "GO",             [GX_F_STOP] = "STOP",
        [GX_F_RESULT] = "RESULT",
        [GX_F_RESULT_END] = "RESULT_END", [GX_F_HELLO] = "HELLO",
        [GX_F_DIRECT] = "DIRECT",     [GX_F_MORE] = "MORE",
    };
    if (kind < sizeof names / sizeof names[0] && names[kind])
        return names[kind];
    return "unknown";
}
