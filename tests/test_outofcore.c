// tests/test_outofcore.c: runs under a memory budget too small for the
// graph's edges. graphx-run, with --memory 16M and 32 partitions, writes
// edge chunks out while loading (each partition's come back for its
// build), pages its partitions' edge arrays out after build and back for
// each scatter: PageRank, CC and the BFS example plugin give output
// byte-identical to the in-memory run with the same partitions (the
// engine is deterministic), at least 75% of the edges are paged out (the
// report says how many), held MSG and DIRECT frames went to the spill
// (held_frames_spilled), and the spill dir is empty afterwards. A run with
// room to spare pages nothing and writes nothing to the spill dir; an
// unwritable spill dir is one line naming it.
//
// The same in distributed mode: two graphx-worker processes, each with
// its own --memory 16M and spill dir, give the local in-memory answer
// byte for byte, and report their own budgets and spills (per process in
// the summary and --report). A worker stopped by SIGTERM mid-run exits 1
// with one line, leaves its spill dir empty, and the master names it; so
// does local mode's graphx-run (which dies of the signal, see README).
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdbool.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testproc.h"

#ifndef GX_WORKER_BIN
#error "GX_WORKER_BIN (build/graphx-worker) must be defined"
#endif

static void
setup(void)
{
    gx_test_tmpdir_make("outofcore");
    signal(SIGPIPE, SIG_IGN);
}
static void
teardown(void)
{
    proc_kill_all();
    gx_test_tmpdir_remove();
}
TestSuite(outofcore, .init = setup, .fini = teardown);

#define EDGES 600000u
// Partitions of every run here: enough that each worker's resident share
// (one partition a worker thread, scattering) is small beside its paged
// ones, in local mode and with the graph split over two processes.
#define PARTS "32"

// A skewed random graph: 2^17 ids, edges drawn with one end from the
// first 1/16 of them half the time (a few dense regions, like RMAT).
// With `weighted`, each edge has a weight in (0, 1] as a third field.
static const char *
graph_of(bool weighted)
{
    const char *path = gx_test_tmp_path("g.txt");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    uint64_t s = 0x0c0ffee;
    for (unsigned i = 0; i < EDGES; i++) {
        uint64_t a = gx_test_splitmix64(&s) % (1u << 17);
        uint64_t b = gx_test_splitmix64(&s) % (1u << 17);
        if (gx_test_splitmix64(&s) & 1)
            a %= 1u << 13;
        fprintf(f, "%llu %llu", (unsigned long long)a, (unsigned long long)b);
        if (weighted)
            fprintf(f, " %.6f", (double)(gx_test_splitmix64(&s) % 1000000 + 1)
                                / 1e6);
        fputc('\n', f);
    }
    cr_assert_eq(fclose(f), 0);
    return path;
}

static const char *
graph(void)
{
    return graph_of(false);
}

static int
entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "%s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

// The number after "key": in the report.
static uint64_t
report_u64(const char *report, const char *key)
{
    char *text = gx_test_slurp(report, NULL);
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *at = strstr(text, pat);
    cr_assert(at, "no %s in %s", key, report);
    uint64_t v = strtoull(at + strlen(pat), NULL, 10);
    free(text);
    return v;
}

// The numbers after each "key": in the report, from the first `from` on
// and before `to` (NULL: to the end); how many, at most max.
static unsigned
report_list(const char *report, const char *from, const char *to,
            const char *key, uint64_t *out, unsigned max)
{
    char *text = gx_test_slurp(report, NULL);
    cr_assert(text, "no %s", report);
    char *at = strstr(text, from), *end = to ? strstr(text, to) : NULL;
    cr_assert(at, "no %s in %s", from, report);
    if (end)
        *end = 0;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    unsigned n = 0;
    while (n < max && (at = strstr(at, pat))) {
        at += strlen(pat);
        out[n++] = strtoull(at, NULL, 10);
    }
    free(text);
    return n;
}

