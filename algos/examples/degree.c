// algos/examples/degree.c: the out-degree and in-degree of every vertex,
// printed as "OUT<TAB>IN". The smallest useful program: the engine already
// knows both degrees (gx_vertex_t, global over all partitions), so init()
// copies them into the value and the run ends at superstep 0. Degrees
// count edges as stored: a duplicate edge counts each time, a self-loop
// v->v adds one to both of v's degrees, and --undirected stores each line
// both ways, so out == in for every vertex.
//
// An example plugin: written against include/graphx/program.h alone, and
// built out of the tree with
//     cc -shared -fPIC -Iinclude algos/examples/degree.c -o degree.so
//     graphx-run run --program ./degree.so -i graph.txt -o degrees.tsv
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "graphx/program.h"

// The value: two counts, 16 of the 64 bytes a value may hold. Only the
// first 8 bytes (the out-degree) are what the summary sorts by.
typedef struct degrees {
    uint64_t out;
    uint64_t in;
} degrees_t;

static int
setup(const gx_param_t *p, size_t n, void **state, gx_error_t *err)
{
    *state = NULL;
    if (n > 0)
        return gx_error_set(err, "degree: unknown parameter '%s' (degree takes "
                            "none)", p[0].key);
    return 0;
}

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    degrees_t d = { v->out_degree, v->in_degree };
    memcpy(value, &d, sizeof d);
    return 0;                   // nothing to say: the run ends here
}

// Required by the ABI but never called: no vertex is ever active.
static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx;
    (void)v;
    (void)value;
    (void)msg;
    return 0;
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    (void)ctx;
    (void)v;
    (void)value;
    (void)in;
    return 0;
}

static int
format(const void *value, char *buf, size_t cap)
{
    degrees_t d;
    memcpy(&d, value, sizeof d);
    return snprintf(buf, cap, "%" PRIu64 "\t%" PRIu64, d.out, d.in);
}

static const gx_program_t program = {
    GX_PROGRAM_HEADER,
    .name = "degree",
    .summary = "out-degree and in-degree of every vertex",
    .description =
        "Prints 'id<TAB>out<TAB>in' per vertex. Duplicate edges count each\n"
        "time; a self-loop counts once in each degree. No supersteps run.\n",
    .params = NULL,
    .value_size = sizeof(degrees_t),
    .msg_size = sizeof(uint64_t),      // unused, but must be 1..32
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_NONE,
    .edge_op = GX_EDGE_NONE,
    .setup = setup,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .format = format,
    .value_type = GX_VALUE_U64,        // the out-degree, for the summary
    .summary_kind = GX_SUMMARY_TOP,
    .summary_label = "out-degree",
};

const gx_program_t *graphx_program(void);

const gx_program_t *
graphx_program(void)
{
    return &program;
}
