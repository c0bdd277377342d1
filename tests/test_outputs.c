// tests/test_outputs.c: the outputs suite. Where -o and --report write when
// their path is not a plain file: a symbolic link (to a file, dangling, to
// /proc/self/fd/1), "-", a FIFO; and distributed mode given relative paths
// from another working directory. graphx-run is run end to end, and what
// each odd target gets is compared with what a run writing to a plain path
// wrote; the link, FIFO or device itself must still be what it was.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testproc.h"
#include "testutil.h"

#ifndef GX_WORKER_BIN
#error "GX_WORKER_BIN (build/graphx-worker) must be defined"
#endif

#define RUN_SECS 30.0           // a run of a small graph longer than this is a hang

static void
setup(void)
{
    gx_test_tmpdir_make("outputs");
}

// A run left behind by a failed test is killed with its group.
static void
teardown(void)
{
    proc_kill_all();
    gx_test_tmpdir_remove();
}

TestSuite(outputs, .init = setup, .fini = teardown);

// ---- Files --------------------------------------------------------------------

// Names in dir (without . and ..), sorted, joined by spaces.
static void
list_dir(const char *dir, char *buf, size_t cap)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    cr_assert_geq(n, 0, "scandir %s: %s", dir, strerror(errno));
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *d = names[i]->d_name;
        if (strcmp(d, ".") && strcmp(d, ".."))
            len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s",
                                    len ? " " : "", d);
        free(names[i]);
    }
    free(names);
}

static void
assert_link(const char *path, const char *text)
{
    struct stat st;
    cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
    cr_assert(S_ISLNK(st.st_mode), "%s is no longer a symbolic link", path);
    char got[4096];
    ssize_t n = readlink(path, got, sizeof got - 1);
    cr_assert_gt(n, 0);
    got[n] = '\0';
    cr_assert_str_eq(got, text, "%s now points to %s", path, got);
}

// A copy of `s` in a buffer of the caller's (gx_test_tmp_path's slots rotate).
#define KEEP(buf, s) (snprintf((buf), sizeof (buf), "%s", (s)), (buf))

// ---- Running ------------------------------------------------------------------

// A run's child, after proc_fork's setup (its own group, dead with us,
// stdin on /dev/null, stderr on its pipe, GRAPHX_SECRET set): stdout on
// `out` (created or truncated; NULL: /dev/null as proc_fork left it), then
// into `cwd` (NULL: here) and argv.
typedef struct run {
    const char *const *argv;
    const char        *cwd, *out;
} run_t;

static void
run_body(const void *arg)
{
    const run_t *r = arg;
    if (r->out) {
        int o = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || dup2(o, 1) < 0)
            _exit(126);
    }
    if (r->cwd && chdir(r->cwd) != 0)
        _exit(126);
    execv(r->argv[0], (char *const *)r->argv);
    _exit(127);
}

static proc_t *
start(const char *const *argv, const char *cwd, const char *out)
{
    const run_t r = { argv, cwd, out };
    return proc_fork(run_body, &r, NULL,
                     LIST("GRAPHX_SECRET=outputs-suite-secret"));
}

// Its exit status; a death by signal or a run past the deadline fails (and
// teardown kills what is left).
static int
finish(proc_t *p)
{
    cr_assert(proc_wait(p, RUN_SECS), "a run did not finish in %.0f s; "
              "stderr: %s", RUN_SECS, proc_err(p));
    cr_assert(WIFEXITED(p->status), "killed by signal %d; stderr: %s",
              WTERMSIG(p->status), proc_err(p));
    return WEXITSTATUS(p->status);
}

// Runs graphx-run ARGS, expecting success; stdout to `out`. The finished
// run, whose stderr proc_err still reads.
static proc_t *
run_ok(const char *cwd, const char *out, const char *const *args)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_BIN));
    args_add(&a, args);
    proc_t *p = start(a.v, cwd, out);
    int code = finish(p);
    cr_assert_eq(code, 0, "%s %s: exit %d, stderr: %s", a.v[1], a.v[2], code,
                 proc_err(p));
    return p;
}

// ---- What the outputs hold ------------------------------------------------------

// A graph with a few components of different sizes, the same every run.
static const char *
graph(void)
{
    gx_test_text_t t = { 0 };
    uint64_t s = 42;
    for (int i = 0; i < 300; i++) {
        uint64_t a = gx_test_xorshift64(&s) % 120, b = gx_test_xorshift64(&s) % 120;
        // Keep 0..39 apart from 40..119, and 200.. as pairs: several components.
        if ((a < 40) != (b < 40))
            b = a < 40 ? b % 40 : 40 + b % 80;
        gx_test_text_add(&t, "%" PRIu64 " %" PRIu64 "\n", a, b);
    }
    for (int i = 0; i < 10; i++)
        gx_test_text_add(&t, "%d %d\n", 200 + 2 * i, 201 + 2 * i);
    const char *path = gx_test_write_tmp("g.txt", t.s);
    free(t.s);
    return path;
}

