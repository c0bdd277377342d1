// include/graphx/program.h: the vertex-program ABI, version 2. This header is
// the whole contract between graphx-run and a vertex program, built in or
// loaded from a shared object; the built-in PageRank and connected
// components are written against it alone, exactly as a plugin is.
//
// THE MODEL. A program keeps a fixed-width value per vertex at the vertex's
// master. Superstep 0 runs init() at every vertex. Every later superstep:
//   1. every vertex active after the previous step sends the message its
//      scatter() made along its edges (in the program's direction); the
//      per-edge step may change it on the way (SSSP: dist + weight);
//   2. messages meeting at a vertex are combined with the program's
//      combiner (at the sender first), or, with GX_COMBINE_NONE, all
//      delivered as a list;
//   3. apply() runs at every vertex that is active or was sent a message,
//      folds the messages into the value, may send messages to any vertex
//      id (gx_send_to, delivered next superstep), and votes to stay active
//      or to halt;
//   4. at the barrier the aggregators are reduced and the master hook, if
//      any, reads them, sets the globals every vertex reads next step, and
//      may stop the run. With a hook or without, the run stops when no
//      vertex is active and no message is in flight: nothing could happen
//      any more.
// scatter() sees the sending vertex only (value and degrees): that is what
// lets the engine compute a message once per vertex, ship it once per
// machine, and run the per-edge work as a plain array loop. What a message
// may depend on beyond its sender is the edge it crosses, through the
// per-edge step: the edge's weight and the way it is crossed.
//
// THREADS AND STATE. Callbacks run on many threads at once (in distributed
// mode, in many processes): init, scatter, edge, combine, apply and format
// for different vertices concurrently. A callback may change only what it
// is given: the value of its own vertex, the message being made, its own
// aggregator partials through gx_aggregate_*. The program's state (what
// setup() returned) is read-only after setup(); every process runs setup()
// itself with the same parameters, so state holds parameters, never
// results. The master hook shares no memory with the vertices: aggregators
// carry what vertices tell it, globals what it tells them. Scratch memory a
// callback needs is its own (the stack, or malloc and free in the call).
//
// COMPATIBILITY. A plugin exports `const gx_program_t *graphx_program(void)`
// (GX_PROGRAM_ENTRY). The loader refuses a program whose abi_version is not
// GX_PROGRAM_ABI_VERSION, whose struct_size is not one it knows, or whose
// reserved fields are not zero. Additions within ABI 2 take reserved
// fields (zero: the 2.0 behaviour), so a plugin built against 2.0 keeps
// working; an incompatible change bumps the version.
#ifndef GRAPHX_PROGRAM_H
#define GRAPHX_PROGRAM_H

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "graphx/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GX_PROGRAM_ABI_VERSION 2u

#define GX_MAX_VALUE_SIZE 64u      // bytes of a vertex value
#define GX_MAX_MSG_SIZE   32u      // bytes of a message
#define GX_MAX_AGGS       8u       // aggregators per program
#define GX_MAX_GLOBALS    8u       // values the master hook sets

typedef enum gx_direction {
    GX_DIR_OUT  = 1,               // along out-edges: src -> dst
    GX_DIR_IN   = 2,               // against them: dst -> src
    GX_DIR_BOTH = 3,               // both ways
} gx_direction_t;

// How messages meeting at a vertex become what apply() sees. Built-in
// combiners (8-byte messages) run as specialised loops; CUSTOM calls
// combine(); NONE delivers every message.
typedef enum gx_combiner {
    GX_COMBINE_NONE = 0,           // apply() gets the list, in.msgs
    GX_COMBINE_CUSTOM,
    GX_COMBINE_SUM_F64,
    GX_COMBINE_MIN_F64,
    GX_COMBINE_MAX_F64,
    GX_COMBINE_SUM_I64,
    GX_COMBINE_MIN_I64,
    GX_COMBINE_MAX_I64,
    GX_COMBINE_MIN_U64,
    GX_COMBINE_MAX_U64,
} gx_combiner_t;

// The per-edge step: what crossing an edge does to a message. The built-in
// ones work on a double message (the first 8 bytes) and run as
// specialised loops; CUSTOM calls edge() once per edge crossed.
typedef enum gx_edge_op {
    GX_EDGE_NONE = 0,              // the message crosses unchanged
    GX_EDGE_ADD_WEIGHT,            // msg += weight (SSSP)
    GX_EDGE_MUL_WEIGHT,            // msg *= weight
    GX_EDGE_CUSTOM,
} gx_edge_op_t;

