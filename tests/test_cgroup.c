// tests/test_cgroup.c: graphx-run's memory as the kernel sees it, on an
// RMAT graph of 2^18 vertices and 4 M edges (bench/rmat), whose in-memory
// peak RSS (about 130 MiB) is well above the engine's fixed overhead.
//
// In a memory cgroup (cgroup v1's memory controller, else v2's
// memory.max) limited to 60% of the in-memory peak, with no --memory:
// the budget is 90% of that limit, edges are paged, the run exits 0
// without an OOM kill, its output is the unconfined run's byte for byte,
// and its spill dir is left empty. Skipped, saying why, where no memory
// cgroup can be made (not root, a read-only cgroupfs, v2 without the
// memory controller delegated). Lower limits work too, but slowly: the
// kernel reclaims the spill's page cache over and over (measured alone,
// at 60% about 5 times the in-memory time, at 50% 10 times, at 40% 40 to
// 60 times, with no OOM kill).
//
// Peak RSS: PageRank, CC and the BFS example, each with --memory at 25%
// of its own in-memory peak, peak at most the budget plus
// GX_RSS_OVERHEAD_MIB (the child's ru_maxrss from wait4).
//
// Both change under AddressSanitizer or ThreadSanitizer (shadow memory,
// quarantine), so the suite skips there.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testproc.h"

#ifndef GX_RMAT_BIN
#error "GX_RMAT_BIN (build/bench/rmat) must be defined"
#endif
#ifndef GX_EXAMPLES_DIR
#error "GX_EXAMPLES_DIR (build/algos/examples) must be defined"
#endif

// What a run may use above its --memory: the memory the accountant does
// not see (code and libraries, thread stacks, libzmq, malloc's slack,
// the spill store's map). Measured on RMAT-17/18/19 (2, 4, 8 M edges), 16
// and 32 partitions, 2 worker threads, --memory at 25%, 30% and 40% of
// the in-memory peak, 5 to 8 runs each, two at a time on 2 cores: RSS
// less the report's peak_accounted_bytes was 7-20 MiB; RSS less the
// budget at most 21.4 MiB for PageRank and BFS, 18.8 MiB for CC at this
// suite's size (CC's accounted peak passes its budget at 25%, by 6 MiB
// here and 15 MiB on RMAT-19, where RSS was 31 MiB over). 32 MiB leaves
// 10 MiB above the worst run measured.
#define GX_RSS_OVERHEAD_MIB 32

#define SCALE "18"              // 2^18 vertices, 16 edges each
#define PARTITIONS "16"
#define CGROUP_PCT 60           // the cgroup's limit, % of the in-memory peak
#define BUDGET_PCT 25           // --memory, % of the in-memory peak
#define RUN_SECS 120            // any one run's deadline

static char cgroup_dir[4096];   // made by this test, removed by teardown

static void
cgroup_remove(void)
{
    if (!cgroup_dir[0])
        return;
    // The child has exited; its cgroup empties as it is reaped.
    for (int i = 0; i < 100 && rmdir(cgroup_dir) != 0 && errno == EBUSY; i++)
        usleep(10000);
    cgroup_dir[0] = 0;
}

static void
setup(void)
{
    gx_test_tmpdir_make("cgroup");
    signal(SIGPIPE, SIG_IGN);
}
static void
teardown(void)
{
    proc_kill_all();
    cgroup_remove();
    gx_test_tmpdir_remove();
}
TestSuite(cgroup, .init = setup, .fini = teardown);

// A skipped test gets no .fini: clean up, then skip.
#define SKIP(...)                                                            \
    do {                                                                     \
        cgroup_remove();                                                     \
        gx_test_tmpdir_remove();                                             \
        cr_skip_test(__VA_ARGS__);                                           \
    } while (0)

static void
skip_if_sanitized(void)
{
    if (gx_test_sanitized())
        SKIP("a sanitizer's shadow memory and quarantine change RSS: peak "
             "RSS and cgroup limits mean nothing in this build");
}

// ---- Running graphx-run ---------------------------------------------------

typedef struct child {
    const char *const *argv;
    const char        *procs;   // a cgroup's procs file to join, or NULL
} child_t;

// In the child: into the cgroup (if any) before exec, so that all of
// graphx-run's memory is charged there.
static void
child_body(const void *arg)
{
    const child_t *c = arg;
    if (c->procs) {
        int fd = open(c->procs, O_WRONLY | O_CLOEXEC);
        char pid[32];
        int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
        if (fd < 0 || write(fd, pid, (size_t)n) != n) {
            dprintf(2, "cannot join %s: %s\n", c->procs, strerror(errno));
            _exit(126);
        }
        close(fd);
    }
    execv(c->argv[0], (char *const *)c->argv);
    dprintf(2, "exec %s: %s\n", c->argv[0], strerror(errno));
    _exit(127);
}

