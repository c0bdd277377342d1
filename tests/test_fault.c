// tests/test_fault.c: fault injection, as SQLite tests its allocation
// failures. A small run is made first with one kind of point counted
// (allocations, thread creations, socket creations, sends); then, for
// every N up to that count, the same run again with the Nth point failing.
// Each must end: an error (or success, if the point was not reached this
// time, since threads interleave differently), never a hang (Criterion's
// timeout fails the test), never an abort (the test process would crash),
// and, under ASan, no leak (LeakSanitizer fails the process at exit); and
// the memory accountant back exactly where it was before the run
// (core/mem.h: every block counted is given back, on every way out).
// The CLI loop does the same through graphx-run-fault, the CLI built with
// GRAPHX_FAULT=kind:N read at start, and also checks that no file is left
// beside the output.
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "algos/algos.h"
#include "core/fault.h"
#include "core/mem.h"
#include "graphx/graphx.h"
#include "testutil.h"

static void
setup(void)
{
    gx_test_tmpdir_make("fault");
}

TestSuite(fault, .init = setup, .fini = gx_test_tmpdir_remove);

// A graph small enough to run a few thousand times, big enough to use
// every phase: two components, a dangling vertex, an isolated one from
// --vertices, several partitions per worker.
static const char *
small_graph(void)
{
    return gx_test_write_tmp("g.txt", "1 2\n2 3\n3 1\n3 4\n5 6\n6 7\n7 5\n"
                                      "8 5\n9 1\n");
}

static uint64_t want_vertices = 10;   // of the graph in g.txt, with v.txt
// The job's --memory: 0 (the default budget, nothing pages) but for the
// spill loops, whose 1-byte budget pages every chunk and partition.
static uint64_t job_memory;

static int
run_small(const gx_program_t *prog, gx_error_t *err)
{
    void *state = NULL;
    if (prog->setup)
        cr_assert_eq(prog->setup(NULL, 0, &state, err), 0, "%s", err->msg);
    gx_job_t job = { .input = gx_test_tmp_path("g.txt"),
                     .vertices = gx_test_write_tmp("v.txt", "10\n1\n"),
                     .program = prog, .program_state = state,
                     .workers = 3, .partitions = 5,
                     .strategy = GX_STRATEGY_2D, .memory = job_memory,
                     .spill_dir = gx_test_tmpdir() };
    gx_result_t res;
    memset(err, 0, sizeof *err);
    int rc = gx_run(&job, &res, err);
    if (rc == 0) {
        cr_assert_eq(res.n_vertices, want_vertices);
        gx_result_free(&res);
    }
    if (prog->teardown)
        prog->teardown(state);
    return rc;
}

// Under a sanitizer a run costs ten times as much: the release suite
// fails every point, the sanitizer one every third (different ones each
// kind of run, as the points interleave), which keeps CI in its budget and
// still sends every kind of failure through the leak checker.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
enum { STRIDE = 3, CLI_STRIDE = 5 };
#else
enum { STRIDE = 1, CLI_STRIDE = 1 };
#endif

static void
fail_each_point_on(gx_fault_kind_t kind, const gx_program_t *prog,
                   const char *edges)
{
    if (edges)
        gx_test_write_tmp("g.txt", edges);
    else
        small_graph();
    want_vertices = edges ? 60 : 10;     // the path: 1..60 (v.txt adds none)
    gx_error_t err;
    gx_fault_arm(kind, 0);
    int rc = run_small(prog, &err);
    uint64_t total = gx_fault_count();
    gx_fault_disarm();
    cr_assert_eq(rc, 0, "the run without faults failed: %s", err.msg);
    cr_assert_gt(total, 0, "a run passes no %s point", gx_fault_kind_name(kind));
    uint64_t failed = 0;
    for (uint64_t n = 1; n <= total + 2; n += STRIDE) {
        uint64_t used = gx_acct_used();
        gx_fault_arm(kind, n);
        rc = run_small(prog, &err);
        uint64_t passed = gx_fault_count();
        gx_fault_disarm();
        cr_assert_eq(gx_acct_used(), used, "%s point %llu: %lld bytes left "
                     "counted", gx_fault_kind_name(kind), (unsigned long long)n,
                     (long long)(gx_acct_used() - used));
        if (rc == 0) {
            // Success is right only if the Nth point never came.
            cr_assert_lt(passed, n, "%s point %llu of %llu failed and the "
                         "run succeeded", gx_fault_kind_name(kind),
                         (unsigned long long)n, (unsigned long long)passed);
            continue;
        }
        failed++;
        cr_assert_gt(strlen(err.msg), 10, "%s point %llu: no message",
                     gx_fault_kind_name(kind), (unsigned long long)n);
        cr_assert_null(strchr(err.msg, '\n'), "%s", err.msg);
    }
    // Most points exist in every run: most of them must have been hit.
    cr_assert_geq(failed * 2 * STRIDE, total, "%s: %llu of %llu points failed the run",
                  gx_fault_kind_name(kind), (unsigned long long)failed,
                  (unsigned long long)total);
}

