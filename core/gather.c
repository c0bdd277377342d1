// core/gather.c: the values, from the workers to the master, in id order,
// in bounded memory. Each worker's masters are sorted by id, so each sends
// a sorted stream of RESULT batches (at most RESULT_ROWS rows) and the
// master merges them with a heap over the workers' current rows. A worker
// sends its next batch only when the master asks (MORE), which it does as
// soon as a batch arrives, so at most two batches per worker are in
// memory: the one being merged and the next, on its way meanwhile. The
// master never holds every vertex: the values go to the job's sink (the
// command line writes them to -o as they come) or, for the embedding API
// without a sink, straight into the result arrays, already sorted.
#include "core/gather.h"

#include <string.h>
#include "core/frames.h"
#include "core/mem.h"

typedef struct src {
    gx_inframe_t cur, next;          // the batch being merged; the one after
    gx_result_view_t rv;             // cur's rows
    uint64_t     i;                  // next row of cur
    uint64_t     head;               // its id (read once, compared often)
    bool         has_next, done;     // done: cur is its last batch
    uint64_t     last_id;            // ids must ascend
    bool         any;
} src_t;

typedef struct gather {
    gx_engine_t *e;
    void        *router;
    size_t       vsz;
    uint32_t     W;
    src_t       *src;
    uint32_t    *heap, n_heap;       // workers, by their current row's id
    gx_sink_fn  *sink;
    void        *arg;
    gx_result_t *res;
    uint64_t     n;                  // rows emitted
} gather_t;

static uint64_t
head_id(const gather_t *g, uint32_t w)
{
    return g->src[w].head;
}

static void
sift_down(gather_t *g, uint32_t k)
{
    for (;;) {
        uint32_t l = 2 * k + 1, r = l + 1, m = k;
        if (l < g->n_heap && head_id(g, g->heap[l]) < head_id(g, g->heap[m]))
            m = l;
        if (r < g->n_heap && head_id(g, g->heap[r]) < head_id(g, g->heap[m]))
            m = r;
        if (m == k)
            return;
        uint32_t t = g->heap[k];
        g->heap[k] = g->heap[m];
        g->heap[m] = t;
        k = m;
    }
}

static int
ask_more(gather_t *g, uint32_t w, gx_error_t *err)
{
    gx_frame_t f = { .kind = GX_F_MORE };
    return gx_send(g->router, (int)w + 1, &f, NULL, err);
}

// Moves a received frame into a worker's slot. A small message's bytes
// live inside its zmq_msg_t, so the decoded view is made again there.
static void
move_frame(gx_inframe_t *dst, gx_inframe_t *src)
{
    memset(dst, 0, sizeof *dst);
    zmq_msg_init(&dst->msg);
    zmq_msg_move(&dst->msg, &src->msg);
    src->open = 0;
    dst->open = 1;
    dst->from = src->from;
    gx_error_t ignored;
    gx_frame_decode(zmq_msg_data(&dst->msg), zmq_msg_size(&dst->msg), &dst->f,
                    &ignored);                  // decoded once already
}

// Worker w's batch becomes the one merged: its next is asked for now, so
// it travels while this one is merged.
static int
start_batch(gather_t *g, uint32_t w, gx_error_t *err)
{
    src_t *s = &g->src[w];
    s->i = 0;
    gx_result_unpack(&s->cur.f, (uint32_t)g->vsz, &s->rv);  // receive checked
    s->done = s->rv.last;
    return s->done ? 0 : ask_more(g, w, err);
}

// Takes one frame off the socket into its worker's free slot.
static int
receive(gather_t *g, gx_error_t *err)
{
    gx_inframe_t in = { 0 };
    if (gx_recv(g->router, &in, -1, err) != 0)
        return -1;
    uint32_t w = in.from;
    src_t *s = w < g->W ? &g->src[w] : NULL;
    gx_result_view_t v;
    if (!s || gx_result_unpack(&in.f, (uint32_t)g->vsz, &v) != 0
        || v.worker != w || s->has_next
        || (s->cur.open && s->done)) {
        gx_inframe_close(&in);
        return gx_error_set(err, "master: an unexpected %s frame from worker "
                            "%u while gathering values",
                            gx_frame_kind_name(in.f.kind), w);
    }
    if (s->cur.open) {
        move_frame(&s->next, &in);
        s->has_next = true;
        return 0;
    }
    move_frame(&s->cur, &in);
    return start_batch(g, w, err);
}