// A fresh directory under the suite's.
static const char *
fresh_dir(const char *name)
{
    const char *dir = gx_test_tmp_path(name);
    cr_assert_eq(mkdir(dir, 0700), 0, "%s", dir);
    return dir;
}

// graphx-run JOB... -i g -o out --partitions PARTS --workers 2 [--memory M
// --spill-dir DIR] --report rep; exits 0.
static void
run(const char *const *job, const char *g, const char *out,
    const char *memory, const char *spill, const char *rep)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_BIN));
    args_add(&a, job);
    args_add(&a, LIST("-i", g, "-o", out, "--partitions", PARTS, "--workers",
                      "2", "-q", "--report", rep));
    if (memory)
        args_add(&a, LIST("--memory", memory, "--spill-dir", spill));
    proc_t *p = proc_start(a.v, NULL);
    proc_expect_exit(p, 120, 0);
}

static void
same_answer_paged_on(const char *const *job, const char *g)
{
    char spill[4096], mem[4096], ooc[4096], rep[4096];
    snprintf(spill, sizeof spill, "%s/spill", gx_test_tmpdir());
    cr_assert_eq(mkdir(spill, 0700), 0);
    snprintf(mem, sizeof mem, "%s", gx_test_tmp_path("mem.tsv"));
    snprintf(ooc, sizeof ooc, "%s", gx_test_tmp_path("ooc.tsv"));
    snprintf(rep, sizeof rep, "%s", gx_test_tmp_path("r.json"));
    run(job, g, mem, NULL, NULL, rep);
    cr_assert_eq(report_u64(rep, "paged_edges"), 0);
    cr_assert_eq(report_u64(rep, "held_frames_spilled"), 0);
    run(job, g, ooc, "16M", spill, rep);
    gx_test_assert_same_bytes(mem, ooc);
    cr_assert_gt(report_u64(rep, "held_frames_spilled"), 0,
                 "no held frame went to the spill");
    uint64_t edges = report_u64(rep, "edges");
    uint64_t paged = report_u64(rep, "paged_edges");
    cr_assert(paged * 4 >= edges * 3, "%llu of %llu edges paged out",
              (unsigned long long)paged, (unsigned long long)edges);
    cr_assert_eq(report_u64(rep, "budget_bytes"), 16u << 20);
    cr_assert_eq(entries(spill), 0, "the spill dir is not empty");
}

static void
same_answer_paged(const char *const *job)
{
    same_answer_paged_on(job, graph());
}

Test(outofcore, pagerank_paged_gives_the_same_ranks, .timeout = 240)
{
    same_answer_paged(LIST("pagerank", "--iterations", "8"));
    // Its edges went to the store and came back every superstep.
    cr_assert_gt(report_u64(gx_test_tmp_path("r.json"), "spilled_bytes"), 0);
    cr_assert_gt(report_u64(gx_test_tmp_path("r.json"), "read_back_bytes"),
                 report_u64(gx_test_tmp_path("r.json"), "spilled_bytes"));
}

// CC keeps each partition's components: its edges are dropped after
// build, never written; its chunks while loading and its replicas' owners,
// routes and offsets are.
Test(outofcore, cc_paged_gives_the_same_components, .timeout = 240)
{
    same_answer_paged(LIST("cc"));
    const char *rep = gx_test_tmp_path("r.json");
    cr_assert_gt(report_u64(rep, "spilled_bytes"), 0);
    cr_assert_geq(report_u64(rep, "read_back_bytes"),
                  report_u64(rep, "spilled_bytes"));
}

Test(outofcore, a_plugin_paged_gives_the_same_levels, .timeout = 240)
{
    same_answer_paged(LIST("run", "--program", GX_EXAMPLES_DIR "/bfs.so",
                           "--param", "source=7"));
}

// CDLP has no combiner: every edge's message is listed for its master,
// and past half the budget the lists go to the spill in blocks and come
// back in arrival order for the sort.
Test(outofcore, listed_messages_paged_give_the_same_labels, .timeout = 240)
{
    same_answer_paged(LIST("run", "--program", GX_EXAMPLES_DIR "/cdlp.so",
                           "--param", "iterations=3"));
}