static void
fail_each_point(gx_fault_kind_t kind, const gx_program_t *prog)
{
    fail_each_point_on(kind, prog, NULL);
}

Test(fault, every_allocation_that_fails_ends_cc_with_an_error, .timeout = 300)
{
    fail_each_point(GX_FAULT_ALLOC, &gx_cc_program);
}

Test(fault, every_allocation_that_fails_ends_pagerank_with_an_error,
     .timeout = 300)
{
    fail_each_point(GX_FAULT_ALLOC, &gx_pagerank_program);
}

Test(fault, every_thread_that_cannot_start_ends_the_run_with_an_error,
     .timeout = 60)
{
    fail_each_point(GX_FAULT_THREAD, &gx_cc_program);
}

Test(fault, every_socket_that_cannot_be_made_ends_the_run_with_an_error,
     .timeout = 60)
{
    fail_each_point(GX_FAULT_SOCKET, &gx_cc_program);
}

Test(fault, every_send_that_fails_ends_the_run_with_an_error, .timeout = 120)
{
    fail_each_point(GX_FAULT_SEND, &gx_pagerank_program);
}

// CC sends what PageRank does not: block-centric messages, and on a long
// path numbered backwards (propagation stalls, FastSV rounds take over)
// DIRECT frames, the requests and answers to any vertex.
Test(fault, every_send_and_allocation_that_fails_ends_cc_with_an_error,
     .timeout = 300)
{
    char path[64 * 16] = "";
    size_t at = 0;
    for (int v = 60; v > 1; v--)
        at += (size_t)snprintf(path + at, sizeof path - at, "%d %d\n", v,
                               v - 1);
    fail_each_point_on(GX_FAULT_SEND, &gx_cc_program, path);
    fail_each_point_on(GX_FAULT_ALLOC, &gx_cc_program, path);
}

// Out of core: under a 64 KiB budget (above these graphs' resident floor,
// which a smaller one would be refused for, and below what the fixed
// buffers alone take) every chunk goes to the spill while loading and
// every partition at build, and comes back for its build and each
// scatter; registrations, routes and syncs go through the spill too. Each write and each read of the spill fails in turn:
// one line, every counted byte given back, the spill dir left empty. (A
// growth of the store's map needs more than these graphs: test_spill
// fails one.)
static void
fail_each_spill(gx_fault_kind_t kind)
{
    job_memory = 65536;
    fail_each_point(kind, &gx_pagerank_program);
    fail_each_point(kind, &gx_cc_program);
    job_memory = 0;
    char listing[8192] = "";
    gx_test_text_t t = { 0 };
    DIR *d = opendir(gx_test_tmpdir());
    cr_assert(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strncmp(e->d_name, "graphx-spill", 12) == 0)
            gx_test_text_add(&t, "%s ", e->d_name);
    closedir(d);
    snprintf(listing, sizeof listing, "%s", t.s ? t.s : "");
    free(t.s);
    cr_assert_str_empty(listing, "spill files left: %s", listing);
}

Test(fault, every_spill_write_that_fails_ends_the_run_with_an_error,
     .timeout = 300)
{
    fail_each_spill(GX_FAULT_SPILL_WRITE);
}

