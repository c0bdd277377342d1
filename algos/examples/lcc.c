// algos/examples/lcc.c: local clustering coefficient, in LDBC Graphalytics'
// directed form. With N(v) the set of v's in- and out-neighbours other than
// v (duplicate edges collapse), LCC(v) is the number of directed edges u->w
// with u, w in N(v) and u != w, each distinct pair counted once, divided by
// |N(v)| * (|N(v)| - 1); it is 0 when |N(v)| < 2. On an undirected graph
// (--undirected) every edge counts both ways, which is the usual
// 2T / (k(k-1)).
//
// An example plugin: written against include/graphx/program.h alone, and
// built out of the tree with
//     cc -shared -fPIC -Iinclude algos/examples/lcc.c -o lcc.so
//     graphx-run run --program ./lcc.so -i graph.txt
//
// A value holds at most 64 bytes, never a neighbour set, so the sets travel
// as messages and live only inside one apply() call. Two supersteps:
//
//   1. Every vertex sends its id along every edge both ways; the custom
//      per-edge step tags the id with the way it crossed (bit 63: ids are
//      below 2^63). So v learns N(v) (every sender) and out(v) (the senders
//      reached against an edge v->x). With no combiner, apply() at v gets
//      them all; it sorts and dedupes them, drops v itself, and sends with
//      gx_send_to, to each w in N(v):
//        - one MARK carrying v, and
//        - for each x in out(v) with x != w, a CANDIDATE carrying x: "v->x
//          is an edge; if x is your neighbour too, count it".
//   2. The marks that reach w are exactly N(w) (w in N(v) iff v in N(w)),
//      each once. w counts the candidates x that are in N(w); LCC(w) is the
//      count / (|N(w)| (|N(w)| - 1)).
//
// Each directed edge u->x with u, x in N(w), u != x, is counted exactly
// once at w: u is in N(w), so u sends to w; x is in out(u) once (deduped),
// and x != w since w is not in N(w); u sends nothing else naming x. And no
// other candidate counts: a counted x came from some v in N(w) with v->x an
// edge, x in N(w), and x != v (v's own id is dropped from out(v)).
//
// COST. Step 2 carries sum over v of |N(v)| * (1 + |out(v)|) messages of 16
// bytes: fine for the graphs one checks Graphalytics on, quadratic in the
// degree of a hub (a vertex with 10^4 neighbours alone sends ~10^8). Apply
// needs scratch memory proportional to its messages; if malloc fails, the
// run ends with an error (gx_fail) rather than print a wrong count.
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graphx/program.h"

#define IN_TAG        (UINT64_C(1) << 63)   // step 1: the sender is an out-neighbour
#define STACK_IDS     256                   // scratch ids on the stack: 2 KiB

enum { MARK = 0, CANDIDATE = 1 };

// What gx_send_to carries (direct_size 16).
typedef struct note {
    uint64_t kind;              // MARK or CANDIDATE
    uint64_t id;                // MARK: the sender; CANDIDATE: x
} note_t;

static int
setup(const gx_param_t *p, size_t n, void **state, gx_error_t *err)
{
    *state = NULL;
    if (n > 0)
        return gx_error_set(err, "lcc: unknown parameter '%s' (lcc takes none)",
                            p[0].key);
    return 0;
}

static int
init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    (void)v;
    double zero = 0.0;
    memcpy(value, &zero, sizeof zero);
    return 1;                   // everyone introduces itself at superstep 1
}

static int
scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value, void *msg)
{
    (void)ctx;
    (void)value;
    memcpy(msg, &v->id, sizeof v->id);
    return 1;
}

// GX_DIR_IN: the message crosses an edge receiver->sender, so the sender is
// an out-neighbour of the receiver.
static void
edge(void *msg, double weight, gx_direction_t way)
{
    (void)weight;
    if (way == GX_DIR_IN) {
        uint64_t id;
        memcpy(&id, msg, sizeof id);
        id |= IN_TAG;
        memcpy(msg, &id, sizeof id);
    }
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return (x > y) - (x < y);
}

// Sorts a[0..n), drops duplicates and `self`; returns the new length.
static size_t
sort_unique(uint64_t *a, size_t n, uint64_t self)
{
    qsort(a, n, sizeof *a, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != self && (k == 0 || a[k - 1] != a[i]))
            a[k++] = a[i];
    return k;
}

static int
contains(const uint64_t *a, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == x;
}

