// tests/test_gather.c: core/gather.c, the master's merge of the workers'
// sorted RESULT streams after STOP, driven directly: the test's thread is
// the master (gx_gather on a ROUTER bound at an inproc:// endpoint) and each
// fake worker is a thread with a DEALER under its 5-byte routing id, sending
// a scripted list of frames and waiting for MORE where the protocol says
// so. Nothing else of the engine runs: gx_engine_t is filled with only what
// gather reads (job, prog, n_workers).
// - Merge: W = 1..5 (and 16) workers with random disjoint ascending id sets,
//   batch sizes fixed (as a real worker's, exact multiples among them) or
//   varying, empty workers (one frame, b = 0, step 1), a trailing empty last
//   batch, empty batches mid-stream; against a sort of all ids, the values
//   byte for byte (value_size 8 and 24, and 1, 3, 13, 64), into a sink and
//   into the arrays. Half the fakes send by copy, so that small frames live
//   inside their zmq_msg_t as they do off TCP (gather moves them).
// - The sink: ids strictly ascending, each exactly once; one that fails at
//   its k-th call ends the gather with its own message and is not called
//   again.
// - Refusals, each with -1 and its exact message, none leaking
//   (the heap, as the sanitizer counts it, does not grow over repetitions):
//   ids out of order, an id from two workers, more or fewer values than
//   n_vertices (or arrays of n_vertices that do not fit), malformed frames,
//   a worker index >= W, a frame with no slot (next pending, after the
//   last), and transport errors passed through.
// - Flow control: one MORE per non-last batch and none after the last; a
//   worker never has more than two batches ahead of the merge; a worker that
//   sends ahead without waiting is handled as long as the master has a slot
//   for the frame when it reads it (alone, or two batches in all) and
//   refused when a third arrives while its next batch is pending.
// Fake workers poll in short slices and end once gx_gather has returned
// (a flag), or after a deadline, so a refused gather never leaves a thread
// behind; then the sockets close and the context terminates. A watchdog
// shuts the context down if gx_gather (which waits without a time-out)
// has not returned in 4 s, so a hang fails with a message.
// The suite starts threads (one per fake worker, plus libzmq's own).
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include "core/codec.h"
#include "core/engine.h"
#include "core/gather.h"
#include "core/mem.h"
#include "core/transport.h"
#include "testutil.h"

TestSuite(gather, .timeout = 30);

#define LEAK_REPS     4
#define MAX_FAKES     20
#define POLL_MS       5       // a fake worker's polling slice
#define WAIT_SECONDS  5.0     // longest a fake waits for one MORE
#define LIFE_SECONDS  15.0    // longest a fake lives at all

// ============================================================================
// Values: a function of the id, so any row can be checked on its own
// ============================================================================

static void
val_of(uint64_t id, size_t vsz, uint8_t *out)
{
    uint64_t s = id ^ 0x6a09e667f3bcc909ULL;
    for (size_t j = 0; j < vsz; j += 8) {
        uint64_t x = gx_test_splitmix64(&s);
        memcpy(out + j, &x, vsz - j < 8 ? vsz - j : 8);
    }
}

// ============================================================================
// Fake workers
// ============================================================================

typedef struct fbatch {
    gx_frame_t  f;
    bool        wait_more;       // wait for a MORE after sending it
    const void *raw;             // if set: these bytes instead of f
    size_t      raw_len;
} fbatch_t;

struct rig;

typedef struct fake {
    struct rig *rig;
    uint32_t    index;           // the RESULT frames' a
    char        id[5];           // routing id
    bool        silent;          // connects and sends nothing
    bool        by_copy;         // zmq_send of the encoded bytes: a frame
                                 // of up to 33 bytes then lives inside its
                                 // zmq_msg_t, as one read off TCP does
                                 // (gx_send hands over a heap buffer)
    fbatch_t   *b;
    size_t      nb, cap;
    uint64_t   *ids;             // its rows (owned), for the scripts
    uint8_t    *vals;
    size_t      n;
    size_t     *row_batch;       // the batch of each row
    // Written by its thread (sent and mores read live by the sink).
    atomic_uint sent, mores;
    unsigned    others;          // frames other than MORE
    bool        timed_out;
    char        why[600];        // a failure of its own (socket, send)
    pthread_t   th;
    bool        started;
} fake_t;

typedef struct rig {
    void        *ctx, *router;
    char         ep[64];
    atomic_int   stop;           // gx_gather has returned
    pthread_mutex_t lock;        // the watchdog's
    pthread_cond_t  cond;
    bool         returned;       // gx_gather has returned (under lock)
    bool         fired;          // the watchdog shut the context down
    gx_program_t prog;
    gx_job_t     job;
    gx_engine_t  e;
    size_t       vsz;
    fake_t       fk[MAX_FAKES];
    size_t       n_fk;
} rig_t;

// 1: took a frame, 0: none within ms, -1: error (noted).
static int
fake_poll(fake_t *f, void *s, int ms)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    int rc = gx_recv(s, &in, ms, &err);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        if (!f->why[0])
            snprintf(f->why, sizeof f->why, "receive: %s", err.msg);
        return -1;
    }
    if (in.f.kind == GX_F_MORE)
        atomic_fetch_add(&f->mores, 1);
    else
        f->others++;
    gx_inframe_close(&in);
    return 1;
}

static void *
fake_main(void *arg)
{
    fake_t *f = arg;
    rig_t *r = f->rig;
    gx_error_t err;
    double born = gx_test_now();
    void *s = gx_socket_new(r->ctx, ZMQ_DEALER, f->id, &err);
    if (!s) {
        snprintf(f->why, sizeof f->why, "socket: %s", err.msg);
        return NULL;
    }
    if (zmq_connect(s, r->ep) != 0) {
        snprintf(f->why, sizeof f->why, "connect: %s", zmq_strerror(errno));
        gx_socket_close(&s);
        return NULL;
    }
    unsigned waits = 0;
    for (size_t i = 0; !f->silent && i < f->nb; i++) {
        fbatch_t *b = &f->b[i];
        atomic_fetch_add(&f->sent, 1);
        int rc;
        if (b->raw) {
            rc = zmq_send(s, b->raw, b->raw_len, 0) < 0 ? -1 : 0;
        } else if (f->by_copy) {
            size_t len;
            char *buf = gx_frame_encode_buf(&b->f, &len, &err);
            rc = buf && zmq_send(s, buf, len, 0) >= 0 ? 0 : -1;
            if (buf && rc != 0)
                snprintf(err.msg, sizeof err.msg, "%s", zmq_strerror(errno));
            gx_free(buf);
        } else {
            rc = gx_send(s, 0, &b->f, NULL, &err);
        }
        if (rc != 0) {
            snprintf(f->why, sizeof f->why, "send: %s",
                     b->raw ? zmq_strerror(errno) : err.msg);
            break;
        }
        if (!b->wait_more)
            continue;
        waits++;
        double until = gx_test_now() + WAIT_SECONDS;
        while (atomic_load(&f->mores) < waits && !atomic_load(&r->stop)) {
            if (gx_test_now() > until) {
                f->timed_out = true;
                break;
            }
            if (fake_poll(f, s, POLL_MS) < 0)
                break;
        }
        if (atomic_load(&f->mores) < waits)
            break;                   // the master stopped asking
    }
    // Counts what else comes (MOREs it should not get) until the master
    // is done, then whatever is still queued.
    while (!atomic_load(&r->stop) && gx_test_now() < born + LIFE_SECONDS)
        if (fake_poll(f, s, POLL_MS) < 0)
            break;
    while (fake_poll(f, s, 0) == 1)
        ;
    gx_socket_close(&s);
    return NULL;
}

