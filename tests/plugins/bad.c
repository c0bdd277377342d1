// tests/plugins/bad.c: plugins the loader must refuse, one per build flag
// (tests/CMakeLists.txt): BAD_NOSYM exports no graphx_program, BAD_NULL's
// returns NULL, BAD_ABI says ABI 1, BAD_SIZE gives a struct_size 8 bytes
// short, BAD_NOAPPLY has no apply().
#include <stdio.h>
#include "graphx/program.h"

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx; (void)v; (void)value;
    return 0;
}

static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx; (void)v; (void)value; (void)msg;
    return 0;
}

#if !defined(BAD_NOAPPLY)
static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    (void)ctx; (void)v; (void)value; (void)in;
    return 0;
}
#endif

static int
format(const void *value, char *buf, size_t cap)
{
    (void)value;
    return snprintf(buf, cap, "0");
}

static const gx_program_t program = {
#if defined(BAD_ABI)
    .abi_version = 1, .struct_size = sizeof(gx_program_t),
#elif defined(BAD_SIZE)
    .abi_version = GX_PROGRAM_ABI_VERSION, .struct_size = sizeof(gx_program_t) - 8,
#else
    GX_PROGRAM_HEADER,
#endif
    .name = "bad",
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_OUT,
    .init = init,
    .scatter = scatter,
#if !defined(BAD_NOAPPLY)
    .apply = apply,
#endif
    .format = format,
};

#if defined(BAD_NOSYM)
// Exported under another name: the library loads, the entry is missing.
const gx_program_t *
graphx_program_v1(void)
{
    return &program;
}
#else
const gx_program_t *
graphx_program(void)
{
#if defined(BAD_NULL)
    (void)program;
    return NULL;
#else
    return &program;
#endif
}
#endif
