// cli/worker.c: graphx-worker, one worker process of a distributed run.
// It connects to the master, proves the shared secret, takes the run the
// master describes (a built-in program by name, or the plugin whose bytes
// the master ships), runs its share with N threads and exits when the
// master says the run is over: 0 then, 1 on any failure (its own, another
// process's, or the master gone), 2 on a usage error. One run per process:
// a service manager restarts it for the next.
#define _GNU_SOURCE                 // pthread_setattr_default_np
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "algos/algos.h"
#include "cli/plugin.h"
#include "cli/secret.h"
#include "cli/stdfds.h"
#include "core/budget.h"
#include "graphx/graphx.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

typedef struct wopts {
    gx_worker_opts_t w;
    const char      *secret_file;
    int              secret_fd;      // --secret-fd: -1 for none
    uint64_t         memory;         // --memory: bytes, 0 for no cap
    bool             quiet, help, version;
} wopts_t;

static void
help(FILE *out)
{
    fprintf(out,
"usage: graphx-worker --master tcp://HOST:PORT [options]\n"
"\n"
"A worker process of a distributed graphx-run: it registers with the\n"
"master, runs its share of one run, and exits when the run is over.\n"
"\n"
"      --master tcp://HOST:PORT  the master (graphx-run ... --master)\n"
"      --threads N        worker threads (default: the number of cores)\n"
"      --memory SIZE      cap this process's memory (address space, as\n"
"                         ulimit -v) at SIZE bytes (suffix K, M, G, T; at\n"
"                         least 64M: 2 threads, ~6M more per thread); past\n"
"                         it the run fails cleanly, naming this worker\n"
"      --advertise HOST   the name or address other workers reach this one\n"
"                         by (default: the host name)\n"
"      --bind ADDR        the address to listen on for other workers\n"
"                         (default: --advertise's if given, else every\n"
"                         interface; '*' for every interface)\n"
"      --port PORT        the TCP port to listen on for other workers\n"
"                         (default: any free port)\n"
"      --secret-file FILE the shared secret, at least 16 bytes (default: the\n"
"                         GRAPHX_SECRET variable, wiped once read)\n"
"      --secret-fd N      read the secret from inherited descriptor N to its\n"
"                         end, then close it (graphx-run --spawn uses this)\n"
"      --curve            encrypt and authenticate every connection (CURVE);\n"
"                         the master must use --curve too\n"
"      --wait-timeout SEC how long to try to reach the master (default 60)\n"
"  -q, --quiet            say nothing the master reports anyway\n"
"  -h, --help             this help\n"
"  -V, --version          the version\n");
}

__attribute__((format(printf, 1, 2)))
static int
usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "graphx-worker: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'graphx-worker --help')\n");
    return EXIT_USAGE;
}

static int
number(const char *arg, uint64_t max, uint64_t min, unsigned *out)
{
    char *end;
    errno = 0;
    if (!arg || *arg < '0' || *arg > '9')
        return -1;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || *end || v > max || v < min)
        return -1;
    *out = (unsigned)v;
    return 0;
}

enum { O_MASTER = 256, O_THREADS, O_ADVERTISE, O_BIND, O_PORT, O_SECRET,
       O_SECRET_FD,
       O_CURVE, O_WAIT, O_MEMORY };

// 64M, 2G, 1048576: binary units; at least 64 MiB (threads and ZeroMQ
// need that much address space before any graph).
static int
size_arg(const char *arg, uint64_t *out)
{
    return gx_size_parse(arg, out) == 0 && *out >= (64u << 20) ? 0 : -1;
}

