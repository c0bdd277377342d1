// tests/test_secrets.c: the secrets suite. How the shared secret of a
// distributed run reaches graphx-run and graphx-worker, end to end: short
// secrets are refused with one line saying how to make one, GRAPHX_SECRET
// is gone from /proc/PID/environ once read, and --spawn's workers get the
// secret through an inherited pipe (--secret-fd), so neither their
// environment nor their command line holds it, and no other descriptor of
// the master reaches them.
//
// Every process started here is in its own group, dies with the test
// (PDEATHSIG) and is killed with its group by the suite's .fini.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testproc.h"
#include "testutil.h"

#define SECRET32 "s3cr3t-of-the-secrets-suite-0032"     // 32 bytes
#define SECRET16 "sixteen-bytes-ok"
#define SECRET15 "fifteen-bytes!!"
#define HOW_TO   "at least 16 are needed (make one with: head -c 32 " \
                 "/dev/urandom | base64 > FILE; chmod 600 FILE)"

static const char *const worker_bin = GX_WORKER_BIN;

static void
setup(void)
{
    gx_test_tmpdir_make("secrets");
    signal(SIGPIPE, SIG_IGN);
}

// ---- Processes (proc_t and its table: testproc.h) -----------------------------

static void
teardown(void)
{
    proc_kill_all();
    gx_test_tmpdir_remove();
}

TestSuite(secrets, .init = setup, .fini = teardown);

// What a child gets besides argv: environment changes ("K=V" sets, "K"
// unsets) and one descriptor to inherit, without close-on-exec, at `fd`.
typedef struct extra {
    const char *const *env;
    int                fd, fd_from;      // fd < 0: none
} extra_t;

typedef struct child {
    const char *const *argv;
    const extra_t     *x;
} child_t;

// In the child, after proc_fork's setup (which applied x->env).
static void
child(const void *arg)
{
    const child_t *c = arg;
    const extra_t *x = c->x;
    // dup2 onto itself would keep close-on-exec.
    if (x && x->fd >= 0 && (x->fd == x->fd_from ? fcntl(x->fd, F_SETFD, 0) != 0
                            : dup2(x->fd_from, x->fd) != x->fd))
        _exit(126);
    execv(c->argv[0], (char *const *)c->argv);
    _exit(127);
}

static proc_t *
start(const char *const *argv, const extra_t *x)
{
    child_t c = { argv, x };
    return proc_fork(child, &c, NULL, x ? x->env : NULL);
}

// p exits with `code` within `secs`, and its stderr is read to EOF: unlike
// proc_expect_exit, this waits for every writer, --spawn's workers too.
static void
expect_exit(proc_t *p, double secs, int code)
{
    double end = gx_test_now() + secs;
    while (!proc_done(p) && gx_test_now() < end)
        usleep(5000);
    cr_assert(p->exited, "pid %d still running after %.0f s: %s", (int)p->pid,
              secs, proc_err(p));
    while (p->err_fd >= 0)                     // --spawn's workers share it
        proc_drain(p);
    cr_assert(WIFEXITED(p->status) && WEXITSTATUS(p->status) == code,
              "pid %d: status 0x%x, not exit %d: %s", (int)p->pid, p->status,
              code, proc_err(p));
}

// Exactly one line on p's stderr: `prefix` then `rest`.
static void
expect_line(proc_t *p, const char *prefix, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof want, "%s%s\n", prefix, rest);
    cr_assert_str_eq(proc_err(p), want);
}

// ---- Runs -------------------------------------------------------------------

static const char *
karate(void)
{
    return GX_DATASETS "/karate.txt";
}

// A free endpoint on 127.0.0.1 into out.
static void
endpoint(char *out, size_t cap)
{
    snprintf(out, cap, "%s", endpoint_new().s);
}

static const char *
secret_file(const char *name, const char *text)
{
    const char *path = gx_test_write_tmp(name, text);
    cr_assert_eq(chmod(path, 0600), 0);
    return path;
}

