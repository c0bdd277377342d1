// algos/cc.c: weakly connected components by label propagation (HashMin):
// every vertex starts with its own id as label and takes the smallest label
// it hears; labels travel both ways along edges. A vertex speaks only when
// its label just changed, so late supersteps cost what changed, not the
// graph: a path of n vertices needs n supersteps of O(1) work each.
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "algos/algos.h"

static int
setup(const gx_param_t *params, size_t n, void **state, gx_error_t *err)
{
    *state = NULL;
    if (n > 0)
        return gx_error_set(err, "cc: unknown parameter '%s'", params[0].key);
    return 0;
}

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    memcpy(value, &v->id, sizeof v->id);
    return 1;
}

static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx;
    (void)v;
    memcpy(msg, value, sizeof(uint64_t));
    return 1;
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value, const void *msg)
{
    (void)ctx;
    (void)v;
    uint64_t label, heard;
    if (!msg)
        return 0;
    memcpy(&label, value, sizeof label);
    memcpy(&heard, msg, sizeof heard);
    if (heard >= label)
        return 0;              // nothing new: vote to halt
    memcpy(value, &heard, sizeof heard);
    return 1;
}

static int
format(const void *value, char *buf, size_t cap)
{
    uint64_t label;
    memcpy(&label, value, sizeof label);
    return snprintf(buf, cap, "%" PRIu64, label);
}

const gx_program_t gx_cc_program = {
    .abi_version = GX_PROGRAM_ABI_VERSION,
    .name = "cc",
    .summary = "weakly connected components (smallest vertex id as label)",
    .value_size = sizeof(uint64_t),
    .msg_size = sizeof(uint64_t),
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_MIN_U64,
    .setup = setup,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .format = format,
};