static void
rig_open(rig_t *r, uint32_t W, size_t vsz, gx_sink_fn *sink, void *sink_arg)
{
    static unsigned seq;
    memset(r, 0, sizeof *r);
    r->vsz = vsz;
    r->prog.value_size = (uint32_t)vsz;
    r->job.program = &r->prog;
    r->job.workers = W;
    r->job.sink = sink;
    r->job.sink_arg = sink_arg;
    r->e.job = &r->job;
    r->e.prog = &r->prog;
    r->e.n_workers = W;
    r->e.n_here = 0;
    r->e.has_master = true;
    atomic_init(&r->stop, 0);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->ctx = zmq_ctx_new();
    cr_assert_not_null(r->ctx);
    gx_error_t err;
    r->router = gx_socket_new(r->ctx, ZMQ_ROUTER, NULL, &err);
    cr_assert_not_null(r->router, "%s", err.msg);
    snprintf(r->ep, sizeof r->ep, "inproc://gather-%d-%u", (int)getpid(), seq++);
    cr_assert_eq(zmq_bind(r->router, r->ep), 0, "bind %s: %s", r->ep,
                 zmq_strerror(errno));
}

// A fake worker under the routing id of worker `index`.
static fake_t *
rig_fake(rig_t *r, uint32_t index)
{
    cr_assert_lt(r->n_fk, MAX_FAKES);
    fake_t *f = &r->fk[r->n_fk++];
    f->rig = r;
    f->index = index;
    gx_worker_identity(index, f->id);
    atomic_init(&f->sent, 0);
    atomic_init(&f->mores, 0);
    return f;
}

static fbatch_t *
fake_add(fake_t *f)
{
    if (f->nb == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 8;
        f->b = realloc(f->b, f->cap * sizeof *f->b);
        cr_assert_not_null(f->b);
    }
    fbatch_t *b = &f->b[f->nb++];
    memset(b, 0, sizeof *b);
    return b;
}

// A RESULT frame of b rows from ids and vals (either may be NULL when b is
// 0), with bins exactly b rows long; the caller bends it afterwards.
static fbatch_t *
fake_result(fake_t *f, uint64_t step, uint64_t b, const uint64_t *ids,
            const uint8_t *vals, bool wait_more)
{
    size_t vsz = f->rig->vsz;
    fbatch_t *x = fake_add(f);
    x->f = (gx_frame_t){ .kind = GX_F_RESULT, .step = step, .a = f->index,
                         .b = b, .n_bins = 2 };
    x->f.bin[0] = b ? (const void *)ids : "";
    x->f.bin_len[0] = b * 8;
    x->f.bin[1] = b ? (const void *)vals : "";
    x->f.bin_len[1] = b * vsz;
    x->wait_more = wait_more;
    return x;
}

// The fake's rows: ids as given (the order is the test's business), values
// from val_of.
static void
fake_rows(fake_t *f, const uint64_t *ids, size_t n)
{
    size_t vsz = f->rig->vsz;
    f->n = n;
    f->ids = malloc((n ? n : 1) * 8);
    f->vals = malloc((n ? n : 1) * vsz);
    f->row_batch = malloc((n ? n : 1) * sizeof *f->row_batch);
    cr_assert(f->ids && f->vals && f->row_batch);
    if (n)
        memcpy(f->ids, ids, n * 8);
    for (size_t i = 0; i < n; i++)
        val_of(ids[i], vsz, f->vals + i * vsz);
}

// The fake's rows as consecutive batches of sizes[0..k) (summing to n; a 0
// is an empty batch), the last with step 1; it waits for MORE after every
// other one, as a worker does.
static void
fake_stream(fake_t *f, const size_t *sizes, size_t k)
{
    size_t vsz = f->rig->vsz, m = 0;
    for (size_t j = 0; j < k; j++) {
        bool last = j + 1 == k;
        fake_result(f, last, sizes[j], f->ids + m, f->vals + m * vsz, !last);
        for (size_t i = 0; i < sizes[j]; i++)
            f->row_batch[m + i] = j;
        m += sizes[j];
    }
    cr_assert_eq(m, f->n, "the script's batches do not cover the rows");
}

// Rows in batches of `bs` as core/worker.c cuts them: the last one partial,
// or full when n is a multiple of bs; one empty batch when n is 0.
static void
fake_stream_fixed(fake_t *f, size_t bs)
{
    size_t k = f->n ? (f->n + bs - 1) / bs : 1;
    size_t *sizes = malloc(k * sizeof *sizes);
    cr_assert_not_null(sizes);
    for (size_t j = 0; j < k; j++)
        sizes[j] = f->n - j * bs < bs ? f->n - j * bs : bs;
    fake_stream(f, sizes, k);
    free(sizes);
}

// gx_gather waits for frames without a time-out: if it has not returned
// after WATCHDOG_SECONDS, the context is shut down, which wakes it (and
// the fakes) with ETERM, so a hang fails the test with a message instead
// of at Criterion's time-out.
#define WATCHDOG_SECONDS 4

