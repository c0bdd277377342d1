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

// The kinds of the engine's frames. What a, b and the bins of each mean,
// and the only code that reads or writes the bins: core/frames.h. The
// network's own kinds (GX_N_*) are in core/net.h.
typedef enum gx_frame_kind {
    GX_F_EDGES = 1,     // edges to the partition's worker
    GX_F_REG,           // replicas to their masters' worker
    GX_F_ROUTE,         // each replica's master, to the partition
    GX_F_MSG,           // combined messages to masters
    GX_F_MSG_END,       // a = sender: its last MSG of the step to you
    GX_F_SYNC,          // masters' messages to their replicas
    GX_F_REPORT,        // worker -> master at a barrier
    GX_F_PROGRESS,      // worker -> master: loading progress
    GX_F_GO,            // master -> worker: go on
    GX_F_STOP,          // master -> worker: send results and exit
    GX_F_RESULT,        // worker -> master: a batch of values by id
    GX_F_RESULT_END,    // a = worker, b = values written to a part file
    GX_F_HELLO,         // a = worker: sockets up, inbox bound
    GX_F_DIRECT,        // gx_send_to messages, by vertex id
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

// At least the encoded size of f, for sizing a buffer up front.
size_t gx_frame_encoded_max(const gx_frame_t *f);
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
