// core/frames.h: one typed view per frame kind. The codec (core/codec.h)
// moves [kind, step, a, b, bin...] arrays; this file says what a, b and
// each bin mean for each kind, packs views into frames and unpacks frames
// into views, checking every length the wire claims. It is the only code
// that indexes a frame's bins; the worker, the master, the gather and the
// cluster code read fields by name.
//
// Bulk columns (ids, indexes, messages, values) stay where they are in the
// received message, unaligned: read them with gx_col_u32/gx_col_u64, or
// copy a row of `width` bytes from gx_col_row.
#ifndef GX_CORE_FRAMES_H
#define GX_CORE_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "core/codec.h"
#include "core/engine.h"

#define GX_NONCE_BYTES 32            // REGISTER's and CHALLENGE's nonces
#define GX_PROOF_BYTES 32            // CHALLENGE's and PROOF's proofs
#define GX_HOST_MAX 256              // a host name as advertised, with its NUL
#define GX_ROWS_MAX_COLS 4

// ---- Columns ---------------------------------------------------------------

static inline uint32_t
gx_col_u32(const void *col, uint64_t i)
{
    uint32_t v;
    memcpy(&v, (const uint8_t *)col + 4 * i, 4);
    return v;
}

static inline uint64_t
gx_col_u64(const void *col, uint64_t i)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)col + 8 * i, 8);
    return v;
}

static inline const void *
gx_col_row(const void *col, uint64_t i, size_t width)
{
    return (const uint8_t *)col + i * width;
}

// ---- Rows: EDGES, REG, ROUTE, MSG, SYNC, DIRECT, RESULT ----------------------

// The columns of a kind of rows. `payload` is what varies with the
// program: EDGES 1 when it needs weights, MSG and SYNC its message size,
// DIRECT its direct message size, RESULT its value size (REG and ROUTE
// ignore it).
typedef struct gx_layout {
    uint32_t kind;
    uint32_t n_cols;
    uint32_t width[GX_ROWS_MAX_COLS];
} gx_layout_t;

gx_layout_t gx_rows_layout(uint32_t kind, uint32_t payload);
// A frame of n rows of this layout, column c at col[c]; `a` is the kind's
// partition, sender or worker, `step` its superstep (RESULT: 1 on the
// last batch). The frame points into col[].
gx_frame_t  gx_rows_pack(const gx_layout_t *lay, uint64_t step, uint64_t a,
                         uint64_t n, const void *const *col);

typedef struct gx_edges_view {       // EDGES: to the partition's worker
    uint64_t    part, n;
    const void *edge;                // gx_edge_t[n]
    const void *weight;              // f64[n], or NULL when unweighted
} gx_edges_view_t;

typedef struct gx_reg_view {         // REG: replicas to their masters' worker
    uint64_t    part, n;             // part GX_NO_PARTITION: --vertices ids
    const void *id;                  // u64[n]
    const void *local;               // u32[n], the replica's index in part
    const void *outdeg, *indeg;      // u64[n], the degrees there
} gx_reg_view_t;

typedef struct gx_route_view {       // ROUTE: owner -> partition
    uint64_t    part, n;
    const void *local;               // u32[n]
    const void *master;              // u32[n], the master's index
} gx_route_view_t;

typedef struct gx_msg_view {         // MSG: combined messages to masters
    uint64_t    sender, step, n;
    const void *master;              // u32[n]
    const void *msg;                 // [n] of the message size
} gx_msg_view_t;

typedef struct gx_sync_view {        // SYNC: masters' messages to replicas
    uint64_t    part, step, n;
    const void *local;               // u32[n]
    const void *msg;                 // [n] of the message size
} gx_sync_view_t;

typedef struct gx_direct_view {      // DIRECT: gx_send_to messages, by id
    uint64_t    sender, step, n;
    const void *id;                  // u64[n]
    const void *msg;                 // [n] of the direct message size
} gx_direct_view_t;

typedef struct gx_result_view {      // RESULT: a worker's values, by id
    uint64_t    worker, n;
    bool        last;                // the worker's last batch
    const void *id;                  // u64[n], ascending
    const void *value;               // [n] of the value size
} gx_result_view_t;