// Worker w's current batch is used up: its next one, waited for if need
// be. 1: the worker has no more rows.
static int
advance(gather_t *g, uint32_t w, gx_error_t *err)
{
    src_t *s = &g->src[w];
    for (;;) {
        if (s->cur.open && s->i < s->rv.n) {
            s->head = gx_col_u64(s->rv.id, s->i);
            return 0;
        }
        if (s->cur.open && s->done)
            return 1;
        if (s->has_next) {
            gx_inframe_close(&s->cur);
            move_frame(&s->cur, &s->next);
            s->has_next = false;
            if (start_batch(g, w, err) != 0)
                return -1;
            continue;
        }
        if (receive(g, err) != 0)
            return -1;
    }
}

// Worker w's next id comes after its last one: checked before the merge
// looks at it, so a worker's disorder is not taken for another's id.
static int
in_order(gather_t *g, uint32_t w, gx_error_t *err)
{
    src_t *s = &g->src[w];
    uint64_t id = head_id(g, w);
    if (s->any && id <= s->last_id)
        return gx_error_set(err, "master: worker %u sent its values out of "
                            "order", w);
    s->any = true;
    s->last_id = id;
    return 0;
}

static int
emit(gather_t *g, uint32_t w, gx_error_t *err)
{
    src_t *s = &g->src[w];
    uint64_t id = head_id(g, w);
    const void *v = gx_col_row(s->rv.value, s->i, g->vsz);
    if (g->n == g->res->n_vertices)
        return gx_error_set(err, "master: workers returned more values than "
                            "vertices");
    if (g->sink) {
        if (g->sink(id, v, g->arg, err) != 0)
            return -1;
    } else {
        g->res->ids[g->n] = id;
        memcpy((uint8_t *)g->res->values + g->n * g->vsz, v, g->vsz);
    }
    g->n++;
    s->i++;
    return 0;
}

static int
merge(gather_t *g, gx_error_t *err)
{
    for (uint32_t w = 0; w < g->W; w++) {
        int rc = advance(g, w, err);
        if (rc < 0 || (rc == 0 && in_order(g, w, err) != 0))
            return -1;
        if (rc == 0)
            g->heap[g->n_heap++] = w;
    }
    for (uint32_t k = g->n_heap; k-- > 0;)
        sift_down(g, k);
    uint64_t prev = 0;
    while (g->n_heap) {
        uint32_t w = g->heap[0];
        if (g->n && head_id(g, w) <= prev)
            return gx_error_set(err, "master: vertex %llu returned by two "
                                "workers", (unsigned long long)head_id(g, w));
        prev = head_id(g, w);
        if (emit(g, w, err) != 0)
            return -1;
        int rc = advance(g, w, err);
        if (rc < 0 || (rc == 0 && in_order(g, w, err) != 0))
            return -1;
        if (rc == 1)
            g->heap[0] = g->heap[--g->n_heap];
        sift_down(g, 0);
    }
    if (g->n != g->res->n_vertices)
        return gx_error_set(err, "master: %llu values for %llu vertices",
                            (unsigned long long)g->n,
                            (unsigned long long)g->res->n_vertices);
    return 0;
}

int
gx_gather(gx_engine_t *e, void *router, gx_result_t *res, gx_error_t *err)
{
    const gx_job_t *job = e->job;
    gather_t g = { .e = e, .router = router, .vsz = e->prog->value_size,
                   .W = e->n_workers, .sink = job->sink,
                   .arg = job->sink_arg, .res = res };
    // n_vertices is the workers' sum of what they said they hold: counted
    // arrays (calloc refuses a product that wraps), not a multiplication.
    size_t n = res->n_vertices ? res->n_vertices : 1;
    if (res->n_vertices > SIZE_MAX / 8)
        return gx_error_set(err, "master: %llu vertices cannot be held",
                            (unsigned long long)res->n_vertices);
    g.src = gx_calloc(g.W, sizeof *g.src);
    g.heap = gx_calloc(g.W, sizeof *g.heap);
    if (!g.sink) {
        res->ids = gx_calloc(n, sizeof *res->ids);
        res->values = gx_calloc(n, g.vsz);
    }
    int rc;
    if (!g.src || !g.heap || (!g.sink && (!res->ids || !res->values)))
        rc = gx_error_set(err, "master: out of memory");
    else
        rc = merge(&g, err);
    for (uint32_t w = 0; g.src && w < g.W; w++) {
        gx_inframe_close(&g.src[w].cur);
        gx_inframe_close(&g.src[w].next);
    }
    gx_free(g.src);
    gx_free(g.heap);
    return rc;
}
