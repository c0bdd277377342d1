// core/master.c: the master. It owns no graph data: it holds the barrier at
// the end of every phase and superstep, reduces the workers' aggregator
// partials in worker order (so a run repeats exactly for a given number of
// workers), decides whether to go on, and gathers the values at the end.
// At each barrier it also adds up how many data frames every worker sent
// to every other, and tells each worker how many to wait for: a phase ends
// by count, so workers need no end-of-phase word from every peer and the
// mesh holds only the connections data flows over (docs/design.md).
// A failure shuts the run's context down (gx_engine_fail), which wakes
// every worker: an error never turns into a hang.
#include "core/engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/agg.h"
#include "core/clock.h"
#include "core/frames.h"
#include "core/gather.h"
#include "core/mem.h"
#include "core/order.h"
#include "core/transport.h"

// A worker process's figures as the master keeps them, in a slot indexed
// by its first thread (a process's threads are a range).
typedef struct proc_slot {
    uint64_t  fig[GX_PROC_N];            // the latest; GX_PROC_THREADS 0:
                                         // no process starts at this thread
    uint64_t  read_back_prev;            // at the last superstep's barrier
    uint64_t *steps;                     // [n_steps] read back in each
    uint64_t  n_steps, cap;
} proc_slot_t;

typedef struct master {
    gx_engine_t  *e;
    void         *router;
    uint32_t      W;
    uint64_t      stats[GX_STAT_N];      // summed over workers, this phase
    uint64_t     *expect;                // [W] frames sent to each, this phase
    gx_agg_value_t *partial;             // [W * n_aggs]
    gx_agg_value_t agg[GX_MAX_AGGS];
    gx_agg_value_t global[GX_MAX_GLOBALS]; // the master hook's, sent with GO
    uint64_t     *prog_bytes, *prog_edges; // [W] latest LOAD progress
    uint8_t      *seen;                  // [W] reported at this barrier
    double        stage_start, last_progress;
    gx_failure_t *failure;
    uint64_t      n_results;             // --output-parts: values written
    uint64_t      step;                  // REPORTs must carry it (0 until
                                         // the supersteps)
    proc_slot_t  *procs;                 // [W] by first thread
} master_t;

