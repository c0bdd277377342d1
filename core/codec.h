// core/codec.h: the wire format. Every ZeroMQ frame between master and
// workers is one msgpack array: [kind, step, a, b, bin...]. Bulk data (edges,
// vertex indexes, messages, values) travels as binary arrays of fixed-width
// little-endian elements inside that array, never as one msgpack object per
// element, so encoding is a memcpy and decoding points into the frame.
#ifndef GX_CORE_CODEC_H
#define GX_CORE_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "graphx/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "graphx-run frames carry little-endian arrays; big-endian hosts need a byte-swapping codec"
#endif

#define GX_FRAME_MAX_BINS 6

typedef enum gx_frame_kind {
    GX_F_EDGES = 1,     // a = partition, b = count, bin0 = gx_edge_t[b],
                        // bin1 = f64 weights[b] when the program needs them
    GX_F_REG,           // replica registration to the owner: a = partition,
                        // b = count, bin0 = id u64[b], bin1 = local u32[b],
                        // bin2 = out-degree u64[b], bin3 = in-degree u64[b]
    GX_F_ROUTE,         // owner -> partition: a = partition, b = count,
                        // bin0 = local u32[b], bin1 = master index u32[b]
    GX_F_MSG,           // combined messages to masters: a = sender, b =
                        // count, bin0 = master index u32[b], bin1 = msgs
    GX_F_MSG_END,       // a = sender: its last MSG of the step to you
    GX_F_SYNC,          // master -> replicas: a = partition, b = count,
                        // bin0 = local u32[b], bin1 = outgoing msgs
    GX_F_REPORT,        // worker -> master at a barrier: a = worker, b =
                        // status, bin0 = u64 stats, bin1 = agg partials,
                        // bin2 = error message (when b != 0), bin3 = u32
                        // data frames sent to each worker this phase
    GX_F_PROGRESS,      // worker -> master: a = worker, bin0 = u64 stats
    GX_F_GO,            // master -> worker: bin0 = global aggregates,
                        // bin1 = u64 run facts, bin2 = u64 data frames
                        // the phase sent to this worker, bin3 = the
                        // master hook's globals
    GX_F_STOP,          // master -> worker: send results and exit
    GX_F_RESULT,        // worker -> master: a = worker, b = count,
                        // bin0 = id u64[b] ascending, bin1 = values;
                        // step = 1 on the worker's last batch
    GX_F_RESULT_END,    // a = worker
    GX_F_HELLO,         // worker -> master: sockets up, inbox bound
    GX_F_DIRECT,        // gx_send_to messages, for the step `step`: a =
                        // sender, b = count, bin0 = vertex id u64[b],
                        // bin1 = msgs
    GX_F_MORE,          // master -> worker: send your next RESULT batch
    GX_F_KINDS
} gx_frame_kind_t;

typedef struct gx_frame {
    uint32_t    kind;
    uint64_t    step;
    uint64_t    a;
    uint64_t    b;
    uint32_t    n_bins;
    const void *bin[GX_FRAME_MAX_BINS];
    size_t      bin_len[GX_FRAME_MAX_BINS];
} gx_frame_t;

// Whether bin i holds exactly f->b rows of `width` bytes. The count comes
// from the wire: b * width must not wrap around to the bin's length.
static inline int
gx_frame_rows_ok(const gx_frame_t *f, uint32_t i, size_t width)
{
    return f->n_bins > i && width > 0 && f->b <= f->bin_len[i] / width
           && f->bin_len[i] == f->b * width;
}

// A big-endian unsigned of n <= 8 bytes (msgpack's lengths and counts).
static inline uint64_t
gx_be_uint(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

// Appends the encoded frame to out (which the caller initialised).
int gx_frame_encode(const gx_frame_t *f, msgpack_sbuffer *out, gx_error_t *err);
// Decodes data[0..len) into f; f->bin[i] point into data (unaligned: copy
// them out with memcpy). A malformed frame is an error, never a crash.
int gx_frame_decode(const void *data, size_t len, gx_frame_t *f,
                    gx_error_t *err);
const char *gx_frame_kind_name(uint32_t kind);
// The kind of an encoded frame, read from its first bytes without
// decoding it (0 if they are not a frame's): for a hub that routes frames
// it does not read.
uint32_t    gx_frame_peek_kind(const void *data, size_t len);

#endif
