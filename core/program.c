// core/program.c: what the engine requires of a vertex program before it
// runs one, built in or loaded from a plugin. Each refusal is one line that
// names the program and the field, so a plugin author sees what to fix.
#include <stddef.h>
#include <string.h>
#include "core/agg.h"
#include "graphx/graphx.h"

static int
check_sizes(const gx_program_t *p, const char *name, gx_error_t *err)
{
    if (p->value_size == 0 || p->value_size > GX_MAX_VALUE_SIZE)
        return gx_error_set(err, "program %s: value_size %u is outside "
                            "1..%u", name, p->value_size, GX_MAX_VALUE_SIZE);
    if (p->msg_size == 0 || p->msg_size > GX_MAX_MSG_SIZE)
        return gx_error_set(err, "program %s: msg_size %u is outside 1..%u",
                            name, p->msg_size, GX_MAX_MSG_SIZE);
    if (p->direct_size > GX_MAX_MSG_SIZE)
        return gx_error_set(err, "program %s: direct_size %u is outside "
                            "0..%u", name, p->direct_size, GX_MAX_MSG_SIZE);
    return 0;
}

// Only an idempotent combiner over labels that cross edges unchanged, in
// both directions, may run to a fixpoint inside a partition.
static int
closure_ok(const gx_program_t *p)
{
    switch (p->combiner) {
    case GX_COMBINE_MIN_F64: case GX_COMBINE_MAX_F64:
    case GX_COMBINE_MIN_I64: case GX_COMBINE_MAX_I64:
    case GX_COMBINE_MIN_U64: case GX_COMBINE_MAX_U64:
        return p->edge_op == GX_EDGE_NONE && p->direction == GX_DIR_BOTH;
    default:
        return 0;
    }
}

static int
check_ops(const gx_program_t *p, const char *name, gx_error_t *err)
{
    if (p->direction < GX_DIR_OUT || p->direction > GX_DIR_BOTH)
        return gx_error_set(err, "program %s: direction %d is not OUT, IN "
                            "or BOTH", name, (int)p->direction);
    if (p->combiner > GX_COMBINE_MAX_U64)
        return gx_error_set(err, "program %s: combiner %d is unknown", name,
                            (int)p->combiner);
    if (p->combiner == GX_COMBINE_CUSTOM && !p->combine)
        return gx_error_set(err, "program %s: a custom combiner needs "
                            "combine()", name);
    if (p->combiner > GX_COMBINE_CUSTOM && p->msg_size != 8)
        return gx_error_set(err, "program %s: a built-in combiner needs "
                            "msg_size 8, not %u", name, p->msg_size);
    if (p->edge_op > GX_EDGE_CUSTOM)
        return gx_error_set(err, "program %s: edge_op %d is unknown", name,
                            (int)p->edge_op);
    if (p->edge_op == GX_EDGE_CUSTOM && !p->edge)
        return gx_error_set(err, "program %s: a custom edge step needs "
                            "edge()", name);
    if (p->edge_op != GX_EDGE_NONE && p->edge_op != GX_EDGE_CUSTOM
        && p->msg_size != 8)
        return gx_error_set(err, "program %s: a built-in edge step needs "
                            "msg_size 8, not %u", name, p->msg_size);
    uint32_t known = GX_NEEDS_WEIGHTS | GX_LOCAL_CLOSURE;
    if (p->flags & ~known)
        return gx_error_set(err, "program %s: unknown flags 0x%x", name,
                            p->flags & ~known);
    if ((p->flags & GX_LOCAL_CLOSURE) && !closure_ok(p))
        return gx_error_set(err, "program %s: GX_LOCAL_CLOSURE needs a "
                            "built-in MIN or MAX combiner, no edge step and "
                            "direction BOTH", name);
    if (p->n_aggs > GX_MAX_AGGS || gx_agg_validate(p->agg_ops, p->n_aggs) >= 0)
        return gx_error_set(err, "program %s: bad aggregators", name);
    if (p->value_type > GX_VALUE_U64 || p->summary_kind > GX_SUMMARY_GROUPS
        || (p->summary_kind != GX_SUMMARY_NONE
            && (p->value_type == GX_VALUE_OPAQUE || p->value_size < 8)))
        return gx_error_set(err, "program %s: a summary needs a value_type "
                            "of 8 bytes", name);
    return 0;
}

int
gx_program_check(const gx_program_t *p, gx_error_t *err)
{
    if (!p)
        return gx_error_set(err, "no vertex program given");
    const char *name = p->name ? p->name : "?";
    if (p->abi_version != GX_PROGRAM_ABI_VERSION)
        return gx_error_set(err, "program %s: built for ABI version %u, this "
                            "engine speaks %u", name, p->abi_version,
                            GX_PROGRAM_ABI_VERSION);
    if (p->struct_size != sizeof(gx_program_t))
        return gx_error_set(err, "program %s: gx_program_t of %u bytes, this "
                            "engine's is %zu (built against another "
                            "graphx/program.h)", name, p->struct_size,
                            sizeof(gx_program_t));
    if (!p->name || !*p->name)
        return gx_error_set(err, "program ?: no name");
    for (size_t i = 0; i < sizeof p->reserved_ / sizeof p->reserved_[0]; i++)
        if (p->reserved_[i])
            return gx_error_set(err, "program %s: reserved fields are set "
                                "(built for a newer ABI 2.x)", name);
    if (!p->init || !p->scatter || !p->apply || !p->format)
        return gx_error_set(err, "program %s: init, scatter, apply and format "
                            "are required", name);
    if (check_sizes(p, name, err) != 0 || check_ops(p, name, err) != 0)
        return -1;
    return 0;
}
