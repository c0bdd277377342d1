// tests/test_examples.c: the example plugins (algos/examples/*.so) as
// graphx-run loads them: dlopen, graphx_program(), setup(), then gx_run()
// in this process. Every vertex's value is compared with an independent
// computation written here from the definitions in ../shared/KERNELS.md
// (BFS by a queue, Dijkstra with a binary heap, CDLP and LCC by counting
// the definition directly, degrees by counting), on the worked example,
// on random multigraphs with duplicate edges, self-loops, unreachable and
// isolated vertices, read directed and --undirected, over 1-4 workers,
// every strategy and odd partition counts.
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graphx/graphx.h"
#include "testutil.h"

#ifndef GX_EXAMPLES_DIR
#error "GX_EXAMPLES_DIR (where bfs.so etc. are built) must be defined"
#endif

#define UNREACHED INT64_MAX

static void
suite_setup(void)
{
    gx_test_tmpdir_make("examples");
}

TestSuite(examples, .init = suite_setup, .fini = gx_test_tmpdir_remove);

// ---- Plugins ---------------------------------------------------------------

// The program exported by GX_EXAMPLES_DIR/<name>.so. The handle is never
// closed: each test runs in its own process.
static const gx_program_t *
plugin(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.so", GX_EXAMPLES_DIR, name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "dlopen %s: %s", path, dlerror());
    const gx_program_t *(*entry)(void);
    *(void **)&entry = dlsym(h, GX_PROGRAM_ENTRY);
    cr_assert_not_null(entry, "%s: no %s", path, GX_PROGRAM_ENTRY);
    const gx_program_t *p = entry();
    cr_assert_not_null(p);
    gx_error_t err = { 0 };
    cr_assert_eq(gx_program_check(p, &err), 0, "%s: %s", name, err.msg);
    cr_assert_str_eq(p->name, name);
    return p;
}

// setup() with "key=value" strings; its state, or the failure in *err.
static int
setup_with(const gx_program_t *p, void **state, gx_error_t *err, size_t n,
           const char *const *kv)
{
    gx_param_t params[8];
    char buf[8][64];
    cr_assert(n <= 8);
    for (size_t i = 0; i < n; i++) {
        snprintf(buf[i], sizeof buf[i], "%s", kv[i]);
        char *eq = strchr(buf[i], '=');
        cr_assert_not_null(eq);
        *eq = '\0';
        params[i] = (gx_param_t){ buf[i], eq + 1 };
    }
    *state = NULL;
    return p->setup(params, n, state, err);
}

static void *
setup_ok(const gx_program_t *p, size_t n, const char *const *kv)
{
    void *state;
    gx_error_t err = { 0 };
    cr_assert_eq(setup_with(p, &state, &err, n, kv), 0, "%s setup: %s",
                 p->name, err.msg);
    return state;
}

static void
teardown(const gx_program_t *p, void *state)
{
    if (p->teardown)
        p->teardown(state);
}

static const char *
formatted(const gx_program_t *p, const void *value)
{
    static char buf[128];
    int n = p->format(value, buf, sizeof buf);
    cr_assert(n > 0 && (size_t)n < sizeof buf);
    return buf;
}

// ---- Graphs ----------------------------------------------------------------

// Vertices are indices 0..n-1 with ids id_of(i) (sparse and not in index
// order of the file, so the output's sorting is exercised). Edges are as
// the engine stores them: with `undirected` the file holds each edge once
// and expand() adds the reverse copies.
typedef struct graph {
    uint64_t  n;
    size_t    m;
    uint64_t *src, *dst;       // indices
    double   *w;
    int       undirected;
} graph_t;

static uint64_t
id_of(uint64_t i)
{
    return 3 * i + 2;
}

static void
graph_add(graph_t *g, uint64_t s, uint64_t d, double w)
{
    g->src = realloc(g->src, (g->m + 1) * sizeof *g->src);
    g->dst = realloc(g->dst, (g->m + 1) * sizeof *g->dst);
    g->w = realloc(g->w, (g->m + 1) * sizeof *g->w);
    g->src[g->m] = s;
    g->dst[g->m] = d;
    g->w[g->m] = w;
    g->m++;
}

static void
graph_free(graph_t *g)
{
    free(g->src);
    free(g->dst);
    free(g->w);
    *g = (graph_t){ 0 };
}