// Superstep 1: learn N(v) and out(v), tell each neighbour.
static void
introduce(gx_context_t *ctx, const gx_vertex_t *v, const gx_messages_t *in)
{
    size_t k = in->n_msgs;
    if (k == 0)
        return;                 // no neighbours: LCC 0, nothing to say
    // One buffer, two halves: all = N(v), out = out(v).
    uint64_t stack[2 * STACK_IDS];
    uint64_t *all = k <= STACK_IDS ? stack : malloc(2 * k * sizeof *all);
    if (!all) {
        gx_fail(ctx, "out of memory listing a vertex's neighbours");
        return;
    }
    uint64_t *out = all + k;
    size_t n_out = 0;
    const uint8_t *m = in->msgs;
    for (size_t i = 0; i < k; i++) {
        uint64_t id;
        memcpy(&id, m + 8 * i, sizeof id);
        if (id & IN_TAG)
            out[n_out++] = id & ~IN_TAG;
        all[i] = id & ~IN_TAG;
    }
    size_t n_all = sort_unique(all, k, v->id);
    n_out = sort_unique(out, n_out, v->id);
    for (size_t i = 0; i < n_all; i++) {
        uint64_t w = all[i];
        note_t mark = { MARK, v->id };
        if (gx_send_to(ctx, w, &mark) != 0)
            goto done;          // the run is failing: stop early
        for (size_t j = 0; j < n_out; j++) {
            if (out[j] == w)
                continue;
            note_t cand = { CANDIDATE, out[j] };
            if (gx_send_to(ctx, w, &cand) != 0)
                goto done;
        }
    }
done:
    if (all != stack)
        free(all);
}

// Superstep 2: the marks are N(w); count the candidates among them.
static void
count(gx_context_t *ctx, void *value, const gx_messages_t *in)
{
    size_t k = in->n_direct;
    const uint8_t *d = in->direct;
    size_t n_marks = 0;
    for (size_t i = 0; i < k; i++) {
        note_t nt;
        memcpy(&nt, d + sizeof nt * i, sizeof nt);
        n_marks += nt.kind == MARK;
    }
    if (n_marks < 2)
        return;                 // |N| < 2: LCC stays 0
    uint64_t stack[STACK_IDS];
    uint64_t *marks = n_marks <= STACK_IDS ? stack
                                           : malloc(n_marks * sizeof *marks);
    if (!marks) {
        gx_fail(ctx, "out of memory listing a vertex's neighbours");
        return;
    }
    size_t j = 0;
    for (size_t i = 0; i < k; i++) {
        note_t nt;
        memcpy(&nt, d + sizeof nt * i, sizeof nt);
        if (nt.kind == MARK)
            marks[j++] = nt.id;
    }
    // Senders dedupe, so the marks are distinct already; sorting is for
    // the binary search.
    qsort(marks, n_marks, sizeof *marks, cmp_u64);
    uint64_t edges = 0;
    for (size_t i = 0; i < k; i++) {
        note_t nt;
        memcpy(&nt, d + sizeof nt * i, sizeof nt);
        if (nt.kind == CANDIDATE && contains(marks, n_marks, nt.id))
            edges++;
    }
    if (marks != stack)
        free(marks);
    double nn = (double)n_marks;
    double lcc = (double)edges / (nn * (nn - 1.0));
    memcpy(value, &lcc, sizeof lcc);
}

static int
apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
      const gx_messages_t *in)
{
    if (ctx->superstep == 1)
        introduce(ctx, v, in);
    else if (ctx->superstep == 2)
        count(ctx, value, in);
    return 0;                   // nobody scatters after step 1
}

static int
format(const void *value, char *buf, size_t cap)
{
    double x;
    memcpy(&x, value, sizeof x);
    return snprintf(buf, cap, "%.17g", x);
}

static const gx_program_t program = {
    GX_PROGRAM_HEADER,
    .name = "lcc",
    .summary = "local clustering coefficient, directed (LDBC Graphalytics)",
    .description =
        "With N(v) the in- and out-neighbours of v other than v, the number\n"
        "of directed edges among N(v) over |N(v)|(|N(v)|-1); 0 when |N(v)| < 2.\n"
        "With --undirected this is the usual 2T/(k(k-1)). Messages grow with\n"
        "the square of the degree: meant for graphs without huge hubs.\n",
    .params = NULL,
    .value_size = sizeof(double),
    .msg_size = sizeof(uint64_t),
    .direct_size = sizeof(note_t),
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_NONE,
    .edge_op = GX_EDGE_CUSTOM,
    .setup = setup,
    .init = init,
    .scatter = scatter,
    .edge = edge,
    .apply = apply,
    .format = format,
    .value_type = GX_VALUE_F64,
    .summary_kind = GX_SUMMARY_TOP,
    .summary_label = "lcc",
};

const gx_program_t *graphx_program(void);

const gx_program_t *
graphx_program(void)
{
    return &program;
}
