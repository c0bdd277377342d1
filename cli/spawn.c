// cli/spawn.c: see spawn.h. The workers are ordinary graphx-worker
// processes talking TCP over loopback: the same code as on a cluster.
#include "cli/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

static void
child(const char *exe, char **argv, const gx_secret_t *secret)
{
    // The workers die with the master (they would in 5 s anyway).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);             // the master may read stdin
        close(null);
    }
    char env[GX_SECRET_MAX + 16];
    snprintf(env, sizeof env, "GRAPHX_SECRET=%.*s", (int)secret->len,
             secret->bytes);
    putenv(env);
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
    char *argv[] = { "graphx-worker", "--master", ep, "--threads", threads,
                     "--advertise", "127.0.0.1", "-q",
                     s->curve ? "--curve" : NULL, NULL };
    if (!(s->pids = calloc(s->n, sizeof *s->pids)))
        return gx_error_set(err, "--spawn: out of memory");
    fflush(NULL);
    for (; s->started < s->n; s->started++) {
        pid_t pid = fork();
        if (pid < 0)
            return gx_error_set(err, "--spawn: cannot start a worker: %s",
                                strerror(errno));
        if (pid == 0)
            child(exe, argv, s->secret);
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