// n vertices, the last `isolated` of them on no edge; m random edges among
// the others, plus a few duplicated edges and self-loops on purpose.
// Weights are random doubles in (0, 1].
static graph_t
random_graph(uint64_t n, uint64_t isolated, size_t m, uint64_t seed)
{
    graph_t g = { .n = n };
    uint64_t r = seed, k = n - isolated;
    for (size_t i = 0; i < m; i++) {
        uint64_t s = gx_test_splitmix64(&r) % k, d = gx_test_splitmix64(&r) % k;
        double w = (double)(gx_test_splitmix64(&r) >> 11) * 0x1p-53;
        graph_add(&g, s, d, w > 0 ? w : 1.0);
    }
    for (size_t i = 0; i < 5 && m > 0; i++) {
        size_t e = gx_test_splitmix64(&r) % g.m;
        graph_add(&g, g.src[e], g.dst[e], g.w[e]);     // a duplicate
        uint64_t v = gx_test_splitmix64(&r) % k;
        graph_add(&g, v, v, 0.5);                      // a self-loop
    }
    return g;
}

// The graph as the engine stores it: with --undirected each line twice.
static graph_t
expand(const graph_t *g)
{
    graph_t e = { .n = g->n };
    for (size_t i = 0; i < g->m; i++) {
        graph_add(&e, g->src[i], g->dst[i], g->w[i]);
        if (g->undirected)
            graph_add(&e, g->dst[i], g->src[i], g->w[i]);
    }
    return e;
}

// Writes the edge file (weights as %.17g, so they read back exactly) and
// a vertex file naming every vertex, the isolated ones included.
static void
write_graph(const graph_t *g, const char *name, const char **edges,
            const char **vertices)
{
    char en[64], vn[64];
    snprintf(en, sizeof en, "%s.edges", name);
    snprintf(vn, sizeof vn, "%s.vertices", name);
    gx_test_text_t t = { 0 };
    for (size_t i = 0; i < g->m; i++)
        gx_test_text_add(&t, "%" PRIu64 " %" PRIu64 " %.17g\n",
                         id_of(g->src[i]), id_of(g->dst[i]), g->w[i]);
    *edges = gx_test_write_tmp(en, t.s ? t.s : "");
    free(t.s);
    t = (gx_test_text_t){ 0 };
    for (uint64_t v = g->n; v-- > 0;)                  // descending, on purpose
        gx_test_text_add(&t, "%" PRIu64 "\n", id_of(v));
    *vertices = gx_test_write_tmp(vn, t.s ? t.s : "");
    free(t.s);
}

// ---- Runs ------------------------------------------------------------------

typedef struct layout {
    unsigned      workers, partitions;
    gx_strategy_t strategy;
} layout_t;

// Every combination of 1-4 workers, the four strategies and three
// partition counts: as many as the workers, and 3 and 7, which no worker
// count here divides evenly (or at all). 48 layouts.
#define N_LAYOUTS 48

static layout_t
layout(size_t i)
{
    static const gx_strategy_t strategies[] = { GX_STRATEGY_2D, GX_STRATEGY_1D,
                                                GX_STRATEGY_RANDOM,
                                                GX_STRATEGY_CANONICAL };
    static const unsigned parts[] = { 0, 3, 7 };       // 0: = workers
    unsigned w = 1 + (unsigned)(i % 4);
    return (layout_t){ w, parts[(i / 4) % 3] ? parts[(i / 4) % 3] : w,
                       strategies[(i / 12) % 4] };
}

static gx_result_t
run(const gx_program_t *p, void *state, const char *edges,
    const char *vertices, int undirected, const layout_t *l)
{
    gx_job_t job = { .input = edges, .vertices = vertices, .program = p,
                     .program_state = state, .workers = l->workers,
                     .partitions = l->partitions, .strategy = l->strategy,
                     .undirected = undirected != 0 };
    gx_result_t res;
    gx_error_t err = { 0 };
    cr_assert_eq(gx_run(&job, &res, &err), 0, "%s: gx_run: %s", p->name,
                 err.msg);
    return res;
}

static const void *
value_at(const gx_program_t *p, const gx_result_t *res, uint64_t i)
{
    return (const uint8_t *)res->values + (size_t)p->value_size * i;
}

