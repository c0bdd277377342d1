// tests/test_acct.c: the accountant (core/mem.h) over whole runs. The
// invariant that matters: every block a run makes through the counted
// calls it gives back through gx_free, so once gx_run has returned (and
// gx_result_free freed the result) the count is exactly where it was,
// whether the run finished, met a bad line, or lost an allocation or a
// send midway. A leak, or a block of ours freed by libc's free(), leaves
// the count above its start; a gx_free of a block never counted leaves it
// below (wrapped). The runs cover combined messages (PageRank), listed ones
// and gx_send_to (a program written here), CC's local closure and its
// FastSV rounds (direct messages), weights, sparse ids (the id map),
// --vertices, a .gz input, and several workers and partitions.
// Also: a small budget shrinks the fixed buffers (gx_acct_scaled) and
// changes no value, held frames from another process are counted while
// held, and held frames past half the budget go to the spill instead.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "algos/algos.h"
#include "core/fault.h"
#include "core/mailbox.h"
#include "core/mem.h"
#include "graphx/graphx.h"
#include "testutil.h"

static void
setup(void)
{
    gx_test_tmpdir_make("acct");
}

TestSuite(acct, .init = setup, .fini = gx_test_tmpdir_remove);

// ---- The graph -----------------------------------------------------------------

// About 6000 weighted edges: a random graph on ids below 2000, a few of
// whose edges reach ids near 2^40 (so the partitions that hold them use
// the id map, the others the dense array), and a path of 1500 vertices
// numbered backwards (CC turns to FastSV rounds there: direct messages).
// Plus a vertices file with two isolated ids. Returns the edge count.
static size_t
write_graph(const char *name, bool gz)
{
    uint64_t seed = 0x5eed5eedULL;
    gx_test_text_t t = { 0 };
    gx_test_text_add(&t, "# acct test graph\n");
    size_t m = 0;
    for (int i = 0; i < 4500; i++, m++) {
        uint64_t s = gx_test_splitmix64(&seed) % 2000;
        uint64_t d = gx_test_splitmix64(&seed) % 2000;
        if (i % 97 == 0)
            d += (uint64_t)1 << 40;
        gx_test_text_add(&t, "%" PRIu64 " %" PRIu64 " %.3f\n", s, d,
                         (double)(gx_test_splitmix64(&seed) % 1000) / 1000 + 0.5);
    }
    for (uint64_t i = 0; i < 1500; i++, m++)
        gx_test_text_add(&t, "%" PRIu64 " %" PRIu64 " 1\n", 1001500 - i,
                         1001499 - i);
    const char *path = gx_test_tmp_path(name);
    if (gz)
        gx_test_write_gz(path, t.s, t.n);
    else
        gx_test_write_bytes(path, t.s, t.n);
    free(t.s);
    gx_test_write_tmp("v.txt", "7777777\n8888888\n");
    return m;
}

// ---- A program with listed messages and gx_send_to ------------------------------

// The smallest label heard, along both directions, with no combiner (every
// message listed) and weights read; for its first three steps each vertex
// also sends its label to the id after its own, by gx_send_to (to a vertex
// of this worker, of a peer, or to no vertex: dropped).
static int
mix_init(gx_context_t *ctx, const gx_vertex_t *v, void *value)
{
    (void)ctx;
    memcpy(value, &v->id, 8);
    return 1;
}

static int
mix_scatter(gx_context_t *ctx, const gx_vertex_t *v, const void *value,
            void *msg)
{
    (void)ctx; (void)v;
    memcpy(msg, value, 8);
    return 1;
}

static int
mix_apply(gx_context_t *ctx, const gx_vertex_t *v, void *value,
          const gx_messages_t *in)
{
    uint64_t label, x;
    memcpy(&label, value, 8);
    uint64_t old = label;
    for (size_t i = 0; i < in->n_msgs; i++) {
        memcpy(&x, (const uint8_t *)in->msgs + 8 * i, 8);
        label = x < label ? x : label;
    }
    for (size_t i = 0; i < in->n_direct; i++) {
        memcpy(&x, (const uint8_t *)in->direct + 8 * i, 8);
        label = x < label ? x : label;
    }
    memcpy(value, &label, 8);
    if (ctx->superstep <= 3)
        gx_send_to(ctx, v->id + 1, &label);
    return label < old && ctx->superstep < 12;
}

