// tests/testproc.c: children, command lines, ports and files for the
// end-to-end suites (see testproc.h). One copy here instead of one per
// suite; each test executable links it, as it does testutil.c.
#define _GNU_SOURCE
#include "testproc.h"
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static proc_t procs[PROC_MAX];
static int    n_procs;

void
proc_kill_all(void)
{
    for (int i = 0; i < n_procs; i++) {
        if (!procs[i].exited) {
            kill(-procs[i].pid, SIGKILL);      // its group: --spawn's workers too
            waitpid(procs[i].pid, NULL, 0);
        }
        if (procs[i].err_fd >= 0)
            close(procs[i].err_fd);
        free(procs[i].err.s);
    }
    n_procs = 0;
}

// In the child, before body: a test that dies must take the child along,
// and a parent already gone (between fork and prctl) means no one would.
static void
child_setup(int err_fd, pid_t parent, const char *in, const char *const *env)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int null = open("/dev/null", O_RDWR);
    int in_fd = in ? open(in, O_RDONLY) : null;
    if (in_fd < 0)
        _exit(126);
    dup2(in_fd, 0);
    dup2(null, 1);
    dup2(err_fd, 2);
    for (; env && *env; env++)
        if (strchr(*env, '='))
            putenv((char *)*env);
        else
            unsetenv(*env);
}

proc_t *
proc_fork(void (*body)(const void *), const void *arg, const char *in,
          const char *const *env)
{
    cr_assert_lt(n_procs, PROC_MAX, "too many processes in one test");
    int fds[2];
    cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t parent = getpid();
    fflush(NULL);                              // or the child writes it again
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        child_setup(fds[1], parent, in, env);
        body(arg);
        _exit(127);
    }
    setpgid(pid, pid);                         // both sides: no race on kill
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    proc_t *p = &procs[n_procs++];
    *p = (proc_t){ .pid = pid, .err_fd = fds[0] };
    return p;
}

static void
exec_body(const void *argv)
{
    execv(((char *const *)argv)[0], (char *const *)argv);
    _exit(127);
}

proc_t *
proc_start(const char *const *argv, const char *const *env)
{
    return proc_fork(exec_body, argv, NULL, env);
}

proc_t *
proc_start_in(const char *const *argv, const char *in)
{
    return proc_fork(exec_body, argv, in, NULL);
}

