// include/graphx/program.h: the vertex-program ABI. The built-in PageRank and
// connected components are written against this header alone, exactly as a
// user's plugin is, so every run exercises the contract.
//
// The model (DESIGN.md, "A superstep"): a program keeps a fixed-width value
// per vertex at the vertex's master. Each superstep every active vertex's
// scatter() produces one message that travels along its edges (in the
// program's direction); messages meeting at a vertex are combined with the
// program's combiner, at the sender first; apply() folds the combined
// message into the value and votes to stay active or to halt. A message
// depends on the sending vertex only (value and degrees), which is what lets
// the engine compute it once per vertex, ship it once per replica, and run
// a plain array loop per edge.
#ifndef GRAPHX_PROGRAM_H
#define GRAPHX_PROGRAM_H

#include <stddef.h>
#include <stdint.h>
#include "graphx/error.h"

#ifdef __cplusplus
extern "C" {
#endif

// Bumped on every incompatible change; a plugin exports the version it was
// built against and the loader refuses a mismatch.
#define GX_PROGRAM_ABI_VERSION 1u

#define GX_MAX_VALUE_SIZE 64u      // bytes of a vertex value
#define GX_MAX_MSG_SIZE   32u      // bytes of a message
#define GX_MAX_AGGS       8u       // aggregators per program

typedef enum gx_direction {
    GX_DIR_OUT  = 1,               // along out-edges: src -> dst
    GX_DIR_IN   = 2,               // against them: dst -> src
    GX_DIR_BOTH = 3,               // both ways (edge direction ignored)
} gx_direction_t;

// Built-in combiners run as specialised loops; CUSTOM calls combine().
typedef enum gx_combiner {
    GX_COMBINE_CUSTOM = 0,
    GX_COMBINE_SUM_F64,
    GX_COMBINE_MIN_F64,
    GX_COMBINE_MAX_F64,
    GX_COMBINE_SUM_I64,
    GX_COMBINE_MIN_I64,
    GX_COMBINE_MAX_I64,
    GX_COMBINE_MIN_U64,
    GX_COMBINE_MAX_U64,
} gx_combiner_t;

typedef enum gx_agg_op {
    GX_AGG_SUM_F64 = 1,
    GX_AGG_MIN_F64,
    GX_AGG_MAX_F64,
    GX_AGG_SUM_I64,
    GX_AGG_MIN_I64,
    GX_AGG_MAX_I64,
} gx_agg_op_t;

typedef union gx_agg_value {
    double  f;
    int64_t i;
} gx_agg_value_t;

typedef struct gx_vertex {
    uint64_t id;
    uint64_t out_degree;           // global; duplicate edges and self-loops count
    uint64_t in_degree;
} gx_vertex_t;

// What a program sees of the run. agg holds the aggregates reduced at the
// previous barrier (at superstep 1: those of init); contributions go through
// gx_aggregate_f64/_i64 into this worker's partials for the current step.
typedef struct gx_context {
    uint64_t              n_vertices;
    uint64_t              n_edges;      // as stored: doubled by --undirected
    uint64_t              superstep;    // 0 during init, then 1, 2, ...
    void                 *state;        // what setup() returned
    const gx_agg_value_t *agg;
    gx_agg_value_t       *agg_local;
    const gx_agg_op_t    *agg_ops;
    // Filled for halt() only: totals of the superstep just finished.
    uint64_t              active;       // vertices that voted to stay active
    uint64_t              messages;     // messages sent (after combining)
} gx_context_t;

// A program parameter, as given on the command line (key=value).
typedef struct gx_param {
    const char *key;
    const char *value;
} gx_param_t;

typedef struct gx_program {
    uint32_t       abi_version;    // GX_PROGRAM_ABI_VERSION
    const char    *name;
    const char    *summary;        // one line, for --help
    uint32_t       value_size;     // 1 .. GX_MAX_VALUE_SIZE
    uint32_t       msg_size;       // 1 .. GX_MAX_MSG_SIZE
    gx_direction_t direction;
    gx_combiner_t  combiner;
    void         (*combine)(void *acc, const void *msg);   // CUSTOM only
    uint32_t       n_aggs;
    gx_agg_op_t    agg_ops[GX_MAX_AGGS];

    // Parses parameters into *state (may stay NULL). An unknown key or a bad
    // value is an error; the message names the key.
    int  (*setup)(const gx_param_t *params, size_t n_params, void **state,
                  gx_error_t *err);
    void (*teardown)(void *state);

    // Superstep 0, at the master of each vertex: the first value. Returns
    // non-zero if the vertex starts active.
    int  (*init)(gx_context_t *ctx, const gx_vertex_t *v, void *value);
    // Every active vertex: its outgoing message. Returns 0 to send nothing.
    int  (*scatter)(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
                    void *msg);
    // Each vertex that is active or received a message (msg is NULL if it
    // received none). Returns non-zero to stay active, 0 to vote to halt.
    int  (*apply)(gx_context_t *ctx, const gx_vertex_t *v, void *value,
                  const void *msg);
    // Optional, once per barrier with the reduced aggregates: non-zero stops
    // the run. Without it the run stops when no vertex is active and no
    // message is in flight.
    int  (*halt)(const gx_context_t *ctx);
    // The value as text for the output file; returns the length written
    // (snprintf semantics).
    int  (*format)(const void *value, char *buf, size_t cap);
} gx_program_t;

// Plugins export `const gx_program_t *graphx_program(void)`.
#define GX_PROGRAM_ENTRY "graphx_program"

static inline void
gx_aggregate_f64(gx_context_t *ctx, unsigned i, double x)
{
    double *a = &ctx->agg_local[i].f;
    switch (ctx->agg_ops[i]) {
    case GX_AGG_SUM_F64: *a += x; break;
    case GX_AGG_MIN_F64: if (x < *a) *a = x; break;
    case GX_AGG_MAX_F64: if (x > *a) *a = x; break;
    default: break;
    }
}

static inline void
gx_aggregate_i64(gx_context_t *ctx, unsigned i, int64_t x)
{
    int64_t *a = &ctx->agg_local[i].i;
    switch (ctx->agg_ops[i]) {
    case GX_AGG_SUM_I64: *a = (int64_t)((uint64_t)*a + (uint64_t)x); break;  // wraps
    case GX_AGG_MIN_I64: if (x < *a) *a = x; break;
    case GX_AGG_MAX_I64: if (x > *a) *a = x; break;
    default: break;
    }
}

#ifdef __cplusplus
}
#endif
#endif