static int
mix_format(const void *value, char *buf, size_t cap)
{
    uint64_t x;
    memcpy(&x, value, 8);
    return snprintf(buf, cap, "%" PRIu64, x);
}

static const gx_program_t mix_program = {
    GX_PROGRAM_HEADER,
    .name = "mix",
    .flags = GX_NEEDS_WEIGHTS,
    .value_size = 8,
    .msg_size = 8,
    .direct_size = 8,
    .direction = GX_DIR_BOTH,
    .combiner = GX_COMBINE_NONE,
    .init = mix_init,
    .scatter = mix_scatter,
    .apply = mix_apply,
    .format = mix_format,
};

// ---- Runs -----------------------------------------------------------------------

// The job's --memory (0: the engine's default, far above these graphs).
static uint64_t job_memory;

static int
run(const char *input, const gx_program_t *prog, unsigned workers,
    unsigned parts, gx_strategy_t strategy, gx_result_t *res, gx_error_t *err)
{
    void *state = NULL;
    if (prog->setup)
        cr_assert_eq(prog->setup(NULL, 0, &state, err), 0, "%s", err->msg);
    gx_job_t job = { .input = input, .vertices = gx_test_tmp_path("v.txt"),
                     .program = prog, .program_state = state,
                     .workers = workers, .partitions = parts,
                     .strategy = strategy, .memory = job_memory,
                     .spill_dir = gx_test_tmpdir() };
    memset(err, 0, sizeof *err);
    int rc = gx_run(&job, res, err);
    if (prog->teardown)
        prog->teardown(state);
    return rc;
}

static const gx_program_t *
program(int i)
{
    return i == 0 ? &gx_pagerank_program : i == 1 ? &gx_cc_program
                                                  : &mix_program;
}

Test(acct, pagerank_cc_and_listed_direct_messages_give_back_every_byte)
{
    size_t m = write_graph("g.txt", false);
    static const struct { unsigned w, p; gx_strategy_t s; } cfg[] = {
        { 3, 7, GX_STRATEGY_2D }, { 4, 5, GX_STRATEGY_RANDOM },
        { 1, 3, GX_STRATEGY_1D },
    };
    for (int i = 0; i < 3; i++)
        for (size_t c = 0; c < sizeof cfg / sizeof *cfg; c++) {
            const gx_program_t *prog = program(i);
            gx_acct_reset_peak();
            uint64_t start = gx_acct_used();
            gx_result_t res;
            gx_error_t err;
            int rc = run(gx_test_tmp_path("g.txt"), prog, cfg[c].w, cfg[c].p,
                         cfg[c].s, &res, &err);
            cr_assert_eq(rc, 0, "%s: %s", prog->name, err.msg);
            cr_assert_eq(res.n_edges, m);
            if (i > 0)
                cr_assert_gt(res.direct_messages, 0, "%s sends no direct "
                             "message: the test misses DIRECT frames",
                             prog->name);
            cr_assert_gt(gx_acct_used(), start, "the result is counted");
            gx_result_free(&res);
            cr_assert_eq(gx_acct_used(), start, "%s, %u workers, %u parts: "
                         "%" PRId64 " bytes left counted", prog->name,
                         cfg[c].w, cfg[c].p,
                         (int64_t)(gx_acct_used() - start));
            // At the load barrier every edge is in a chunk or a frame: 16
            // bytes each, at least.
            cr_assert_geq(gx_acct_peak() - start, 16 * m, "%s: peak %" PRIu64,
                          prog->name, gx_acct_peak() - start);
        }
}

