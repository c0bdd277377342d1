// tests/test_addrspace.c: the address-space sweep of issue 20. PageRank on
// karate (78 edges) with 1 to 128 worker threads, each under `ulimit -v`
// (RLIMIT_AS, set in the child before exec) from below the figure the
// refusal names up to 2 GiB, three runs at each limit. Every run exits 0
// with the output of the same run without a limit, or exits 1 with the one
// refusal line and no output file; never a signal (libzmq aborts when its
// allocations fail), never a mid-run "out of memory"; and whether a run is
// refused is monotonic in the limit (docs/design.md, "Address space").
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testproc.h"
#include "testutil.h"

#define KARATE  GX_DATASETS "/karate.txt"
#define MIB     ((rlim_t)1 << 20)
#define TOP_MIB 2048                    // the sweep's highest limit
#define RUNS    3                       // runs at each limit

static void
setup(void)
{
    gx_test_tmpdir_make("addrspace");
}

static void
teardown(void)
{
    proc_kill_all();
    gx_test_tmpdir_remove();
}

TestSuite(addrspace, .init = setup, .fini = teardown);

typedef struct outcome {
    int  status;                        // wait status
    char err[1024];                     // stderr, whole
} outcome_t;

typedef struct limited {
    unsigned    workers;
    rlim_t      mib;                    // RLIMIT_AS in MiB, 0: none
    const char *out;
} limited_t;

// In the child: the limit, as `ulimit -v` sets it, then graphx-run.
static void
limited_body(const void *arg)
{
    const limited_t *l = arg;
    char w[16];
    snprintf(w, sizeof w, "%u", l->workers);
    struct rlimit rl = { l->mib * MIB, l->mib * MIB };
    if (l->mib && setrlimit(RLIMIT_AS, &rl) != 0)
        _exit(96);
    execl(GX_BIN, "graphx-run", "pagerank", "-q", "-i", KARATE,
          "--workers", w, "-o", l->out, (char *)NULL);
    _exit(98);
}

// graphx-run pagerank on karate with `workers` threads, writing `out`,
// under RLIMIT_AS = mib MiB (0: no limit).
static outcome_t
run_pagerank(unsigned workers, rlim_t mib, const char *out)
{
    limited_t l = { workers, mib, out };
    proc_t *p = proc_fork(limited_body, &l, NULL, NULL);
    cr_assert(proc_wait(p, 30), "%u workers, %llu MiB: no exit in 30 s: %s",
              workers, (unsigned long long)mib, proc_err(p));
    outcome_t o = { .status = p->status };
    snprintf(o.err, sizeof o.err, "%s", proc_err(p));
    proc_kill_all();                    // frees its slot: a sweep has many
    return o;
}

// The refusal, whole: "graphx-run pagerank: W worker(s) need(s) about N
// MiB of address space; ulimit -v allows M MiB (use fewer --workers or
// raise the limit)" and a newline. Returns N, or 0 if `err` is not it;
// M must be the limit.
static unsigned long
refusal_need(const char *err, unsigned workers, rlim_t mib)
{
    regex_t re;
    regmatch_t m[5];
    cr_assert_eq(regcomp(&re, "^graphx-run pagerank: ([0-9]+) workers? "
                         "needs? about ([0-9]+) MiB of address space; ulimit "
                         "-v allows ([0-9]+) MiB \\(use fewer --workers or "
                         "raise the limit\\)\n$", REG_EXTENDED), 0);
    int rc = regexec(&re, err, 5, m, 0);
    regfree(&re);
    if (rc != 0)
        return 0;
    cr_assert_eq(strtoul(err + m[1].rm_so, NULL, 10), workers, "%s", err);
    cr_assert_eq(strtoul(err + m[3].rm_so, NULL, 10), mib, "%s", err);
    unsigned long need = strtoul(err + m[2].rm_so, NULL, 10);
    cr_assert_gt(need, mib, "refused though it fits: %s", err);
    return need;
}

// The ranks of the reference run: karate's 34 vertices, summing to 1.
static void
assert_pagerank(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    unsigned long v, n = 0;
    double r, sum = 0;
    while (fscanf(f, "%lu\t%lf", &v, &r) == 2) {
        cr_assert(r > 0 && r < 1, "vertex %lu: %g", v, r);
        sum += r;
        n++;
    }
    fclose(f);
    cr_assert_eq(n, 34);
    cr_assert_float_eq(sum, 1.0, 1e-9);
}

// One run under `mib`: success with the reference's bytes, or the refusal
// and no output. Returns whether it was refused.
static bool
run_one(unsigned workers, rlim_t mib, const char *ref, unsigned long need)
{
    const char *out = gx_test_tmp_path("out.tsv");
    outcome_t o = run_pagerank(workers, mib, out);
    cr_assert(WIFEXITED(o.status), "%u workers, %llu MiB: signal %d: %s",
              workers, (unsigned long long)mib,
              WIFSIGNALED(o.status) ? WTERMSIG(o.status) : 0, o.err);
    int code = WEXITSTATUS(o.status);
    if (code == 0) {
        gx_test_assert_same_bytes(ref, out);
        cr_assert_eq(unlink(out), 0);
        return false;
    }
    cr_assert_eq(code, 1, "%u workers, %llu MiB: exit %d: %s", workers,
                 (unsigned long long)mib, code, o.err);
    unsigned long said = refusal_need(o.err, workers, mib);
    cr_assert_neq(said, 0, "%u workers, %llu MiB: not the refusal: %s",
                  workers, (unsigned long long)mib, o.err);
    // The figure does not depend on the limit (a page of rounding aside).
    cr_assert(said + 1 >= need && said <= need + 1, "%lu MiB, then %lu MiB",
              need, said);
    cr_assert(!gx_test_exists(out), "an output beside a refusal");
    return true;
}

