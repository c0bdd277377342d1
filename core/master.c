// core/master.c: the master. It owns no graph data: it holds the barrier at
// the end of every phase and superstep, reduces the workers' aggregator
// partials in worker order (so a run repeats exactly for a given number of
// workers), decides whether to go on, and gathers the values at the end.
// A failed worker makes it abort every worker at once, so an error never
// turns into a hang.
#include "core/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/agg.h"
#include "core/clock.h"
#include "core/transport.h"

typedef struct master {
    gx_engine_t  *e;
    zsock_t      *router;
    uint32_t      W;
    uint64_t      stats[GX_STAT_N];      // summed over workers, this phase
    gx_agg_value_t *partial;             // [W * n_aggs]
    gx_agg_value_t agg[GX_MAX_AGGS];
    uint64_t     *prog_bytes, *prog_edges; // [W] latest LOAD progress
    double        stage_start, last_progress;
    gx_stage_t    stage;
    gx_error_t    failure;
    int           failed;
    // Results.
    uint64_t     *ids;
    uint8_t      *values;
    uint64_t      n_results, cap_results;
} master_t;

static void
load_progress(master_t *m)
{
    const gx_job_t *job = m->e->job;
    double t = gx_clock_now();
    if (!job->progress || t - m->last_progress < 0.1)
        return;
    m->last_progress = t;
    gx_progress_t p = { .stage = GX_STAGE_LOAD,
                        .total_bytes = gx_input_bytes(m->e->input),
                        .seconds = t - m->stage_start };
    for (uint32_t w = 0; w < m->W; w++) {
        p.bytes += m->prog_bytes[w];
        p.edges += m->prog_edges[w];
    }
    job->progress(&p, job->progress_arg);
}

// Sends a command to worker w. ROUTER_MANDATORY makes a send to a worker
// that has not connected yet fail instead of vanishing; such a send is
// retried for a while (the worker's thread is starting).
static int
command(master_t *m, uint32_t w, const gx_frame_t *f)
{
    gx_error_t err;
    for (int tries = 0;; tries++) {
        if (gx_send(m->router, (int)w + 1, f, NULL, &err) == 0)
            return 0;
        if (zmq_errno() != EHOSTUNREACH || tries >= 300)
            return gx_error_set(&m->failure, "%s", err.msg);
        zclock_sleep(10);
    }
}

static void
abort_all(master_t *m)
{
    gx_frame_t f = { .kind = GX_F_ABORT };
    for (uint32_t w = 0; w < m->W; w++)
        command(m, w, &f);
}

static int
on_result(master_t *m, const gx_frame_t *f)
{
    size_t vsz = m->e->prog->value_size;
    if (f->n_bins != 2 || f->bin_len[0] != f->b * 8
        || f->bin_len[1] != f->b * vsz)
        return gx_error_set(&m->failure, "master: malformed RESULT frame");
    if (m->n_results + f->b > m->cap_results)
        return gx_error_set(&m->failure,
                            "master: workers returned more values than vertices");
    memcpy(m->ids + m->n_results, f->bin[0], f->b * 8);
    memcpy(m->values + m->n_results * vsz, f->bin[1], f->b * vsz);
    m->n_results += f->b;
    return 0;
}

// Waits until every worker has sent `until` (REPORT or RESULT_END),
// handling progress and results meanwhile. Returns -1 when a worker failed
// (m->failure says why) after aborting the others.
static int
collect(master_t *m, uint32_t until)
{
    uint32_t got = 0;
    uint8_t *seen = calloc(m->W, 1);
    if (!seen)
        return gx_error_set(&m->failure, "master: out of memory");
    memset(m->stats, 0, sizeof m->stats);
    uint32_t na = m->e->prog->n_aggs;
    int rc = 0;
    while (got < m->W) {
        gx_inframe_t in = { 0 };
        uint32_t from = 0;
        gx_error_t err;
        if (gx_recv(m->router, &in, -1, &from, &err) != 0 || from >= m->W) {
            gx_error_set(&m->failure, "%s", from >= m->W
                         ? "master: frame from an unknown worker" : err.msg);
            gx_inframe_close(&in);
            rc = -1;
            break;
        }
        const gx_frame_t *f = &in.f;
        if (f->kind == GX_F_PROGRESS && f->n_bins == 1 && f->bin_len[0] == 16) {
            memcpy(&m->prog_bytes[from], f->bin[0], 8);
            memcpy(&m->prog_edges[from], (const uint8_t *)f->bin[0] + 8, 8);
            load_progress(m);
        } else if (f->kind == GX_F_RESULT) {
            if (on_result(m, f) != 0)
                rc = -1;
        } else if (f->kind == until && !seen[from]) {
            seen[from] = 1;
            got++;
            if (f->kind == GX_F_REPORT) {
                if (f->b != 0) {
                    gx_error_set(&m->failure, "%.*s",
                                 (int)(f->n_bins > 2 ? f->bin_len[2] : 0),
                                 f->n_bins > 2 ? (const char *)f->bin[2] : "");
                    if (!m->failure.msg[0])
                        gx_error_set(&m->failure, "worker %u failed", from);
                    rc = -1;
                } else if (f->n_bins < 2 || f->bin_len[0] != sizeof m->stats
                           || f->bin_len[1] != na * sizeof(gx_agg_value_t)) {
                    gx_error_set(&m->failure, "master: malformed report from "
                                 "worker %u", from);
                    rc = -1;
                } else {
                    uint64_t s[GX_STAT_N];
                    memcpy(s, f->bin[0], sizeof s);
                    for (int i = 0; i < GX_STAT_N; i++)
                        m->stats[i] += s[i];
                    memcpy(m->partial + (size_t)from * na, f->bin[1],
                           na * sizeof(gx_agg_value_t));
                }
            }
        }
        gx_inframe_close(&in);
        if (rc != 0)
            break;
    }
    free(seen);
    if (rc != 0) {
        m->failed = 1;
        abort_all(m);
    }
    return rc;
}