// graphx-run cc on karate as a master of `workers`, waiting up to 20 s.
static proc_t *
master(const char *ep, const char *workers, const char *file, const extra_t *x)
{
    const char *const *argv = file
        ? LIST(GX_BIN, "cc", "-i", karate(), "-o", gx_test_tmp_path("dist.tsv"),
               "--master", ep, "--workers", workers, "--wait-timeout", "20",
               "--secret-file", file)
        : LIST(GX_BIN, "cc", "-i", karate(), "-o", gx_test_tmp_path("dist.tsv"),
               "--master", ep, "--workers", workers, "--wait-timeout", "20");
    return start(argv, x);
}

static proc_t *
worker(const char *ep, const char *file, const extra_t *x)
{
    const char *const *argv = file
        ? LIST(worker_bin, "--master", ep, "--threads", "1", "--advertise",
               "127.0.0.1", "--wait-timeout", "20", "-q", "--secret-file", file)
        : LIST(worker_bin, "--master", ep, "--threads", "1", "--advertise",
               "127.0.0.1", "--wait-timeout", "20", "-q");
    return start(argv, x);
}

static void
assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = gx_test_read_file(a, &na), *y = gx_test_read_file(b, &nb);
    cr_assert(na > 0 && na == nb && memcmp(x, y, na) == 0, "%s and %s differ",
              a, b);
    free(x);
    free(y);
}

static void
local_cc(const char *out)
{
    proc_t *p = start(LIST(GX_BIN, "cc", "-i", karate(), "-o", out, "-q",
                           "--workers", "2"), NULL);
    expect_exit(p, 30, 0);
}

// ---- /proc ------------------------------------------------------------------

// Whether /proc/PID/WHAT (environ, cmdline: NUL-separated) holds `needle`.
static bool
proc_holds(pid_t pid, const char *what, const char *needle)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
    size_t n;
    char *s = gx_test_read_file(path, &n);
    bool found = memmem(s, n, needle, strlen(needle)) != NULL;
    free(s);
    return found;
}

static bool
comm_is(pid_t pid, const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    size_t n;
    char *s = gx_test_read_file(path, &n);
    bool yes = strncmp(s, name, strlen(name)) == 0 && s[strlen(name)] == '\n';
    free(s);
    return yes;
}

// Waits up to 10 s for p to be `name`: before its exec, /proc shows this
// suite's environment and descriptors, which would prove nothing.
static void
wait_exec(proc_t *p, const char *name)
{
    double end = gx_test_now() + 10;
    while (!comm_is(p->pid, name)) {
        cr_assert(!proc_done(p), "pid %d exited: %s", (int)p->pid, proc_err(p));
        cr_assert_lt(gx_test_now(), end, "pid %d is not %s", (int)p->pid, name);
        usleep(2000);
    }
}

// Waits up to 10 s for GRAPHX_SECRET's value to leave p's environment
// while p runs; fails if it stays (or p exits first).
static void
expect_env_wiped(proc_t *p, const char *name, const char *value)
{
    wait_exec(p, name);
    double end = gx_test_now() + 10;
    while (proc_holds(p->pid, "environ", value)) {
        cr_assert(!proc_done(p), "pid %d exited first: %s", (int)p->pid,
                  proc_err(p));
        cr_assert_lt(gx_test_now(), end, "pid %d: the secret is still in "
                     "/proc/%d/environ", (int)p->pid, (int)p->pid);
        usleep(10000);
    }
    cr_assert(!proc_done(p), "pid %d exited: %s", (int)p->pid, proc_err(p));
    // The environment read was a real one: the rest of it is still there.
    cr_assert(proc_holds(p->pid, "environ", "GX_SECRETS_SUITE=1"));
}