// Checks ids (every vertex, ascending: id_of is increasing) and hands
// each value to `check` with its index.
static void
check_ids(const gx_result_t *res, uint64_t n)
{
    cr_assert_eq(res->n_vertices, n, "%" PRIu64 " vertices, want %" PRIu64,
                 res->n_vertices, n);
    for (uint64_t i = 0; i < n; i++)
        cr_assert_eq(res->ids[i], id_of(i), "row %" PRIu64 ": id %" PRIu64,
                     i, res->ids[i]);
}

// ---- References --------------------------------------------------------------

// Out-adjacency in CSR form over a stored (expanded) edge list.
typedef struct csr {
    size_t   *off;
    uint64_t *adj;
    double   *w;
} csr_t;

static csr_t
csr_out(const graph_t *e)
{
    csr_t c = { calloc(e->n + 1, sizeof *c.off), malloc((e->m + 1) * sizeof *c.adj),
                malloc((e->m + 1) * sizeof *c.w) };
    for (size_t i = 0; i < e->m; i++)
        c.off[e->src[i] + 1]++;
    for (uint64_t v = 0; v < e->n; v++)
        c.off[v + 1] += c.off[v];
    size_t *pos = malloc((e->n + 1) * sizeof *pos);
    memcpy(pos, c.off, (e->n + 1) * sizeof *pos);
    for (size_t i = 0; i < e->m; i++) {
        c.adj[pos[e->src[i]]] = e->dst[i];
        c.w[pos[e->src[i]]++] = e->w[i];
    }
    free(pos);
    return c;
}

static void
csr_free(csr_t *c)
{
    free(c->off);
    free(c->adj);
    free(c->w);
}

// BFS by a FIFO queue; source is an index, or >= n for "not a vertex".
static int64_t *
ref_bfs(const graph_t *e, uint64_t source)
{
    csr_t c = csr_out(e);
    int64_t *level = malloc(e->n * sizeof *level);
    uint64_t *queue = malloc(e->n * sizeof *queue);
    size_t head = 0, tail = 0;
    for (uint64_t v = 0; v < e->n; v++)
        level[v] = UNREACHED;
    if (source < e->n) {
        level[source] = 0;
        queue[tail++] = source;
    }
    while (head < tail) {
        uint64_t u = queue[head++];
        for (size_t k = c.off[u]; k < c.off[u + 1]; k++)
            if (level[c.adj[k]] == UNREACHED) {
                level[c.adj[k]] = level[u] + 1;
                queue[tail++] = c.adj[k];
            }
    }
    free(queue);
    csr_free(&c);
    return level;
}

// Dijkstra with a binary min-heap of (distance, vertex), stale entries
// skipped when popped. Weights must be non-negative.
typedef struct hent {
    double   d;
    uint64_t v;
} hent_t;

static void
heap_push(hent_t *h, size_t *n, hent_t x)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2].d > x.d) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static hent_t
heap_pop(hent_t *h, size_t *n)
{
    hent_t top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1].d < h[c].d)
            c++;
        if (h[c].d >= last.d)
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0)
        h[i] = last;
    return top;
}

static double *
ref_dijkstra(const graph_t *e, uint64_t source)
{
    csr_t c = csr_out(e);
    double *dist = malloc(e->n * sizeof *dist);
    hent_t *heap = malloc((e->m + 2) * sizeof *heap);
    size_t hn = 0;
    for (uint64_t v = 0; v < e->n; v++)
        dist[v] = INFINITY;
    if (source < e->n) {
        dist[source] = 0.0;
        heap_push(heap, &hn, (hent_t){ 0.0, source });
    }
    while (hn > 0) {
        hent_t t = heap_pop(heap, &hn);
        if (t.d > dist[t.v])
            continue;
        for (size_t k = c.off[t.v]; k < c.off[t.v + 1]; k++) {
            double nd = t.d + c.w[k];
            if (nd < dist[c.adj[k]]) {
                dist[c.adj[k]] = nd;
                heap_push(heap, &hn, (hent_t){ nd, c.adj[k] });
            }
        }
    }
    free(heap);
    csr_free(&c);
    return dist;
}