Test(acct, a_gzip_input_gives_back_its_buffers_and_zlib_state)
{
    write_graph("g.txt.gz", true);
    uint64_t start = gx_acct_used();
    gx_result_t res;
    gx_error_t err;
    cr_assert_eq(run(gx_test_tmp_path("g.txt.gz"), &gx_pagerank_program, 3, 4,
                     GX_STRATEGY_2D, &res, &err), 0, "%s", err.msg);
    gx_result_free(&res);
    cr_assert_eq(gx_acct_used(), start);
}

Test(acct, a_run_stopped_by_a_bad_line_gives_back_every_byte)
{
    write_graph("g.txt", false);
    gx_test_text_t t = { 0 };
    for (int i = 0; i < 3000; i++)
        gx_test_text_add(&t, i == 2500 ? "%d x 1\n" : "%d %d 1\n", i, i + 1);
    gx_test_write_bytes(gx_test_tmp_path("bad.txt"), t.s, t.n);
    free(t.s);
    for (int i = 0; i < 3; i++) {
        uint64_t start = gx_acct_used();
        gx_result_t res;
        gx_error_t err;
        int rc = run(gx_test_tmp_path("bad.txt"), program(i), 3, 5,
                     GX_STRATEGY_2D, &res, &err);
        cr_assert_neq(rc, 0);
        cr_assert(strstr(err.msg, "bad.txt:2501:"), "%s", err.msg);
        cr_assert_eq(gx_acct_used(), start, "%s: %" PRId64 " bytes",
                     program(i)->name, (int64_t)(gx_acct_used() - start));
    }
}

// Points spread over the run (load, build, supersteps, results), not
// every one: test_fault fails each point of a small run.
static void
fail_midway(gx_fault_kind_t kind, const gx_program_t *prog)
{
    write_graph("g.txt", false);
    const char *in = gx_test_tmp_path("g.txt");
    gx_result_t res;
    gx_error_t err;
    gx_fault_arm(kind, 0);
    cr_assert_eq(run(in, prog, 3, 5, GX_STRATEGY_2D, &res, &err), 0, "%s",
                 err.msg);
    uint64_t total = gx_fault_count();
    gx_fault_disarm();
    gx_result_free(&res);
    unsigned steps = (unsigned)gx_test_scaled(16, 4);
    for (unsigned k = 1; k <= steps; k++) {
        uint64_t n = total * k / (steps + 1) + 1;
        uint64_t start = gx_acct_used();
        gx_fault_arm(kind, n);
        int rc = run(in, prog, 3, 5, GX_STRATEGY_2D, &res, &err);
        gx_fault_disarm();
        if (rc == 0)
            gx_result_free(&res);
        cr_assert_eq(gx_acct_used(), start, "%s point %" PRIu64 " of %"
                     PRIu64 " (%s): %" PRId64 " bytes left counted",
                     gx_fault_kind_name(kind), n, total,
                     rc ? err.msg : "ran", (int64_t)(gx_acct_used() - start));
    }
}

Test(acct, runs_that_lose_an_allocation_midway_give_back_every_byte,
     .timeout = 120)
{
    for (int i = 0; i < 3; i++)
        fail_midway(GX_FAULT_ALLOC, program(i));
}

Test(acct, runs_that_lose_a_send_midway_give_back_every_byte, .timeout = 120)
{
    fail_midway(GX_FAULT_SEND, &mix_program);
    fail_midway(GX_FAULT_SEND, &gx_cc_program);
}