// The report with its measured figures (times, rates, memory) as '#', so
// two runs of one job read the same.
static char *
normalized(char *s)
{
    static const char *const keys[] = { "\"load\": ", "\"partition\": ",
        "\"compute\": ", "\"total\": ", "\"seconds\": ", "\"load_mb_per_s\": ",
        "\"peak_rss_bytes\": ", "\"peak_accounted_bytes\": ",
        "\"spill_seconds\": " };
    char *out = malloc(strlen(s) + 1), *w = out;
    cr_assert_not_null(out);
    for (const char *r = s; *r;) {
        size_t k = 0;
        while (k < sizeof keys / sizeof *keys && strncmp(r, keys[k], strlen(keys[k])))
            k++;
        if (k == sizeof keys / sizeof *keys || !strchr("0123456789-", r[strlen(keys[k])])) {
            *w++ = *r++;
            continue;
        }
        size_t len = strlen(keys[k]);
        memcpy(w, r, len);
        w += len;
        r += len;
        while (*r && strchr("0123456789.eE+-", *r))
            r++;
        *w++ = '#';
    }
    *w = '\0';
    free(s);
    return out;
}

// -o or --report: the option, and how to compare what it wrote.
typedef struct kind {
    const char *opt;
    bool        report;
} kind_t;

static const kind_t kinds[] = { { "-o", false }, { "--report", true } };

static char *
contents(const kind_t *k, const char *path)
{
    char *s = gx_test_read_file(path, NULL);
    return k->report ? normalized(s) : s;
}

// Runs cc on `in` with the kind's option set to `path`, stdout to `out`,
// in the suite's directory (where "-" would be made as a file).
static proc_t *
run_kind(const kind_t *k, const char *in, const char *path, const char *out)
{
    return run_ok(gx_test_tmpdir(), out,
                  LIST("cc", "-i", in, "--workers", "2", k->opt, path, "-q"));
}

// What the kind's output holds when written to a plain new file.
static char *
reference(const kind_t *k, const char *in)
{
    char path[512];
    KEEP(path, gx_test_tmp_path(k->report ? "ref.json" : "ref.tsv"));
    run_kind(k, in, path, NULL);
    char *s = contents(k, path);
    cr_assert_eq(unlink(path), 0);
    cr_assert_gt(strlen(s), 10, "the reference run wrote too little: '%s'", s);
    return s;
}

static mode_t
mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

// ---- Links ----------------------------------------------------------------------

Test(outputs, a_link_to_a_file_writes_the_file_keeps_the_link_and_the_mode)
{
    const char *in = graph();
    umask(022);
    cr_assert_eq(mkdir(gx_test_tmp_path("links"), 0755), 0);
    cr_assert_eq(mkdir(gx_test_tmp_path("data"), 0755), 0);
    for (size_t i = 0; i < 2; i++) {
        const kind_t *k = &kinds[i];
        char *want = reference(k, in);
        char target[512], link[512], names[512];
        KEEP(target, gx_test_tmp_path(i ? "data/t.json" : "data/t.tsv"));
        KEEP(link, gx_test_tmp_path(i ? "links/l.json" : "links/l.tsv"));
        gx_test_write_bytes(target, "old\n", 4);
        cr_assert_eq(chmod(target, 0640), 0);
        // Relative, so the link's own directory must be the base.
        const char *text = i ? "../data/t.json" : "../data/t.tsv";
        cr_assert_eq(symlink(text, link), 0);
        run_kind(k, in, link, NULL);
        char *got = contents(k, target);
        cr_assert_str_eq(got, want, "%s through a link wrote:\n%s", k->opt, got);
        assert_link(link, text);
        cr_assert_eq(mode_of(target), 0640, "%s: mode %04o", k->opt, mode_of(target));
        // The temporary was beside the target and is gone; nothing by the link.
        list_dir(gx_test_tmp_path("links"), names, sizeof names);
        cr_assert_str_eq(names, i ? "l.json l.tsv" : "l.tsv", "links/: %s", names);
        list_dir(gx_test_tmp_path("data"), names, sizeof names);
        cr_assert_str_eq(names, i ? "t.json t.tsv" : "t.tsv", "data/: %s", names);
        free(got);
        free(want);
    }
}