// Each returns 0, or -1 when the frame is not of the kind or its bins do
// not hold exactly n rows of the layout.
int gx_edges_unpack(const gx_frame_t *f, bool weighted, gx_edges_view_t *v);
int gx_reg_unpack(const gx_frame_t *f, gx_reg_view_t *v);
int gx_route_unpack(const gx_frame_t *f, gx_route_view_t *v);
int gx_msg_unpack(const gx_frame_t *f, uint32_t msg_size, gx_msg_view_t *v);
int gx_sync_unpack(const gx_frame_t *f, uint32_t msg_size, gx_sync_view_t *v);
int gx_direct_unpack(const gx_frame_t *f, uint32_t direct_size,
                     gx_direct_view_t *v);
int gx_result_unpack(const gx_frame_t *f, uint32_t value_size,
                     gx_result_view_t *v);

// ---- The barrier: REPORT, GO, PROGRESS ----------------------------------------

typedef struct gx_report_view {      // worker -> master at a barrier
    uint64_t    step;
    uint32_t    worker;
    uint32_t    n_aggs, W;
    const void *stats;               // u64[GX_STAT_N]
    const void *agg;                 // gx_agg_value_t[n_aggs], partials
    const void *sent;                // u32[W], data frames sent to each
    const void *proc;                // u64[GX_PROC_N]: its process's
                                     // figures, or NULL (another thread
                                     // of the process carries them)
} gx_report_view_t;

typedef struct gx_go_view {          // master -> worker: go on
    uint32_t    n_aggs;
    const void *agg;                 // gx_agg_value_t[n_aggs], global
    const void *facts;               // u64[GX_FACT_N]
    const void *expect;              // u64: data frames the phase sent here
    const void *global;              // gx_agg_value_t[GX_MAX_GLOBALS]
} gx_go_view_t;

gx_frame_t gx_report_pack(const gx_report_view_t *v);
int        gx_report_unpack(const gx_frame_t *f, uint32_t n_aggs, uint32_t W,
                            gx_report_view_t *v);
gx_frame_t gx_go_pack(const gx_go_view_t *v);
int        gx_go_unpack(const gx_frame_t *f, uint32_t n_aggs, gx_go_view_t *v);

// PROGRESS: a worker's input bytes and edges read so far. `s` holds them
// (bytes, edges) for as long as the frame is used.
gx_frame_t gx_progress_pack(uint32_t worker, const uint64_t s[2]);
int        gx_progress_unpack(const gx_frame_t *f, uint64_t *bytes,
                              uint64_t *edges);

// ---- Registration and the run (core/net.h's GX_N_* kinds) ------------------

typedef struct gx_register {         // worker -> master
    uint64_t protocol;
    uint32_t threads;
    uint32_t abi;
    uint16_t port;
    char     version[64];            // "?" when unreadable
    char     host[GX_HOST_MAX];
    uint8_t  nonce[GX_NONCE_BYTES];
} gx_register_t;

// Packs r's fields; the frame points into r.
gx_frame_t gx_register_pack(const gx_register_t *r);
// Fills what it can (protocol, abi and version first, so that another
// version is told as such) and returns -1 when the rest is malformed.
int        gx_register_unpack(const gx_frame_t *f, gx_register_t *r);

gx_frame_t gx_challenge_pack(const uint8_t *nonce, const uint8_t *proof);
int        gx_challenge_unpack(const gx_frame_t *f, const uint8_t **nonce,
                               const uint8_t **proof);
gx_frame_t gx_proof_pack(const uint8_t *proof);
int        gx_proof_unpack(const gx_frame_t *f, const uint8_t **proof);

typedef struct gx_run_view {         // master -> worker: what to run
    uint64_t    run_id;
    uint32_t    proc;                // the worker's process index
    const void *desc;                // the job (core/desc.h)
    size_t      desc_len;
    const void *table;               // the processes (core/link.h)
    size_t      table_len;
    const void *plugin;              // the .so's bytes, or none
    size_t      plugin_len;
} gx_run_view_t;

gx_frame_t gx_run_pack(const gx_run_view_t *v);
int        gx_run_unpack(const gx_frame_t *f, gx_run_view_t *v);

// REFUSE, FAIL, ABORT and BEAT: a header with an optional one-line text
// (NULL: none). The frame points at text.
gx_frame_t gx_note_pack(uint32_t kind, uint64_t run_id, uint64_t from,
                        const char *text);
// The text, cut to cap - 1 bytes, control bytes shown as '?' (a remote
// text is printed: no escapes); "" when there is none.
void       gx_note_text(const gx_frame_t *f, char *out, size_t cap);

#endif
