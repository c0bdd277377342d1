// cli/worker.c: graphx-worker, one worker process of a distributed run.
// It connects to the master, proves the shared secret, takes the run the
// master describes (a built-in program by name, or the plugin whose bytes
// the master ships), runs its share with N threads and exits when the
// master says the run is over: 0 then, 1 on any failure (its own, another
// process's, the master gone, or SIGINT, SIGTERM or SIGHUP), 2 on a usage
// error. One run per process: a service manager restarts it for the next.
// Its --memory is its own budget, as graphx-run's is in local mode: over
// it the engine pages to --spill-dir (docs/design.md, "Out of core").
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
"      --memory SIZE      this process's memory budget (512M, 8G; at least\n"
"                         16M; default 90%% of the smaller of RAM and the\n"
"                         cgroup limit): over it, this worker pages its\n"
"                         partitions' edges out to --spill-dir. Its own,\n"
"                         whatever the master's --memory\n"
"      --spill-dir DIR    where paged-out data goes (default $TMPDIR, /tmp)\n"
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
       O_CURVE, O_WAIT, O_MEMORY, O_SPILL_DIR };

// The smallest budget taken, as graphx-run's --memory (cli/opts.c): below
// it the engine's fixed buffers alone would not fit.
#define MEMORY_MIN ((uint64_t)16 << 20)

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
        if (gx_size_parse(arg, &o->w.memory) != 0 || o->w.memory < MEMORY_MIN)
            return usage("--memory needs a size of at least 16M (e.g. 512M, "
                         "8G), not '%s'", arg);
        return 0;
    case O_SPILL_DIR:
        if (!*arg)
            return usage("--spill-dir needs a directory, not ''");
        o->w.spill_dir = arg;
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
        { "spill-dir", required_argument, NULL, O_SPILL_DIR },
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

// SIGINT, SIGTERM and SIGHUP end the run as a failure: the hub (or the
// wait for the master) sees the flag within 200 ms, tells the master why,
// and the run winds down the usual way, which closes the spill store (its
// names are already gone: docs/design.md, "The spill store"). A signal
// that was ignored when this process started (nohup's SIGHUP) stays so.
static void
on_stop_signal(int signo)
{
    gx_interrupt(signo);
}

static void
catch_stop_signals(void)
{
    static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa = { .sa_handler = on_stop_signal };
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        struct sigaction old;
        if (sigaction(stops[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(stops[i], &sa, NULL);
    }
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
    catch_stop_signals();
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
    // said twice; a signal's end is always said here, where it was sent.
    if (rc == -1 || (rc != 0 && (!o.quiet || err.code == GX_E_INTERRUPTED)))
        fprintf(stderr, "graphx-worker: %s\n", err.msg);
    return rc == 0 ? 0 : EXIT_RUNTIME;
}