Test(outputs, a_dangling_link_creates_its_target)
{
    const char *in = graph();
    umask(027);
    cr_assert_eq(mkdir(gx_test_tmp_path("data"), 0755), 0);
    for (size_t i = 0; i < 2; i++) {
        const kind_t *k = &kinds[i];
        char *want = reference(k, in);
        char target[512], link[512];
        KEEP(target, gx_test_tmp_path(i ? "data/new.json" : "data/new.tsv"));
        KEEP(link, gx_test_tmp_path(i ? "l.json" : "l.tsv"));
        cr_assert_eq(symlink(target, link), 0);
        run_kind(k, in, link, NULL);
        char *got = contents(k, target);
        cr_assert_str_eq(got, want, "%s through a dangling link wrote:\n%s", k->opt, got);
        assert_link(link, target);
        cr_assert_eq(mode_of(target), 0640, "%s: a new file got %04o under umask 027",
                     k->opt, mode_of(target));
        free(got);
        free(want);
    }
}

Test(outputs, a_link_to_proc_self_fd_1_writes_standard_output)
{
    const char *in = graph();
    for (size_t i = 0; i < 2; i++) {
        const kind_t *k = &kinds[i];
        char *want = reference(k, in);
        char link[512], cap[512];
        KEEP(link, gx_test_tmp_path(i ? "fd1.json" : "fd1.tsv"));
        KEEP(cap, gx_test_tmp_path("captured"));
        cr_assert_eq(symlink("/proc/self/fd/1", link), 0);
        run_kind(k, in, link, cap);
        char *got = contents(k, cap);
        // --report's summary goes to stderr then: stdout holds the JSON alone.
        cr_assert_str_eq(got, want, "%s to /proc/self/fd/1 wrote:\n%s", k->opt, got);
        assert_link(link, "/proc/self/fd/1");
        free(got);
        // Two hops, as /dev/stdout -> /proc/self/fd/1, which a rename once
        // replaced with a regular file (as root). A copy of ours: a
        // regression must not break the machine's own /dev/stdout.
        char dev[512];
        KEEP(dev, gx_test_tmp_path(i ? "stdout.json" : "stdout.tsv"));
        cr_assert_eq(symlink(link, dev), 0);
        run_kind(k, in, dev, cap);
        got = contents(k, cap);
        cr_assert_str_eq(got, want, "%s via two links wrote:\n%s", k->opt, got);
        assert_link(dev, link);
        assert_link(link, "/proc/self/fd/1");
        free(got);
        free(want);
    }
}

Test(outputs, a_dash_writes_standard_output_exactly_what_a_file_gets)
{
    const char *in = graph();
    proc_t *run = NULL;
    for (size_t i = 0; i < 2; i++) {
        const kind_t *k = &kinds[i];
        char *want = reference(k, in);
        char cap[512];
        KEEP(cap, gx_test_tmp_path("captured"));
        run = run_kind(k, in, "-", cap);
        char *got = contents(k, cap);
        cr_assert_str_eq(got, want, "%s - wrote:\n%s", k->opt, got);
        free(got);
        cr_assert_neq(access(gx_test_tmp_path("-"), F_OK), 0,
                      "%s - made a file named '-'", k->opt);
        free(want);
    }
    // The summary, which stdout would otherwise hold, is on stderr then
    // (the last run's: --report -).
    cr_assert(strstr(proc_err(run), "graphx-run cc on "),
              "no summary on stderr: %s", proc_err(run));
}

// ---- A FIFO -------------------------------------------------------------------------

typedef struct reader {
    const char *path;
    char       *got;
    atomic_bool done;
} reader_t;

static void *
read_fifo(void *arg)
{
    reader_t *r = arg;
    int fd = open(r->path, O_RDONLY);
    gx_test_text_t t = { 0 };
    gx_test_text_add(&t, "%s", "");
    char buf[4096];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
        gx_test_text_add(&t, "%.*s", (int)n, buf);
    if (fd >= 0)
        close(fd);
    r->got = t.s;
    atomic_store(&r->done, true);
    return NULL;
}

Test(outputs, a_fifo_gets_the_output_and_stays_a_fifo)
{
    const char *in = graph();
    for (size_t i = 0; i < 2; i++) {
        const kind_t *k = &kinds[i];
        char *want = reference(k, in);
        char fifo[512];
        KEEP(fifo, gx_test_tmp_path(i ? "p.json" : "p.tsv"));
        cr_assert_eq(mkfifo(fifo, 0600), 0);
        reader_t r = { fifo, NULL, false };
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, read_fifo, &r), 0);
        const char *argv[] = { GX_BIN, "cc", "-i", in, "--workers", "2", k->opt,
                               fifo, "-q", NULL };
        int code = finish(start(argv, NULL, NULL));
        // A run that never opened the FIFO leaves the reader in open() (or
        // on its way there): a writer that comes and goes lets it end.
        double until = gx_test_now() + 5;
        while (!atomic_load(&r.done) && gx_test_now() < until) {
            int w = open(fifo, O_WRONLY | O_NONBLOCK);
            if (w >= 0)
                close(w);
            usleep(1000);
        }
        cr_assert(atomic_load(&r.done), "the FIFO's reader never finished");
        pthread_join(th, NULL);
        cr_assert_eq(code, 0, "%s FIFO: exit %d", k->opt, code);
        char *got = k->report ? normalized(r.got) : r.got;
        cr_assert_str_eq(got, want, "%s to a FIFO wrote:\n%s", k->opt, got);
        struct stat st;
        cr_assert_eq(lstat(fifo, &st), 0);
        cr_assert(S_ISFIFO(st.st_mode), "%s: the FIFO was replaced", k->opt);
        free(got);
        free(want);
    }
}

