// core/launch.c: one process's share of a run. The master runs in the
// calling thread and each worker in a thread of its own; they meet only
// through ZeroMQ sockets on inproc:// endpoints of a context the run
// owns, so several runs can share a process and the same code serves a
// distributed run, where a hub (core/hub.c) stands in for the threads of
// other processes. What a run will need from the system (descriptors,
// address space, a thread for libzmq) is checked before the first socket
// exists, because libzmq aborts where we would report.
#define _GNU_SOURCE
#include "core/launch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "core/fault.h"
#include "core/hub.h"
#include "core/budget.h"
#include "core/mem.h"
#include "core/transport.h"

// A worker thread's stack. Its frames are small (the biggest buffer on it
// is 64 KiB); an explicit size keeps W threads from reserving W times the
// 8 MiB default, which is what `ulimit -v` counts.
#define WORKER_STACK ((size_t)2 << 20)

static unsigned
open_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 16;                   // no /proc: a guess, on the safe side
    while (readdir(d))
        n++;
    closedir(d);
    return n;                        // "." and "..", and the DIR's own fd,
                                     // more than pay for rounding
}

// Descriptors: a socket of a run holds one (its mailbox) and the context
// three; each worker reads its split through one more. Counted against
// what is free now, not against the limit alone.
static int
check_fds(uint32_t workers, gx_error_t *err)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    uint64_t need = 4ull * workers + 1 + 3, used = open_fds();
    if (used + need > rl.rlim_cur)
        return gx_error_set(err, "%u workers need %llu file descriptors and "
                            "%llu are free (ulimit -n is %llu)", workers,
                            (unsigned long long)need,
                            (unsigned long long)(rl.rlim_cur > used
                                                 ? rl.rlim_cur - used : 0),
                            (unsigned long long)rl.rlim_cur);
    return 0;
}

// ---- Address space (docs/design.md, "Memory", "Address space") ------------
//
// `ulimit -v` counts what is reserved, not what is touched, and libzmq
// aborts when one of its allocations fails. So the process's reservations
// are bounded first (one malloc arena, small stacks for threads we do not
// size), then a run is counted before anything starts: it fits, or it is
// refused with the figure it needed. The count depends on the workers and
// the input only, never on the limit, so a larger limit never refuses what
// a smaller one accepted.

// Threads the engine does not size itself: libzmq's reaper (one per
// context), the hub's, CZMQ's. Their frames are small.
// Per worker thread beyond its stack: three sockets with their mailboxes
// and its share of the engine's small arrays (measured: under 0.5 MiB).
#define WORKER_EXTRA ((size_t)1 << 20)
// One inproc connection: a pipe pair, two queues of 256-message chunks,
// each keeping a spare (measured: about 55 KiB each, 128 workers all to all).
#define CONN_BYTES ((size_t)64 << 10)
// The run as a whole: libzmq's reserve (core/mem.c), two library threads,
// frames in flight, and the least the graph's budget may be.
#define RUN_FIXED ((uint64_t)(16 + 2 * 1 + 32) << 20)
#define DATA_FLOOR ((uint64_t)16 << 20)

static uint64_t
vm_size(void)
{
    uint64_t used = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long long pages;
        if (fscanf(f, "%llu", &pages) == 1)
            used = pages * (uint64_t)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    return used;
}

// The most vertices a plain input can name: an edge line takes at least
// 4 bytes ("a b\n"), a vertex line 2; 0 when unknown (gzip, stdin).
static uint64_t
max_vertices(const gx_engine_t *e)
{
    if (!e->input || !gx_input_splittable(e->input))
        return 0;
    uint64_t v = 2 * (gx_input_bytes(e->input) / 4 + 1);
    if (e->vinput)
        v = gx_input_splittable(e->vinput)
            ? v + gx_input_bytes(e->vinput) / 2 + 1 : 0;
    return v;
}

// A reader's window: its split and a line, between 64 KiB and the default.
static size_t
max_window(const gx_engine_t *e)
{
    if (!e->input || !gx_input_splittable(e->input) || e->vinput)
        return GX_LOADER_BUFSIZE;
    uint64_t w = gx_input_bytes(e->input) / (e->n_here ? e->n_here : 1);
    w = (w + ((size_t)64 << 10)) & ~(uint64_t)0xffff;
    return w < GX_LOADER_BUFSIZE ? (size_t)w : GX_LOADER_BUFSIZE;
}