static void *
watchdog_main(void *arg)
{
    rig_t *r = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WATCHDOG_SECONDS;
    pthread_mutex_lock(&r->lock);
    int rc = 0;
    while (!r->returned && rc == 0)
        rc = pthread_cond_timedwait(&r->cond, &r->lock, &until);
    if (!r->returned) {
        r->fired = true;
        zmq_ctx_shutdown(r->ctx);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void
rig_start(rig_t *r)
{
    for (size_t i = 0; i < r->n_fk; i++) {
        cr_assert_eq(pthread_create(&r->fk[i].th, NULL, fake_main, &r->fk[i]), 0);
        r->fk[i].started = true;
    }
}

// Runs the master's side, then lets the fake workers end.
static int
rig_gather(rig_t *r, gx_result_t *res, gx_error_t *err)
{
    pthread_t dog;
    cr_assert_eq(pthread_create(&dog, NULL, watchdog_main, r), 0);
    rig_start(r);
    memset(err, 0, sizeof *err);
    int rc = gx_gather(&r->e, r->router, res, err);
    atomic_store(&r->stop, 1);
    pthread_mutex_lock(&r->lock);
    r->returned = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(dog, NULL);
    for (size_t i = 0; i < r->n_fk; i++)
        if (r->fk[i].started) {
            pthread_join(r->fk[i].th, NULL);
            r->fk[i].started = false;
        }
    cr_assert(!r->fired, "gx_gather had not returned after %d s (then: "
              "rc %d, \"%s\")", WATCHDOG_SECONDS, rc, err->msg);
    return rc;
}

static void
rig_close(rig_t *r)
{
    gx_socket_close(&r->router);
    cr_assert_eq(zmq_ctx_term(r->ctx), 0);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    for (size_t i = 0; i < r->n_fk; i++) {
        fake_t *f = &r->fk[i];
        free(f->b);
        free(f->ids);
        free(f->vals);
        free(f->row_batch);
    }
}

// A fake that sent its whole stream as a worker does: every batch, a MORE
// for each but the last and none after it, nothing else.
static void
assert_fake_clean(const fake_t *f, const char *what)
{
    cr_assert_eq(f->why[0], '\0', "%s: worker %u: %s", what, f->index, f->why);
    cr_assert(!f->timed_out, "%s: worker %u waited %.0f s for a MORE", what,
              f->index, WAIT_SECONDS);
    cr_assert_eq(atomic_load(&f->sent), f->nb, "%s: worker %u sent %u of %zu",
                 what, f->index, atomic_load(&f->sent), f->nb);
    cr_assert_eq(atomic_load(&f->mores), f->nb - 1,
                 "%s: worker %u got %u MOREs for %zu batches", what, f->index,
                 atomic_load(&f->mores), f->nb);
    cr_assert_eq(f->others, 0, "%s: worker %u got %u frames other than MORE",
                 what, f->index, f->others);
}

// ============================================================================
// The sink
// ============================================================================

typedef struct sinkst {
    const uint64_t *want;        // every id, ascending (NULL: no checks)
    size_t          n_want;
    size_t          vsz;
    size_t          calls;
    bool            any;
    uint64_t        last;
    unsigned char  *seen;        // [n_want]
    size_t          fail_at;     // 1-based call that fails; 0: none
    int             fail_rc;
    char            bad[600];    // the first thing found wrong
    // Flow control: the fakes of each id (owner[i] of want[i]) and how
    // many rows of each were emitted; a sleep every `pause` calls.
    rig_t          *rig;
    const uint32_t *owner;
    size_t          emitted[MAX_FAKES];
    unsigned        worst_ahead; // batches sent beyond the merged one
    unsigned        pause;
} sinkst_t;

#define SINK_BAD(s, ...)                                                       \
    do {                                                                       \
        if (!(s)->bad[0])                                                      \
            snprintf((s)->bad, sizeof (s)->bad, __VA_ARGS__);                  \
    } while (0)

static size_t
find_id(const uint64_t *a, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == id ? lo : SIZE_MAX;
}

static int
test_sink(uint64_t id, const void *value, void *arg, gx_error_t *err)
{
    sinkst_t *s = arg;
    size_t k = s->calls++;
    if (s->fail_at && s->calls == s->fail_at) {
        gx_error_set(err, "test sink: no room for vertex %" PRIu64
                     " (call %zu)", id, s->calls);
        return s->fail_rc;
    }
    if (s->fail_at && s->calls > s->fail_at)
        SINK_BAD(s, "called again (call %zu) after it failed", s->calls);
    if (s->any && id <= s->last)
        SINK_BAD(s, "call %zu: id %" PRIu64 " after %" PRIu64, k, id, s->last);
    s->any = true;
    s->last = id;
    if (!s->want)
        return 0;
    size_t i = find_id(s->want, s->n_want, id);
    if (i == SIZE_MAX) {
        SINK_BAD(s, "call %zu: id %" PRIu64 " is no worker's", k, id);
        return 0;
    }
    if (s->seen[i]++)
        SINK_BAD(s, "call %zu: id %" PRIu64 " a second time", k, id);
    if (k < s->n_want && s->want[k] != id)
        SINK_BAD(s, "call %zu: id %" PRIu64 ", want %" PRIu64, k, id,
                 s->want[k]);
    uint8_t v[64];
    val_of(id, s->vsz, v);
    if (memcmp(v, value, s->vsz) != 0)
        SINK_BAD(s, "call %zu: id %" PRIu64 ": wrong value bytes", k, id);
    if (s->rig && s->owner) {
        // Worker v's batch c holds its next row to be merged: the master
        // asked (MORE) for at most batches 1..c, so v sent at most c + 2.
        for (size_t w = 0; w < s->rig->n_fk; w++) {
            const fake_t *f = &s->rig->fk[w];
            if (s->emitted[w] >= f->n)
                continue;
            size_t c = f->row_batch[s->emitted[w]];
            unsigned sent = atomic_load(&f->sent);
            if (sent > c + 1 && sent - (c + 1) > s->worst_ahead)
                s->worst_ahead = sent - (unsigned)(c + 1);
            if (sent > c + 2)
                SINK_BAD(s, "call %zu: worker %u sent %u batches while the "
                         "merge was at its batch %zu (0-based)", k, f->index,
                         sent, c);
        }
        s->emitted[s->owner[i]]++;
    }
    if (s->pause && s->calls % s->pause == 0)
        usleep(300);
    return 0;
}

// ============================================================================
// Merge cases
// ============================================================================

enum layout {
    L_FIXED,            // as core/worker.c: fixed size, last full or partial
    L_TRAILING_EMPTY,   // fixed, and a multiple ends with an empty last batch
    L_VARIED,           // every batch its own size, 1..max
    L_EMPTY_INSIDE,     // varied, with empty batches mid-stream
};

typedef struct mcase {
    unsigned    W;
    size_t      vsz;
    bool        sink;
    uint64_t    seed;
    size_t      max_n;       // ids drawn before deduplication
    bool        all_n;       // draw max_n of them (else 0..max_n)
    size_t      max_bs;
    enum layout layout;
    unsigned    pause;       // sink: sleep every `pause` calls
} mcase_t;

typedef struct plan {
    uint64_t *all;           // every id, ascending
    size_t    n;
    uint32_t *owner;         // fake of all[i]
} plan_t;

static uint64_t
draw_id(uint64_t *st, size_t max_n, unsigned shape)
{
    uint64_t x = gx_test_splitmix64(st);
    switch (shape) {
    case 0:                          // dense: many neighbours across workers
        return x % (2 * max_n + 1);
    case 1:                          // anywhere, the ends included
        return x % 16 == 0 ? 0 : x % 16 == 1 ? UINT64_MAX : x;
    default:                         // around 2^32 and 2^63
        return (x & 1 ? UINT64_C(1) << 32 : UINT64_C(1) << 63) - 500 + x % 1000;
    }
}

// A divisor of k near bs (k itself, one full batch, if none is).
static size_t
divisor_near(size_t k, size_t bs)
{
    for (size_t d = bs; d >= 1 && 2 * d >= bs; d--)
        if (k % d == 0)
            return d;
    for (size_t d = bs + 1; d <= 2 * bs && d <= k; d++)
        if (k % d == 0)
            return d;
    return k;
}

// Builds the fakes of a random case on r: disjoint ascending id sets, some
// workers empty, batches cut by the case's layout.
static void
plan_case(rig_t *r, const mcase_t *c, plan_t *p)
{
    uint64_t st = c->seed * 0x9e3779b97f4a7c15ULL + c->W * 131 + c->vsz;
    size_t n = (size_t)(gx_test_splitmix64(&st) % (c->max_n + 1));
    if (c->all_n)
        n = c->max_n;
    unsigned shape = (unsigned)(gx_test_splitmix64(&st) % (c->all_n ? 2 : 3));
    uint64_t *all = malloc((n ? n : 1) * 8);
    cr_assert_not_null(all);
    for (size_t i = 0; i < n; i++)
        all[i] = draw_id(&st, c->max_n, shape);
    qsort(all, n, 8, gx_test_cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || all[i] != all[m - 1])
            all[m++] = all[i];
    n = m;
    // Which workers get no rows: none, one, or (rarely) all but one.
    bool empty[MAX_FAKES] = { 0 };
    uint64_t mode = gx_test_splitmix64(&st) % 4;
    if (c->W > 1 && mode == 1)
        empty[gx_test_splitmix64(&st) % c->W] = true;
    if (c->W > 1 && mode == 2) {
        uint32_t keep = (uint32_t)(gx_test_splitmix64(&st) % c->W);
        for (uint32_t w = 0; w < c->W; w++)
            empty[w] = w != keep;
    }
    p->all = all;
    p->n = n;
    p->owner = malloc((n ? n : 1) * sizeof *p->owner);
    cr_assert_not_null(p->owner);
    uint32_t live[MAX_FAKES], n_live = 0;
    for (uint32_t w = 0; w < c->W; w++)
        if (!empty[w])
            live[n_live++] = w;
    // Runs of neighbouring ids go to one worker now and then, so both
    // long runs from one stream and frequent switches occur.
    uint32_t cur = live[0];
    for (size_t i = 0; i < n; i++) {
        if (gx_test_splitmix64(&st) % 4 != 0)
            cur = live[gx_test_splitmix64(&st) % n_live];
        p->owner[i] = cur;
    }
    uint64_t *mine = malloc((n ? n : 1) * 8);
    cr_assert_not_null(mine);
    for (uint32_t w = 0; w < c->W; w++) {
        fake_t *f = rig_fake(r, w);
        f->by_copy = gx_test_splitmix64(&st) % 2;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (p->owner[i] == w)
                mine[k++] = all[i];
        fake_rows(f, mine, k);
        size_t bs = 1 + (size_t)(gx_test_splitmix64(&st) % c->max_bs);
        // Exact multiples: worker 0 of every other case, and any worker
        // whose count happens to be one.
        if (w == 0 && c->seed % 2 == 0 && k > 0)
            bs = divisor_near(k, bs);
        if (c->layout == L_FIXED || c->layout == L_TRAILING_EMPTY) {
            if (c->layout == L_TRAILING_EMPTY && k > 0 && k % bs == 0) {
                size_t nb = k / bs + 1;
                size_t *sizes = calloc(nb, sizeof *sizes);
                cr_assert_not_null(sizes);
                for (size_t j = 0; j + 1 < nb; j++)
                    sizes[j] = bs;
                fake_stream(f, sizes, nb);
                free(sizes);
            } else {
                fake_stream_fixed(f, bs);
            }
            continue;
        }
        size_t *sizes = malloc((2 * k + 2) * sizeof *sizes), nb = 0, left = k;
        cr_assert_not_null(sizes);
        while (left > 0) {
            if (c->layout == L_EMPTY_INSIDE && gx_test_splitmix64(&st) % 3 == 0)
                sizes[nb++] = 0;
            size_t s = 1 + (size_t)(gx_test_splitmix64(&st) % c->max_bs);
            sizes[nb++] = s < left ? s : left;
            left -= sizes[nb - 1];
        }
        if (nb == 0 || (c->layout == L_EMPTY_INSIDE
                        && gx_test_splitmix64(&st) % 2 == 0))
            sizes[nb++] = 0;
        fake_stream(f, sizes, nb);
        free(sizes);
    }
    free(mine);
}

static void
run_case(const mcase_t *c)
{
    char what[160];
    snprintf(what, sizeof what, "W=%u vsz=%zu %s seed=%" PRIu64 " layout=%d",
             c->W, c->vsz, c->sink ? "sink" : "arrays", c->seed, (int)c->layout);
    sinkst_t s = { 0 };
    rig_t r;
    rig_open(&r, c->W, c->vsz, c->sink ? test_sink : NULL, &s);
    plan_t p;
    plan_case(&r, c, &p);
    s.want = p.all;
    s.n_want = p.n;
    s.vsz = c->vsz;
    s.seen = calloc(p.n ? p.n : 1, 1);
    s.rig = &r;
    s.owner = p.owner;
    s.pause = c->pause;
    cr_assert_not_null(s.seen);
    gx_result_t res = { .n_vertices = p.n };
    gx_error_t err;
    int rc = rig_gather(&r, &res, &err);
    cr_assert_eq(rc, 0, "%s: %s", what, err.msg);
    if (c->sink) {
        cr_assert_eq(s.bad[0], '\0', "%s: sink: %s", what, s.bad);
        cr_assert_eq(s.calls, p.n, "%s: sink called %zu times for %zu ids",
                     what, s.calls, p.n);
        for (size_t i = 0; i < p.n; i++)
            cr_assert_eq(s.seen[i], 1, "%s: id %" PRIu64 " seen %u times",
                         what, p.all[i], s.seen[i]);
        cr_assert_null(res.ids, "%s: a sink, yet result arrays", what);
        cr_assert_null(res.values, "%s", what);
    } else {
        cr_assert_not_null(res.ids, "%s", what);
        cr_assert_not_null(res.values, "%s", what);
        uint8_t v[64];
        for (size_t i = 0; i < p.n; i++) {
            cr_assert_eq(res.ids[i], p.all[i], "%s: ids[%zu] = %" PRIu64
                         ", want %" PRIu64, what, i, res.ids[i], p.all[i]);
            val_of(p.all[i], c->vsz, v);
            cr_assert_arr_eq(v, (uint8_t *)res.values + i * c->vsz, c->vsz,
                             "%s: value of id %" PRIu64, what, p.all[i]);
        }
    }
    for (size_t i = 0; i < r.n_fk; i++)
        assert_fake_clean(&r.fk[i], what);
    cr_assert_leq(s.worst_ahead, 1, "%s", what);
    free(res.ids);
    free(res.values);
    rig_close(&r);
    free(s.seen);
    free(p.all);
    free(p.owner);
}

static void
run_cases(bool sink, enum layout layout, unsigned reps)
{
    static const size_t vszs[] = { 8, 24 };
    unsigned stride = gx_test_stride(2);
    for (unsigned W = 1; W <= 5; W++)
        for (size_t v = 0; v < 2; v++)
            for (unsigned rep = 0; rep < reps; rep += stride) {
                mcase_t c = { .W = W, .vsz = vszs[v], .sink = sink,
                              .seed = 1000 * W + 10 * rep + v + 1,
                              .max_n = rep % 3 == 2 ? 40 : 300,
                              .max_bs = rep % 2 ? 5 : 40, .layout = layout };
                run_case(&c);
            }
}

Test(gather, merges_1_to_5_workers_into_the_arrays, .timeout = 30)
{
    run_cases(false, L_FIXED, 6);
}

Test(gather, merges_1_to_5_workers_into_a_sink, .timeout = 30)
{
    run_cases(true, L_FIXED, 6);
}

Test(gather, batches_of_varied_sizes_and_trailing_empty_last_batches, .timeout = 30)
{
    run_cases(false, L_VARIED, 2);
    run_cases(true, L_VARIED, 2);
    run_cases(false, L_TRAILING_EMPTY, 2);
    run_cases(true, L_TRAILING_EMPTY, 2);
}

// Not what core/worker.c sends, but well-formed: b = 0 with step 0.
Test(gather, empty_batches_mid_stream_are_skipped, .timeout = 30)
{
    run_cases(false, L_EMPTY_INSIDE, 2);
    run_cases(true, L_EMPTY_INSIDE, 2);
}

Test(gather, odd_value_sizes_and_a_deeper_heap_of_16_workers, .timeout = 30)
{
    static const size_t vszs[] = { 1, 3, 13, 64 };
    for (size_t v = 0; v < 4; v++)
        for (int sink = 0; sink < 2; sink++) {
            mcase_t c = { .W = v % 2 ? 16 : 3, .vsz = vszs[v], .sink = sink,
                          .seed = 77 + v, .max_n = 500, .max_bs = 30,
                          .layout = L_FIXED };
            run_case(&c);
        }
}

// Batches of core/worker.c's size (RESULT_ROWS, 8192): frames of 64 KiB
// and more, where ZeroMQ hands the buffer over instead of copying it.
Test(gather, large_batches_as_a_worker_cuts_them, .timeout = 30)
{
    mcase_t c = { .W = 4, .vsz = 24, .sink = false, .seed = 4242,
                  .max_n = gx_test_scaled(60000, 4), .all_n = true,
                  .max_bs = 8192, .layout = L_FIXED };
    for (int sink = 0; sink < 2; sink++) {
        c.sink = sink;
        run_case(&c);
    }
}

Test(gather, no_vertices_at_all, .timeout = 10)
{
    for (uint32_t W = 1; W <= 3; W++)
        for (int sink = 0; sink < 2; sink++) {
            sinkst_t s = { 0 };
            rig_t r;
            rig_open(&r, W, 8, sink ? test_sink : NULL, &s);
            for (uint32_t w = 0; w < W; w++) {
                fake_t *f = rig_fake(&r, w);
                fake_rows(f, NULL, 0);
                fake_stream_fixed(f, 8);
            }
            gx_result_t res = { .n_vertices = 0 };
            gx_error_t err;
            int rc = rig_gather(&r, &res, &err);
            cr_assert_eq(rc, 0, "W=%u: %s", W, err.msg);
            cr_assert_eq(s.calls, 0);
            for (size_t i = 0; i < r.n_fk; i++)
                assert_fake_clean(&r.fk[i], "empty");
            free(res.ids);
            free(res.values);
            rig_close(&r);
        }
}

// ============================================================================
// The sink's view
// ============================================================================

// Ids that interleave closely across workers (dense) and include 0 and
// UINT64_MAX; the sink checks, independently of the merge's order, that
// each id comes once, ascending, with its own value.
Test(gather, the_sink_sees_ids_strictly_ascending_each_exactly_once, .timeout = 20)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        sinkst_t s = { 0 };
        rig_t r;
        rig_open(&r, 4, 8, test_sink, &s);
        // Worker w has the ids = w (mod 4) of 0..4k, plus the ends.
        size_t k = 50 + 37 * seed;
        uint64_t *all = malloc((4 * k + 2) * 8);
        cr_assert_not_null(all);
        size_t n = 0;
        for (uint32_t w = 0; w < 4; w++) {
            uint64_t *mine = all + n;
            size_t m = 0;
            if (w == seed % 4)
                mine[m++] = 0;
            for (uint64_t i = 0; i < k; i++)
                if (4 * i + w != 0)
                    mine[m++] = 4 * i + w;
            if (w == (seed + 1) % 4)
                mine[m++] = UINT64_MAX;
            fake_t *f = rig_fake(&r, w);
            fake_rows(f, mine, m);
            fake_stream_fixed(f, 1 + (size_t)(seed * (w + 3)) % 17);
            n += m;
        }
        qsort(all, n, 8, gx_test_cmp_u64);
        s.want = all;
        s.n_want = n;
        s.vsz = 8;
        s.seen = calloc(n, 1);
        cr_assert_not_null(s.seen);
        gx_result_t res = { .n_vertices = n };
        gx_error_t err;
        int rc = rig_gather(&r, &res, &err);
        cr_assert_eq(rc, 0, "seed %" PRIu64 ": %s", seed, err.msg);
        cr_assert_eq(s.bad[0], '\0', "seed %" PRIu64 ": %s", seed, s.bad);
        cr_assert_eq(s.calls, n);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(s.seen[i], 1, "id %" PRIu64 " seen %u times", all[i],
                         s.seen[i]);
        for (size_t i = 0; i < r.n_fk; i++)
            assert_fake_clean(&r.fk[i], "dense");
        rig_close(&r);
        free(s.seen);
        free(all);
    }
}