// Flags.
#define GX_NEEDS_WEIGHTS 1u        // read the weight column ("src dst w"):
                                   // a line without one is an error. The
                                   // weights are stored only then.
#define GX_LOCAL_CLOSURE 2u        // within a superstep a message may cross
                                   // any number of edges of a partition:
                                   // each vertex is sent the combination
                                   // of the messages of every active vertex
                                   // the partition's edges connect it to,
                                   // unless it already had as good. For
                                   // programs whose messages are labels a
                                   // vertex only ever lowers (or raises):
                                   // a MIN or MAX combiner, no edge step,
                                   // direction BOTH (connected components).
                                   // Block-centric: fewer supersteps, the
                                   // same fixpoint.

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

// What a vertex callback sees of the run.
typedef struct gx_context {
    uint64_t              n_vertices;
    uint64_t              n_edges;      // as stored: doubled by --undirected
    uint64_t              superstep;    // 0 during init, then 1, 2, ...
    const void           *state;        // what setup() returned: read-only
    const gx_agg_value_t *agg;          // reduced at the last barrier
    const gx_agg_value_t *global;       // set by the master hook at the last
                                        // barrier ([GX_MAX_GLOBALS], zero
                                        // until it sets them)
    gx_agg_value_t       *agg_local;    // this thread's partials: use
    const gx_agg_op_t    *agg_ops;      // gx_aggregate_f64/_i64
    // The engine's, for gx_send_to and gx_fail: not for programs to call
    // or change.
    int                 (*send_to_)(struct gx_context *, uint64_t,
                                    const void *);
    void                (*fail_)(struct gx_context *, const char *);
    void                 *engine_;
    void                 *reserved_[4];
} gx_context_t;

// What apply() is given: the messages sent to the vertex this superstep.
// Arrays are 8-byte aligned, rows packed at the message's size, in an
// order fixed by the run's configuration (workers, partitions, strategy).
typedef struct gx_messages {
    // Edge messages. With a combiner: `combined` is their combination, or
    // NULL if none came (n_msgs is then 1 or 0).
    // Without one (GX_COMBINE_NONE): `msgs` holds every one, n_msgs rows of
    // msg_size bytes (a message along a duplicate edge comes twice).
    const void *combined;
    const void *msgs;
    size_t      n_msgs;
    // Messages sent to this vertex with gx_send_to at the last superstep,
    // never combined: n_direct rows of direct_size bytes.
    const void *direct;
    size_t      n_direct;
    const void *reserved_[2];
} gx_messages_t;

// What the master hook sees at a barrier: the step just finished.
typedef struct gx_master_context {
    uint64_t              n_vertices;
    uint64_t              n_edges;
    uint64_t              superstep;    // 0 after init, then 1, 2, ...
    const void           *state;        // read-only, as for vertices
    const gx_agg_value_t *agg;          // reduced over every vertex
    uint64_t              active;       // vertices that voted to stay active
    uint64_t              messages;     // edge messages sent (after combining)
    uint64_t              direct;       // gx_send_to messages sent
    // In: the globals the vertices read this step; out: those they read
    // next step. Globals are the hook's only memory between barriers.
    gx_agg_value_t       *global;
    void                 *reserved_[4];
} gx_master_context_t;

// A parameter as given on the command line: --param key=value (or, for a
// program's declared keys, --key value).
typedef struct gx_param {
    const char *key;
    const char *value;
} gx_param_t;

// A parameter the program accepts, for --help and the command line. The
// list ends with a NULL key.
typedef struct gx_param_spec {
    const char *key;               // [a-z0-9-]+
    char        short_opt;         // a letter for -X VALUE, or 0
    const char *value_hint;        // "N", "ID", "X"
    const char *help;              // one line, the default included
} gx_param_spec_t;

// How the value reads, for the summary graphx-run prints without -o.
typedef enum gx_value_type {
    GX_VALUE_OPAQUE = 0,           // only format() knows
    GX_VALUE_F64,                  // the value's first 8 bytes
    GX_VALUE_I64,
    GX_VALUE_U64,
} gx_value_type_t;

typedef enum gx_summary_kind {
    GX_SUMMARY_NONE = 0,           // the run's figures only
    GX_SUMMARY_TOP,                // the 20 vertices with the largest values
    GX_SUMMARY_GROUPS,             // how many distinct values, the 20 most common
} gx_summary_kind_t;