// Bytes of address space this process's share of the run reserves beyond
// what it holds now: worker stacks and sockets, one connection per pair of
// threads that may talk (all pairs, unless the input names fewer vertices
// than there are workers), the readers' windows, the hub's stand-ins for
// remote threads, and the run's fixed part. Not the graph: that is the
// budget's, capped below to what is left.
static uint64_t
run_needs(const gx_engine_t *e, bool distributed)
{
    uint64_t W = e->n_here, all = e->n_workers, v = max_vertices(e);
    uint64_t peers = v && v < all ? v : all;
    uint64_t conns = W * peers + W + (distributed ? 2 * all : 0);
    uint64_t readers = e->input && gx_input_splittable(e->input) ? W : 1;
    return W * (WORKER_STACK + WORKER_EXTRA + (uint64_t)sysconf(_SC_PAGESIZE))
           + conns * CONN_BYTES + readers * max_window(e)
           + 2 * (gx_process_lib_stack() - GX_LIB_STACK) + RUN_FIXED + DATA_FLOOR;
}

// Refuses a run the limit cannot hold, in one line with both figures; else
// caps the budget to what is left (less a quarter for what the allocator
// keeps beyond what it hands out), so that the graph spills rather than
// running out, and sizes the readers' windows to match.
static int
check_address_space(gx_engine_t *e, bool distributed, gx_error_t *err)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        uint64_t need = vm_size() + run_needs(e, distributed);
        char who[32] = "the master";
        if (e->n_here)
            snprintf(who, sizeof who, "%u worker%s", e->n_here,
                     e->n_here == 1 ? "" : "s");
        if (need > rl.rlim_cur)
            return gx_error_set(err, "%s need%s about %llu MiB of address "
                                "space; ulimit -v allows %llu MiB (use fewer "
                                "--workers or raise the limit)", who,
                                e->n_here == 1 || !e->n_here ? "s" : "",
                                (unsigned long long)
                                ((need + (1u << 20) - 1) >> 20),
                                (unsigned long long)(rl.rlim_cur >> 20));
        uint64_t room = (rl.rlim_cur - need + DATA_FLOOR) / 4 * 3;
        if (room < e->budget) {
            e->budget = room;
            gx_acct_set_budget(room);
        }
    }
    size_t win = gx_acct_scaled(GX_LOADER_BUFSIZE, (size_t)64 << 10,
                                e->n_here);
    size_t most = max_window(e);
    win = win < most ? win : most;
    if (e->input)
        gx_input_set_window(e->input, win);
    if (e->vinput)
        gx_input_set_window(e->vinput, win);
    return 0;
}

// The first failure of the run: the cause, not its echoes.
static const gx_failure_t *
first_failure(const gx_failure_t *master, const gx_failure_t *hub,
              const gx_worker_arg_t *args, uint32_t n)
{
    const gx_failure_t *first = master->seq ? master : NULL;
    if (hub && (!first || hub->seq < first->seq))
        first = hub;
    for (uint32_t w = 0; w < n; w++)
        if (args[w].failure.seq
            && (!first || args[w].failure.seq < first->seq))
            first = &args[w].failure;
    return first;
}

// Makes sure a thread can be created right now, then lets it go: libzmq
// starts its reaper thread with the first socket and aborts if it cannot,
// so the slot (ulimit -u) is tested just before.
static void *
nothing(void *arg)
{
    return arg;
}

static int
probe_thread(gx_error_t *err)
{
    pthread_t t;
    int rc = gx_fault_hit(GX_FAULT_THREAD) ? EAGAIN
             : pthread_create(&t, NULL, nothing, NULL);
    if (rc != 0)
        return gx_error_set(err, "engine: cannot start a thread: %s (see "
                            "ulimit -u)", strerror(rc));
    pthread_join(t, NULL);
    return 0;
}

static int
start_worker(gx_engine_t *e, gx_worker_arg_t *a, pthread_t *t)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setstacksize(&attr, WORKER_STACK);
        rc = gx_fault_hit(GX_FAULT_THREAD) ? EAGAIN
             : pthread_create(t, &attr, gx_worker_main, a);
        pthread_attr_destroy(&attr);
    }
    // EAGAIN is a thread slot (ulimit -u) or, past the pre-check's
    // count, its stack (ulimit -v): both are named when both are set.
    struct rlimit as;
    bool capped = getrlimit(RLIMIT_AS, &as) == 0
                  && as.rlim_cur != RLIM_INFINITY;
    if (rc != 0)
        gx_engine_fail(e, &a->failure, "engine: cannot start worker thread "
                       "%u of %u: %s (see ulimit -u%s)", a->index + 1,
                       e->n_workers, strerror(rc), capped ? " and -v" : "");
    return rc;
}