// CDLP straight from the definition: each round, v hears label[a] for
// every stored edge a->v and label[b] for every stored edge v->b; count
// each heard label among them (O(k^2)), most frequent wins, smallest on a
// tie; no neighbours, no change. Rounds see the previous round's labels.
static uint64_t *
ref_cdlp(const graph_t *e, unsigned rounds)
{
    uint64_t *label = malloc(e->n * sizeof *label);
    uint64_t *next = malloc(e->n * sizeof *next);
    uint64_t *heard = malloc((2 * e->m + 1) * sizeof *heard);
    for (uint64_t v = 0; v < e->n; v++)
        label[v] = id_of(v);
    for (unsigned r = 0; r < rounds; r++) {
        for (uint64_t v = 0; v < e->n; v++) {
            size_t k = 0;
            for (size_t i = 0; i < e->m; i++) {
                if (e->dst[i] == v)
                    heard[k++] = label[e->src[i]];
                if (e->src[i] == v)
                    heard[k++] = label[e->dst[i]];
            }
            next[v] = label[v];
            size_t best_n = 0;
            for (size_t i = 0; i < k; i++) {
                size_t c = 0;
                for (size_t j = 0; j < k; j++)
                    c += heard[j] == heard[i];
                if (c > best_n || (c == best_n && heard[i] < next[v])) {
                    best_n = c;
                    next[v] = heard[i];
                }
            }
        }
        memcpy(label, next, e->n * sizeof *label);
    }
    free(heard);
    free(next);
    return label;
}

// LCC by neighbour sets: adj is an n x n matrix of "edge u->w exists";
// N(v) = {u != v : u->v or v->u}; count ordered pairs (u, w) of distinct
// members of N(v) with u->w.
static double *
ref_lcc(const graph_t *e)
{
    uint64_t n = e->n;
    uint8_t *adj = calloc(n * n, 1);
    for (size_t i = 0; i < e->m; i++)
        adj[e->src[i] * n + e->dst[i]] = 1;
    double *lcc = malloc(n * sizeof *lcc);
    uint64_t *nb = malloc(n * sizeof *nb);
    for (uint64_t v = 0; v < n; v++) {
        size_t k = 0;
        for (uint64_t u = 0; u < n; u++)
            if (u != v && (adj[u * n + v] || adj[v * n + u]))
                nb[k++] = u;
        uint64_t edges = 0;
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < k; b++)
                edges += a != b && adj[nb[a] * n + nb[b]];
        lcc[v] = k < 2 ? 0.0
                       : (double)edges / ((double)k * ((double)k - 1.0));
    }
    free(nb);
    free(adj);
    return lcc;
}

// ---- The worked example of KERNELS.md ---------------------------------------

// 1->2, 2->3, 3->1, 3->4 with their own ids (not id_of).
static const char *
worked_example(void)
{
    return gx_test_write_tmp("worked.txt", "1 2 1\n2 3 1\n3 1 1\n3 4 1\n");
}

static const layout_t one_worker = { 1, 1, GX_STRATEGY_2D };

Test(examples, bfs_from_1_on_the_worked_example_gives_0_1_2_3)
{
    const gx_program_t *p = plugin("bfs");
    void *st = setup_ok(p, 1, (const char *[]){ "source=1" });
    gx_result_t res = run(p, st, worked_example(), NULL, 0, &one_worker);
    cr_assert_eq(res.n_vertices, 4);
    const char *want[] = { "0", "1", "2", "3" };
    for (uint64_t i = 0; i < 4; i++) {
        cr_assert_eq(res.ids[i], i + 1);
        cr_assert_str_eq(formatted(p, value_at(p, &res, i)), want[i]);
    }
    gx_result_free(&res);
    teardown(p, st);
}

Test(examples, lcc_on_the_worked_example_gives_a_half_and_a_sixth)
{
    const gx_program_t *p = plugin("lcc");
    void *st = setup_ok(p, 0, NULL);
    gx_result_t res = run(p, st, worked_example(), NULL, 0, &one_worker);
    cr_assert_eq(res.n_vertices, 4);
    // N(1) = {2,3}: 2->3. N(2) = {1,3}: 3->1. N(3) = {1,2,4}: 1->2. N(4) = {3}.
    const double want[] = { 0.5, 0.5, 1.0 / 6.0, 0.0 };
    for (uint64_t i = 0; i < 4; i++) {
        double got;
        memcpy(&got, value_at(p, &res, i), sizeof got);
        cr_assert_eq(got, want[i], "LCC(%" PRIu64 ") = %.17g, want %.17g",
                     i + 1, got, want[i]);
    }
    cr_assert_str_eq(formatted(p, value_at(p, &res, 2)), "0.16666666666666666");
    gx_result_free(&res);
    teardown(p, st);
}

