// tests/plugins/outdeg.c: a test plugin, built against graphx/program.h
// alone as an out-of-tree one is. A vertex's value is
//   out_degree * scale + offset + extra
// with scale (--scale N), offset (-k/--offset N) and extra (key "workers",
// which clashes with the common --workers, so only --param workers=N
// reaches it). A repeated key keeps its last value, so a test can see the
// order in which parameters reach setup().
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graphx/program.h"

typedef struct state {
    uint64_t scale, offset, extra;
} state_t;

static const gx_param_spec_t params[] = {
    { "offset", 'k', "N", "added to every out-degree (default 0)" },
    { "scale", 0, "N", "every out-degree times N (default 1)" },
    { "workers", 'w', "N", "added too; only as --param (clashes with --workers)" },
    { NULL, 0, NULL, NULL },
};

static int
setup(const gx_param_t *p, size_t n, void **state, gx_error_t *err)
{
    state_t *s = malloc(sizeof *s);
    if (!s)
        return gx_error_set(err, "outdeg: out of memory");
    *s = (state_t){ .scale = 1 };
    for (size_t i = 0; i < n; i++) {
        uint64_t *field = strcmp(p[i].key, "offset") == 0 ? &s->offset
                        : strcmp(p[i].key, "scale") == 0 ? &s->scale
                        : strcmp(p[i].key, "workers") == 0 ? &s->extra : NULL;
        if (!field) {
            free(s);
            return gx_error_set(err, "outdeg: unknown parameter '%s'", p[i].key);
        }
        if (gx_parse_u64(p[i].value, 1000000, field) != 0) {
            free(s);
            return gx_error_set(err, "outdeg: %s '%s' is not an integer in "
                                "0..1000000", p[i].key, p[i].value);
        }
    }
    *state = s;
    return 0;
}

static void
teardown(void *state)
{
    free(state);
}

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    const state_t *s = ctx->state;
    uint64_t x = v->out_degree * s->scale + s->offset + s->extra;
    memcpy(value, &x, sizeof x);
    return 0;                          // nothing to send: done at step 0
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
    (void)ctx; (void)v; (void)value; (void)in;
    return 0;
}

static int
format(const void *value, char *buf, size_t cap)
{
    uint64_t x;
    memcpy(&x, value, sizeof x);
    return snprintf(buf, cap, "%" PRIu64, x);
}

static const gx_program_t program = {
    GX_PROGRAM_HEADER,
    .name = "outdeg",
    .summary = "out-degree, scaled and offset (a test plugin)",
    .description = "Each vertex's value is its out-degree times --scale plus\n"
                   "--offset plus the workers parameter.",
    .params = params,
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_OUT,
    .combiner = GX_COMBINE_SUM_I64,
    .setup = setup,
    .teardown = teardown,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .format = format,
    .value_type = GX_VALUE_U64,
    .summary_kind = GX_SUMMARY_TOP,
    .summary_label = "out-degree",
};

const gx_program_t *
graphx_program(void)
{
    return &program;
}