// The master's ROUTER, where the master runs; then the hub (distributed
// mode), which binds stand-ins for the threads of other processes before
// any thread of this one starts.
static void *
start_sockets(gx_engine_t *e, gx_link_t *link, gx_hub_t **hub,
              gx_failure_t *mfail)
{
    void *router = NULL;
    if (probe_thread(&mfail->err) != 0)
        return NULL;
    if (e->has_master) {
        router = gx_socket_new(e->zctx, ZMQ_ROUTER, NULL, &mfail->err);
        if (router && zmq_bind(router, e->master_ep) != 0) {
            gx_error_set(&mfail->err, "engine: cannot bind %s: %s",
                         e->master_ep, zmq_strerror(errno));
            gx_socket_close(&router);
            return NULL;
        }
    }
    if (link && gx_hub_start(e, link, hub, &mfail->err) != 0)
        gx_socket_close(&router);
    return router;
}

// The master in this thread (if it runs here), this process's workers in
// theirs, all on the run's own ZeroMQ context. Whatever fails shuts the
// context down, which wakes every thread; they are joined, and the first
// failure is the run's error.
static int
run_threads(gx_engine_t *e, gx_link_t *link, gx_result_t *res,
            gx_error_t *err)
{
    uint32_t n = e->n_here, started = 0;
    gx_failure_t mfail = { .seq = 0 };
    pthread_t *threads = gx_calloc(n ? n : 1, sizeof *threads);
    gx_worker_arg_t *args = gx_calloc(n ? n : 1, sizeof *args);
    gx_hub_t *hub = NULL;
    void *router = NULL;
    if (!threads || !args)
        gx_error_set(&mfail.err, "engine: out of memory");
    else
        router = start_sockets(e, link, &hub, &mfail);
    if (mfail.err.msg[0]) {
        mfail.seq = 1;
    } else {
        for (; started < n; started++) {
            args[started] = (gx_worker_arg_t){ .engine = e,
                                               .index = e->first + started };
            if (start_worker(e, &args[started], &threads[started]) != 0)
                break;
        }
        if (started == n && e->has_master)
            gx_master_run(e, router, res, &mfail);
    }
    for (uint32_t w = 0; w < started; w++)
        pthread_join(threads[w], NULL);
    gx_hub_finish(hub, atomic_load(&e->fail_seq) == 0 && !mfail.seq);
    gx_socket_close(&router);
    // A worker that could not start left its failure in its own slot,
    // args[started], one past the last thread to join.
    const gx_failure_t *first = first_failure(&mfail, gx_hub_failure(hub), args,
                                              args ? started + (started < n) : 0);
    int rc = 0;
    if (first)
        rc = gx_error_setc(err, first->err.code, "%s", first->err.msg);
    gx_hub_destroy(&hub);
    gx_free(threads);
    gx_free(args);
    return rc;
}

// An input, or, when it is the one the master streams to this process
// (`stream`, not "-"), that stream: read from stream_fd (-1 in a process
// that does not read it), named by its path. Its memory and its readers'
// is the engine's, counted (loaders/loader.h says why it is handed down);
// a reader's window shrinks under a small budget as the worker's fixed
// buffers do, never below 64 KiB.
static gx_input_t *
open_input(const gx_engine_t *e, const char *path, const char *stream,
           int stream_fd, gx_error_t *err)
{
    gx_loader_mem_t mem = {
        .alloc = gx_malloc, .resize = gx_realloc, .release = gx_free,
        .window = gx_acct_scaled(GX_LOADER_BUFSIZE, (size_t)64 << 10,
                                 e->n_here) };
    if (stream && path == stream && strcmp(path, "-") != 0)
        return gx_input_open_stream(path, stream_fd, &mem, err);
    return gx_input_open(path, &mem, err);
}

int
gx_open_inputs(gx_engine_t *e, const gx_job_t *job, const char *stream,
            int stream_fd, gx_error_t *err)
{
    e->input = open_input(e, job->input, stream, stream_fd, err);
    if (!e->input)
        return -1;
    if (job->vertices) {
        e->vinput = open_input(e, job->vertices, stream, stream_fd, err);
        if (!e->vinput)
            return -1;
    }
    return 0;
}

// This process's memory budget: the job's, or the default (core/budget.h),
// handed to the accountant that the paging decides by.
static int
set_budget(gx_engine_t *e, const gx_job_t *job, gx_error_t *err)
{
    gx_budget_t b;
    if (job->memory)
        e->budget = job->memory;
    else if (gx_budget_detect("/", &b, err) == 0)
        e->budget = b.bytes;
    else
        return -1;
    gx_acct_set_budget(e->budget);
    return 0;
}

// Bytes of input text an edge takes at least, as the partition count is
// estimated (RMAT-20's lines take 14), and a gzip file's ratio.
#define TEXT_PER_EDGE   10u
#define GZIP_RATIO      4u
// Bytes a partition holds an edge while built: its pair, then the CSR by
// destination, the one by source for a program that walks both ways.
#define BUILT_PER_EDGE  16u
#define PICK_MAX        4096u

