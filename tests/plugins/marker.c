// tests/plugins/marker.c: a test plugin whose mere loading is visible.
// Its constructor runs at dlopen, before graphx calls anything in it, and
// creates the file named by the environment variable GX_MARKER (if set).
// test_trust ships it through a rogue master or a relay: a worker that
// never loads what it cannot trust never makes that file. As a program it
// is valid (ABI 2): a vertex's value is its in-degree, in one step.
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "graphx/program.h"

__attribute__((constructor))
static void
leave_mark(void)
{
    const char *path = getenv("GX_MARKER");
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        static const char said[] = "loaded\n";
        (void)!write(fd, said, sizeof said - 1);
        close(fd);
    }
}

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    memcpy(value, &v->in_degree, sizeof v->in_degree);
    return 0;                          // nothing sent: the run ends at once
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
    .name = "marker",
    .summary = "in-degree; leaves a file when loaded (a test plugin)",
    .description = "Each vertex's value is its in-degree. Loading the plugin\n"
                   "creates the file $GX_MARKER names.",
    .value_size = 8,
    .msg_size = 8,
    .direction = GX_DIR_IN,
    .combiner = GX_COMBINE_SUM_I64,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .format = format,
    .value_type = GX_VALUE_U64,
    .summary_kind = GX_SUMMARY_TOP,
    .summary_label = "in-degree",
};

const gx_program_t *
graphx_program(void)
{
    return &program;
}