// Waits up to RUN_SECS for p (reading its stderr) and reaps it with
// wait4; its peak RSS in KiB.
static long
wait_rss(proc_t *p)
{
    double end = gx_test_now() + RUN_SECS;
    struct rusage ru;
    for (;;) {
        proc_drain(p);
        pid_t w = wait4(p->pid, &p->status, WNOHANG, &ru);
        cr_assert(w >= 0 || errno == EINTR, "wait4: %s", strerror(errno));
        if (w == p->pid)
            break;
        cr_assert_lt(gx_test_now(), end, "still running after %d s: %s",
                     RUN_SECS, proc_err(p));
        usleep(5000);
    }
    p->exited = true;
    proc_drain(p);
    return ru.ru_maxrss;
}

// graphx-run JOB... -i g -o out --partitions 16 --workers 2 -q --report
// rep [--memory MEMORY_KIB K] [--spill-dir SPILL], in the cgroup whose
// procs file is `procs` (NULL: ours). It must exit 0, not die of a
// signal; its peak RSS in KiB.
static long
run(const char *const *job, const char *g, const char *out, long memory_kib,
    const char *spill, const char *rep, const char *procs)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_BIN));
    args_add(&a, job);
    args_add(&a, LIST("-i", g, "-o", out, "--partitions", PARTITIONS,
                      "--workers", "2", "-q", "--report", rep));
    if (memory_kib)
        args_fmt(&a, "--memory=%ldK", memory_kib);
    if (spill)
        args_add(&a, LIST("--spill-dir", spill));
    child_t c = { a.v, procs };
    proc_t *p = proc_fork(child_body, &c, NULL, NULL);
    long rss = wait_rss(p);
    cr_assert_not(WIFSIGNALED(p->status), "%s killed by signal %d: %s",
                  job[0], WTERMSIG(p->status), proc_err(p));
    cr_assert(WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0,
              "%s exited %d: %s", job[0], WEXITSTATUS(p->status), proc_err(p));
    return rss;
}

// RMAT of 2^SCALE vertices, 16 edges each (bench/rmat's defaults).
static const char *
graph(void)
{
    const char *path = gx_test_tmp_path("rmat.txt");
    proc_t *p = proc_start(LIST(GX_RMAT_BIN, "--scale", SCALE, "--seed", "7",
                                "-o", path), NULL);
    proc_expect_exit(p, 60, 0);
    return path;
}

// ---- Reading figures back --------------------------------------------------

// The number after "key": within the report's "section": {...} object.
static uint64_t
report_field(const char *rep, const char *section, const char *key)
{
    char *text = gx_test_read_file(rep, NULL);
    char want[96];
    snprintf(want, sizeof want, "\"%s\": {", section);
    char *obj = strstr(text, want);
    cr_assert(obj, "no %s object in %s", section, rep);
    char *close = strchr(obj, '}');
    if (close)
        *close = 0;
    snprintf(want, sizeof want, "\"%s\": ", key);
    const char *at = strstr(obj, want);
    cr_assert(at, "no %s in %s's %s", key, rep, section);
    uint64_t v = strtoull(at + strlen(want), NULL, 10);
    free(text);
    return v;
}

// The number after "key " on a line of a file of "key value" lines
// (memory.events, memory.oom_control); 0 without such a line.
static uint64_t
keyed_value(const char *path, const char *key)
{
    FILE *f = fopen(path, "re");
    cr_assert(f, "%s: %s", path, strerror(errno));
    char line[256];
    unsigned long long v = 0;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ' ')
            v = strtoull(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

static void
assert_empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) && (!strcmp(e->d_name, ".")
                                || !strcmp(e->d_name, "..")))
        ;
    cr_assert_null(e, "%s left in %s", e ? e->d_name : "", dir);
    closedir(d);
}

// A fresh directory under the suite's, for a spill.
static const char *
spill_dir(void)
{
    const char *dir = gx_test_tmp_path("spill");
    cr_assert_eq(mkdir(dir, 0700), 0, "%s: %s", dir, strerror(errno));
    return dir;
}

// A job's two runs: the graph, the in-memory run's output and peak RSS
// (KiB), the other run's output, the report both write, its spill dir.
typedef struct pair {
    const char *g, *spill;
    char        mem[4096], got[4096], rep[4096];
    long        peak;
} pair_t;