// Out of core, in local mode with no --partitions: when the input's
// edges, built, would not fit in half the budget, enough partitions that
// one of them fits in its thread's working share (a quarter of the budget
// over the threads), as a multiple of the workers. The estimate reads the
// input's size, so standard input is not guessed at. docs/design.md,
// "Out of core".
static void
pick_partitions(gx_engine_t *e, const gx_job_t *job)
{
    uint64_t bytes = gx_input_bytes(e->input);
    if (job->partitions || !e->has_master || e->n_here < e->n_workers
        || !e->budget || bytes == 0)
        return;
    if (!gx_input_splittable(e->input))
        bytes *= GZIP_RATIO;
    uint64_t edges = bytes / TEXT_PER_EDGE * (job->undirected ? 2 : 1);
    uint64_t need = edges * BUILT_PER_EDGE;
    uint64_t share = e->budget / 4 / (e->n_here ? e->n_here : 1);
    if (need <= e->budget / 2 || share == 0)
        return;
    uint64_t W = e->n_workers, p = (need + share - 1) / share;
    p = (p + W - 1) / W * W;
    if (p > PICK_MAX)
        p = PICK_MAX / W * W;
    if (p > e->n_parts) {
        e->n_parts = (uint32_t)p;
        e->parts_picked = true;
    }
}

// The engine of one process: its endpoints, partitioner and inputs.
int
gx_engine_init(gx_engine_t *e, const gx_job_t *job, uint32_t W,
            const char *stream, int stream_fd, gx_error_t *err)
{
    gx_process_tune();
    e->job = job;
    e->prog = job->program;
    e->n_workers = W;
    e->n_parts = job->partitions ? job->partitions : W;
    atomic_init(&e->where, GX_WHERE_LOAD);
    pthread_mutex_init(&e->first_lock, NULL);
    static atomic_uint run_seq;
    unsigned seq = atomic_fetch_add(&run_seq, 1);
    snprintf(e->master_ep, sizeof e->master_ep, "inproc://graphx-%d-%u-master",
             (int)getpid(), seq);
    snprintf(e->worker_ep, sizeof e->worker_ep, "inproc://graphx-%d-%u-w",
             (int)getpid(), seq);
    // Partition ids travel in 31 bits (the top one flags sending replicas).
    if (e->n_parts > GX_PLACE_MAX_P || W > GX_MAX_WORKERS)
        return gx_error_set(err, "at most 2^24 partitions and %u workers",
                            GX_MAX_WORKERS);
    if (set_budget(e, job, err) != 0
        || gx_spill_init(&e->spill, job->spill_dir, err) != 0)
        return -1;
    e->spill_ready = true;
    if (gx_open_inputs(e, job, stream, stream_fd, err) != 0)
        return -1;
    pick_partitions(e, job);
    gx_partitioner_init(&e->parter, job->strategy, e->n_parts);
    // Another process holds the master or some of the workers: a hub.
    return check_address_space(e, e->n_here < W || !e->has_master, err);
}

// Checks, then the context, then the threads. `link`: distributed mode.
int
gx_engine_run(gx_engine_t *e, gx_link_t *link, gx_result_t *res, gx_error_t *err)
{
    int rc = -1;
    uint32_t here = e->n_here + (e->has_master ? 1 : 0);
    uint32_t sockets = 3 * e->n_here + 8 + (link ? e->n_workers + 8 : 0);
    if (check_fds(here, err) != 0) {
        // refused before anything started
    } else if (gx_mem_reserve() != 0) {
        gx_error_set(err, "engine: out of memory");
    } else if (!(e->zctx = zmq_ctx_new())) {
        gx_error_set(err, "engine: cannot create a ZeroMQ context: %s",
                     zmq_strerror(errno));
    } else {
        // inproc needs no I/O thread; the socket cap is what the run uses.
        zmq_ctx_set(e->zctx, ZMQ_IO_THREADS, 0);
        zmq_ctx_set(e->zctx, ZMQ_MAX_SOCKETS, (int)sockets);
        rc = run_threads(e, link, res, err);
        zmq_ctx_term(e->zctx);
    }
    gx_spill_stats_t ss;
    gx_spill_stats(&e->spill, &ss);
    res->budget = e->budget;
    res->peak_accounted = gx_acct_peak();
    res->spilled_bytes = ss.bytes_put;
    res->read_back_bytes = ss.bytes_got;
    res->spill_seconds = ss.seconds;
    return rc;
}

void
gx_engine_free(gx_engine_t *e)
{
    if (e->spill_ready)
        gx_spill_fini(&e->spill);
    gx_input_destroy(&e->input);
    gx_input_destroy(&e->vinput);
    pthread_mutex_destroy(&e->first_lock);
}