Test(examples, unreachable_prints_int64_max_for_bfs_and_infinity_for_sssp)
{
    // 5 is reached from nothing; 4 only from 3.
    const char *in = gx_test_write_tmp("unreach.txt",
                                       "1 2 0.25\n2 3 0.5\n3 4 0.125\n5 1 1\n");
    const gx_program_t *bfs = plugin("bfs"), *sssp = plugin("sssp");
    void *sb = setup_ok(bfs, 1, (const char *[]){ "source=2" });
    void *ss = setup_ok(sssp, 1, (const char *[]){ "source=2" });
    gx_result_t rb = run(bfs, sb, in, NULL, 0, &one_worker);
    gx_result_t rs = run(sssp, ss, in, NULL, 0, &one_worker);
    const char *want_b[] = { "9223372036854775807", "0", "1", "2",
                             "9223372036854775807" };
    const char *want_s[] = { "Infinity", "0", "0.5", "0.625", "Infinity" };
    for (uint64_t i = 0; i < 5; i++) {
        cr_assert_str_eq(formatted(bfs, value_at(bfs, &rb, i)), want_b[i]);
        cr_assert_str_eq(formatted(sssp, value_at(sssp, &rs, i)), want_s[i]);
    }
    gx_result_free(&rb);
    gx_result_free(&rs);
    teardown(bfs, sb);
    teardown(sssp, ss);
}

Test(examples, a_source_that_is_no_vertex_reaches_nothing)
{
    const char *in = worked_example();
    const gx_program_t *bfs = plugin("bfs"), *sssp = plugin("sssp");
    void *sb = setup_ok(bfs, 1, (const char *[]){ "source=99" });
    void *ss = setup_ok(sssp, 1, (const char *[]){ "source=99" });
    gx_result_t rb = run(bfs, sb, in, NULL, 0, &one_worker);
    gx_result_t rs = run(sssp, ss, in, NULL, 0, &one_worker);
    for (uint64_t i = 0; i < 4; i++) {
        cr_assert_str_eq(formatted(bfs, value_at(bfs, &rb, i)),
                         "9223372036854775807");
        cr_assert_str_eq(formatted(sssp, value_at(sssp, &rs, i)), "Infinity");
    }
    gx_result_free(&rb);
    gx_result_free(&rs);
    teardown(bfs, sb);
    teardown(sssp, ss);
}

Test(examples, sssp_handles_negative_weights_and_ends_behind_a_negative_cycle)
{
    // 0->1->2->1 is a cycle of weight -1 that reaches 3; 4 and 6 are off
    // it (6 through a negative edge), 5 is unreachable.
    const char *in = gx_test_write_tmp("negative.txt",
        "0 1 1\n1 2 -2\n2 1 1\n2 3 1\n0 4 5\n5 0 1\n4 6 -3\n");
    const gx_program_t *p = plugin("sssp");
    void *st = setup_ok(p, 1, (const char *[]){ "source=0" });
    const char *want[] = { "0", "-Infinity", "-Infinity", "-Infinity", "5",
                           "Infinity", "2" };
    for (size_t l = 0; l < N_LAYOUTS; l++) {
        layout_t ly = layout(l);
        gx_result_t res = run(p, st, in, NULL, 0, &ly);
        cr_assert_eq(res.n_vertices, 7);
        for (uint64_t i = 0; i < 7; i++)
            cr_assert_str_eq(formatted(p, value_at(p, &res, i)), want[i],
                             "vertex %" PRIu64, i);
        cr_assert_lt(res.supersteps, 3 * 7 + 3);
        gx_result_free(&res);
    }
    teardown(p, st);
}

// The run's distances as printed, on every layout, against want[].
static void
assert_sssp(const char *in, const char *source, size_t n,
            const char *const *want)
{
    const gx_program_t *p = plugin("sssp");
    void *st = setup_ok(p, 1, (const char *[]){ source });
    for (size_t l = 0; l < N_LAYOUTS; l++) {
        layout_t ly = layout(l);
        gx_result_t res = run(p, st, in, NULL, 0, &ly);
        cr_assert_eq(res.n_vertices, n);
        for (uint64_t i = 0; i < n; i++)
            cr_assert_str_eq(formatted(p, value_at(p, &res, i)), want[i],
                             "layout %zu, vertex %" PRIu64, l, i);
        gx_result_free(&res);
    }
    teardown(p, st);
}