// With a budget of 1 MiB (the job's) every fixed buffer is at its floor:
// the windows, read blocks, batches and chunks are small, the partitions
// are paged out after build, the peak is lower, and every value is the
// same to the bit (the engine's order does not depend on where a frame or
// a chunk ends, nor on where a partition's edges live).
Test(acct, a_small_budget_shrinks_the_buffers_and_changes_no_value)
{
    write_graph("g.txt", false);
    for (int i = 0; i < 3; i++) {
        const gx_program_t *prog = program(i);
        gx_result_t big, small;
        gx_error_t err;
        job_memory = 0;
        gx_acct_reset_peak();
        uint64_t start = gx_acct_used();
        cr_assert_eq(run(gx_test_tmp_path("g.txt"), prog, 3, 7, GX_STRATEGY_2D,
                         &big, &err), 0, "%s", err.msg);
        uint64_t peak_big = gx_acct_peak() - start;
        job_memory = (uint64_t)1 << 20;
        gx_acct_reset_peak();
        uint64_t with_big = gx_acct_used();          // big's result is held
        cr_assert_eq(run(gx_test_tmp_path("g.txt"), prog, 3, 7, GX_STRATEGY_2D,
                         &small, &err), 0, "%s", err.msg);
        uint64_t peak_small = gx_acct_peak() - with_big;
        job_memory = 0;
        cr_assert_eq(small.n_vertices, big.n_vertices);
        cr_assert_eq(small.supersteps, big.supersteps, "%s", prog->name);
        cr_assert(!memcmp(small.ids, big.ids, big.n_vertices * 8));
        cr_assert(!memcmp(small.values, big.values,
                          big.n_vertices * prog->value_size),
                  "%s: values differ under a small budget", prog->name);
        gx_result_free(&big);
        gx_result_free(&small);
        cr_assert_eq(gx_acct_used(), start);
        // Three 4 MiB windows at once by default; 64 KiB ones now.
        cr_assert_lt(peak_small, peak_big, "%s: peak %" PRIu64 " under a "
                     "1 MiB budget, %" PRIu64 " without", prog->name,
                     peak_small, peak_big);
    }
}

// ---- Held frames -----------------------------------------------------------------

// A frame of `bytes` from worker `from`, as gx_recv leaves it.
static void
frame_from(gx_inframe_t *in, uint32_t from, uint32_t kind, uint64_t step,
           size_t bytes)
{
    memset(in, 0, sizeof *in);
    cr_assert_eq(zmq_msg_init_size(&in->msg, bytes), 0);
    in->open = 1;
    in->f = (gx_frame_t){ .kind = kind, .step = step, .a = from };
}

// This process runs threads 4..5. A frame from thread 4 is another
// thread's gx_malloc'd buffer, already counted; one from thread 9 (another
// process, over TCP) is libzmq's, counted while held, and given back when
// applied or freed, also after keep_open moved it.
Test(acct, held_frames_from_another_process_count_while_held)
{
    gx_engine_t e = { .first = 4, .n_here = 2 };
    gx_alarm_t alarm = { .e = &e };
    gx_mailbox_t mb = { 0 };
    uint64_t start = gx_acct_used();
    cr_assert_eq(gx_mailbox_init(&mb, &e, &alarm, 4, 10), 0);
    uint64_t base = gx_acct_used();
    gx_inframe_t in;
    frame_from(&in, 5, GX_F_MSG, 3, 1000);
    cr_assert_eq(gx_mailbox_hold(&mb, &in, 3), 0);
    uint64_t table = gx_acct_used() - base;      // the held array itself
    cr_assert_eq(table, malloc_usable_size(mb.held));
    frame_from(&in, 9, GX_F_MSG, 3, 5000);
    cr_assert_eq(gx_mailbox_hold(&mb, &in, 3), 0);
    frame_from(&in, 2, GX_F_DIRECT, 4, 7000);    // a step ahead
    cr_assert_eq(gx_mailbox_hold(&mb, &in, 3), 0);
    cr_assert_eq(gx_acct_used(), base + table + 12000);
    // Step 3 applied: its frames closed, the next step's moves forward.
    gx_mailbox_release(&mb.held[0], NULL);
    gx_mailbox_release(&mb.held[1], NULL);
    cr_assert_eq(gx_acct_used(), base + table + 7000);
    cr_assert_eq(gx_mailbox_keep_open(&mb), 0);
    cr_assert_eq(mb.n_held, 1);
    cr_assert_eq(mb.held[0].in.counted, 7000, "the count moved with the frame");
    cr_assert_eq(gx_acct_used(), base + table + 7000);
    frame_from(&in, 7, GX_F_MSG, 4, 300);
    cr_assert_eq(gx_mailbox_hold(&mb, &in, 4), 0);
    cr_assert_eq(gx_acct_used(), base + table + 7300);
    gx_mailbox_free(&mb);
    cr_assert_eq(gx_acct_used(), start);
}