static int fail(master_t *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Records the run's failure and wakes every worker.
static int
fail(master_t *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gx_engine_vfail(m->e, m->failure, fmt, ap);
    va_end(ap);
    return -1;
}

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

static int
command(master_t *m, uint32_t w, const gx_frame_t *f)
{
    gx_error_t err;
    if (gx_send(m->router, (int)w + 1, f, NULL, &err) != 0)
        return fail(m, "master: %s", err.msg);
    return 0;
}

// A process's figures (GX_PROC_*), from a REPORT of thread `from`: its
// threads must be a range that holds `from`.
static int
on_figures(master_t *m, uint32_t from, const void *proc)
{
    uint64_t fig[GX_PROC_N];
    for (int i = 0; i < GX_PROC_N; i++)
        fig[i] = gx_col_u64(proc, (uint64_t)i);
    uint64_t first = fig[GX_PROC_FIRST], n = fig[GX_PROC_THREADS];
    if (n == 0 || first > from || n > m->W - first || from - first >= n)
        return fail(m, "master: worker %u reported the figures of threads "
                    "%llu to %llu", from, (unsigned long long)first,
                    (unsigned long long)(first + n - 1));
    memcpy(m->procs[first].fig, fig, sizeof fig);
    return 0;
}

// A worker's REPORT: its statistics, aggregator partials, and how many
// data frames it sent to each worker this phase.
static int
on_report(master_t *m, uint32_t from, const gx_frame_t *f)
{
    uint32_t na = m->e->prog->n_aggs;
    gx_report_view_t v;
    if (gx_report_unpack(f, na, m->W, &v) != 0)
        return fail(m, "master: malformed report from worker %u", from);
    if (v.step != m->step)
        return fail(m, "master: a report from worker %u for superstep %llu, "
                    "not %llu", from, (unsigned long long)v.step,
                    (unsigned long long)m->step);
    for (int i = 0; i < GX_STAT_N; i++)
        m->stats[i] += gx_col_u64(v.stats, (uint64_t)i);
    memcpy(m->partial + (size_t)from * na, v.agg, na * sizeof(gx_agg_value_t));
    for (uint32_t d = 0; d < m->W; d++)
        m->expect[d] += gx_col_u32(v.sent, d);
    return v.proc ? on_figures(m, from, v.proc) : 0;
}

// One frame at a barrier; `until` is the kind that counts a worker in.
static int
on_frame(master_t *m, uint32_t from, const gx_frame_t *f, uint32_t until,
         uint32_t *got)
{
    if (f->kind == GX_F_PROGRESS) {
        if (gx_progress_unpack(f, &m->prog_bytes[from], &m->prog_edges[from])
            != 0)
            return fail(m, "master: malformed progress from worker %u", from);
        load_progress(m);
        return 0;
    }
    if (f->kind != until || m->seen[from])
        return fail(m, "master: unexpected %s frame from worker %u",
                    gx_frame_kind_name(f->kind), from);
    m->seen[from] = 1;
    (*got)++;
    if (f->kind == GX_F_RESULT_END) {
        if (f->b > UINT64_MAX - m->n_results)
            return fail(m, "master: malformed RESULT_END from worker %u", from);
        m->n_results += f->b;       // values written to a part file
    }
    return f->kind == GX_F_REPORT ? on_report(m, from, f) : 0;
}

// Waits until every worker has sent `until` (HELLO, REPORT or RESULT_END),
// handling progress and results meanwhile. A worker that fails shuts the
// run down, which ends the wait with ETERM.
static int
collect(master_t *m, uint32_t until)
{
    uint32_t got = 0;
    memset(m->seen, 0, m->W);
    memset(m->stats, 0, sizeof m->stats);
    while (got < m->W) {
        gx_inframe_t in = { 0 };
        gx_error_t err;
        if (gx_recv(m->router, &in, -1, &err) != 0)
            return fail(m, "master: %s", err.msg);
        int rc = in.from < m->W
                 ? on_frame(m, in.from, &in.f, until, &got)
                 : fail(m, "master: frame from an unknown worker");
        gx_inframe_close(&in);
        if (rc != 0)
            return -1;
    }
    // Local mode: this process ran every thread, and they have all
    // reported; its figures are read here, not carried.
    if (until == GX_F_REPORT && m->e->n_here) {
        uint64_t fig[GX_PROC_N];
        gx_engine_figures(m->e, fig);
        memcpy(m->procs[fig[GX_PROC_FIRST]].fig, fig, sizeof fig);
    }
    return 0;
}

// Lets every worker go on, telling each how many data frames the phase
// sent it, and starts the count of the next phase.
static int
go(master_t *m, const uint64_t *facts)
{
    gx_go_view_t v = { .n_aggs = m->e->prog->n_aggs, .agg = m->agg,
                       .facts = facts, .global = m->global };
    for (uint32_t w = 0; w < m->W; w++) {
        v.expect = &m->expect[w];
        gx_frame_t f = gx_go_pack(&v);
        if (command(m, w, &f) != 0)
            return -1;
    }
    memset(m->expect, 0, m->W * sizeof *m->expect);
    return 0;
}

static int
push_step(gx_result_t *res, const gx_step_stats_t *s, uint64_t *cap)
{
    gx_step_stats_t *a = gx_grow(res->steps, cap, res->supersteps + 1, 64,
                                 UINT64_MAX, sizeof *a);
    if (!a)
        return -1;
    res->steps = a;
    res->steps[res->supersteps++] = *s;
    return 0;
}

static const char *
input_name(const gx_input_t *in)
{
    const char *path = gx_input_path(in);
    return strcmp(path, "-") ? path : "standard input";
}

// Load: every worker reads its split and ships each edge to its partition.
static int
run_load(master_t *m, gx_result_t *res)
{
    const gx_job_t *job = m->e->job;
    uint64_t facts[GX_FACT_N] = { 0 };
    double t0 = gx_clock_now();
    m->stage_start = t0;
    atomic_store(&m->e->where, GX_WHERE_LOAD);
    if (collect(m, GX_F_HELLO) != 0 || go(m, facts) != 0
        || collect(m, GX_F_REPORT) != 0)
        return -1;
    res->input_bytes = m->stats[GX_STAT_BYTES_IN];
    // An edgeless graph is a graph if --vertices names its vertices.
    if (m->stats[GX_STAT_EDGES] == 0 && m->stats[GX_STAT_MASTERS] == 0)
        return m->e->vinput
               ? fail(m, "%s: no edges, and %s: no vertices",
                      input_name(m->e->input), input_name(m->e->vinput))
               : fail(m, "%s: no edges in the input", input_name(m->e->input));
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
    res->load_seconds = gx_clock_now() - t0;
    return 0;
}

// Partition: CSRs, replicas registered with their masters (one barrier),
// masters' routes sent back to the replicas (another).
static int
run_build(master_t *m, gx_result_t *res, uint64_t *facts)
{
    const gx_job_t *job = m->e->job;
    double t1 = gx_clock_now();
    atomic_store(&m->e->where, GX_WHERE_BUILD);
    if (job->progress) {
        gx_progress_t p = { .stage = GX_STAGE_PARTITION };
        job->progress(&p, job->progress_arg);
    }
    if (collect(m, GX_F_REPORT) != 0 || go(m, facts) != 0
        || collect(m, GX_F_REPORT) != 0)
        return -1;
    res->n_vertices = facts[GX_FACT_VERTICES] = m->stats[GX_STAT_MASTERS];
    res->n_edges = facts[GX_FACT_EDGES] = m->stats[GX_STAT_EDGES];
    res->replicas = m->stats[GX_STAT_REPLICAS];
    gx_agg_reset(m->e->prog->agg_ops, m->e->prog->n_aggs, m->agg);
    if (go(m, facts) != 0)
        return -1;
    res->partition_seconds = gx_clock_now() - t1;
    return 0;
}

// Whether the run stops after `step`: when the program's master hook says
// so (it sees only the reduced aggregators and keeps its memory in the
// globals it sends), when no vertex is active and no message is in flight
// (nothing could happen any more, hook or not), or at the job's cap.
// 1: stop, 0: go on.
static int
decide(master_t *m, const gx_result_t *res, uint64_t step,
       const gx_step_stats_t *st, uint64_t direct)
{
    const gx_job_t *job = m->e->job;
    const gx_program_t *prog = m->e->prog;
    if (prog->master) {
        gx_master_context_t mc = { .n_vertices = res->n_vertices,
                                   .n_edges = res->n_edges, .superstep = step,
                                   .state = job->program_state, .agg = m->agg,
                                   .active = st->active,
                                   .messages = st->messages, .direct = direct,
                                   .global = m->global };
        if (prog->master(&mc))
            return 1;
    }
    return (st->active == 0 && direct == 0)
           || (job->max_supersteps && step >= job->max_supersteps);
}

// Each process's bytes read back since the last superstep's barrier
// (step > 0: those of step 0 and before belong to no superstep), kept
// per process and summed into the step's figures; -1: out of memory.
static int
read_back_step(master_t *m, uint64_t step, gx_step_stats_t *st)
{
    for (uint32_t w = 0; w < m->W; w++) {
        proc_slot_t *s = &m->procs[w];
        if (!s->fig[GX_PROC_THREADS])
            continue;
        uint64_t now = s->fig[GX_PROC_READ_BACK];
        uint64_t got = now > s->read_back_prev ? now - s->read_back_prev : 0;
        s->read_back_prev = now;
        if (step == 0)
            continue;
        uint64_t *a = gx_grow(s->steps, &s->cap, s->n_steps + 1, 64,
                              UINT64_MAX, sizeof *a);
        if (!a)
            return -1;
        s->steps = a;
        s->steps[s->n_steps++] = got;
        st->read_back_bytes += got;
    }
    return 0;
}

// One superstep's barrier: reduce, record, decide. 1: stop, 0: go on.
static int
barrier(master_t *m, gx_result_t *res, uint64_t step, double *ts,
        double t2, uint64_t *cap)
{
    const gx_job_t *job = m->e->job;
    const gx_program_t *prog = m->e->prog;
    if (collect(m, GX_F_REPORT) != 0)
        return -1;
    gx_agg_reset(prog->agg_ops, prog->n_aggs, m->agg);
    for (uint32_t w = 0; w < m->W; w++)
        gx_agg_reduce(prog->agg_ops, prog->n_aggs, m->agg,
                      m->partial + (size_t)w * prog->n_aggs);
    double t = gx_clock_now();
    gx_step_stats_t st = { t - *ts, m->stats[GX_STAT_ACTIVE],
                           m->stats[GX_STAT_MESSAGES],
                           m->stats[GX_STAT_BYTES_SENT], 0 };
    *ts = t;
    if (read_back_step(m, step, &st) != 0
        || (step > 0 && push_step(res, &st, cap) != 0))
        return fail(m, "master: out of memory");
    if (job->progress && step > 0) {
        gx_progress_t p = { .stage = GX_STAGE_COMPUTE, .superstep = step,
                            .active = st.active, .messages = st.messages,
                            .seconds = t - t2 };
        job->progress(&p, job->progress_arg);
    }
    uint64_t direct = m->stats[GX_STAT_DIRECT];
    res->direct_messages += direct;
    res->dropped += m->stats[GX_STAT_DROPPED];
    res->paged_edges += m->stats[GX_STAT_PAGED];
    res->held_frames_spilled += m->stats[GX_STAT_HELD_SPILLED];
    return decide(m, res, step, &st, direct);
}

// --output-parts: every worker has written its part under a temporary
// name (RESULT_END told how many values); now each renames its own, and
// says so again. A part appears only when all of them are whole.
static int
commit_parts(master_t *m, const uint64_t *facts)
{
    if (go(m, facts) != 0 || collect(m, GX_F_RESULT_END) != 0)
        return -1;
    return 0;
}

static int
run(master_t *m, gx_result_t *res)
{
    uint64_t facts[GX_FACT_N] = { 0 };
    if (run_load(m, res) != 0 || run_build(m, res, facts) != 0)
        return -1;
    // Supersteps: step 0 is init.
    uint64_t cap = 0;
    double t2 = gx_clock_now(), ts = t2;
    for (uint64_t step = 0;; step++) {
        atomic_store(&m->e->where, (long long)step);
        m->step = step;
        int stop = barrier(m, res, step, &ts, t2, &cap);
        if (stop < 0)
            return -1;
        if (stop)
            break;
        if (go(m, facts) != 0)
            return -1;
    }
    // Compute ends with the last barrier; gathering and sorting the values
    // is output, not superstep work.
    res->compute_seconds = gx_clock_now() - t2;
    atomic_store(&m->e->where, GX_WHERE_RESULTS);
    gx_frame_t f = { .kind = GX_F_STOP };
    for (uint32_t w = 0; w < m->W; w++)
        if (command(m, w, &f) != 0)
            return -1;
    if (!m->e->job->output_parts) {
        const gx_job_t *job = m->e->job;
        if (job->sink && job->progress) {
            gx_progress_t p = { .stage = GX_STAGE_OUTPUT };
            job->progress(&p, job->progress_arg);
        }
        gx_error_t err;
        if (gx_gather(m->e, m->router, res, &err) != 0)
            return fail(m, "%s", err.msg);
        return 0;
    }
    if (collect(m, GX_F_RESULT_END) != 0)
        return -1;
    if (m->n_results != res->n_vertices)
        return fail(m, "master: %llu values for %llu vertices",
                    (unsigned long long)m->n_results,
                    (unsigned long long)res->n_vertices);
    return commit_parts(m, facts);
}

// The processes' figures into the result, in thread order; their
// per-step arrays move there. -1: out of memory.
static int
proc_results(master_t *m, gx_result_t *res)
{
    unsigned n = 0;
    for (uint32_t w = 0; w < m->W; w++)
        n += m->procs[w].fig[GX_PROC_THREADS] != 0;
    if (!n || !(res->procs = gx_calloc(n, sizeof *res->procs)))
        return n ? -1 : 0;
    for (uint32_t w = 0; w < m->W; w++) {
        proc_slot_t *s = &m->procs[w];
        if (!s->fig[GX_PROC_THREADS])
            continue;
        if (s->n_steps != res->supersteps)     // a process came late
            return -1;
        res->procs[res->n_procs++] = (gx_proc_stats_t){
            .first_worker = w, .workers = (unsigned)s->fig[GX_PROC_THREADS],
            .budget = s->fig[GX_PROC_BUDGET],
            .peak_rss = s->fig[GX_PROC_PEAK_RSS],
            .spilled_bytes = s->fig[GX_PROC_SPILLED],
            .read_back_bytes = s->fig[GX_PROC_READ_BACK],
            .spill_seconds = (double)s->fig[GX_PROC_SPILL_US] / 1e6,
            .read_back_steps = s->steps };
        s->steps = NULL;
    }
    return 0;
}

int
gx_master_run(gx_engine_t *e, void *router, gx_result_t *res,
              gx_failure_t *failure)
{
    master_t m = { .e = e, .router = router, .W = e->n_workers,
                   .failure = failure };
    m.partial = gx_calloc((size_t)m.W * (e->prog->n_aggs ? e->prog->n_aggs : 1),
                          sizeof *m.partial);
    m.prog_bytes = gx_calloc(m.W, sizeof *m.prog_bytes);
    m.prog_edges = gx_calloc(m.W, sizeof *m.prog_edges);
    m.expect = gx_calloc(m.W, sizeof *m.expect);
    m.seen = gx_calloc(m.W, 1);
    m.procs = gx_calloc(m.W, sizeof *m.procs);
    int rc;
    if (!m.partial || !m.prog_bytes || !m.prog_edges || !m.expect || !m.seen
        || !m.procs)
        rc = fail(&m, "master: out of memory");
    else
        rc = run(&m, res);
    if (rc == 0 && proc_results(&m, res) != 0)
        rc = fail(&m, "master: out of memory, or a worker process that did "
                  "not report its figures at every superstep");
    res->workers = e->n_workers;
    res->partitions = e->n_parts;
    res->partitions_picked = e->parts_picked;
    gx_free(m.partial);
    gx_free(m.prog_bytes);
    gx_free(m.prog_edges);
    gx_free(m.expect);
    gx_free(m.seen);
    for (uint32_t w = 0; m.procs && w < m.W; w++)
        gx_free(m.procs[w].steps);
    gx_free(m.procs);
    return rc;
}