Test(examples, sssp_keeps_a_shortest_route_of_n_minus_1_edges_and_finds_a_cycle_at_n)
{
    // A distance may still fall at superstep n-1 (a route through every
    // vertex) and is then true; only a fall at superstep n or later means
    // a negative cycle. A bound one step early turned the end of a plain
    // path into -Infinity and no other test noticed.
    const char *path = gx_test_write_tmp("path.txt", "0 1 1\n1 2 1\n2 3 1\n");
    assert_sssp(path, "source=0", 4, (const char *[]){ "0", "1", "2", "3" });
    // The same with a shortcut that the long route beats at step n-1 only.
    const char *beat = gx_test_write_tmp("beat.txt",
        "0 3 10\n0 1 1\n1 2 -1\n2 3 1\n");
    assert_sssp(beat, "source=0", 4, (const char *[]){ "0", "1", "0", "1" });
    // The smallest negative cycle through the source: 0 falls at superstep
    // 2 = n, so it and everything it reaches take -Infinity.
    const char *cycle = gx_test_write_tmp("cycle.txt", "0 1 1\n1 0 -2\n");
    assert_sssp(cycle, "source=0", 2,
                (const char *[]){ "-Infinity", "-Infinity" });
}

// ---- Parameters ----------------------------------------------------------------

static void
refuses(const char *name, size_t n, const char *const *kv, const char *needle)
{
    const gx_program_t *p = plugin(name);
    void *st;
    gx_error_t err = { 0 };
    cr_assert_eq(setup_with(p, &st, &err, n, kv), -1, "%s accepted %s", name,
                 n ? kv[0] : "nothing");
    cr_assert(strstr(err.msg, needle), "%s: got '%s', want '%s' named", name,
              err.msg, needle);
}

Test(examples, setup_refuses_unknown_keys_and_bad_values_naming_the_key)
{
    refuses("bfs", 0, NULL, "source");
    refuses("bfs", 1, (const char *[]){ "sorce=1" }, "sorce");
    refuses("bfs", 1, (const char *[]){ "source=-1" }, "source");
    refuses("bfs", 1, (const char *[]){ "source=1x" }, "source");
    refuses("bfs", 1, (const char *[]){ "source=9223372036854775808" }, "source");
    refuses("bfs", 2, (const char *[]){ "source=1", "source=2" }, "source");
    refuses("sssp", 0, NULL, "source");
    refuses("sssp", 1, (const char *[]){ "src=1" }, "src");
    refuses("sssp", 1, (const char *[]){ "source=" }, "source");
    refuses("cdlp", 1, (const char *[]){ "iterations=ten" }, "iterations");
    refuses("cdlp", 1, (const char *[]){ "iterations=-3" }, "iterations");
    refuses("cdlp", 1, (const char *[]){ "rounds=3" }, "rounds");
    refuses("lcc", 1, (const char *[]){ "x=1" }, "'x'");
    refuses("degree", 1, (const char *[]){ "y=1" }, "'y'");
}

Test(examples, every_plugin_declares_its_parameters_and_summary)
{
    const char *names[] = { "bfs", "sssp", "cdlp", "lcc", "degree" };
    for (size_t i = 0; i < 5; i++) {
        const gx_program_t *p = plugin(names[i]);
        cr_assert_not_null(p->summary);
        cr_assert_not_null(p->description);
        for (const gx_param_spec_t *s = p->params; s && s->key; s++)
            cr_assert_not_null(s->help, "%s: %s", names[i], s->key);
    }
    cr_assert_str_eq(plugin("bfs")->params[0].key, "source");
    cr_assert_str_eq(plugin("sssp")->params[0].key, "source");
    cr_assert_str_eq(plugin("cdlp")->params[0].key, "iterations");
    cr_assert(plugin("sssp")->flags & GX_NEEDS_WEIGHTS);
}

// ---- Random graphs, every layout -------------------------------------------------