// ---- Distributed mode with relative paths -----------------------------------------

static int
by_id(const void *a, const void *b)
{
    uint64_t x = strtoull(*(char *const *)a, NULL, 10);
    uint64_t y = strtoull(*(char *const *)b, NULL, 10);
    return (x > y) - (x < y);
}

// Every line of DIR/part-*, ordered by id: what -o would have written.
// Requires DIR/_SUCCESS.
static char *
merged_parts(const char *dir)
{
    char path[600], *lines[4096];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/_SUCCESS", dir);
    cr_assert_eq(access(path, F_OK), 0, "%s: no _SUCCESS", dir);
    for (unsigned p = 0;; p++) {
        snprintf(path, sizeof path, "%s/part-%05u", dir, p);
        if (access(path, F_OK) != 0)
            break;
        char *s = gx_test_read_file(path, NULL), *save = NULL;
        for (char *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            cr_assert_lt(n, 4096);
            lines[n++] = strdup(l);
        }
        free(s);
    }
    qsort(lines, n, sizeof *lines, by_id);
    gx_test_text_t t = { 0 };
    gx_test_text_add(&t, "%s", "");
    for (size_t i = 0; i < n; i++) {
        gx_test_text_add(&t, "%s\n", lines[i]);
        free(lines[i]);
    }
    return t.s;
}

// A graph in DIR "work" and local mode's -o of it, run from there.
static char *
work_and_local(void)
{
    char work[512], g[512];
    KEEP(work, gx_test_tmp_path("work"));
    cr_assert_eq(mkdir(work, 0755), 0);
    KEEP(g, graph());
    snprintf(work + strlen(work), sizeof work - strlen(work), "/g.txt");
    cr_assert_eq(rename(g, work), 0);
    run_ok(gx_test_tmp_path("work"), NULL,
           LIST("cc", "-i", "g.txt", "-o", "local.tsv", "--workers", "2", "-q"));
    return gx_test_read_file(gx_test_tmp_path("work/local.tsv"), NULL);
}

Test(outputs, spawned_workers_take_relative_paths_from_another_directory)
{
    char *want = work_and_local();
    // graphx-run runs in work/ (chdir before exec), the test process elsewhere.
    char work[512];
    KEEP(work, gx_test_tmp_path("work"));
    run_ok(work, NULL, LIST("cc", "-i", "g.txt", "--output-parts", "parts",
                            "--spawn", "2", "-q"));
    char *got = merged_parts(gx_test_tmp_path("work/parts"));
    cr_assert_str_eq(got, want, "--spawn 2 parts:\n%s\nlocal:\n%s", got, want);
    free(got);
    free(want);
}

// Workers whose working directory is "/", as a service's is: a relative
// path the master passed on as it was would not be found there.
Test(outputs, workers_elsewhere_get_the_masters_relative_paths_made_absolute)
{
    char *want = work_and_local();
    char work[512];
    KEEP(work, gx_test_tmp_path("work"));
    endpoint_t ep = endpoint_new();
    const char *margv[] = { GX_BIN, "cc", "-i", "g.txt", "--output-parts", "parts",
                            "--master", ep.s, "--workers", "2", "-q", NULL };
    const char *wargv[] = { GX_WORKER_BIN, "--master", ep.s, "--threads", "1",
                            "--advertise", "127.0.0.1", "-q", NULL };
    proc_t *m = start(margv, work, NULL);
    proc_t *w[2] = { start(wargv, "/", NULL), start(wargv, "/", NULL) };
    int code = finish(m);
    for (int i = 0; i < 2; i++)
        finish(w[i]);
    cr_assert_eq(code, 0, "master: exit %d, stderr: %s\nworkers' stderr: %s%s",
                 code, proc_err(m), proc_err(w[0]), proc_err(w[1]));
    char *got = merged_parts(gx_test_tmp_path("work/parts"));
    cr_assert_str_eq(got, want, "distributed parts:\n%s\nlocal:\n%s", got, want);
    free(got);
    free(want);
}
