// tests/test_outofcore.c: runs under a memory budget too small for the
// graph's edges. graphx-run, with --memory 16M and 16 partitions, writes
// edge chunks out while loading (each partition's come back for its
// build), pages its partitions' edge arrays out after build and back for
// each scatter: PageRank, CC and the BFS example plugin give output
// byte-identical to the in-memory run with the same partitions (the
// engine is deterministic), at least 75% of the edges are paged out (the
// report says how many), and the spill dir is empty afterwards. A run with
// room to spare pages nothing and writes nothing to the spill dir; an
// unwritable spill dir is one line naming it.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdbool.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "testproc.h"

static void setup(void) { gx_test_tmpdir_make("outofcore"); }
static void
teardown(void)
{
    proc_kill_all();
    gx_test_tmpdir_remove();
}
TestSuite(outofcore, .init = setup, .fini = teardown);

#define EDGES 600000u

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

// graphx-run JOB... -i g -o out --partitions 16 --workers 2 [--memory M
// --spill-dir DIR] --report rep; exits 0.
static void
run(const char *const *job, const char *g, const char *out,
    const char *memory, const char *spill, const char *rep)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_BIN));
    args_add(&a, job);
    args_add(&a, LIST("-i", g, "-o", out, "--partitions", "16", "--workers",
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
    run(job, g, ooc, "16M", spill, rep);
    gx_test_assert_same_bytes(mem, ooc);
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
                                "16", "-q", "--memory", "16M", "--spill-dir",
                                bad), NULL);
    proc_expect_exit(p, 120, 1);
    proc_expect_err(p, bad);
    cr_assert_not(gx_test_exists(gx_test_tmp_path("o.tsv")),
                  "a half-written output");
}

Test(outofcore, memory_option_is_checked)
{
    proc_t *p = proc_start(LIST(GX_BIN, "pagerank", "-i", "x", "--memory",
                                "12Q"), NULL);
    proc_expect_exit(p, 30, 2);
    proc_expect_err(p, "--memory needs a size");
}