// A sink that fails at its k-th call (first, middle, last; returning -1 or
// another non-zero): gx_gather returns -1 with the sink's own message and
// does not call it again.
Test(gather, a_sink_that_fails_at_its_kth_call_fails_the_gather, .timeout = 20)
{
    const size_t n_per = 40;
    static const int rcs[] = { -1, 1, 7 };
    const size_t ats[] = { 1, 2, 61, 4 * 40 - 1, 4 * 40 };
    for (size_t a = 0; a < sizeof ats / sizeof ats[0]; a++) {
        sinkst_t s = { .fail_at = ats[a], .fail_rc = rcs[a % 3] };
        rig_t r;
        rig_open(&r, 4, 8, test_sink, &s);
        for (uint32_t w = 0; w < 4; w++) {
            uint64_t mine[40];
            for (size_t i = 0; i < n_per; i++)
                mine[i] = 100 + 4 * i + w;
            fake_t *f = rig_fake(&r, w);
            fake_rows(f, mine, n_per);
            fake_stream_fixed(f, 6);
        }
        gx_result_t res = { .n_vertices = 4 * n_per };
        gx_error_t err;
        int rc = rig_gather(&r, &res, &err);
        cr_assert_eq(rc, -1, "fail at %zu: gather returned %d", ats[a], rc);
        char want[200];
        snprintf(want, sizeof want, "test sink: no room for vertex %zu "
                 "(call %zu)", 100 + ats[a] - 1, ats[a]);
        cr_assert_str_eq(err.msg, want);
        cr_assert_eq(s.calls, ats[a], "the sink was called %zu times",
                     s.calls);
        cr_assert_eq(s.bad[0], '\0', "%s", s.bad);
        for (size_t i = 0; i < r.n_fk; i++) {
            cr_assert_eq(r.fk[i].why[0], '\0', "%s", r.fk[i].why);
            cr_assert(!r.fk[i].timed_out);
        }
        rig_close(&r);
    }
}

// ============================================================================
// Refusals
// ============================================================================

typedef struct refusal {
    const char *what;
    uint32_t    W;
    size_t      vsz;
    uint64_t    n_vertices;
    bool        sink;
    void      (*build)(rig_t *r);
    const char *want;            // the message, exactly: a shared word
                                 // ("unexpected") would pass a row that
                                 // some other refusal caught
} refusal_t;

// Worker w sends ids[0..n) in batches of bs (as a worker cuts them).
static fake_t *
fake_ids(rig_t *r, uint32_t w, const uint64_t *ids, size_t n, size_t bs)
{
    fake_t *f = rig_fake(r, w);
    fake_rows(f, ids, n);
    fake_stream_fixed(f, bs);
    return f;
}

static fake_t *
silent(rig_t *r, uint32_t w)
{
    fake_t *f = rig_fake(r, w);
    f->silent = true;
    return f;
}

static void
b_order_in_batch(rig_t *r)
{
    fake_ids(r, 0, (uint64_t[]){ 1, 5, 3, 7 }, 4, 8);
}

static void
b_order_across_batches(rig_t *r)
{
    fake_ids(r, 0, (uint64_t[]){ 10, 20, 15, 30 }, 4, 2);
}

static void
b_order_repeated(rig_t *r)
{
    fake_ids(r, 0, (uint64_t[]){ 4, 4 }, 2, 8);
}