typedef struct gx_program {
    uint32_t       abi_version;    // GX_PROGRAM_ABI_VERSION
    uint32_t       struct_size;    // sizeof(gx_program_t)
    const char    *name;           // [a-z0-9_-]+
    const char    *summary;        // one line, for the command list
    const char    *description;    // paragraphs for --help, or NULL
    const gx_param_spec_t *params; // NULL, or ended by a NULL key

    uint32_t       flags;          // GX_NEEDS_WEIGHTS
    uint32_t       value_size;     // 1 .. GX_MAX_VALUE_SIZE
    uint32_t       msg_size;       // 1 .. GX_MAX_MSG_SIZE (8 for built-in
                                   // combiners and edge steps)
    uint32_t       direct_size;    // gx_send_to messages: 0 (none sent) or
                                   // 1 .. GX_MAX_MSG_SIZE
    gx_direction_t direction;
    gx_combiner_t  combiner;
    gx_edge_op_t   edge_op;
    uint32_t       n_aggs;
    gx_agg_op_t    agg_ops[GX_MAX_AGGS];

    // Parses parameters into *state (may stay NULL). An unknown key or a
    // bad value is an error whose message names the key. Runs once per
    // process, before any other callback.
    int  (*setup)(const gx_param_t *params, size_t n_params, void **state,
                  gx_error_t *err);
    void (*teardown)(void *state);                         // optional

    // Superstep 0, at the master of each vertex: the first value. Returns
    // non-zero if the vertex starts active (it scatters at superstep 1).
    int  (*init)(gx_context_t *ctx, const gx_vertex_t *v, void *value);
    // Every active vertex, after init or apply: the message to send along
    // its edges. Returns 0 to send none.
    int  (*scatter)(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
                    void *msg);
    // GX_EDGE_CUSTOM: changes msg (msg_size bytes) for one edge it crosses.
    // `way` is GX_DIR_OUT when the message goes from the edge's source to
    // its destination, GX_DIR_IN when against it. weight is the edge's (1.0
    // without GX_NEEDS_WEIGHTS). Runs once per edge: keep it small.
    void (*edge)(void *msg, double weight, gx_direction_t way);
    // GX_COMBINE_CUSTOM: folds msg into acc; must be associative and
    // commutative.
    void (*combine)(void *acc, const void *msg);
    // Each vertex that is active or was sent a message. Returns non-zero to
    // stay active, 0 to vote to halt (a message wakes it again).
    int  (*apply)(gx_context_t *ctx, const gx_vertex_t *v, void *value,
                  const gx_messages_t *in);
    // Optional, at the master after every barrier (superstep 0 included,
    // the last one too): returns non-zero to stop the run.
    int  (*master)(gx_master_context_t *mc);
    // The value as text for the output file, at most 127 characters;
    // returns the length written (snprintf semantics: cap is 128). Doubles
    // as "%.17g", infinity as "Infinity".
    int  (*format)(const void *value, char *buf, size_t cap);

    // For the summary printed without -o.
    gx_value_type_t   value_type;
    gx_summary_kind_t summary_kind;
    const char       *summary_label;  // TOP: the value's column ("rank");
                                      // GROUPS: what a group is, plural
                                      // ("components")

    void          *reserved_[8];      // zero
} gx_program_t;

// What every program's definition starts with.
#define GX_PROGRAM_HEADER                                                    \
    .abi_version = GX_PROGRAM_ABI_VERSION, .struct_size = sizeof(gx_program_t)

// Plugins export `const gx_program_t *graphx_program(void)`.
#define GX_PROGRAM_ENTRY "graphx_program"

// ---- For callbacks ---------------------------------------------------------

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

// From init() or apply(): sends msg (direct_size bytes) to vertex `id`,
// wherever its master is; apply() of that vertex gets it next superstep,
// in in->direct. A message to an id that is not a vertex of the graph is
// dropped and counted in the run's figures. Returns 0, or -1 if the run is
// failing (out of memory) and the program may stop early.
static inline int
gx_send_to(gx_context_t *ctx, uint64_t id, const void *msg)
{
    return ctx->send_to_(ctx, id, msg);
}

// From any vertex callback that has a context: ends the run with an error,
// "program NAME: " followed by the message (one line, e.g. "out of memory
// counting labels"). The callback should return soon after; the run winds
// down at the next barrier and nothing is written.
static inline void
gx_fail(gx_context_t *ctx, const char *msg)
{
    ctx->fail_(ctx, msg);
}

// ---- For setup -------------------------------------------------------------

// Parses a whole decimal integer 0 .. max. 0 on success.
static inline int
gx_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

// Parses a whole finite number. 0 on success.
static inline int
gx_parse_f64(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif
