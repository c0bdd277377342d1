// core/run.c: gx_run, the entry of every run: local mode (this process's
// threads, core/launch.c), or the master of a distributed run, which
// registers its workers (core/cluster_master.c) and then runs with none
// of the threads.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/cluster.h"
#include "core/launch.h"
#include "core/mem.h"

// The master reads the streamed input itself: standard input, or the
// .gz file it opens here.
static int
stream_source(gx_link_t *l, const char *stream, gx_error_t *err)
{
    if (!stream)
        return 0;
    l->stream = true;
    l->stream_name = stream;
    l->stream_fd = strcmp(stream, "-") == 0 ? STDIN_FILENO
                   : open(stream, O_RDONLY | O_CLOEXEC);
    if (l->stream_fd < 0)
        return gx_error_set(err, "%s: %s", stream, strerror(errno));
    return 0;
}

// The master of a distributed run: its workers register, get the run's
// description, and the master runs here with none of the threads.
static int
run_master(const gx_job_t *job, gx_result_t *res, gx_error_t *err)
{
    // The inputs are checked before any worker is waited for: a typo in
    // -i costs nothing, not --wait-timeout.
    gx_engine_t probe = { 0 };
    int rc = gx_open_inputs(&probe, job, NULL, -1, err);
    gx_input_destroy(&probe.input);
    gx_input_destroy(&probe.vinput);
    if (rc != 0)
        return -1;
    gx_link_t link;
    rc = gx_cluster_master(job, &link, err);
    if (rc == 0)
        rc = stream_source(&link, gx_cluster_stream(job), err);
    if (rc == 0) {
        const gx_proc_t *last = &link.procs[link.n_procs - 1];
        gx_engine_t e = { .has_master = true };
        // The streamed input as a stream here too (never read by the
        // engine): its size is then unknown, as the workers count it.
        rc = gx_engine_init(&e, job, last->first + last->n, link.stream_name, -1,
                         err);
        if (rc == 0)
            rc = gx_engine_run(&e, &link, res, err);
        gx_engine_free(&e);
    }
    if (rc != 0)
        gx_cluster_abort(&link, err->msg);   // unless the hub said it
    if (link.stream && link.stream_fd > STDIN_FILENO)
        close(link.stream_fd);
    gx_link_close(&link);
    return rc;
}

int
gx_run(const gx_job_t *job, gx_result_t *res, gx_error_t *err)
{
    memset(res, 0, sizeof *res);
    if (gx_program_check(job->program, err) != 0)
        return -1;
    if (job->cluster) {
        int rc = run_master(job, res, err);
        if (rc != 0)
            gx_result_free(res);
        return rc;
    }
    if (job->workers == 0)
        return gx_error_set(err, "the number of workers must be at least 1");
    gx_engine_t e = { .first = 0, .n_here = job->workers, .has_master = true };
    int rc = gx_engine_init(&e, job, job->workers, NULL, -1, err);
    if (rc == 0)
        rc = gx_engine_run(&e, NULL, res, err);
    gx_engine_free(&e);
    if (rc != 0)
        gx_result_free(res);
    return rc;
}

void
gx_result_free(gx_result_t *res)
{
    if (!res)
        return;
    for (unsigned i = 0; res->procs && i < res->n_procs; i++)
        gx_free(res->procs[i].read_back_steps);
    gx_free(res->procs);
    res->procs = NULL;
    res->n_procs = 0;
    gx_free(res->steps);
    gx_free(res->ids);
    gx_free(res->values);
    res->steps = NULL;
    res->ids = NULL;
    res->values = NULL;
}