static int
take(wopts_t *o, int c, const char *arg)
{
    unsigned v;
    switch (c) {
    case O_MASTER:
        if (strncmp(arg, "tcp://", 6) != 0 || !strchr(arg + 6, ':'))
            return usage("--master needs tcp://HOST:PORT, not '%s'", arg);
        o->w.master = arg;
        return 0;
    case O_THREADS:
        if (number(arg, 4096, 1, &o->w.threads) != 0)
            return usage("--threads must be an integer in 1..4096, not '%s'",
                         arg);
        return 0;
    case O_ADVERTISE:
        if (!*arg || strlen(arg) > 255)
            return usage("--advertise needs a host name, not '%s'", arg);
        o->w.advertise = arg;
        return 0;
    case O_BIND:
        if (!*arg || strlen(arg) > 255)
            return usage("--bind needs an address, not '%s'", arg);
        o->w.bind = arg;
        return 0;
    case O_PORT:
        if (number(arg, 65535, 0, &o->w.port) != 0)
            return usage("--port must be an integer in 0..65535, not '%s'", arg);
        return 0;
    case O_WAIT:
        if (number(arg, 86400, 1, &v) != 0)
            return usage("--wait-timeout must be an integer in 1..86400, not "
                         "'%s'", arg);
        o->w.wait_timeout = v;
        return 0;
    case O_MEMORY:
        if (size_arg(arg, &o->memory) != 0)
            return usage("--memory needs a size of at least 64M (e.g. 512M, "
                         "8G), not '%s'", arg);
        return 0;
    case O_SECRET: o->secret_file = arg; return 0;
    case O_SECRET_FD:
        if (number(arg, INT_MAX, 0, &v) != 0)
            return usage("--secret-fd needs a descriptor number, not '%s'",
                         arg);
        o->secret_fd = (int)v;
        return 0;
    case O_CURVE: o->w.curve = true; return 0;
    case 'q': o->quiet = true; return 0;
    case 'h': o->help = true; return 0;
    case 'V': o->version = true; return 0;
    case ':': return usage("option '%s' needs a value", arg);
    default: return usage("unknown option '%s'", arg);
    }
}

static int
parse(wopts_t *o, int argc, char **argv)
{
    static const struct option longs[] = {
        { "master", required_argument, NULL, O_MASTER },
        { "threads", required_argument, NULL, O_THREADS },
        { "advertise", required_argument, NULL, O_ADVERTISE },
        { "bind", required_argument, NULL, O_BIND },
        { "port", required_argument, NULL, O_PORT },
        { "secret-file", required_argument, NULL, O_SECRET },
        { "secret-fd", required_argument, NULL, O_SECRET_FD },
        { "curve", no_argument, NULL, O_CURVE },
        { "wait-timeout", required_argument, NULL, O_WAIT },
        { "memory", required_argument, NULL, O_MEMORY },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->w.threads = cores > 0 ? (unsigned)cores : 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":qhV", longs, NULL)) != -1) {
        int rc = take(o, c, c == '?' || c == ':' ? argv[optind - 1] : optarg);
        if (rc != 0)
            return rc;
    }
    if (o->help || o->version)
        return 0;
    if (optind < argc)
        return usage("unexpected argument '%s'", argv[optind]);
    if (!o->w.master)
        return usage("missing --master tcp://HOST:PORT");
    if (o->secret_file && o->secret_fd >= 0)
        return usage("--secret-file and --secret-fd: give one");
    return 0;
}

// ---- The program the master names ---------------------------------------------

typedef struct held {
    gx_plugin_t *plugin;
} held_t;

// The shipped bytes into a private file for dlopen, gone once loaded.
static gx_plugin_t *
load_shipped(const gx_run_desc_t *d, gx_error_t *err)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/graphx-plugin-XXXXXX", tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        gx_error_set(err, "cannot store the plugin %s: %s", d->program,
                     strerror(errno));
        return NULL;
    }
    const char *p = d->plugin;
    size_t left = d->plugin_len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    gx_plugin_t *pl = NULL;
    if (close(fd) != 0 || left)
        gx_error_set(err, "cannot store the plugin %s: %s", d->program,
                     strerror(errno));
    else
        pl = gx_plugin_open(path, err);       // err names the file and why
    unlink(path);
    return pl;
}