void
proc_drain(proc_t *p)
{
    char buf[4096];
    ssize_t n;
    while (p->err_fd >= 0 && (n = read(p->err_fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return;                            // EAGAIN: nothing more yet
        gx_test_text_add(&p->err, "%.*s", (int)n, buf);
    }
    if (p->err_fd >= 0) {                      // EOF
        close(p->err_fd);
        p->err_fd = -1;
    }
}

const char *
proc_err(proc_t *p)
{
    proc_drain(p);
    return p->err.s ? p->err.s : "";
}

bool
proc_done(proc_t *p)
{
    proc_drain(p);
    if (!p->exited && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
        p->exited = true;
    return p->exited;
}

bool
proc_wait(proc_t *p, double secs)
{
    double end = gx_test_now() + secs;
    while (!p->exited) {
        proc_drain(p);                         // a full pipe would block it
        pid_t w = waitpid(p->pid, &p->status, WNOHANG);
        cr_assert(w >= 0 || errno == EINTR, "waitpid: %s", strerror(errno));
        if (w == p->pid)
            p->exited = true;
        else if (gx_test_now() >= end)
            return false;
        else
            usleep(5000);
    }
    proc_drain(p);
    return true;
}

bool
proc_wait_text(proc_t *p, const char *needle, double secs)
{
    double end = gx_test_now() + secs;
    while (!strstr(proc_err(p), needle)) {
        if (gx_test_now() >= end || (proc_done(p) && p->err_fd < 0))
            return false;
        usleep(10000);
    }
    return true;
}

void
proc_expect_exit(proc_t *p, double secs, int code)
{
    cr_assert(proc_wait(p, secs), "pid %d still running after %.1f s; "
              "stderr: %s", (int)p->pid, secs, proc_err(p));
    cr_assert(WIFEXITED(p->status), "pid %d killed by signal %d; stderr: %s",
              (int)p->pid, WTERMSIG(p->status), proc_err(p));
    int got = WEXITSTATUS(p->status);
    cr_assert(code < 0 ? got != 0 : got == code, "pid %d: exit %d, not %s%d; "
              "stderr: %s", (int)p->pid, got, code < 0 ? "non-zero " : "",
              code < 0 ? 0 : code, proc_err(p));
}

void
proc_expect_err(proc_t *p, const char *needle)
{
    cr_assert(strstr(proc_err(p), needle), "stderr of pid %d lacks '%s': %s",
              (int)p->pid, needle, proc_err(p));
}

void
args_add(args_t *a, const char *const *list)
{
    for (; list && *list; list++) {
        cr_assert_lt(a->n, 63);                // and room for the NULL
        a->v[a->n++] = *list;
        a->v[a->n] = NULL;
    }
}

// Formats one argument into the pool and adds it.
void
args_fmt(args_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = a->pool + a->used;
    int k = vsnprintf(s, sizeof a->pool - a->used, fmt, ap);
    va_end(ap);
    cr_assert(k >= 0 && (size_t)k < sizeof a->pool - a->used);
    a->used += (size_t)k + 1;
    args_add(a, LIST(s));
}

unsigned
gx_test_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    cr_assert(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof sa) == 0
              && getsockname(s, (struct sockaddr *)&sa, &len) == 0,
              "binding 127.0.0.1:0: %s", strerror(errno));
    close(s);
    return ntohs(sa.sin_port);
}

endpoint_t
endpoint_at(unsigned port)
{
    endpoint_t e = { .port = port };
    snprintf(e.s, sizeof e.s, "tcp://127.0.0.1:%u", port);
    return e;
}

endpoint_t
endpoint_new(void)
{
    return endpoint_at(gx_test_free_port());
}

proc_t *
proc_start_master(const endpoint_t *ep, unsigned workers, const char *secret,
                  const char *const *cmd, const char *const *extra,
                  const char *const *env)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_BIN));
    args_add(&a, cmd);
    args_add(&a, LIST("--master", ep->s, "--workers"));
    args_fmt(&a, "%u", workers);
    if (secret)
        args_add(&a, LIST("--secret-file", secret));
    args_add(&a, extra);
    return proc_start(a.v, env);
}

bool
gx_test_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *
gx_test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    gx_test_text_t t = { 0 };
    gx_test_text_add(&t, "%s", "");
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        // %.*s stops at a NUL: binary files (/proc/PID/environ) grow by hand.
        if (t.n + n + 1 > t.cap) {
            t.cap = (t.n + n + 1) * 2;
            t.s = realloc(t.s, t.cap);
            cr_assert_not_null(t.s);
        }
        memcpy(t.s + t.n, buf, n);
        t.n += n;
        t.s[t.n] = 0;
    }
    fclose(f);
    if (len)
        *len = t.n;
    return t.s;
}

char *
gx_test_read_file(const char *path, size_t *len)
{
    char *s = gx_test_slurp(path, len);
    cr_assert_not_null(s, "%s: %s", path, strerror(errno));
    return s;
}

void
gx_test_assert_same_bytes(const char *want_path, const char *got_path)
{
    size_t wn, gn;
    char *want = gx_test_slurp(want_path, &wn);
    char *got = gx_test_slurp(got_path, &gn);
    cr_assert_not_null(want, "%s is missing", want_path);
    cr_assert_not_null(got, "%s is missing", got_path);
    cr_assert_gt(wn, 0, "%s is empty", want_path);
    cr_assert(wn == gn && memcmp(want, got, wn) == 0,
              "%s (%zu bytes) differs from %s (%zu bytes)", got_path, gn,
              want_path, wn);
    free(want);
    free(got);
}
