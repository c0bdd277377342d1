// tests/plugins/direct.c: a test plugin for gx_send_to. At superstep 1
// every vertex v sends its id to vertex v + 1, whether or not that is a
// vertex (on the path 1 -> 2 -> ... -> n, vertex n's message is dropped);
// at superstep 2 a vertex's value becomes the sum of the ids it was sent,
// -1 if none. The summary groups the values (GX_SUMMARY_GROUPS, I64).
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "graphx/program.h"

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx; (void)v;
    int64_t none = -1;
    memcpy(value, &none, sizeof none);
    return 1;
}

static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx; (void)v; (void)value; (void)msg;
    return 0;
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    if (ctx->superstep == 1) {
        uint64_t next = v->id + 1;
        gx_send_to(ctx, next, &v->id);
        return 0;
    }
    int64_t sum = 0;
    for (size_t i = 0; i < in->n_direct; i++) {
        int64_t from;
        memcpy(&from, (const char *)in->direct + i * 8, 8);
        sum += from;
    }
    if (in->n_direct)
        memcpy(value, &sum, sizeof sum);
    return 0;
}

static int
format(const void *value, char *buf, size_t cap)
{
    int64_t x;
    memcpy(&x, value, sizeof x);
    return snprintf(buf, cap, "%" PRId64, x);
}

static const gx_program_t program = {
    GX_PROGRAM_HEADER,
    .name = "direct",
    .summary = "sums the ids sent to each vertex by gx_send_to (a test plugin)",
    .value_size = 8,
    .msg_size = 8,
    .direct_size = 8,
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_SUM_I64,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .format = format,
    .value_type = GX_VALUE_I64,
    .summary_kind = GX_SUMMARY_GROUPS,
    .summary_label = "sums",
};

const gx_program_t *
graphx_program(void)
{
    return &program;
}