static int
resolve(const gx_run_desc_t *d, gx_resolved_t *out, gx_error_t *err)
{
    held_t *h = calloc(1, sizeof *h);
    if (!h)
        return gx_error_set(err, "out of memory");
    out->handle = h;
    if (d->plugin) {
        if (!(h->plugin = load_shipped(d, err)))
            return -1;
        out->program = gx_plugin_program(h->plugin);
    } else if (!(out->program = gx_algo_find(d->program))) {
        return gx_error_set(err, "no built-in program '%s' in graphx-worker %s",
                            d->program, GRAPHX_VERSION);
    }
    const gx_program_t *prog = out->program;
    gx_error_t perr = { 0 };
    if (prog->setup && prog->setup(d->params, d->n_params, &out->state,
                                   &perr) != 0) {
        out->program = NULL;                  // no teardown: setup failed
        return gx_error_set(err, "program %s: %s", prog->name, perr.msg);
    }
    return 0;
}

static void
release(gx_resolved_t *r)
{
    held_t *h = r->handle;
    if (r->program && r->program->teardown)
        r->program->teardown(r->state);
    if (h)
        gx_plugin_destroy(&h->plugin);
    free(h);
    r->handle = NULL;
}

// Threads this process does not size itself (libzmq's, CZMQ's, the hub)
// and the main thread, under --memory.
#define SMALL_STACK ((size_t)1 << 20)

// --memory caps address space, where a reservation costs as much as use:
// glibc would reserve 64 MiB per extra malloc arena and every thread
// started without a size would take RLIMIT_STACK (8 MiB), leaving a 64M
// worker too little for even 2 threads. One arena (no slower on
// wiki-Vote), and 1 MiB stacks for those threads, whose frames are small
// (the engine's threads keep their explicit 2 MiB); RLIMIT_STACK says 1
// MiB too, since the engine's start-up check counts libzmq's thread by it.
static int
cap_memory(uint64_t memory)
{
    mallopt(M_ARENA_MAX, 1);
    pthread_attr_t attr;
    struct rlimit st;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    int rc = pthread_attr_setstacksize(&attr, SMALL_STACK) == 0
             && pthread_setattr_default_np(&attr) == 0 ? 0 : -1;
    pthread_attr_destroy(&attr);
    if (rc == 0 && getrlimit(RLIMIT_STACK, &st) == 0
        && st.rlim_cur > SMALL_STACK) {
        st.rlim_cur = SMALL_STACK;
        rc = setrlimit(RLIMIT_STACK, &st);
    }
    struct rlimit as = { memory, memory };
    return rc == 0 ? setrlimit(RLIMIT_AS, &as) : -1;
}

static void
note(const char *what, void *arg)
{
    const wopts_t *o = arg;
    if (!o->quiet)
        fprintf(stderr, "graphx-worker: %s\n", what);
}

int
main(int argc, char **argv)
{
    if (gx_stdfds_open() != 0)
        return EXIT_RUNTIME;
    wopts_t o = { .w = { .resolve = resolve, .release = release, .note = note },
                  .secret_fd = -1 };
    o.w.note_arg = &o;
    int rc = parse(&o, argc, argv);
    if (rc != 0 || o.help || o.version) {
        if (o.help)
            help(stdout);
        else if (o.version)
            printf("graphx-worker %s\n", GRAPHX_VERSION);
        return rc;
    }
    gx_secret_t secret;
    gx_error_t err = { 0 };
    if (o.memory && cap_memory(o.memory) != 0) {
        fprintf(stderr, "graphx-worker: --memory: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    if (gx_secret_load(&secret, o.secret_file, o.secret_fd, &err) != 0) {
        fprintf(stderr, "graphx-worker: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    if (!secret.len)
        return usage("the shared secret is missing: --secret-file FILE, "
                     "--secret-fd N or GRAPHX_SECRET");
    o.w.secret = secret.bytes;
    o.w.secret_len = secret.len;
    rc = gx_worker_serve(&o.w, &err);
    gx_secret_wipe(&secret);
    // -q: what the master reports (it was told, or it stopped us) is not
    // said twice.
    if (rc == -1 || (rc != 0 && !o.quiet))
        fprintf(stderr, "graphx-worker: %s\n", err.msg);
    return rc == 0 ? 0 : EXIT_RUNTIME;
}
