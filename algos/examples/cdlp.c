// algos/examples/cdlp.c: community detection by label propagation, as LDBC
// Graphalytics defines it. Every vertex starts with its own id as label;
// each round, every vertex at once takes the most frequent label among its
// neighbours, counted once per edge in either direction, the smallest label
// winning a tie; a vertex without neighbours keeps its label. A fixed number
// of rounds (`iterations`, default 10) is run, as Graphalytics does: the
// labels need not settle (two vertices can swap labels forever).
//
// An example plugin: written against include/graphx/program.h alone, and
// built out of the tree with
//     cc -shared -fPIC -Iinclude algos/examples/cdlp.c -o cdlp.so
//     graphx-run run --program ./cdlp.so --param iterations=5 -i graph.txt
//
// A mode is not a combination of modes, so there is no combiner
// (GX_COMBINE_NONE): apply() gets every label sent along every edge, in
// in->msgs, and counts them itself. Direction BOTH sends along out- and
// in-edges, so a neighbour joined both ways is heard twice and a duplicate
// edge once more, exactly as the definition counts. A self-loop v->v is an
// edge in both directions: v hears its own label twice. Graphalytics' graphs
// have none; this is what the definition gives a multigraph.
//
// Every vertex stays active for all rounds, and the master hook stops the
// run after round `iterations`. Counting sorts the labels: O(k log k) for k
// messages, in a scratch buffer on the stack for small k and malloc'd for
// large k (callbacks run on many threads, so nothing may be shared).
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graphx/program.h"

#define ITERATIONS_DEFAULT 10
#define ITERATIONS_MAX     1000000000u
#define STACK_LABELS       256      // 2 KiB of stack: every thread has 2 MiB

typedef struct cdlp {
    uint64_t iterations;
} cdlp_t;

static const gx_param_spec_t params[] = {
    { "iterations", 'n', "N", "rounds of propagation (default 10)" },
    { NULL, 0, NULL, NULL },
};

static int
setup(const gx_param_t *p, size_t n, void **state, gx_error_t *err)
{
    cdlp_t st = { .iterations = ITERATIONS_DEFAULT };
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].key, "iterations") != 0)
            return gx_error_set(err, "cdlp: unknown parameter '%s' (cdlp takes "
                                "iterations=N)", p[i].key);
        // 0 rounds is allowed: every vertex keeps its own id.
        if (gx_parse_u64(p[i].value, ITERATIONS_MAX, &st.iterations) != 0)
            return gx_error_set(err, "cdlp: iterations '%s' is not an integer "
                                "in 0..%u", p[i].value, ITERATIONS_MAX);
    }
    cdlp_t *copy = malloc(sizeof *copy);
    if (!copy)
        return gx_error_set(err, "cdlp: out of memory");
    *copy = st;
    *state = copy;
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
    (void)ctx;
    memcpy(value, &v->id, sizeof v->id);
    return 1;                   // every vertex speaks in every round
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
cmp_u64(const void *a, const void *b)
{
    uint64_t x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return (x > y) - (x < y);
}

// The most frequent of k labels, the smallest on a tie. Sorted, equal
// labels are runs, and scanning runs in ascending order with a strict '>'
// keeps the first (smallest) of the longest.
static uint64_t
mode_sorted(const uint64_t *l, size_t k)
{
    uint64_t best = l[0];
    size_t best_n = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i + 1;
        while (j < k && l[j] == l[i])
            j++;
        if (j - i > best_n) {
            best_n = j - i;
            best = l[i];
        }
        i = j;
    }
    return best;
}

// The same without scratch memory, for when malloc fails: O(k^2), slow on a
// hub but still the right answer, where gx_fail would end the run.
static uint64_t
mode_quadratic(const uint8_t *msgs, size_t k)
{
    uint64_t best = 0;
    size_t best_n = 0;
    for (size_t i = 0; i < k; i++) {
        uint64_t li, lj;
        memcpy(&li, msgs + 8 * i, 8);
        size_t c = 0;
        for (size_t j = 0; j < k; j++) {
            memcpy(&lj, msgs + 8 * j, 8);
            c += lj == li;
        }
        if (c > best_n || (c == best_n && li < best)) {
            best_n = c;
            best = li;
        }
    }
    return best;
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    (void)v;
    const cdlp_t *st = ctx->state;
    size_t k = in->n_msgs;
    if (k > 0) {
        uint64_t stack[STACK_LABELS];
        uint64_t *l = k <= STACK_LABELS ? stack : malloc(k * sizeof *l);
        uint64_t label;
        if (l) {
            memcpy(l, in->msgs, k * sizeof *l);
            qsort(l, k, sizeof *l, cmp_u64);
            label = mode_sorted(l, k);
            if (l != stack)
                free(l);
        } else {
            label = mode_quadratic(in->msgs, k);
        }
        memcpy(value, &label, sizeof label);
    }
    // Stay active until the last round; the master hook ends the run then
    // whatever the votes, so this only saves the last scatter's work.
    return ctx->superstep < st->iterations;
}

// After every barrier: stop once round `iterations` is done (superstep 0 is
// init, so with iterations=0 no round runs at all).
static int
master(gx_master_context_t *mc)
{
    const cdlp_t *st = mc->state;
    return mc->superstep >= st->iterations;
}

static int
format(const void *value, char *buf, size_t cap)
{
    uint64_t label;
    memcpy(&label, value, sizeof label);
    return snprintf(buf, cap, "%" PRIu64, label);
}

static const gx_program_t program = {
    GX_PROGRAM_HEADER,
    .name = "cdlp",
    .summary = "community detection by label propagation (LDBC Graphalytics)",
    .description =
        "Each vertex starts with its own id as label. Each round, every vertex\n"
        "takes the most frequent label among its neighbours, counted once per\n"
        "edge in either direction (the smallest on a tie); a vertex without\n"
        "neighbours keeps its own. Runs exactly `iterations` rounds.\n",
    .params = params,
    .value_size = sizeof(uint64_t),
    .msg_size = sizeof(uint64_t),
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_NONE,
    .edge_op = GX_EDGE_NONE,
    .setup = setup,
    .teardown = teardown,
    .init = init,
    .scatter = scatter,
    .apply = apply,
    .master = master,
    .format = format,
    .value_type = GX_VALUE_U64,
    .summary_kind = GX_SUMMARY_GROUPS,
    .summary_label = "communities",
};

const gx_program_t *graphx_program(void);

const gx_program_t *
graphx_program(void)
{
    return &program;
}