static int
go(master_t *m, const uint64_t *facts)
{
    gx_frame_t f = { .kind = GX_F_GO, .n_bins = 2 };
    f.bin[0] = m->agg;
    f.bin_len[0] = m->e->prog->n_aggs * sizeof(gx_agg_value_t);
    f.bin[1] = facts;
    f.bin_len[1] = GX_FACT_N * sizeof(uint64_t);
    for (uint32_t w = 0; w < m->W; w++)
        if (command(m, w, &f) != 0) {
            abort_all(m);
            return -1;
        }
    return 0;
}

typedef struct id_at {
    uint64_t id;
    uint64_t at;
} id_at_t;

static int
cmp_id(const void *a, const void *b)
{
    uint64_t x = ((const id_at_t *)a)->id, y = ((const id_at_t *)b)->id;
    return (x > y) - (x < y);
}

// Values arrive in worker order; the result is sorted by vertex id so it
// does not depend on the number of workers.
static int
sort_results(master_t *m, gx_result_t *res)
{
    size_t vsz = m->e->prog->value_size, n = m->n_results;
    id_at_t *order = malloc((n ? n : 1) * sizeof *order);
    res->ids = malloc((n ? n : 1) * sizeof *res->ids);
    res->values = malloc((n ? n : 1) * vsz);
    if (!order || !res->ids || !res->values) {
        free(order);
        return gx_error_set(&m->failure, "master: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (id_at_t){ m->ids[i], i };
    qsort(order, n, sizeof *order, cmp_id);
    for (size_t i = 0; i < n; i++) {
        res->ids[i] = order[i].id;
        memcpy((uint8_t *)res->values + i * vsz, m->values + order[i].at * vsz,
               vsz);
    }
    free(order);
    return 0;
}

static int
push_step(gx_result_t *res, const gx_step_stats_t *s, uint64_t *cap)
{
    if (res->supersteps == *cap) {
        uint64_t nc = *cap ? *cap * 2 : 64;
        gx_step_stats_t *a = realloc(res->steps, nc * sizeof *a);
        if (!a)
            return -1;
        res->steps = a;
        *cap = nc;
    }
    res->steps[res->supersteps++] = *s;
    return 0;
}

static int
run(master_t *m, gx_result_t *res)
{
    const gx_job_t *job = m->e->job;
    const gx_program_t *prog = m->e->prog;
    uint64_t facts[GX_FACT_N] = { 0 };

    // Load.
    double t0 = gx_clock_now();
    m->stage = GX_STAGE_LOAD;
    m->stage_start = t0;
    if (collect(m, GX_F_REPORT) != 0)
        return -1;
    res->input_bytes = m->stats[GX_STAT_BYTES_IN];
    if (m->stats[GX_STAT_EDGES] == 0) {
        abort_all(m);
        const char *path = gx_input_path(m->e->input);
        return gx_error_set(&m->failure, "%s: no edges in the input",
                            strcmp(path, "-") ? path : "standard input");
    }
    if (job->progress) {
        // The stage's final figures: a quick load gets its line too.
        gx_progress_t p = { .stage = GX_STAGE_LOAD,
                            .bytes = m->stats[GX_STAT_BYTES_IN],
                            .total_bytes = gx_input_bytes(m->e->input),
                            .edges = m->stats[GX_STAT_EDGES],
                            .seconds = gx_clock_now() - t0 };
        job->progress(&p, job->progress_arg);
    }
    if (go(m, facts) != 0)
        return -1;
    double t1 = gx_clock_now();
    res->load_seconds = t1 - t0;

    // Partition: build CSRs, register replicas with their masters.
    if (job->progress) {
        gx_progress_t p = { .stage = GX_STAGE_PARTITION };
        job->progress(&p, job->progress_arg);
    }
    if (collect(m, GX_F_REPORT) != 0)
        return -1;
    res->n_vertices = facts[GX_FACT_VERTICES] = m->stats[GX_STAT_MASTERS];
    res->n_edges = facts[GX_FACT_EDGES] = m->stats[GX_STAT_EDGES];
    res->replicas = m->stats[GX_STAT_REPLICAS];
    m->ids = malloc((res->n_vertices ? res->n_vertices : 1) * sizeof *m->ids);
    m->values = malloc((res->n_vertices ? res->n_vertices : 1)
                       * prog->value_size);
    m->cap_results = res->n_vertices;
    if (!m->ids || !m->values) {
        abort_all(m);
        return gx_error_set(&m->failure, "master: out of memory");
    }
    gx_agg_reset(prog->agg_ops, prog->n_aggs, m->agg);
    if (go(m, facts) != 0)
        return -1;
    double t2 = gx_clock_now();
    res->partition_seconds = t2 - t1;

    // Supersteps: step 0 is init.
    uint64_t cap = 0;
    double ts = t2;
    for (uint64_t step = 0;; step++) {
        if (collect(m, GX_F_REPORT) != 0)
            return -1;
        gx_agg_reset(prog->agg_ops, prog->n_aggs, m->agg);
        for (uint32_t w = 0; w < m->W; w++)
            gx_agg_reduce(prog->agg_ops, prog->n_aggs, m->agg,
                          m->partial + (size_t)w * prog->n_aggs);
        double t = gx_clock_now();
        gx_step_stats_t st = { t - ts, m->stats[GX_STAT_ACTIVE],
                               m->stats[GX_STAT_MESSAGES],
                               m->stats[GX_STAT_BYTES_SENT] };
        ts = t;
        if (step > 0 && push_step(res, &st, &cap) != 0) {
            abort_all(m);
            return gx_error_set(&m->failure, "master: out of memory");
        }
        if (job->progress && step > 0) {
            gx_progress_t p = { .stage = GX_STAGE_COMPUTE, .superstep = step,
                                .active = st.active, .messages = st.messages,
                                .seconds = t - t2 };
            job->progress(&p, job->progress_arg);
        }
        gx_context_t ctx = { .n_vertices = res->n_vertices,
                             .n_edges = res->n_edges, .superstep = step,
                             .state = job->program_state, .agg = m->agg,
                             .agg_ops = prog->agg_ops, .active = st.active,
                             .messages = st.messages };
        bool stop = st.active == 0
                    || (prog->halt && prog->halt(&ctx))
                    || (job->max_supersteps && step >= job->max_supersteps);
        if (stop)
            break;
        if (go(m, facts) != 0)
            return -1;
    }
    // Compute ends with the last barrier; gathering and sorting the values
    // is output, not superstep work.
    res->compute_seconds = gx_clock_now() - t2;
    gx_frame_t f = { .kind = GX_F_STOP };
    for (uint32_t w = 0; w < m->W; w++)
        if (command(m, w, &f) != 0) {
            abort_all(m);
            return -1;
        }
    if (collect(m, GX_F_RESULT_END) != 0)
        return -1;
    if (m->n_results != res->n_vertices)
        return gx_error_set(&m->failure, "master: %llu values for %llu vertices",
                            (unsigned long long)m->n_results,
                            (unsigned long long)res->n_vertices);
    return sort_results(m, res);
}

int
gx_master_run(gx_engine_t *e, void *router, gx_result_t *res, gx_error_t *err)
{
    master_t m = { .e = e, .router = router, .W = e->n_workers };
    m.partial = calloc((size_t)m.W * (e->prog->n_aggs ? e->prog->n_aggs : 1),
                       sizeof *m.partial);
    m.prog_bytes = calloc(m.W, sizeof *m.prog_bytes);
    m.prog_edges = calloc(m.W, sizeof *m.prog_edges);
    int rc;
    if (!m.partial || !m.prog_bytes || !m.prog_edges) {
        abort_all(&m);
        rc = gx_error_set(&m.failure, "master: out of memory");
    } else {
        rc = run(&m, res);
    }
    if (rc != 0)
        gx_error_set(err, "%s", m.failure.msg);
    res->workers = e->n_workers;
    res->partitions = e->n_parts;
    free(m.partial);
    free(m.prog_bytes);
    free(m.prog_edges);
    free(m.ids);
    free(m.values);
    return rc;
}
