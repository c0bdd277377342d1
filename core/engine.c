// core/engine.c: gx_run in local mode. The master runs in the calling
// thread and each worker in a thread of its own; they meet only through
// ZeroMQ sockets on inproc:// endpoints unique to the run, so several runs
// can share a process and the same code serves tcp:// between machines.
#include "core/engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "core/agg.h"
#include "core/transport.h"

static pthread_once_t zsys_once = PTHREAD_ONCE_INIT;

static void
zsys_quiet(void)
{
    // CZMQ would install SIGINT/SIGTERM handlers of its own; a library
    // must leave the process's signals alone. The socket cap (1024 by
    // default) is raised to what the system allows, and checked per run.
    zsys_handler_set(NULL);
    zsys_set_max_sockets(0);
}

// A run takes three sockets a worker and one for the master, each with a
// file descriptor. CZMQ aborts the process when it cannot make a socket,
// so the limits are checked before the first one.
static int
check_socket_budget(uint32_t workers, gx_error_t *err)
{
    uint64_t need = 3ull * workers + 1;
    uint64_t cap = zsys_socket_limit();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && rl.rlim_cur < cap + 64)
        cap = rl.rlim_cur > 64 ? rl.rlim_cur - 64 : 0;
    if (need > cap)
        return gx_error_set(err, "%u workers need %llu sockets; this system "
                            "allows %llu (see ulimit -n)", workers,
                            (unsigned long long)need, (unsigned long long)cap);
    return 0;
}

static int
check_program(const gx_program_t *p, gx_error_t *err)
{
    if (!p)
        return gx_error_set(err, "no vertex program given");
    if (p->abi_version != GX_PROGRAM_ABI_VERSION)
        return gx_error_set(err, "program %s: ABI version %u, this engine "
                            "speaks %u", p->name ? p->name : "?",
                            p->abi_version, GX_PROGRAM_ABI_VERSION);
    const char *name = p->name ? p->name : "?";
    if (p->value_size == 0 || p->value_size > GX_MAX_VALUE_SIZE
        || p->msg_size == 0 || p->msg_size > GX_MAX_MSG_SIZE)
        return gx_error_set(err, "program %s: value size %u / message size "
                            "%u out of range (1..%u / 1..%u)", name,
                            p->value_size, p->msg_size, GX_MAX_VALUE_SIZE,
                            GX_MAX_MSG_SIZE);
    if (!p->init || !p->scatter || !p->apply || !p->format)
        return gx_error_set(err, "program %s: init, scatter, apply and format "
                            "are required", name);
    if (p->direction < GX_DIR_OUT || p->direction > GX_DIR_BOTH)
        return gx_error_set(err, "program %s: bad direction %d", name,
                            (int)p->direction);
    if (p->combiner == GX_COMBINE_CUSTOM ? !p->combine
        : (p->combiner > GX_COMBINE_MAX_U64 || p->msg_size != 8))
        return gx_error_set(err, "program %s: a built-in combiner needs an "
                            "8-byte message, a custom one a combine()", name);
    if (p->n_aggs > GX_MAX_AGGS || gx_agg_validate(p->agg_ops, p->n_aggs) >= 0)
        return gx_error_set(err, "program %s: bad aggregators", name);
    return 0;
}

int
gx_run(const gx_job_t *job, gx_result_t *res, gx_error_t *err)
{
    memset(res, 0, sizeof *res);
    if (check_program(job->program, err) != 0)
        return -1;
    if (job->workers == 0)
        return gx_error_set(err, "the number of workers must be at least 1");
    // Partition ids travel in 31 bits (the top one flags sending replicas).
    if (job->partitions > (1u << 24) || job->workers > (1u << 16))
        return gx_error_set(err, "at most 2^24 partitions and 2^16 workers");
    gx_engine_t e = { .job = job, .prog = job->program,
                      .n_workers = job->workers,
                      .n_parts = job->partitions ? job->partitions
                                                 : job->workers };
    gx_partitioner_init(&e.parter, job->strategy, e.n_parts);
    e.input = gx_input_open(job->input, err);
    if (!e.input)
        return -1;
    if (job->vertices) {
        e.vinput = gx_input_open(job->vertices, err);
        if (!e.vinput) {
            gx_input_destroy(&e.input);
            return -1;
        }
    }
    static atomic_uint run_seq;
    unsigned seq = atomic_fetch_add(&run_seq, 1);
    snprintf(e.master_ep, sizeof e.master_ep, "@inproc://graphx-%d-%u-master",
             (int)getpid(), seq);
    snprintf(e.worker_ep, sizeof e.worker_ep, "@inproc://graphx-%d-%u-w%%u",
             (int)getpid(), seq);

    pthread_once(&zsys_once, zsys_quiet);
    if (check_socket_budget(e.n_workers, err) != 0) {
        gx_input_destroy(&e.input);
        gx_input_destroy(&e.vinput);
        return -1;
    }
    int rc = -1;
    pthread_t *threads = calloc(e.n_workers, sizeof *threads);
    gx_worker_arg_t *args = calloc(e.n_workers, sizeof *args);
    zsock_t *router = gx_socket_new(ZMQ_ROUTER, e.master_ep, err);
    uint32_t started = 0;
    if (!threads || !args) {
        gx_error_set(err, "engine: out of memory");
    } else if (router) {
        int one = 1;
        zmq_setsockopt(zsock_resolve(router), ZMQ_ROUTER_MANDATORY, &one,
                       sizeof one);
        for (; started < e.n_workers; started++) {
            args[started] = (gx_worker_arg_t){ &e, started };
            if (pthread_create(&threads[started], NULL, gx_worker_main,
                               &args[started]) != 0)
                break;
        }
        if (started == e.n_workers) {
            rc = gx_master_run(&e, router, res, err);
        } else {
            // The started workers wait for a peer that will never come; the
            // master's ABORT releases them.
            gx_frame_t f = { .kind = GX_F_ABORT };
            for (uint32_t w = 0; w < started; w++)
                gx_send(router, (int)w + 1, &f, NULL, NULL);
            gx_error_set(err, "engine: cannot start worker thread %u of %u",
                         started + 1, e.n_workers);
        }
    }
    for (uint32_t w = 0; w < started; w++)
        pthread_join(threads[w], NULL);
    zsock_destroy(&router);
    free(threads);
    free(args);
    gx_input_destroy(&e.input);
    gx_input_destroy(&e.vinput);
    if (rc != 0)
        gx_result_free(res);
    return rc;
}

void
gx_result_free(gx_result_t *res)
{
    if (!res)
        return;
    free(res->steps);
    free(res->ids);
    free(res->values);
    res->steps = NULL;
    res->ids = NULL;
    res->values = NULL;
}
