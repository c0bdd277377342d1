// algos/examples/bfs.c: breadth-first search as LDBC Graphalytics defines
// it: the value of v is the number of hops on the shortest directed path
// from `source` to v, and 9223372036854775807 (INT64_MAX) if there is none.
//
// An example plugin: written against include/graphx/program.h alone, and
// built out of the tree with
//     cc -shared -fPIC -Iinclude algos/examples/bfs.c -o bfs.so
//     graphx-run run --program ./bfs.so --param source=1 -i graph.txt
//
// The shape is Pregel's textbook one. Only the source starts active; a
// vertex that hears a smaller level than its own takes it and speaks once,
// next superstep, along its out-edges; a vertex that hears nothing new
// votes to halt. The MIN_I64 combiner makes the many messages meeting at a
// vertex one before they travel, so a superstep costs the frontier's edges,
// not the graph's. The run ends on its own when the frontier is empty (no
// master hook): after (eccentricity of the source + 1) supersteps.
//
// A source that is not a vertex of the graph (no edge and no --vertices
// line names it) is not an error: no vertex is reached, so every vertex
// prints 9223372036854775807, which is what Graphalytics' reference does.
// setup() cannot tell, since it runs before the graph is read.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graphx/program.h"

#define UNREACHED INT64_MAX     // Graphalytics' "unreachable"

typedef struct bfs {
    uint64_t source;
} bfs_t;

static const gx_param_spec_t params[] = {
    { "source", 's', "ID", "the vertex to search from (required)" },
    { NULL, 0, NULL, NULL },
};

// Parameters arrive as key=value pairs, in command-line order. Every key
// is checked, so a typo ("sorce=3") is an error, not a silent default.
static int
setup(const gx_param_t *p, size_t n, void **state, gx_error_t *err)
{
    bfs_t st = { 0 };
    int have_source = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].key, "source") != 0)
            return gx_error_set(err, "bfs: unknown parameter '%s' (bfs takes "
                                "source=ID)", p[i].key);
        if (have_source)
            return gx_error_set(err, "bfs: source is given twice");
        // Vertex ids are 0 .. 2^63-1, as the loaders read them.
        if (gx_parse_u64(p[i].value, INT64_MAX, &st.source) != 0)
            return gx_error_set(err, "bfs: source '%s' is not a vertex id "
                                "(0..%" PRId64 ")", p[i].value, INT64_MAX);
        have_source = 1;
    }
    if (!have_source)
        return gx_error_set(err, "bfs: source is required (--param source=ID)");
    bfs_t *copy = malloc(sizeof *copy);
    if (!copy)
        return gx_error_set(err, "bfs: out of memory");
    *copy = st;
    *state = copy;
    return 0;
}

static void
teardown(void *state)
{
    free(state);
}

// Values and messages are int64 levels, copied with memcpy: the engine
// promises 8-byte alignment of arrays, but memcpy costs nothing and keeps
// the program correct whatever the layout.
static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    const bfs_t *st = ctx->state;
    int64_t level = v->id == st->source ? 0 : UNREACHED;
    memcpy(value, &level, sizeof level);
    return level == 0;          // only the source speaks at superstep 1
}

static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx;
    (void)v;
    int64_t level;
    memcpy(&level, value, sizeof level);
    // Only a vertex that was just reached is active, so level < UNREACHED
    // and the sum cannot overflow.
    level++;
    memcpy(msg, &level, sizeof level);
    return 1;
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    (void)ctx;
    (void)v;
    if (!in->combined)
        return 0;               // the source at superstep 1, with no loop back
    int64_t level, heard;
    memcpy(&level, value, sizeof level);
    memcpy(&heard, in->combined, sizeof heard);
    if (heard >= level)
        return 0;               // reached before, by a path no longer
    memcpy(value, &heard, sizeof heard);
    return 1;                   // newly reached: speak next superstep
}

static int
format(const void *value, char *buf, size_t cap)
{
    int64_t level;
    memcpy(&level, value, sizeof level);
    return snprintf(buf, cap, "%" PRId64, level);
}

static const gx_program_t program = {
    GX_PROGRAM_HEADER,
    .name = "bfs",
    .summary = "breadth-first search: hops from a source (LDBC Graphalytics)",
    .description =
        "The number of hops on the shortest directed path from the source to\n"
        "each vertex, along out-edges (use --undirected to ignore direction).\n"
        "A vertex the source cannot reach gets 9223372036854775807, as in LDBC\n"
        "Graphalytics; so does every vertex if the source is not in the graph.\n",
    .params = params,
    .value_size = sizeof(int64_t),
    .msg_size = sizeof(int64_t),
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_MIN_I64,
    .edge_op = GX_EDGE_NONE,
    .setup = setup,
    .teardown = teardown,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .format = format,
    .value_type = GX_VALUE_I64,
    .summary_kind = GX_SUMMARY_GROUPS,
    .summary_label = "levels",
};

const gx_program_t *graphx_program(void);

const gx_program_t *
graphx_program(void)
{
    return &program;
}