Test(fault, every_spill_read_that_fails_ends_the_run_with_an_error,
     .timeout = 300)
{
    fail_each_spill(GX_FAULT_SPILL_READ);
}

Test(fault, a_thread_that_cannot_start_is_named_in_the_error, .timeout = 30)
{
    small_graph();
    gx_error_t err;
    // Point 1 is the probe for libzmq's thread, 2.. the workers.
    gx_fault_arm(GX_FAULT_THREAD, 3);
    cr_assert_neq(run_small(&gx_cc_program, &err), 0);
    gx_fault_disarm();
    cr_assert(strstr(err.msg, "cannot start worker thread 2 of 3"), "%s",
              err.msg);
}

// Regression: the last worker thread cannot start while the others have
// connected and wait for the master's word. (The first engine sent an
// ABORT frame, which a worker not yet connected never got: a hang.)
Test(fault, a_failure_before_every_worker_has_connected_ends_the_run,
     .timeout = 30)
{
    small_graph();
    gx_error_t err;
    gx_fault_arm(GX_FAULT_THREAD, 4);
    cr_assert_neq(run_small(&gx_cc_program, &err), 0);
    gx_fault_disarm();
    cr_assert(strstr(err.msg, "cannot start worker thread 3 of 3"), "%s",
              err.msg);
}

// Regression: a worker fails while it sends its values. (The first engine's
// master then waited forever for that worker's RESULT_END.) The run's
// last send is a worker's RESULT frame (the one before it may be the
// master's STOP to that worker); the two before it fail cleanly too.
Test(fault, a_worker_that_fails_while_sending_its_values_ends_the_run,
     .timeout = 60)
{
    small_graph();
    gx_error_t err;
    gx_fault_arm(GX_FAULT_SEND, 0);
    cr_assert_eq(run_small(&gx_cc_program, &err), 0, "%s", err.msg);
    uint64_t sends = gx_fault_count();
    gx_fault_disarm();
    for (uint64_t n = sends - 2; n <= sends; n++) {
        gx_fault_arm(GX_FAULT_SEND, n);
        cr_assert_neq(run_small(&gx_cc_program, &err), 0, "send %llu of %llu",
                      (unsigned long long)n, (unsigned long long)sends);
        gx_fault_disarm();
    }
    cr_assert(strstr(err.msg, "send RESULT frame"), "%s", err.msg);
}

Test(fault, a_failed_run_leaves_the_next_one_unharmed, .timeout = 30)
{
    small_graph();
    gx_error_t err;
    gx_fault_arm(GX_FAULT_SEND, 5);
    cr_assert_neq(run_small(&gx_cc_program, &err), 0);
    gx_fault_disarm();
    cr_assert_eq(run_small(&gx_cc_program, &err), 0, "%s", err.msg);
}

Test(fault, counts_only_the_armed_kind_and_fails_only_the_nth)
{
    gx_fault_arm(GX_FAULT_SEND, 3);
    cr_assert_not(gx_fault_hit(GX_FAULT_ALLOC));
    cr_assert_not(gx_fault_hit(GX_FAULT_SEND));
    cr_assert_not(gx_fault_hit(GX_FAULT_SEND));
    cr_assert(gx_fault_hit(GX_FAULT_SEND));
    cr_assert_not(gx_fault_hit(GX_FAULT_SEND));
    cr_assert_eq(gx_fault_count(), 4);
    gx_fault_disarm();
    cr_assert_not(gx_fault_hit(GX_FAULT_SEND));
}

// ---- The CLI ------------------------------------------------------------------