// Skips under a sanitizer; else the graph, then JOB in memory, unconfined.
static void
in_memory_first(const char *const *job, pair_t *r)
{
    skip_if_sanitized();
    r->g = graph();
    snprintf(r->mem, sizeof r->mem, "%s", gx_test_tmp_path("mem.tsv"));
    snprintf(r->got, sizeof r->got, "%s", gx_test_tmp_path("got.tsv"));
    snprintf(r->rep, sizeof r->rep, "%s", gx_test_tmp_path("r.json"));
    r->peak = run(job, r->g, r->mem, 0, NULL, r->rep, NULL);
    r->spill = spill_dir();
}

// ---- A memory cgroup of our own ---------------------------------------------

typedef struct mem_cgroup {
    int  version;               // 1: the v1 memory controller; 2: unified
    char mount[2048], root[2048];
} mem_cgroup_t;

// The memory hierarchy's mount, from /proc/self/mountinfo ("ID PARENT
// MAJ:MIN ROOT POINT OPTS... - FSTYPE SOURCE SUPEROPTS"): a v1 one with
// the memory controller if there is one (then v2 has no memory), else v2.
static bool
find_mount(mem_cgroup_t *m)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    cr_assert(f, "/proc/self/mountinfo: %s", strerror(errno));
    char line[4096], root[2048], point[2048], type[32], opts[512];
    m->version = 0;
    while (m->version != 1 && fgets(line, sizeof line, f)) {
        const char *dash = strstr(line, " - ");
        if (!dash
            || sscanf(line, "%*s %*s %*s %2047s %2047s", root, point) != 2
            || sscanf(dash + 3, "%31s %*s %511s", type, opts) != 2)
            continue;
        bool v1 = !strcmp(type, "cgroup") && (strstr(opts, ",memory")
                                               || !strncmp(opts, "memory", 6));
        if (v1 || (!strcmp(type, "cgroup2") && !m->version)) {
            m->version = v1 ? 1 : 2;
            snprintf(m->mount, sizeof m->mount, "%s", point);
            snprintf(m->root, sizeof m->root, "%s", root);
        }
    }
    fclose(f);
    return m->version != 0;
}

// Our cgroup's directory in m's hierarchy, from /proc/self/cgroup: the
// line whose controllers hold "memory" (v1) or "0::" (v2), with the
// mount's root taken off (a container's mount of its own subtree).
static bool
own_dir(const mem_cgroup_t *m, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    cr_assert(f, "/proc/self/cgroup: %s", strerror(errno));
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : 0;
        if (!path)
            continue;
        *ctl++ = 0;                     // line: the hierarchy's id
        *path++ = 0;
        if (m->version == 1) {
            char list[512];
            snprintf(list, sizeof list, ",%s,", ctl);
            found = strstr(list, ",memory,") != NULL;
        } else {
            found = !strcmp(line, "0") && !*ctl;
        }
        size_t n = strlen(m->root);
        if (found && strcmp(m->root, "/") && !strncmp(path, m->root, n))
            path += n;
        if (found)
            snprintf(out, cap, "%s%s", m->mount, strcmp(path, "/") ? path : "");
    }
    fclose(f);
    return found;
}

static bool
write_file(const char *dir, const char *file, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t n = strlen(text);
    bool ok = fd >= 0 && write(fd, text, n) == (ssize_t)n;
    if (fd >= 0)
        close(fd);
    return ok;
}

// A child cgroup of ours (cgroup_dir) limited to about `limit` bytes;
// skips the test, saying why, if none can be made. The limit the kernel
// applied (v1 rounds it to pages).
static uint64_t
cgroup_make(uint64_t limit, mem_cgroup_t *m)
{
    char own[4096];
    if (!find_mount(m) || !own_dir(m, own, sizeof own))
        SKIP("no memory cgroup hierarchy is mounted (neither a v1 memory "
             "controller nor cgroup2 in /proc/self/mountinfo)");
    snprintf(cgroup_dir, sizeof cgroup_dir, "%s/gx-test-cgroup-%d", own,
             (int)getpid());
    if (mkdir(cgroup_dir, 0755) != 0) {
        int e = errno;
        cgroup_dir[0] = 0;
        SKIP("cannot make a cgroup under %s (v%d): %s%s", own, m->version,
             strerror(e), geteuid() ? "; this needs root" : "");
    }
    const char *file = m->version == 1 ? "memory.limit_in_bytes"
                                       : "memory.max";
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/%s", cgroup_dir, file);
    if (m->version == 2 && !gx_test_exists(path))
        write_file(own, "cgroup.subtree_control", "+memory");
    if (!gx_test_exists(path))
        SKIP("cgroup v2 at %s has no memory controller for its children "
             "(cgroup.subtree_control refused +memory)", own);
    snprintf(text, sizeof text, "%llu", (unsigned long long)limit);
    cr_assert(write_file(cgroup_dir, file, text), "%s: %s", path,
              strerror(errno));
    if (m->version == 2)
        write_file(cgroup_dir, "memory.swap.max", "0");   // if it has one
    FILE *f = fopen(path, "re");
    unsigned long long v = 0;
    cr_assert(f && fscanf(f, "%llu", &v) == 1, "cannot read %s back", path);
    fclose(f);
    return v;
}

