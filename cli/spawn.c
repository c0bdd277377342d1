// cli/spawn.c: see spawn.h. The workers are ordinary graphx-worker
// processes talking TCP over loopback: the same code as on a cluster.
#define _GNU_SOURCE                 // pipe2, close_range
#include "cli/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int
worker_path(char *out, size_t cap, gx_error_t *err)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 16);
    if (n <= 0)
        return gx_error_set(err, "--spawn: cannot find this executable: %s",
                            strerror(errno));
    out[n] = 0;
    char *slash = strrchr(out, '/');
    snprintf(slash + 1, cap - (size_t)(slash + 1 - out), "graphx-worker");
    if (access(out, X_OK) != 0)
        return gx_error_set(err, "--spawn: %s: %s", out, strerror(errno));
    return 0;
}

// tcp://0.0.0.0:P and tcp://[::]:P are where the master listens, not an
// address to connect to.
static void
connect_endpoint(const char *bound, char *out, size_t cap)
{
    const char *port = strrchr(bound, ':');
    if (strncmp(bound, "tcp://0.0.0.0:", 14) == 0
        || strncmp(bound, "tcp://[::]:", 11) == 0
        || strncmp(bound, "tcp://*:", 8) == 0)
        snprintf(out, cap, "tcp://127.0.0.1%s", port);
    else
        snprintf(out, cap, "%s", bound);
}

// The descriptor a worker reads the secret from (--secret-fd): the first
// after the standard three, so the number on its command line is fixed.
#define SECRET_FD 3

// A pipe holding the secret and nothing else, its write end already
// closed: the worker reads to EOF. <= PIPE_BUF bytes never block here.
static int
secret_pipe(const gx_secret_t *secret, gx_error_t *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return gx_error_set(err, "--spawn: pipe: %s", strerror(errno));
    _Static_assert(GX_SECRET_MAX <= PIPE_BUF, "the secret fits a pipe");
    ssize_t n = write(p[1], secret->bytes, secret->len);
    int e = errno;
    close(p[1]);
    if (n != (ssize_t)secret->len) {
        close(p[0]);
        return gx_error_set(err, "--spawn: pipe: %s",
                            strerror(n < 0 ? e : EIO));
    }
    return p[0];
}

// The secret comes through SECRET_FD, never the environment or the
// command line (/proc/PID/environ and cmdline are what others may read);
// every other descriptor of the master (sockets, the input, -o) is closed.
// Only async-signal-safe calls: the master has threads by now.
static void
child(const char *exe, char **argv, int secret_fd)
{
    // The workers die with the master (they would in 5 s anyway).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);             // the master may read stdin
        close(null);
    }
    if (secret_fd != SECRET_FD && dup2(secret_fd, SECRET_FD) != SECRET_FD)
        _exit(127);
    if (fcntl(SECRET_FD, F_SETFD, 0) != 0)    // dup2 over itself keeps CLOEXEC
        _exit(127);
    struct rlimit nofile;
    if (close_range(SECRET_FD + 1, ~0u, 0) != 0          // before Linux 5.9
        && getrlimit(RLIMIT_NOFILE, &nofile) == 0)
        for (rlim_t fd = SECRET_FD + 1; fd < nofile.rlim_cur; fd++)
            close((int)fd);
    execv(exe, argv);
    _exit(127);
}

int
gx_spawn_start(gx_spawn_t *s, const char *endpoint, gx_error_t *err)
{
    char exe[PATH_MAX], ep[512], threads[24];
    if (worker_path(exe, sizeof exe, err) != 0)
        return -1;
    connect_endpoint(endpoint, ep, sizeof ep);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long t = cores > (long)s->n ? cores / (long)s->n : 1;
    snprintf(threads, sizeof threads, "%ld", t);
    char fd_arg[] = { '0' + SECRET_FD, 0 }, memory[24];
    snprintf(memory, sizeof memory, "%llu", (unsigned long long)s->memory);
    char *argv[16] = { "graphx-worker", "--master", ep, "--threads", threads,
                       "--advertise", "127.0.0.1", "--secret-fd", fd_arg, "-q" };
    size_t n = 10;
    if (s->curve)
        argv[n++] = "--curve";
    if (s->memory) {
        argv[n++] = "--memory";
        argv[n++] = memory;
    }
    if (s->spill_dir) {
        argv[n++] = "--spill-dir";
        argv[n++] = (char *)s->spill_dir;      // execv's argv is not const
    }
    if (!(s->pids = calloc(s->n, sizeof *s->pids)))
        return gx_error_set(err, "--spawn: out of memory");
    fflush(NULL);
    for (; s->started < s->n; s->started++) {
        int fd = secret_pipe(s->secret, err);     // one each: read to EOF
        if (fd < 0)
            return -1;
        pid_t pid = fork();
        if (pid == 0)
            child(exe, argv, fd);
        int e = errno;
        close(fd);
        if (pid < 0)
            return gx_error_set(err, "--spawn: cannot start a worker: %s",
                                strerror(e));
        s->pids[s->started] = pid;
    }
    return 0;
}

void
gx_spawn_reap(gx_spawn_t *s)
{
    struct timespec pause = { 0, 10 * 1000 * 1000 };
    for (int round = 0; round < 1000; round++) {      // ~10 s
        unsigned left = 0;
        for (unsigned i = 0; i < s->started; i++) {
            if (s->pids[i] > 0 && waitpid(s->pids[i], NULL, WNOHANG) == s->pids[i])
                s->pids[i] = 0;
            left += s->pids[i] > 0;
        }
        if (!left)
            break;
        nanosleep(&pause, NULL);
    }
    for (unsigned i = 0; i < s->started; i++)
        if (s->pids[i] > 0) {
            kill(s->pids[i], SIGKILL);
            waitpid(s->pids[i], NULL, 0);
        }
    free(s->pids);
    s->pids = NULL;
    s->started = 0;
}