// Runs graphx-run-fault with GRAPHX_FAULT=spec; returns the wait status
// and the first line of stderr.
static int
run_cli(const char *spec, const char *out, char *line, size_t cap)
{
    const char *errpath = gx_test_tmp_path("stderr");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        setenv("GRAPHX_FAULT", spec, 1);
        setenv("GRAPHX_FAULT_COUNT", gx_test_tmp_path("count"), 1);
        // dup2, not freopen: fds 0-2 of a Criterion worker need not all be
        // open, and freopen would hand out the lowest free one.
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int o = open("/dev/null", O_RDWR);
        if (e < 0 || o < 0 || dup2(o, 0) < 0 || dup2(o, 1) < 0
            || dup2(e, 2) < 0)
            _exit(99);
        execl(GX_FAULT_BIN, "graphx-run", "pagerank", "-q", "--workers", "3",
              "--partitions", "5", "-i", gx_test_tmp_path("g.txt"),
              "--vertices", gx_test_tmp_path("v.txt"), "-o", out,
              "--report", gx_test_tmp_path("r.json"), (char *)NULL);
        _exit(98);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    FILE *f = fopen(errpath, "r");
    line[0] = 0;
    if (f) {
        if (!fgets(line, (int)cap, f))
            line[0] = 0;
        int extra = fgetc(f);
        cr_assert_eq(extra, EOF, "more than one line on stderr: %s", line);
        fclose(f);
    }
    return st;
}

// Files in the temporary directory other than the inputs and stderr.
static int
stray_files(void)
{
    DIR *d = opendir(gx_test_tmpdir());
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && strcmp(e->d_name, "g.txt")
            && strcmp(e->d_name, "v.txt") && strcmp(e->d_name, "stderr")
            && strcmp(e->d_name, "count"))
            n++;
    closedir(d);
    return n;
}

// How many points of `kind` a whole CLI run passes.
static unsigned
cli_count(const char *kind, const char *out, char *line, size_t cap)
{
    char spec[64];
    snprintf(spec, sizeof spec, "%s:0", kind);
    int st = run_cli(spec, out, line, cap);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", line);
    FILE *f = fopen(gx_test_tmp_path("count"), "r");
    unsigned n = 0;
    cr_assert(f && fscanf(f, "%u", &n) == 1);
    fclose(f);
    unlink(out);
    unlink(gx_test_tmp_path("r.json"));
    return n;
}

// Every point of `kind`, or every stride-th: the in-process loops above
// fail every point of the engine; this one is about what the CLI does
// with the failure (exit status, one line, no file left), and a sample
// across all phases says that at a fifth of the cost.
static void
cli_fail_each_point(const char *kind, unsigned stride)
{
    small_graph();
    gx_test_write_tmp("v.txt", "10\n1\n");
    char out[4096];                   // tmp paths live in rotating slots
    snprintf(out, sizeof out, "%s", gx_test_tmp_path("out.tsv"));
    char line[1024], spec[64];
    unsigned errors = 0, max = cli_count(kind, out, line, sizeof line) + 2;
    cr_assert_gt(max, 2, "the CLI passes no %s point", kind);
    for (unsigned n = 1; n <= max; n += stride * CLI_STRIDE) {
        snprintf(spec, sizeof spec, "%s:%u", kind, n);
        int st = run_cli(spec, out, line, sizeof line);
        cr_assert(WIFEXITED(st), "%s: killed by signal %d", spec,
                  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        if (WEXITSTATUS(st) == 0) {
            // The point was not reached: the outputs must be whole.
            cr_assert_eq(unlink(out), 0);
            cr_assert_eq(unlink(gx_test_tmp_path("r.json")), 0);
            cr_assert_eq(stray_files(), 0, "%s", spec);
            continue;
        }
        errors++;
        cr_assert_eq(WEXITSTATUS(st), 1, "%s: exit %d: %s", spec,
                     WEXITSTATUS(st), line);
        cr_assert(strncmp(line, "graphx-run", 10) == 0, "%s: %s", spec, line);
        cr_assert_eq(stray_files(), 0, "%s: a file was left", spec);
    }
    cr_assert_gt(errors, 0, "no %s point failed the CLI", kind);
}

Test(fault, the_cli_fails_cleanly_and_leaves_no_file_at_every_allocation,
     .timeout = 600)
{
    cli_fail_each_point("alloc", 5);
}

Test(fault, the_cli_fails_cleanly_and_leaves_no_file_at_every_send,
     .timeout = 300)
{
    cli_fail_each_point("send", 1);
}

Test(fault, the_cli_fails_cleanly_when_threads_or_sockets_cannot_be_made,
     .timeout = 120)
{
    cli_fail_each_point("thread", 1);
    cli_fail_each_point("socket", 1);
}