// Weights page with their edges: in the chunks while loading (after each
// chunk's edges) and beside the CSR after build.
Test(outofcore, weighted_shortest_paths_paged_are_the_same, .timeout = 240)
{
    same_answer_paged_on(LIST("run", "--program", GX_EXAMPLES_DIR "/sssp.so",
                              "--param", "source=7"), graph_of(true));
}

Test(outofcore, room_to_spare_writes_nothing, .timeout = 120)
{
    const char *g = gx_test_write_tmp("small.txt", "1 2\n2 3\n3 1\n");
    char spill[4096];
    snprintf(spill, sizeof spill, "%s/spill", gx_test_tmpdir());
    cr_assert_eq(mkdir(spill, 0700), 0);
    run(LIST("pagerank"), g, gx_test_tmp_path("o.tsv"), "1G", spill,
        gx_test_tmp_path("r.json"));
    cr_assert_eq(report_u64(gx_test_tmp_path("r.json"), "paged_edges"), 0);
    cr_assert_eq(report_u64(gx_test_tmp_path("r.json"), "spilled_bytes"), 0);
    cr_assert_eq(entries(spill), 0);
}

Test(outofcore, an_unusable_spill_dir_is_named, .timeout = 120)
{
    const char *g = graph();
    const char *bad = gx_test_tmp_path("no-such-dir");
    proc_t *p = proc_start(LIST(GX_BIN, "pagerank", "-i", g, "-o",
                                gx_test_tmp_path("o.tsv"), "--partitions",
                                PARTS, "-q", "--memory", "16M", "--spill-dir",
                                bad), NULL);
    proc_expect_exit(p, 120, 1);
    proc_expect_err(p, bad);
    cr_assert_not(gx_test_exists(gx_test_tmp_path("o.tsv")),
                  "a half-written output");
}

// No --partitions under a budget the graph does not fit: the engine picks
// enough partitions, says so, and answers as an in-memory run with that
// many does.
Test(outofcore, partitions_are_picked_for_the_budget, .timeout = 240)
{
    const char *g = graph();
    const char *spill = fresh_dir("spill");
    const char *out = gx_test_tmp_path("o.tsv"), *mem = gx_test_tmp_path("m.tsv");
    const char *rep = gx_test_tmp_path("r.json");
    proc_t *p = proc_start(LIST(GX_BIN, "pagerank", "-i", g, "-o", out,
                                "--workers", "2", "-q", "--report", rep,
                                "--memory", "16M", "--spill-dir", spill), NULL);
    proc_expect_exit(p, 120, 0);
    char *text = gx_test_slurp(rep, NULL);
    bool picked = text && strstr(text, "\"partitions_picked\": true");
    free(text);
    cr_assert(picked, "the report does not say the partitions were picked");
    uint64_t parts = report_u64(rep, "partitions");
    cr_assert(parts > 2 && parts % 2 == 0, "%llu partitions picked",
              (unsigned long long)parts);
    char n[32];
    snprintf(n, sizeof n, "%llu", (unsigned long long)parts);
    proc_t *q = proc_start(LIST(GX_BIN, "pagerank", "-i", g, "-o", mem,
                                "--workers", "2", "-q", "--partitions", n),
                           NULL);
    proc_expect_exit(q, 120, 0);
    gx_test_assert_same_bytes(mem, out);
    cr_assert_eq(entries(spill), 0);
}