// The graphs every kernel runs on: directed and undirected, with
// duplicates, self-loops, unreachable vertices and isolated vertices
// (given only in the vertex file).
typedef struct case_ {
    uint64_t n, isolated;
    size_t   m;
    uint64_t seed;
    int      undirected;
} case_t;

static const case_t cases[] = {
    { 2000, 7, 2600, 11, 0 },        // sparse: many unreachable
    { 300, 3, 2500, 12, 0 },         // denser: many duplicates
    { 1500, 5, 2000, 13, 1 },        // --undirected
    { 60, 2, 900, 14, 1 },           // --undirected and dense: high LCC
};
#define N_CASES (sizeof cases / sizeof cases[0])

typedef void (check_fn)(const gx_program_t *p, const gx_result_t *res,
                        const graph_t *e, const void *want, const char *where);

// Runs p (already set up) on every case and layout; ref() computes the
// expected values on the stored graph.
static void
each_case(const gx_program_t *p, void *st, void *(*ref)(const graph_t *, const void *),
          const void *arg, check_fn *check, size_t n_layouts)
{
    for (size_t c = 0; c < N_CASES; c++) {
        graph_t g = random_graph(cases[c].n, cases[c].isolated, cases[c].m,
                                 cases[c].seed);
        g.undirected = cases[c].undirected;
        const char *edges, *vertices;
        char name[32];
        snprintf(name, sizeof name, "case%zu", c);
        write_graph(&g, name, &edges, &vertices);
        graph_t e = expand(&g);
        void *want = ref(&e, arg);
        for (size_t l = 0; l < n_layouts; l++) {
            layout_t lay = layout(l), *ly = &lay;
            gx_result_t res = run(p, st, edges, vertices, g.undirected, ly);
            check_ids(&res, g.n);
            char where[128];
            snprintf(where, sizeof where, "case %zu, %u workers, %u partitions, %s",
                     c, ly->workers, ly->partitions, gx_strategy_name(ly->strategy));
            check(p, &res, &e, want, where);
            gx_result_free(&res);
        }
        free(want);
        graph_free(&e);
        graph_free(&g);
    }
}

// The source for BFS and SSSP: index 0 of each case (on edges, since the
// isolated vertices are the last ones).
static void *
bfs_ref(const graph_t *e, const void *arg)
{
    (void)arg;
    return ref_bfs(e, 0);
}

static void
bfs_check(const gx_program_t *p, const gx_result_t *res, const graph_t *e,
          const void *want, const char *where)
{
    const int64_t *w = want;
    uint64_t unreached = 0;
    for (uint64_t i = 0; i < e->n; i++) {
        int64_t got;
        memcpy(&got, value_at(p, res, i), sizeof got);
        cr_assert_eq(got, w[i], "%s: vertex %" PRIu64 ": %" PRId64 ", want %"
                     PRId64, where, id_of(i), got, w[i]);
        unreached += got == UNREACHED;
    }
    cr_assert_gt(unreached, 0, "%s: the case should have unreachable vertices",
                 where);
}

Test(examples, bfs_matches_a_queue_on_random_multigraphs_on_every_layout)
{
    const gx_program_t *p = plugin("bfs");
    char arg[32];
    snprintf(arg, sizeof arg, "source=%" PRIu64, id_of(0));
    void *st = setup_ok(p, 1, (const char *[]){ arg });
    each_case(p, st, bfs_ref, NULL, bfs_check, N_LAYOUTS);
    teardown(p, st);
}

static void *
sssp_ref(const graph_t *e, const void *arg)
{
    (void)arg;
    return ref_dijkstra(e, 0);
}

// Exact: both sides take the minimum over paths of the left-to-right
// floating-point sum of weights (rounding is monotone), so they agree to
// the bit, whatever order the engine relaxes in.
static void
sssp_check(const gx_program_t *p, const gx_result_t *res, const graph_t *e,
           const void *want, const char *where)
{
    const double *w = want;
    for (uint64_t i = 0; i < e->n; i++) {
        double got;
        memcpy(&got, value_at(p, res, i), sizeof got);
        cr_assert(got == w[i], "%s: vertex %" PRIu64 ": %.17g, want %.17g",
                  where, id_of(i), got, w[i]);
    }
}