// Kills the kernel's OOM killer made in cgroup_dir so far.
static uint64_t
oom_kills(const mem_cgroup_t *m)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", cgroup_dir,
             m->version == 1 ? "memory.oom_control" : "memory.events");
    return keyed_value(path, "oom_kill");
}

// JOB in memory, unconfined; then in a cgroup limited to CGROUP_PCT% of
// that run's peak RSS with no --memory: budget 90% of the limit, edges
// paged, no OOM kill, the same output, an empty spill dir.
static void
same_answer_in_cgroup(const char *const *job)
{
    pair_t r;
    in_memory_first(job, &r);
    mem_cgroup_t m;
    uint64_t limit = cgroup_make((uint64_t)r.peak * 1024 / 100 * CGROUP_PCT,
                                 &m);
    char procs[4200];
    snprintf(procs, sizeof procs, "%s/%s", cgroup_dir,
             m.version == 1 ? "tasks" : "cgroup.procs");
    run(job, r.g, r.got, 0, r.spill, r.rep, procs);
    cr_assert_eq(oom_kills(&m), 0, "the OOM killer struck in %s", cgroup_dir);
    gx_test_assert_same_bytes(r.mem, r.got);
    // core/budget.c: the limit / 100 * GX_BUDGET_SHARE, in whole bytes.
    cr_assert_eq(report_field(r.rep, "memory", "budget_bytes"),
                 limit / 100 * 90,
                 "the budget is not 90%% of the %llu-byte limit",
                 (unsigned long long)limit);
    cr_assert_gt(report_field(r.rep, "memory", "paged_edges"), 0,
                 "nothing paged under a limit of %llu bytes (peak %ld KiB)",
                 (unsigned long long)limit, r.peak);
    assert_empty_dir(r.spill);
}

Test(cgroup, pagerank_in_a_cgroup_gives_the_same_ranks, .timeout = 300)
{
    same_answer_in_cgroup(LIST("pagerank"));
}

Test(cgroup, cc_in_a_cgroup_gives_the_same_components, .timeout = 300)
{
    same_answer_in_cgroup(LIST("cc"));
}

// ---- Peak RSS against the budget -----------------------------------------

// JOB in memory, then with --memory at BUDGET_PCT% of that run's peak:
// the same output, edges paged, and a peak RSS within the budget plus
// GX_RSS_OVERHEAD_MIB.
static void
rss_within_budget(const char *const *job)
{
    pair_t r;
    in_memory_first(job, &r);
    long budget = r.peak / 100 * BUDGET_PCT;
    long rss = run(job, r.g, r.got, budget, r.spill, r.rep, NULL);
    gx_test_assert_same_bytes(r.mem, r.got);
    cr_assert_eq(report_field(r.rep, "memory", "budget_bytes"),
                 (uint64_t)budget * 1024);
    cr_assert_gt(report_field(r.rep, "memory", "paged_edges"), 0);
    long allowed = budget + GX_RSS_OVERHEAD_MIB * 1024;
    cr_assert_leq(rss, allowed, "%s: peak RSS %.1f MiB > budget %.1f MiB + "
                  "%d MiB (in memory %.1f MiB; accounted peak %.1f MiB)",
                  job[0], rss / 1024.0, budget / 1024.0, GX_RSS_OVERHEAD_MIB,
                  r.peak / 1024.0,
                  report_field(r.rep, "memory", "peak_accounted_bytes")
                      / 1048576.0);
    assert_empty_dir(r.spill);
}

Test(cgroup, pagerank_peak_rss_is_within_the_budget, .timeout = 300)
{
    rss_within_budget(LIST("pagerank"));
}

Test(cgroup, cc_peak_rss_is_within_the_budget, .timeout = 300)
{
    rss_within_budget(LIST("cc"));
}

Test(cgroup, bfs_peak_rss_is_within_the_budget, .timeout = 300)
{
    rss_within_budget(LIST("run", "--program", GX_EXAMPLES_DIR "/bfs.so",
                           "--param", "source=7"));
}