// A frame of `step` from worker `from` as gx_recv leaves it: encoded into
// a gx_malloc'd buffer that ZeroMQ owns, and decoded.
static void
encoded_from(gx_inframe_t *in, uint32_t from, uint32_t kind, uint64_t step,
             const char *bin)
{
    gx_error_t err;
    size_t len;
    memset(in, 0, sizeof *in);
    in->f = (gx_frame_t){ .kind = kind, .step = step, .a = from, .b = 1,
                          .n_bins = 1, .bin = { bin },
                          .bin_len = { strlen(bin) } };
    cr_assert_eq(gx_frame_msg(&in->f, &in->msg, &len, &err), 0);
    in->open = 1;
}

static void
assert_held_frame(gx_mailbox_t *mb, gx_held_t *h, uint32_t kind,
                  uint64_t step, const char *bin)
{
    gx_frame_t f;
    void *buf;
    cr_assert(h->spilled && !h->in.open);
    cr_assert_eq(gx_mailbox_frame(mb, h, &f, &buf), 0);
    cr_assert_eq(f.kind, kind);
    cr_assert_eq(f.step, step);
    cr_assert_eq(f.bin_len[0], strlen(bin));
    cr_assert_eq(memcmp(f.bin[0], bin, strlen(bin)), 0);
    gx_mailbox_release(h, buf);
}

// Past half the budget a held frame goes to the spill at once, its
// message closed and its bytes no longer counted; applied, it is read
// back as it was; a step-ahead DIRECT frame stays spilled (and readable)
// while the step's blocks are dropped.
Test(acct, held_frames_past_half_the_budget_go_to_the_spill)
{
    gx_engine_t e = { .first = 4, .n_here = 2 };
    gx_error_t err;
    cr_assert_eq(gx_spill_init(&e.spill, gx_test_tmpdir(), &err), 0);
    gx_alarm_t alarm = { .e = &e };
    gx_mailbox_t mb = { 0 };
    uint64_t start = gx_acct_used();
    gx_acct_set_budget(1);
    cr_assert_eq(gx_mailbox_init(&mb, &e, &alarm, 4, 10), 0);
    gx_inframe_t in;
    encoded_from(&in, 9, GX_F_MSG, 3, "from another process");
    cr_assert_eq(gx_mailbox_hold(&mb, &in, 3), 0);
    uint64_t base = gx_acct_used();              // the tables, no frame
    encoded_from(&in, 5, GX_F_DIRECT, 4, "a step ahead");
    cr_assert_eq(gx_mailbox_hold(&mb, &in, 3), 0);
    encoded_from(&in, 5, GX_F_MSG, 3, "from a thread here");
    cr_assert_eq(gx_mailbox_hold(&mb, &in, 3), 0);
    cr_assert_eq(gx_acct_used(), base, "a spilled frame is not counted");
    cr_assert_eq(mb.n_spilled, 3);
    assert_held_frame(&mb, &mb.held[0], GX_F_MSG, 3, "from another process");
    assert_held_frame(&mb, &mb.held[2], GX_F_MSG, 3, "from a thread here");
    cr_assert_eq(gx_mailbox_keep_open(&mb), 0);
    cr_assert_eq(mb.n_held, 1);
    cr_assert(mb.n_put[1] == 0 && mb.n_put[0] == 1, "step 3's blocks dropped, step 4's kept");
    assert_held_frame(&mb, &mb.held[0], GX_F_DIRECT, 4, "a step ahead");
    cr_assert_eq(gx_mailbox_keep_open(&mb), 0);
    cr_assert(mb.n_held == 0 && mb.n_put[0] == 0);
    cr_assert_not(alarm.raised);
    gx_mailbox_free(&mb);
    gx_spill_close(&e.spill);
    gx_spill_fini(&e.spill);
    gx_acct_set_budget(0);
    cr_assert_eq(gx_acct_used(), start);
}