Test(examples, sssp_matches_dijkstra_on_random_multigraphs_on_every_layout)
{
    const gx_program_t *p = plugin("sssp");
    char arg[32];
    snprintf(arg, sizeof arg, "source=%" PRIu64, id_of(0));
    void *st = setup_ok(p, 1, (const char *[]){ arg });
    each_case(p, st, sssp_ref, NULL, sssp_check, N_LAYOUTS);
    teardown(p, st);
}

static void *
cdlp_ref(const graph_t *e, const void *arg)
{
    return ref_cdlp(e, *(const unsigned *)arg);
}

static void
u64_check(const gx_program_t *p, const gx_result_t *res, const graph_t *e,
          const void *want, const char *where)
{
    const uint64_t *w = want;
    for (uint64_t i = 0; i < e->n; i++) {
        uint64_t got;
        memcpy(&got, value_at(p, res, i), sizeof got);
        cr_assert_eq(got, w[i], "%s: vertex %" PRIu64 ": %" PRIu64 ", want %"
                     PRIu64, where, id_of(i), got, w[i]);
    }
}

Test(examples, cdlp_matches_direct_counting_on_random_multigraphs_on_every_layout)
{
    const gx_program_t *p = plugin("cdlp");
    unsigned rounds = 10;
    void *st = setup_ok(p, 0, NULL);                    // the default: 10
    each_case(p, st, cdlp_ref, &rounds, u64_check, N_LAYOUTS);
    teardown(p, st);
    rounds = 3;
    st = setup_ok(p, 1, (const char *[]){ "iterations=3" });
    each_case(p, st, cdlp_ref, &rounds, u64_check, 12);
    teardown(p, st);
    rounds = 0;
    st = setup_ok(p, 1, (const char *[]){ "iterations=0" });
    each_case(p, st, cdlp_ref, &rounds, u64_check, 4);
    teardown(p, st);
}

static void *
lcc_ref(const graph_t *e, const void *arg)
{
    (void)arg;
    return ref_lcc(e);
}

// The same count over the same integer, divided the same way: exact.
static void
lcc_check(const gx_program_t *p, const gx_result_t *res, const graph_t *e,
          const void *want, const char *where)
{
    const double *w = want;
    for (uint64_t i = 0; i < e->n; i++) {
        double got;
        memcpy(&got, value_at(p, res, i), sizeof got);
        cr_assert(got == w[i], "%s: vertex %" PRIu64 ": %.17g, want %.17g",
                  where, id_of(i), got, w[i]);
    }
}

Test(examples, lcc_matches_neighbour_sets_on_random_multigraphs_on_every_layout)
{
    const gx_program_t *p = plugin("lcc");
    void *st = setup_ok(p, 0, NULL);
    each_case(p, st, lcc_ref, NULL, lcc_check, N_LAYOUTS);
    teardown(p, st);
}

// Degrees by counting stored edges: a self-loop adds one to each degree.
static void *
degree_ref(const graph_t *e, const void *arg)
{
    (void)arg;
    uint64_t *d = calloc(2 * e->n, sizeof *d);
    for (size_t i = 0; i < e->m; i++) {
        d[2 * e->src[i]]++;
        d[2 * e->dst[i] + 1]++;
    }
    return d;
}

static void
degree_check(const gx_program_t *p, const gx_result_t *res, const graph_t *e,
             const void *want, const char *where)
{
    const uint64_t *w = want;
    for (uint64_t i = 0; i < e->n; i++) {
        uint64_t got[2];
        memcpy(got, value_at(p, res, i), sizeof got);
        cr_assert(got[0] == w[2 * i] && got[1] == w[2 * i + 1],
                  "%s: vertex %" PRIu64 ": out %" PRIu64 " in %" PRIu64
                  ", want %" PRIu64 " %" PRIu64, where, id_of(i), got[0],
                  got[1], w[2 * i], w[2 * i + 1]);
        char text[64];
        snprintf(text, sizeof text, "%" PRIu64 "\t%" PRIu64, w[2 * i],
                 w[2 * i + 1]);
        cr_assert_str_eq(formatted(p, got), text);
    }
    cr_assert_eq(res->supersteps, 0, "%s: degree needs no superstep", where);
}

Test(examples, degree_counts_duplicates_and_self_loops_on_every_layout)
{
    const gx_program_t *p = plugin("degree");
    void *st = setup_ok(p, 0, NULL);
    each_case(p, st, degree_ref, NULL, degree_check, N_LAYOUTS);
    teardown(p, st);
}