// Worker 1 out of order with worker 0's ids between: 2 follows 9 in
// worker 1's stream, after worker 0's 3 has been merged.
static void
b_order_two_workers(rig_t *r)
{
    fake_ids(r, 0, (uint64_t[]){ 1, 3, 12 }, 3, 8);
    fake_ids(r, 1, (uint64_t[]){ 9, 2, 10 }, 3, 8);
}

static void
b_two_workers(rig_t *r)
{
    fake_ids(r, 0, (uint64_t[]){ 1, 2, 3 }, 3, 2);
    fake_ids(r, 1, (uint64_t[]){ 3, 4 }, 2, 1);
}

static void
b_two_workers_zero(rig_t *r)
{
    fake_ids(r, 0, (uint64_t[]){ 0 }, 1, 1);
    fake_ids(r, 1, (uint64_t[]){ 0, 1 }, 2, 1);
}

static void
b_four_rows(rig_t *r)
{
    fake_ids(r, 0, (uint64_t[]){ 1, 4 }, 2, 1);
    fake_ids(r, 1, (uint64_t[]){ 2, 3 }, 2, 2);
}

// A frame from worker 0 that is not a well-formed RESULT; worker 1 stays
// silent, so the master reads it whatever the order.
static fbatch_t *
bent(rig_t *r)
{
    static const uint64_t ids[4] = { 1, 2, 3, 4 };
    static const uint8_t vals[4 * 24];
    fake_t *f = rig_fake(r, 0);
    silent(r, 1);
    return fake_result(f, 1, 2, ids, vals, false);
}

static void
b_kind(rig_t *r)
{
    bent(r)->f.kind = GX_F_MSG;
}

static void
b_kind_end(rig_t *r)
{
    bent(r)->f.kind = GX_F_RESULT_END;
}

static void
b_ids_short(rig_t *r)
{
    bent(r)->f.bin_len[0] = 8;
}

static void
b_ids_long(rig_t *r)
{
    bent(r)->f.bin_len[0] = 17;
}

static void
b_vals_short(rig_t *r)
{
    bent(r)->f.bin_len[1] -= 1;
}

static void
b_vals_long(rig_t *r)
{
    bent(r)->f.bin_len[1] += r->vsz;
}

static void
b_one_bin(rig_t *r)
{
    bent(r)->f.n_bins = 1;
}

static void
b_three_bins(rig_t *r)
{
    fbatch_t *b = bent(r);
    b->f.n_bins = 3;
    b->f.bin[2] = b->f.bin[0];
    b->f.bin_len[2] = 16;
}

static void
b_step2(rig_t *r)
{
    bent(r)->f.step = 2;
}

// b * 8 wraps around to the bin's length.
static void
b_rows_wrap(rig_t *r)
{
    fbatch_t *b = bent(r);
    b->f.b = (UINT64_C(1) << 61) + 2;
    b->f.bin_len[0] = 16;
    b->f.bin_len[1] = 2 * r->vsz;
}

static void
b_worker_beyond(rig_t *r)
{
    silent(r, 0);
    fake_ids(r, 2, (uint64_t[]){ 1, 2 }, 2, 8);
}

static void
b_worker_max(rig_t *r)
{
    silent(r, 1);
    fake_ids(r, UINT32_MAX, (uint64_t[]){ 1 }, 1, 8);
}

// Three batches back to back while worker 1 stays silent: the first is
// merged, the second waits as the next, the third finds no slot.
static void
b_third_ahead(rig_t *r)
{
    fake_t *f = fake_ids(r, 0, (uint64_t[]){ 1, 2, 3, 4, 5, 6 }, 6, 2);
    for (size_t i = 0; i < f->nb; i++)
        f->b[i].wait_more = false;
    silent(r, 1);
}

// Its last batch, then another.
static void
b_after_last(rig_t *r)
{
    fake_t *f = fake_ids(r, 0, (uint64_t[]){ 1, 2, 3 }, 3, 8);
    fake_result(f, 1, 0, NULL, NULL, false);
    silent(r, 1);
}

static void
b_after_last_nonempty(rig_t *r)
{
    static const uint64_t four[1] = { 4 };
    static const uint8_t val[24];
    fake_t *f = fake_ids(r, 0, (uint64_t[]){ 1, 2, 3 }, 3, 8);
    fake_result(f, 0, 1, four, val, false);
    silent(r, 1);
}

// Transport-level garbage passes through as the gather's error.
static void
b_not_msgpack(rig_t *r)
{
    fbatch_t *b = fake_add(rig_fake(r, 0));
    b->raw = "\xc1garbage";
    b->raw_len = 8;
    silent(r, 1);
}

static void
b_unknown_peer(rig_t *r)
{
    fake_t *f = fake_ids(r, 0, (uint64_t[]){ 1 }, 1, 8);
    memcpy(f->id, "x0000", 5);
    silent(r, 1);
}