// The children of `parent` that are graphx-worker already (past exec), up
// to `cap`; waits up to 10 s for `cap` of them.
static int
spawned_workers(pid_t parent, pid_t *out, int cap)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "/proc/%d/task/*/children", (int)parent);
    double end = gx_test_now() + 10;
    int n = 0;
    while (n < cap && gx_test_now() < end) {
        glob_t g;
        n = 0;
        if (glob(pattern, 0, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++) {
                FILE *f = fopen(g.gl_pathv[i], "r");
                int pid;
                while (f && n < cap && fscanf(f, "%d", &pid) == 1)
                    if (comm_is(pid, "graphx-worker"))
                        out[n++] = pid;
                if (f)
                    fclose(f);
            }
            globfree(&g);
        }
        if (n < cap)
            usleep(10000);
    }
    return n;
}

// Whether any descriptor of pid is open on `path`.
static bool
has_fd_on(pid_t pid, const char *path)
{
    char pattern[64], link[4096];
    snprintf(pattern, sizeof pattern, "/proc/%d/fd/*", (int)pid);
    glob_t g;
    bool found = false;
    if (glob(pattern, 0, NULL, &g) != 0)
        return false;
    for (size_t i = 0; i < g.gl_pathc && !found; i++) {
        ssize_t n = readlink(g.gl_pathv[i], link, sizeof link - 1);
        found = n > 0 && (link[n] = 0, strcmp(link, path) == 0);
    }
    globfree(&g);
    return found;
}

// ---- Length -----------------------------------------------------------------

Test(secrets, short_file_refused_by_both, .timeout = 30)
{
    const char *s15 = secret_file("s15", SECRET15 "\n");
    char ep[64], rest[512];
    endpoint(ep, sizeof ep);
    snprintf(rest, sizeof rest, "%s: the secret is 15 bytes; " HOW_TO, s15);
    proc_t *m = master(ep, "1", s15, NULL);
    expect_exit(m, 10, 1);
    expect_line(m, "graphx-run cc: ", rest);
    proc_t *w = worker(ep, s15, NULL);
    expect_exit(w, 10, 1);
    expect_line(w, "graphx-worker: ", rest);
}

Test(secrets, short_variable_refused_by_both, .timeout = 30)
{
    extra_t x = { .env = LIST("GRAPHX_SECRET=" SECRET15), .fd = -1 };
    char ep[64];
    endpoint(ep, sizeof ep);
    const char *rest = "GRAPHX_SECRET: the secret is 15 bytes; " HOW_TO;
    proc_t *m = master(ep, "1", NULL, &x);
    expect_exit(m, 10, 1);
    expect_line(m, "graphx-run cc: ", rest);
    proc_t *w = worker(ep, NULL, &x);
    expect_exit(w, 10, 1);
    expect_line(w, "graphx-worker: ", rest);
}

// --secret-fd is held to the same rules, and the worker reads to EOF.
Test(secrets, short_descriptor_refused, .timeout = 30)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    cr_assert_eq(write(p[1], SECRET15 "\n", 16), 16);
    close(p[1]);
    char ep[64];
    endpoint(ep, sizeof ep);
    extra_t x = { .fd = 5, .fd_from = p[0] };
    proc_t *w = start(LIST(worker_bin, "--master", ep, "--secret-fd", "5"), &x);
    close(p[0]);
    expect_exit(w, 10, 1);
    expect_line(w, "graphx-worker: ",
                "--secret-fd 5: the secret is 15 bytes; " HOW_TO);
    proc_t *bad = start(LIST(worker_bin, "--master", ep, "--secret-fd", "900"),
                        NULL);
    expect_exit(bad, 10, 1);
    expect_line(bad, "graphx-worker: ", "--secret-fd 900: Bad file descriptor");
}

// 16 bytes are enough: from a file (with its newline) at the master and
// from GRAPHX_SECRET at the worker, a run as local mode's.
Test(secrets, sixteen_bytes_accepted, .timeout = 60)
{
    local_cc(gx_test_tmp_path("local.tsv"));
    const char *s16 = secret_file("s16", SECRET16 "\n");
    extra_t x = { .env = LIST("GRAPHX_SECRET=" SECRET16), .fd = -1 };
    char ep[64];
    endpoint(ep, sizeof ep);
    proc_t *m = master(ep, "1", s16, NULL);
    proc_t *w = worker(ep, NULL, &x);
    expect_exit(m, 30, 0);
    expect_exit(w, 10, 0);
    assert_same_file(gx_test_tmp_path("local.tsv"),
                     gx_test_tmp_path("dist.tsv"));
}