// A chain of 300,000 vertices: its masters and replica lists alone take
// more than 16 MiB, which no paging can help. Refused once they are
// counted, with the figure it would take, and nothing written.
Test(outofcore, a_budget_below_what_stays_resident_is_refused, .timeout = 360)
{
    const char *path = gx_test_tmp_path("chain.txt");
    FILE *f = fopen(path, "w");
    cr_assert(f);
    for (unsigned i = 0; i < 300000; i++)
        fprintf(f, "%u %u\n", i, i + 1);
    cr_assert_eq(fclose(f), 0);
    const char *spill = fresh_dir("spill");
    const char *out = gx_test_tmp_path("o.tsv");
    proc_t *p = proc_start(LIST(GX_BIN, "pagerank", "--iterations", "3",
                                "-i", path, "-o", out, "--partitions", PARTS,
                                "-q", "--memory", "16M", "--spill-dir", spill),
                           NULL);
    proc_expect_exit(p, 300, 1);
    proc_expect_err(p, "the memory budget (16 MiB) is too small for this "
                       "graph: its masters and replica lists stay in memory");
    proc_expect_err(p, "give --memory at least ");
    cr_assert_not(gx_test_exists(out), "a refused run left its output");
    cr_assert_eq(entries(spill), 0, "the spill dir is not empty");
    // And the figure it gives is enough.
    const char *at = strstr(proc_err(p), "at least ");
    cr_assert(at);
    char need[32];
    snprintf(need, sizeof need, "%uM", (unsigned)strtoul(at + 9, NULL, 10));
    proc_t *q = proc_start(LIST(GX_BIN, "pagerank", "--iterations", "3",
                                "-i", path, "-o", out, "--partitions", PARTS,
                                "-q", "--memory", need, "--spill-dir", spill),
                           NULL);
    proc_expect_exit(q, 300, 0);
}

Test(outofcore, memory_option_is_checked)
{
    proc_t *p = proc_start(LIST(GX_BIN, "pagerank", "-i", "x", "--memory",
                                "12Q"), NULL);
    proc_expect_exit(p, 30, 2);
    proc_expect_err(p, "--memory needs a size");
}

// ---- Distributed mode -------------------------------------------------------

#define SECRET "outofcore-suite-secret"

// graphx-worker of one thread, its own budget and spill dir.
static proc_t *
start_worker(const endpoint_t *ep, const char *secret, const char *memory,
             const char *spill)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_WORKER_BIN, "--master", ep->s, "--threads", "1",
                      "--advertise", "127.0.0.1", "--wait-timeout", "20",
                      "--secret-file", secret, "-q", "--memory", memory,
                      "--spill-dir", spill));
    return proc_start(a.v, NULL);
}

static const char *
secret_file(void)
{
    const char *path = gx_test_write_tmp("secret", SECRET "\n");
    cr_assert_eq(chmod(path, 0600), 0);
    return path;
}

// A master of 2 worker processes (each its own --memory and spill dir)
// for JOB -i g EXTRA; the workers are in w[2].
static proc_t *
start_cluster(const char *const *job, const char *g,
              const char *const *extra, const char *memory,
              const char *spill[2], proc_t *w[2])
{
    const char *secret = secret_file();
    endpoint_t ep = endpoint_new();
    args_t a = { 0 };
    args_add(&a, job);
    args_add(&a, LIST("-i", g, "--partitions", PARTS));
    proc_t *m = proc_start_master(&ep, 2, secret, a.v, extra, NULL);
    for (int i = 0; i < 2; i++)
        w[i] = start_worker(&ep, secret, memory, spill[i]);
    return m;
}