static const refusal_t refusals[] = {
    { "ids out of order in a batch", 1, 8, 4, false, b_order_in_batch,
      "master: worker 0 sent its values out of order" },
    { "ids out of order in a batch (sink)", 1, 8, 4, true, b_order_in_batch,
      "master: worker 0 sent its values out of order" },
    { "ids out of order across batches", 1, 24, 4, false,
      b_order_across_batches,
      "master: worker 0 sent its values out of order" },
    { "an id repeated by one worker", 1, 8, 2, false, b_order_repeated,
      "master: worker 0 sent its values out of order" },
    { "worker 1 out of order between worker 0's ids", 2, 8, 6, false,
      b_order_two_workers,
      "master: worker 1 sent its values out of order" },
    { "an id from two workers", 2, 8, 4, false, b_two_workers,
      "master: vertex 3 returned by two workers" },
    { "an id from two workers (sink)", 2, 8, 4, true, b_two_workers,
      "master: vertex 3 returned by two workers" },
    { "id 0 from two workers", 2, 8, 2, false, b_two_workers_zero,
      "master: vertex 0 returned by two workers" },
    { "more values than vertices", 2, 8, 3, false, b_four_rows,
      "master: workers returned more values than vertices" },
    { "more values than vertices (sink)", 2, 8, 3, true, b_four_rows,
      "master: workers returned more values than vertices" },
    { "values for no vertex", 2, 8, 0, false, b_four_rows,
      "master: workers returned more values than vertices" },
    { "fewer values than vertices", 2, 8, 5, false, b_four_rows,
      "master: 4 values for 5 vertices" },
    { "fewer values than vertices (sink)", 2, 24, 9, true, b_four_rows,
      "master: 4 values for 9 vertices" },
    { "a MSG frame", 2, 8, 2, false, b_kind,
      "master: an unexpected MSG frame from worker 0 while gathering values" },
    { "a RESULT_END frame", 2, 8, 2, false, b_kind_end,
      "master: an unexpected RESULT_END frame from worker 0 while gathering values" },
    { "ids bin of one row for two", 2, 8, 2, false, b_ids_short,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "ids bin of 17 bytes", 2, 8, 2, false, b_ids_long,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "values bin a byte short", 2, 24, 2, false, b_vals_short,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "values bin a row long", 2, 8, 2, false, b_vals_long,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "one bin", 2, 8, 2, false, b_one_bin,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "three bins", 2, 8, 2, false, b_three_bins,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "step 2", 2, 8, 2, false, b_step2,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "a row count whose bytes wrap", 2, 8, 2, false, b_rows_wrap,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "worker 2 of 2", 2, 8, 2, false, b_worker_beyond,
      "master: an unexpected RESULT frame from worker 2 while gathering values" },
    { "worker 4294967295 of 2", 2, 8, 1, false, b_worker_max,
      "master: an unexpected RESULT frame from worker 4294967295 while gathering values" },
    { "a third batch while the next is pending", 2, 8, 6, false, b_third_ahead,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "an empty batch after the last", 2, 8, 3, false, b_after_last,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "rows after the last", 2, 8, 3, false, b_after_last_nonempty,
      "master: an unexpected RESULT frame from worker 0 while gathering values" },
    { "a frame that is not msgpack", 2, 8, 1, false, b_not_msgpack,
      "codec: frame is not a [kind, step, a, b, bin...] array" },
    { "a peer without a worker's routing id", 2, 8, 1, false, b_unknown_peer,
      "transport: frame from an unknown peer" },
};

// Builds, gathers and tears down everything; asserts a refusal with a
// message, which it copies to msg.
static void
refusal_once(const refusal_t *c, char *msg, size_t cap)
{
    sinkst_t s = { 0 };
    rig_t r;
    rig_open(&r, c->W, c->vsz, c->sink ? test_sink : NULL, &s);
    c->build(&r);
    gx_result_t res = { .n_vertices = c->n_vertices };
    gx_error_t err;
    int rc = rig_gather(&r, &res, &err);
    // The arrays are the caller's to free, refused or not.
    free(res.ids);
    free(res.values);
    cr_assert_eq(rc, -1, "%s: accepted (rc %d)", c->what, rc);
    cr_assert_neq(err.msg[0], '\0', "%s: refused without a message", c->what);
    for (size_t i = 0; i < r.n_fk; i++) {
        cr_assert_eq(r.fk[i].why[0], '\0', "%s: fake %zu: %s", c->what, i,
                     r.fk[i].why);
        cr_assert(!r.fk[i].timed_out, "%s: fake %zu timed out", c->what, i);
    }
    rig_close(&r);
    snprintf(msg, cap, "%s", err.msg);
}

static void
assert_refused(const refusal_t *c)
{
    char msg[512];
    refusal_once(c, msg, sizeof msg);
    cr_expect(strcmp(msg, c->want) == 0, "%s: message \"%s\", want \"%s\"",
              c->what, msg, c->want);
    size_t before = gx_test_heap_in_use();
    for (int i = 0; i < LEAK_REPS; i++)
        refusal_once(c, msg, sizeof msg);
    size_t after = gx_test_heap_in_use();
    cr_expect(after <= before, "%s: %zu bytes leaked in %d refusals", c->what,
              after - before, LEAK_REPS);
}

#define N_REFUSALS (sizeof refusals / sizeof refusals[0])

// The rows by fault family, one test each, so a failure names it. The
// families must tile the table (every_refusal_is_reached checks), or a
// row added at its end would never run.
enum { F_ORDER, F_TWO, F_COUNT, F_MALFORMED, F_BEYOND, F_NO_SLOT,
       F_TRANSPORT, N_FAMILIES };
static const struct { size_t from, to; } families[N_FAMILIES] = {
    [F_ORDER] = { 0, 5 },     [F_TWO] = { 5, 8 },      [F_COUNT] = { 8, 13 },
    [F_MALFORMED] = { 13, 23 }, [F_BEYOND] = { 23, 25 },
    [F_NO_SLOT] = { 25, 28 }, [F_TRANSPORT] = { 28, 30 },
};

static void
assert_family(int f)
{
    for (size_t i = families[f].from; i < families[f].to; i++)
        assert_refused(&refusals[i]);
}

Test(gather, refuses_a_workers_ids_out_of_order, .timeout = 20)
{
    assert_family(F_ORDER);
}

Test(gather, refuses_an_id_from_two_workers, .timeout = 20)
{
    assert_family(F_TWO);
}

Test(gather, refuses_more_or_fewer_values_than_vertices, .timeout = 20)
{
    assert_family(F_COUNT);
}

Test(gather, refuses_a_malformed_frame, .timeout = 20)
{
    assert_family(F_MALFORMED);
}

Test(gather, refuses_a_worker_index_beyond_the_workers, .timeout = 20)
{
    assert_family(F_BEYOND);
}

Test(gather, refuses_a_frame_with_no_slot_for_it, .timeout = 20)
{
    assert_family(F_NO_SLOT);
}

Test(gather, transport_errors_end_the_gather, .timeout = 20)
{
    assert_family(F_TRANSPORT);
}