// ---- The environment --------------------------------------------------------

// A master waiting for a second worker that never comes: both it and the
// registered worker run on with GRAPHX_SECRET's value gone from their
// /proc/PID/environ.
Test(secrets, variable_wiped_from_environ, .timeout = 60)
{
    extra_t x = { .env = LIST("GRAPHX_SECRET=" SECRET32, "GX_SECRETS_SUITE=1"),
                  .fd = -1 };
    char ep[64];
    endpoint(ep, sizeof ep);
    proc_t *m = master(ep, "2", NULL, &x);
    proc_t *w = worker(ep, NULL, &x);
    expect_env_wiped(m, "graphx-run", SECRET32);
    expect_env_wiped(w, "graphx-worker", SECRET32);
}

// ---- --spawn ----------------------------------------------------------------

// --spawn 2 of 3 workers keeps the master (given GRAPHX_SECRET) waiting:
// its workers' environment and command line hold neither the secret nor
// GRAPHX_SECRET=, they were told --secret-fd, and a descriptor the master
// inherited without close-on-exec did not reach them.
Test(secrets, spawned_workers_get_it_by_descriptor, .timeout = 60)
{
    const char *marker = gx_test_write_tmp("marker", "x");
    int mfd = open(marker, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(mfd, 0);
    extra_t x = { .env = LIST("GRAPHX_SECRET=" SECRET32), .fd = 9,
                  .fd_from = mfd };
    proc_t *m = start(LIST(GX_BIN, "cc", "-i", karate(), "-o",
                           gx_test_tmp_path("out.tsv"), "--spawn", "2",
                           "--workers", "3", "--wait-timeout", "20"), &x);
    close(mfd);
    wait_exec(m, "graphx-run");
    pid_t kids[2];
    cr_assert_eq(spawned_workers(m->pid, kids, 2), 2, "no 2 workers: %s",
                 proc_err(m));
    cr_assert(has_fd_on(m->pid, marker), "the master lacks %s", marker);
    for (int i = 0; i < 2; i++) {
        cr_assert(!proc_holds(kids[i], "environ", SECRET32));
        cr_assert(!proc_holds(kids[i], "environ", "GRAPHX_SECRET="));
        cr_assert(!proc_holds(kids[i], "cmdline", SECRET32));
        cr_assert(!proc_holds(kids[i], "cmdline", "GRAPHX_SECRET="));
        cr_assert(proc_holds(kids[i], "cmdline", "--secret-fd"));
        cr_assert(!has_fd_on(kids[i], marker), "pid %d inherited fd 9",
                  (int)kids[i]);
    }
    cr_assert(!proc_done(m), "%s", proc_err(m));
}

// With the secret given by the variable and with none (made at random),
// --spawn 2 gives local mode's output.
Test(secrets, spawn_run_as_local, .timeout = 90)
{
    local_cc(gx_test_tmp_path("local.tsv"));
    extra_t with = { .env = LIST("GRAPHX_SECRET=" SECRET32), .fd = -1 };
    extra_t without = { .env = LIST("GRAPHX_SECRET"), .fd = -1 };
    const extra_t *xs[] = { &with, &without };
    for (int i = 0; i < 2; i++) {
        const char *out = gx_test_tmp_path(i ? "spawn1.tsv" : "spawn0.tsv");
        proc_t *p = start(LIST(GX_BIN, "cc", "-i", karate(), "-o", out, "-q",
                               "--spawn", "2"), xs[i]);
        expect_exit(p, 30, 0);
        assert_same_file(gx_test_tmp_path("local.tsv"), out);
    }
}