static void
dist_same_answer_paged(const char *const *job)
{
    const char *g = graph();
    char mem[4096], rep[4096];
    snprintf(mem, sizeof mem, "%s", gx_test_tmp_path("mem.tsv"));
    snprintf(rep, sizeof rep, "%s", gx_test_tmp_path("r.json"));
    run(job, g, mem, NULL, NULL, rep);               // local, in memory
    const char *spill[2] = { fresh_dir("spill0"), fresh_dir("spill1") };
    const char *ooc = gx_test_tmp_path("ooc.tsv");
    proc_t *w[2];
    proc_t *m = start_cluster(job, g, LIST("-o", ooc, "-q", "--report", rep),
                              "16M", spill, w);
    proc_expect_exit(m, 120, 0);
    for (int i = 0; i < 2; i++)
        proc_expect_exit(w[i], 20, 0);
    gx_test_assert_same_bytes(mem, ooc);
    uint64_t edges = report_u64(rep, "edges");
    uint64_t paged = report_u64(rep, "paged_edges");
    cr_assert(paged * 4 >= edges * 3, "%llu of %llu edges paged out",
              (unsigned long long)paged, (unsigned long long)edges);
    // Frames from the other process (over TCP) were held in the spill.
    cr_assert_gt(report_u64(rep, "held_frames_spilled"), 0,
                 "no held frame went to the spill");
    // Each worker process's own figures: its budget, and its spill.
    uint64_t v[4];
    cr_assert_eq(report_list(rep, "\"processes\"", NULL, "budget_bytes", v,
                             4), 2, "not 2 worker processes in the report");
    cr_assert(v[0] == 16u << 20 && v[1] == 16u << 20, "budgets %llu, %llu",
              (unsigned long long)v[0], (unsigned long long)v[1]);
    cr_assert_eq(report_list(rep, "\"processes\"", NULL, "spilled_bytes", v,
                             4), 2);
    cr_assert(v[0] > 0 && v[1] > 0, "a worker spilled nothing");
    for (int i = 0; i < 2; i++)
        cr_assert_eq(entries(spill[i]), 0, "%s is not empty", spill[i]);
}

Test(outofcore, dist_pagerank_paged_gives_the_same_ranks, .timeout = 240)
{
    dist_same_answer_paged(LIST("pagerank", "--iterations", "8"));
}

Test(outofcore, dist_cc_paged_gives_the_same_components, .timeout = 240)
{
    dist_same_answer_paged(LIST("cc"));
}

Test(outofcore, dist_plugin_paged_gives_the_same_levels, .timeout = 240)
{
    dist_same_answer_paged(LIST("run", "--program", GX_EXAMPLES_DIR "/bfs.so",
                                "--param", "source=7"));
}

// Per superstep, what the processes read back adds up in both places: the
// steps' records and each process's array.
Test(outofcore, read_back_per_superstep_is_reported, .timeout = 240)
{
    const char *spill[2] = { fresh_dir("spill0"), fresh_dir("spill1") };
    const char *rep = gx_test_tmp_path("r.json");
    proc_t *w[2];
    proc_t *m = start_cluster(LIST("pagerank", "--iterations", "4"), graph(),
                              LIST("-o", gx_test_tmp_path("o.tsv"), "-q",
                                   "--report", rep), "16M", spill, w);
    proc_expect_exit(m, 120, 0);
    uint64_t steps[8], sum_steps = 0, sum_procs = 0;
    cr_assert_eq(report_list(rep, "\"steps\"", "\"processes\"",
                             "read_back_bytes", steps, 8), 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_gt(steps[i], 0, "superstep %d read nothing back", i + 1);
        sum_steps += steps[i];
    }
    char *text = gx_test_slurp(rep, NULL);
    int n_procs = 0;
    for (const char *at = text; (at = strstr(at, "\"read_back_per_step\": ["));) {
        at += strlen("\"read_back_per_step\": [");
        for (int i = 0; i < 4; i++) {
            char *next;
            sum_procs += strtoull(at, &next, 10);
            cr_assert_eq(*next, i < 3 ? ',' : ']', "not 4 supersteps");
            at = next + 1;
        }
        n_procs++;
    }
    free(text);
    cr_assert_eq(n_procs, 2);
    cr_assert_eq(sum_procs, sum_steps);
}