static int
by_value(const void *a, const void *b)
{
    rlim_t x = *(const rlim_t *)a, y = *(const rlim_t *)b;
    return x < y ? -1 : x > y;
}

// The limits of the sweep, ascending, in MiB: around the figure a refusal
// names (need), the issue's 300000, 450000, 600000 and 900000 KB, and on
// up to TOP_MIB in four steps.
static int
limits_for(unsigned long need, rlim_t *lim)
{
    const long near[] = { -48, -16, -1, 1, 4, 32 };
    rlim_t all[16];
    int n = 0, k = 0;
    for (size_t i = 0; i < sizeof near / sizeof near[0]; i++)
        all[n++] = (rlim_t)((long)need + near[i]);
    const rlim_t issue_kb[] = { 300000, 450000, 600000, 900000 };
    for (size_t i = 0; i < sizeof issue_kb / sizeof issue_kb[0]; i++)
        all[n++] = issue_kb[i] / 1024;
    for (int q = 1; q <= 4 && need + 32 < TOP_MIB; q++)
        all[n++] = need + 32 + (TOP_MIB - need - 32) * (rlim_t)q / 4;
    qsort(all, (size_t)n, sizeof all[0], by_value);
    for (int i = 0; i < n; i++)
        if (all[i] >= 48 && all[i] <= TOP_MIB && (k == 0 || all[i] > lim[k - 1]))
            lim[k++] = all[i];
    return k;
}

static void
skip_unless_room(unsigned workers)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    gx_test_tmpdir_remove();
    cr_skip_test("a sanitizer reserves terabytes of address space: no run "
                 "fits under ulimit -v");
#endif
    struct rlimit fds, procs;
    if ((getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur != RLIM_INFINITY
         && fds.rlim_cur < 4 * workers + 64)
        || (getrlimit(RLIMIT_NPROC, &procs) == 0
            && procs.rlim_cur != RLIM_INFINITY
            && procs.rlim_cur < workers + 64)) {
        gx_test_tmpdir_remove();
        cr_skip_test("ulimit -n or -u is too small for %u workers", workers);
    }
}

// The sweep for one worker count.
static void
sweep(unsigned workers)
{
    skip_unless_room(workers);
    char ref[4096];
    snprintf(ref, sizeof ref, "%s", gx_test_tmp_path("ref.tsv"));
    outcome_t o = run_pagerank(workers, 0, ref);
    cr_assert(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "%s", o.err);
    assert_pagerank(ref);
    // 48 MiB is below anything the engine can start in: the refusal says
    // what the run needs, and the sweep is laid around that figure.
    o = run_pagerank(workers, 48, gx_test_tmp_path("out.tsv"));
    unsigned long need = refusal_need(o.err, workers, 48);
    cr_assert_neq(need, 0, "48 MiB not refused: %s", o.err);
    // A few MiB per thread, and a connection per pair of them: not more.
    cr_assert_leq(need, 96 + 4 * workers + workers * workers / 16,
                  "%lu MiB for %u workers", need, workers);
    rlim_t lim[16];
    int n = limits_for(need, lim);
    rlim_t accepted = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < RUNS; r++) {
            bool refused = run_one(workers, lim[i], ref, need);
            cr_assert(!(refused && accepted), "%u workers: refused at %llu "
                      "MiB, ran at %llu MiB", workers,
                      (unsigned long long)lim[i],
                      (unsigned long long)accepted);
            if (!refused && !accepted)
                accepted = lim[i];
            // What the refusal named is enough, and more than enough
            // is not refused.
            cr_assert(!(refused && lim[i] >= need + 32), "%u workers: "
                      "refused at %llu MiB, need %lu", workers,
                      (unsigned long long)lim[i], need);
        }
    cr_assert_neq(accepted, 0, "%u workers never ran", workers);
}

Test(addrspace, one_worker, .timeout = 60)         { sweep(1); }
Test(addrspace, two_workers, .timeout = 60)        { sweep(2); }
Test(addrspace, four_workers, .timeout = 60)       { sweep(4); }
Test(addrspace, eight_workers, .timeout = 60)      { sweep(8); }
Test(addrspace, sixteen_workers, .timeout = 60)    { sweep(16); }
Test(addrspace, thirty_two_workers, .timeout = 60) { sweep(32); }
Test(addrspace, sixty_four_workers, .timeout = 90) { sweep(64); }
Test(addrspace, a_hundred_and_twenty_eight_workers, .timeout = 120)
{
    sweep(128);
}