// Without a sink the arrays are n_vertices long, and n_vertices is the
// caller's (the master's sum of the workers' reported counts). A count
// whose arrays cannot be had is refused for its size before any row is
// stored: here n_vertices * 8 (and * value_size) wraps around size_t to 0
// or 8 bytes, which gx_gather must not take for the arrays' size.
Test(gather, refuses_an_n_vertices_whose_arrays_overflow_size_t, .timeout = 10)
{
    static const struct { uint64_t n; size_t vsz; } cases[] = {
        { UINT64_C(1) << 61, 8 },          // both products wrap to 0
        { (UINT64_C(1) << 61) + 1, 24 },   // to 8 and 24 bytes
    };
    for (size_t i = 0; i < 2; i++) {
        rig_t r;
        rig_open(&r, 1, cases[i].vsz, NULL, NULL);
        fake_ids(&r, 0, (uint64_t[]){ 1, 2, 3 }, 3, 8);
        gx_result_t res = { .n_vertices = cases[i].n };
        gx_error_t err;
        int rc = rig_gather(&r, &res, &err);
        free(res.ids);
        free(res.values);
        rig_close(&r);
        cr_assert_eq(rc, -1, "n_vertices %" PRIu64 ": accepted", cases[i].n);
        // The message, not only a refusal: this test first caught its bug
        // by crashing, and "out of memory" from a calloc that refused the
        // product would pass where the count was never checked.
        char want[96];
        snprintf(want, sizeof want, "master: %" PRIu64 " vertices cannot be "
                 "held", cases[i].n);
        cr_assert_str_eq(err.msg, want, "n_vertices %" PRIu64, cases[i].n);
    }
}

// Every row runs (the families tile the table) and asserts its exact
// message; so each refusal gx_gather can give is reached if some row wants
// its text. (Its size refusal has a test of its own, above; its "out of
// memory" needs a failing allocator.)
Test(gather, every_refusal_is_reached, .timeout = 5)
{
    size_t at = 0;
    for (int f = 0; f < N_FAMILIES; f++) {
        cr_assert_eq(families[f].from, at, "family %d starts at row %zu, "
                     "not %zu", f, families[f].from, at);
        cr_assert_gt(families[f].to, at, "family %d is empty", f);
        at = families[f].to;
    }
    cr_assert_eq(at, N_REFUSALS, "rows %zu.. belong to no family", at);
    static const char *texts[] = {
        "sent its values out of order", "returned by two workers",
        "workers returned more values than vertices", " values for ",
        "an unexpected MSG frame", "an unexpected RESULT frame",
        "codec: ", "transport: ",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        bool found = false;
        for (size_t i = 0; i < N_REFUSALS && !found; i++)
            found = strstr(refusals[i].want, texts[t]) != NULL;
        cr_expect(found, "no row reaches the refusal \"%s\"", texts[t]);
    }
}

// ============================================================================
// Flow control
// ============================================================================

// Compliant workers and a sink that pauses now and then, so a worker that
// were asked too early would run ahead: at every row, every worker has
// sent at most one batch beyond the one being merged (the master holds
// two), one MORE per non-last batch, none after the last.
Test(gather, a_worker_is_never_more_than_two_batches_ahead, .timeout = 20)
{
    unsigned ahead = 0;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        mcase_t c = { .W = 1 + (unsigned)(seed % 4), .vsz = 8, .sink = true,
                      .seed = 500 + seed, .max_n = 400, .max_bs = 6,
                      .layout = seed % 2 ? L_FIXED : L_EMPTY_INSIDE,
                      .pause = 7 };
        sinkst_t s = { 0 };
        rig_t r;
        rig_open(&r, c.W, c.vsz, test_sink, &s);
        plan_t p;
        plan_case(&r, &c, &p);
        s.want = p.all;
        s.n_want = p.n;
        s.vsz = c.vsz;
        s.seen = calloc(p.n ? p.n : 1, 1);
        s.rig = &r;
        s.owner = p.owner;
        s.pause = c.pause;
        gx_result_t res = { .n_vertices = p.n };
        gx_error_t err;
        int rc = rig_gather(&r, &res, &err);
        cr_assert_eq(rc, 0, "seed %" PRIu64 ": %s", seed, err.msg);
        cr_assert_eq(s.bad[0], '\0', "seed %" PRIu64 ": %s", seed, s.bad);
        for (size_t i = 0; i < r.n_fk; i++)
            assert_fake_clean(&r.fk[i], "flow");
        if (s.worst_ahead > ahead)
            ahead = s.worst_ahead;
        rig_close(&r);
        free(s.seen);
        free(p.all);
        free(p.owner);
    }
    // With pauses in the sink, workers did get one batch ahead (the
    // pipelining gather.c promises), never two.
    cr_assert_eq(ahead, 1, "at most %u batches ahead", ahead);
}

// A lone worker that never waits: the master reads a frame only when it
// needs that worker's next batch, so there is always a slot, and it still
// asks once per non-last batch.
Test(gather, a_lone_worker_that_never_waits_is_handled, .timeout = 10)
{
    for (size_t bs = 1; bs <= 4; bs++) {
        rig_t r;
        rig_open(&r, 1, 24, NULL, NULL);
        uint64_t ids[13];
        for (size_t i = 0; i < 13; i++)
            ids[i] = 3 * i + bs;
        fake_t *f = fake_ids(&r, 0, ids, 13, bs);
        for (size_t i = 0; i < f->nb; i++)
            f->b[i].wait_more = false;
        gx_result_t res = { .n_vertices = 13 };
        gx_error_t err;
        int rc = rig_gather(&r, &res, &err);
        cr_assert_eq(rc, 0, "bs %zu: %s", bs, err.msg);
        uint8_t v[24];
        for (size_t i = 0; i < 13; i++) {
            cr_assert_eq(res.ids[i], ids[i]);
            val_of(ids[i], 24, v);
            cr_assert_arr_eq(v, (uint8_t *)res.values + i * 24, 24);
        }
        assert_fake_clean(f, "never waits");
        free(res.ids);
        free(res.values);
        rig_close(&r);
    }
}

// Two batches back to back (a non-last, then the last) fit the master's
// two slots whatever the other workers do.
Test(gather, two_batches_back_to_back_are_handled, .timeout = 10)
{
    for (uint32_t hasty = 0; hasty < 3; hasty++) {
        rig_t r;
        rig_open(&r, 3, 8, NULL, NULL);
        uint64_t all[30];
        for (size_t i = 0; i < 30; i++)
            all[i] = 10 + i;
        for (uint32_t w = 0; w < 3; w++) {
            uint64_t mine[10];
            for (size_t i = 0; i < 10; i++)
                mine[i] = 10 + 3 * i + w;
            fake_t *f = fake_ids(&r, w, mine, 10, w == hasty ? 5 : 3);
            if (w == hasty) {
                cr_assert_eq(f->nb, 2);
                f->b[0].wait_more = false;
            }
        }
        gx_result_t res = { .n_vertices = 30 };
        gx_error_t err;
        int rc = rig_gather(&r, &res, &err);
        cr_assert_eq(rc, 0, "hasty %u: %s", hasty, err.msg);
        cr_assert_arr_eq(res.ids, all, sizeof all);
        for (size_t i = 0; i < r.n_fk; i++)
            assert_fake_clean(&r.fk[i], "back to back");
        free(res.ids);
        free(res.values);
        rig_close(&r);
    }
}