// The summary (stdout, with no -o): a line per worker process with its
// budget, peak RSS and spill figures.
Test(outofcore, summary_has_a_line_per_worker_process, .timeout = 240)
{
    const char *spill = fresh_dir("spill");
    const char *sum = gx_test_tmp_path("summary.txt");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "exec '%s' cc -i '%s' --partitions " PARTS " --spawn 2 "
             "--memory 16M --spill-dir '%s' -q > '%s'", GX_BIN, graph(), spill,
             sum);
    proc_t *p = proc_start(LIST("/bin/sh", "-c", cmd), NULL);
    proc_expect_exit(p, 120, 0);
    char *text = gx_test_read_file(sum, NULL);
    for (int i = 1; i <= 2; i++) {
        char want[96];
        snprintf(want, sizeof want, "  process %d       threads %d-%d: budget "
                 "16.0 MiB, peak RSS ", i, i - 1, i - 1);
        const char *line = strstr(text, want);
        cr_assert(line, "no '%s' in the summary:\n%s", want, text);
        const char *eol = strchr(line, '\n');
        cr_assert(eol && memmem(line, (size_t)(eol - line), " spilled, ", 10)
                  && memmem(line, (size_t)(eol - line), " a superstep, at most ",
                            22)
                  && memmem(line, (size_t)(eol - line), " s in spill I/O", 15),
                  "process %d's line lacks its spill figures:\n%s", i, text);
    }
    cr_assert(strstr(text, "edges paged out (each worker process's"),
              "%s", text);
    free(text);
    cr_assert_eq(entries(spill), 0);
}

// Whether pid holds a spill store open (its names already unlinked).
static bool
holds_spill(pid_t pid)
{
    char dir[64], link[128], target[4096];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    bool found = false;
    for (struct dirent *e; d && !found && (e = readdir(d));) {
        snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        found = strstr(target, "graphx-spill-") && strstr(target, "(deleted)");
    }
    if (d)
        closedir(d);
    return found;
}

// Waits (up to 60 s) until pid has its spill store open.
static void
await_spill(pid_t pid)
{
    double end = gx_test_now() + 60;
    while (!holds_spill(pid) && gx_test_now() < end)
        usleep(20000);
    cr_assert(holds_spill(pid), "pid %d never opened its spill store",
              (int)pid);
}

Test(outofcore, worker_stopped_by_sigterm_cleans_up, .timeout = 120)
{
    const char *spill[2] = { fresh_dir("spill0"), fresh_dir("spill1") };
    const char *out = gx_test_tmp_path("o.tsv");
    proc_t *w[2];
    proc_t *m = start_cluster(LIST("pagerank", "--iterations", "100000"),
                              graph(), LIST("-o", out, "-q"), "16M", spill, w);
    await_spill(w[1]->pid);
    cr_assert_eq(kill(w[1]->pid, SIGTERM), 0);
    proc_expect_exit(w[1], 20, 1);                  // an exit, not a death
    proc_expect_err(w[1], "graphx-worker: stopped by SIGTERM\n");
    cr_assert_eq(entries(spill[1]), 0, "the stopped worker left its spill");
    proc_expect_exit(m, 20, 1);
    // Named by its place among the processes, which is the order they
    // registered in: either.
    proc_expect_err(m, "worker process ");
    proc_expect_err(m, " (127.0.0.1:");
    proc_expect_err(m, "failed: stopped by SIGTERM");
    proc_expect_exit(w[0], 20, 1);
    cr_assert_eq(entries(spill[0]), 0);
    cr_assert_not(gx_test_exists(out), "a failed run left its output");
}

// Local mode: graphx-run removes its temporaries and dies of the signal
// (so its parent sees how it ended); its spill store's names were gone
// from the start, so nothing is left.
Test(outofcore, local_run_stopped_by_sigterm_cleans_up, .timeout = 120)
{
    const char *spill = fresh_dir("spill");
    const char *out = gx_test_tmp_path("o.tsv");
    proc_t *p = proc_start(LIST(GX_BIN, "pagerank", "--iterations", "100000",
                                "-i", graph(), "-o", out, "--partitions", PARTS,
                                "--workers", "2", "-q", "--memory", "16M",
                                "--spill-dir", spill), NULL);
    await_spill(p->pid);
    cr_assert_eq(kill(p->pid, SIGTERM), 0);
    cr_assert(proc_wait(p, 20), "still running after SIGTERM");
    cr_assert(WIFSIGNALED(p->status) && WTERMSIG(p->status) == SIGTERM,
              "status %d", p->status);
    cr_assert_eq(entries(spill), 0, "the spill dir is not empty");
    cr_assert_not(gx_test_exists(out), "a stopped run left its output");
}
