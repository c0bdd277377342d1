// core/cluster.c: how the processes of a distributed run find each other.
//
// The master binds its ROUTER and waits for `workers` registrations. A
// worker connects a DEALER, says REGISTER (protocol, ABI, version, threads,
// where its peers reach it), and gets a CHALLENGE: 32 random bytes it must
// answer with a keyed hash of the shared secret (PROOF), so the secret
// never crosses the wire. A refusal (versions, secret, too many workers)
// is told to the worker and logged at the master; it is not the run's
// failure. Once enough have registered the master numbers them, splits
// the worker threads among them and sends each the RUN: the description
// (core/desc.c), the process table and the plugin's bytes. From then on
// each process's hub (core/hub.c) carries the engine's frames.
#include "core/cluster.h"

#include <czmq.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/desc.h"
#include "core/mem.h"

#define PENDING_MAX 64               // registrations in progress at once

void
gx_link_close(gx_link_t *l)
{
    gx_door_stop(&l->door);
    gx_watch_stop(&l->watch);
    // No new connection first: a stranger's handshake that completes while
    // the socket closes trips an assertion in libzmq 4.3.4 (EAGAIN from
    // the session, zmtp_engine.cpp:446), seen once under test_cluster's
    // garbage. Unbinding first narrows that window to connections already
    // in their handshake.
    if (l->in && l->bound[0])
        zmq_unbind(l->in, l->bound);
    if (l->in)
        zmq_close(l->in);
    if (l->up)
        zmq_close(l->up);
    for (uint32_t p = 0; l->out && p < l->n_procs; p++) {
        if (l->watch_out)
            gx_watch_stop(&l->watch_out[p]);
        if (l->out[p])
            zmq_close(l->out[p]);
    }
    free(l->out);
    free(l->watch_out);
    free(l->procs);
    if (l->seal)
        memset(l->seal, 0, l->n_seal * sizeof *l->seal);
    free(l->seal);
    gx_zap_stop(&l->zap);
    memset(l, 0, sizeof *l);
}

// CZMQ's context, without CZMQ's signal handlers (the command line
// decides what SIGINT does); with --curve, the key pairs the secret
// derives and the handler that allows exactly its client key.
static int
net_init(gx_link_t *l, const void *secret, size_t len, bool curve,
         gx_error_t *err)
{
    if (gx_auth_init(err) != 0)
        return -1;
    zsys_handler_set(NULL);
    if (!(l->netctx = zsys_init()))
        return gx_error_set(err, "cannot start ZeroMQ");
    l->secret = secret;
    l->secret_len = len;
    if (!curve)
        return 0;
    gx_auth_curve(secret, len, &l->curve);
    return gx_zap_start(l->netctx, l->curve.client_public, &l->zap, err);
}

static int
bind_in(gx_link_t *l, const char *ep, char *bound, size_t cap, gx_error_t *err)
{
    if (!(l->in = gx_net_socket(l->netctx, ZMQ_ROUTER, NULL, 0, &l->curve,
                                true, err)))
        return -1;
    gx_net_ipv6(l->in, ep);
    if (zmq_bind(l->in, ep) != 0)
        return gx_error_set(err, "cannot listen on %s: %s", ep,
                            zmq_strerror(errno));
    size_t n = cap;
    zmq_getsockopt(l->in, ZMQ_LAST_ENDPOINT, bound, &n);
    snprintf(l->bound, sizeof l->bound, "%s", bound);
    return 0;
}

static uint16_t
port_of(const char *ep)
{
    const char *c = strrchr(ep, ':');
    return c ? (uint16_t)atoi(c + 1) : 0;
}

// ---- The master: registrations ---------------------------------------------

typedef struct pending {
    uint8_t  id[32];
    size_t   id_len;
    uint8_t  wnonce[32], mnonce[32];  // the worker's, the master's
    uint32_t threads;
    uint16_t port;
    char     host[GX_HOST_MAX];
    double   t;
} pending_t;

typedef struct reg {
    const gx_cluster_t *c;
    gx_link_t          *l;
    pending_t           pend[PENDING_MAX];
    uint32_t            n_pend;
    gx_proc_t          *procs;        // [1 + workers]
    gx_seal_t          *seal;         // [1 + workers] each one's link
    double             *heard;
    uint32_t            n;            // accepted so far
} reg_t;

static void
log_line(const gx_cluster_t *c, const char *line)
{
    if (c->refused)
        c->refused(line, c->bound_arg);
}

static void
refuse(reg_t *r, const gx_netmsg_t *in, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(reg_t *r, const gx_netmsg_t *in, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    gx_frame_t f = { .kind = GX_N_REFUSE, .n_bins = 1 };
    f.bin[0] = why;
    f.bin_len[0] = strlen(why);
    gx_error_t err;
    gx_net_send_hdr(r->l->in, in->id, in->id_len, &f, &err);
    const char *addr = zmq_msg_gets((zmq_msg_t *)&in->hdr, "Peer-Address");
    char line[512];
    snprintf(line, sizeof line, "refused a worker from %s: %s",
             addr ? addr : "an unknown address", why);
    log_line(r->c, line);
}

static bool
str_bin(const gx_frame_t *f, uint32_t i, char *out, size_t cap)
{
    if (f->n_bins <= i || f->bin_len[i] >= cap
        || memchr(f->bin[i], 0, f->bin_len[i]))
        return false;
    memcpy(out, f->bin[i], f->bin_len[i]);
    out[f->bin_len[i]] = 0;
    return true;
}

static pending_t *
pending_of(reg_t *r, const gx_netmsg_t *in)
{
    for (uint32_t i = 0; i < r->n_pend; i++)
        if (r->pend[i].id_len == in->id_len
            && memcmp(r->pend[i].id, in->id, in->id_len) == 0)
            return &r->pend[i];
    return NULL;
}

// A worker says REGISTER again until it hears back, each time with the
// nonce of its current attempt: the same challenge for the same nonce, so
// whichever copy it answers is the one expected.
static pending_t *
pending_for(reg_t *r, const gx_netmsg_t *in, const uint8_t *wnonce)
{
    pending_t *p = pending_of(r, in);
    if (p && memcmp(p->wnonce, wnonce, 32) == 0)
        return p;
    if (!p)
        p = &r->pend[r->n_pend < PENDING_MAX ? r->n_pend++
                     : (uint32_t)(gx_clock_now() * 1000) % PENDING_MAX];
    memcpy(p->id, in->id, in->id_len);
    p->id_len = in->id_len;
    memcpy(p->wnonce, wnonce, 32);
    gx_auth_random(p->mnonce, 32);
    return p;
}

// The master's nonce and its proof of the secret over both nonces.
static void
challenge(reg_t *r, const gx_netmsg_t *in, const pending_t *p)
{
    uint8_t proof[32];
    gx_auth_proof(r->c->secret, r->c->secret_len, GX_PROVE_MASTER, p->wnonce,
                  p->mnonce, proof);
    gx_frame_t c = { .kind = GX_N_CHALLENGE, .n_bins = 2 };
    c.bin[0] = p->mnonce;
    c.bin_len[0] = 32;
    c.bin[1] = proof;
    c.bin_len[1] = 32;
    gx_error_t err;
    gx_net_send_hdr(r->l->in, in->id, in->id_len, &c, &err);
}

static void
on_register(reg_t *r, const gx_netmsg_t *in)
{
    const gx_frame_t *f = &in->f;
    char version[64] = "?", host[GX_HOST_MAX];
    uint32_t abi = 0;
    uint16_t port = 0;
    str_bin(f, 0, version, sizeof version);
    if (f->n_bins > 3 && f->bin_len[3] == 4)
        memcpy(&abi, f->bin[3], 4);
    if (f->step != GX_PROTOCOL_VERSION || abi != GX_PROGRAM_ABI_VERSION)
        return refuse(r, in, "graphx %s (protocol %llu, ABI %u) cannot work "
                      "with this master, graphx %s (protocol %u, ABI %u)",
                      version, (unsigned long long)f->step, abi,
                      GRAPHX_VERSION, GX_PROTOCOL_VERSION, GX_PROGRAM_ABI_VERSION);
    if (!str_bin(f, 1, host, sizeof host) || !host[0] || f->n_bins != 5
        || f->bin_len[2] != 2 || f->bin_len[4] != 32 || f->b == 0
        || f->b > GX_MAX_WORKERS)
        return refuse(r, in, "a malformed registration");
    memcpy(&port, f->bin[2], 2);
    if (r->n == r->c->workers)
        return refuse(r, in, "the run has all the %u workers it needs",
                      r->c->workers);
    pending_t *p = pending_for(r, in, f->bin[4]);
    p->threads = (uint32_t)f->b;
    p->port = port;
    snprintf(p->host, sizeof p->host, "%s", host);
    p->t = gx_clock_now();
    challenge(r, in, p);
}

// The worker proved the secret: it joins, and its link is sealed from
// now on under the key both derived from the two nonces.
static void
accept_worker(reg_t *r, const pending_t *p)
{
    gx_proc_t *pr = &r->procs[++r->n];
    memcpy(pr->id, p->id, p->id_len);
    pr->id_len = p->id_len;
    pr->n = p->threads;
    pr->port = p->port;
    snprintf(pr->host, sizeof pr->host, "%s", p->host);
    uint8_t key[32];
    gx_auth_session(r->c->secret, r->c->secret_len, p->wnonce, p->mnonce, key);
    gx_seal_init(&r->seal[r->n], key, 0, 1);
    memset(key, 0, sizeof key);
    r->heard[r->n] = gx_clock_now();
    gx_frame_t ok = { .kind = GX_N_BEAT };
    gx_error_t err;
    gx_net_send_sealed(r->l->in, p->id, p->id_len, &ok, NULL, &r->seal[r->n],
                       NULL, &err);
}

static void
on_proof(reg_t *r, const gx_netmsg_t *in)
{
    pending_t *found = pending_of(r, in);
    if (!found)
        return;                                 // no challenge: ignored
    pending_t p = *found;
    *found = r->pend[--r->n_pend];
    uint8_t want[32];
    gx_auth_proof(r->c->secret, r->c->secret_len, GX_PROVE_WORKER, p.wnonce,
                  p.mnonce, want);
    if (in->f.n_bins != 1 || in->f.bin_len[0] != 32
        || !gx_auth_equal(want, in->f.bin[0]))
        return refuse(r, in, "wrong secret");
    if (r->n == r->c->workers)
        return refuse(r, in, "the run has all the %u workers it needs",
                      r->c->workers);
    accept_worker(r, &p);
}

// A worker that found this master's proof of the secret wrong says so
// (and proves nothing itself): logged, the registration forgotten.
static void
on_refused_by(reg_t *r, const gx_netmsg_t *in)
{
    pending_t *p = pending_of(r, in);
    if (!p)
        return;
    *p = r->pend[--r->n_pend];
    char why[200] = "";
    str_bin(&in->f, 0, why, sizeof why);
    for (char *c = why; *c; c++)
        if ((unsigned char)*c < 32)
            *c = '?';
    const char *addr = zmq_msg_gets((zmq_msg_t *)&in->hdr, "Peer-Address");
    char line[512];
    snprintf(line, sizeof line, "a worker from %s refused this master: %s",
             addr ? addr : "an unknown address", why);
    log_line(r->c, line);
}

// A registered worker that went quiet before the run began is dropped:
// another may take its place.
static void
forget_silent(reg_t *r)
{
    double t = gx_clock_now();
    for (uint32_t k = 1; k <= r->n; k++) {
        if (t - r->heard[k] < GX_SILENCE_MS / 1000.0)
            continue;
        char line[512];
        snprintf(line, sizeof line, "worker %s:%u went quiet before the run "
                 "began; waiting for another", r->procs[k].host,
                 r->procs[k].port);
        log_line(r->c, line);
        r->procs[k] = r->procs[r->n];
        r->seal[k] = r->seal[r->n];
        r->heard[k] = r->heard[r->n];
        r->n--;
        k--;
    }
}

// From a registered worker only its sealed beats count; anything else
// there (unsealed, forged, replayed) is nobody's word.
static void
on_waiting(reg_t *r, gx_netmsg_t *in)
{
    for (uint32_t k = 1; k <= r->n; k++)
        if (r->procs[k].id_len == in->id_len
            && memcmp(r->procs[k].id, in->id, in->id_len) == 0) {
            if (gx_net_open(&r->seal[k], in) == GX_OPEN_OK)
                r->heard[k] = gx_clock_now();
            return;
        }
    if (in->f.kind == GX_N_REGISTER)
        on_register(r, in);
    else if (in->f.kind == GX_N_PROOF)
        on_proof(r, in);
    else if (in->f.kind == GX_N_REFUSE)
        on_refused_by(r, in);
}

// Whether a heartbeat is due (and the next one's time, if so).
static bool
beat_due(double *next)
{
    double t = gx_clock_now();
    if (t < *next)
        return false;
    *next = t + GX_BEAT_MS / 1000.0;
    return true;
}

static void
beat_all(reg_t *r, double *next)
{
    if (!beat_due(next))
        return;
    gx_frame_t b = { .kind = GX_N_BEAT };
    gx_error_t err;
    for (uint32_t k = 1; k <= r->n; k++)
        gx_net_send_sealed(r->l->in, r->procs[k].id, r->procs[k].id_len, &b,
                           NULL, &r->seal[k], NULL, &err);
}

// Each connection whose ZeroMQ handshake failed, said at the master (from
// the door's thread): a worker with another secret (under --curve) or
// without --curve, or one with --curve where the master has none.
static void
on_failed_handshake(const char *peer, void *arg)
{
    const gx_cluster_t *c = arg;
    const char *who = peer[0] ? peer : "an unknown address";
    char line[512];
    if (c->curve)
        snprintf(line, sizeof line, "a worker at %s failed CURVE "
                 "authentication: wrong secret or no --curve", who);
    else
        snprintf(line, sizeof line, "a connection from %s failed the ZeroMQ "
                 "handshake: does it use --curve? This master does not", who);
    log_line(c, line);
}

static int
take_waiting(reg_t *r, gx_error_t *err)
{
    for (int k = 0; k < 64; k++) {
        gx_netmsg_t in;
        int rc = gx_net_recv(r->l->in, true, &in, err);
        if (rc < 0)
            return -1;
        if (rc == 1)
            break;
        if (rc == 0)
            on_waiting(r, &in);
        gx_netmsg_close(&in);
    }
    return 0;
}

static int
await_workers(reg_t *r, gx_error_t *err)
{
    double wait = r->c->wait_timeout > 0 ? r->c->wait_timeout : 60;
    double end = gx_clock_now() + wait, next = 0;
    while (r->n < r->c->workers) {
        if (gx_interrupted())
            return gx_error_setc(err, GX_E_INTERRUPTED, "%s while waiting for "
                                 "the workers", gx_interrupted_name());
        if (gx_clock_now() > end)
            return gx_error_set(err, "%u of %u workers registered within %g s "
                                "(--wait-timeout)", r->n, r->c->workers, wait);
        zmq_pollitem_t it = { r->l->in, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 100) < 0 && errno != EINTR)
            return gx_error_set(err, "poll: %s", zmq_strerror(errno));
        if (take_waiting(r, err) != 0)
            return -1;
        forget_silent(r);
        beat_all(r, &next);
    }
    return 0;
}

// ---- The master: the run's description ---------------------------------------

typedef struct blob {
    void  *data;
    size_t len;
} blob_t;

static int
read_plugin(const char *path, blob_t *b, gx_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return gx_error_set(err, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n <= 0 || (unsigned long)n > GX_PLUGIN_MAX || !(b->data = malloc((size_t)n))
        || fread(b->data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return gx_error_set(err, "%s: cannot read it to ship to the workers",
                            path);
    }
    fclose(f);
    b->len = (size_t)n;
    return 0;
}

static int
send_runs(const gx_job_t *job, gx_link_t *l, const blob_t *plugin,
          gx_error_t *err)
{
    const gx_cluster_t *c = job->cluster;
    const char *stream = gx_cluster_stream(job);
    gx_desc_t d = { .program = (char *)job->program->name,
                    .input = (char *)job->input,
                    .vertices = (char *)job->vertices,
                    .parts = (char *)job->output_parts,
                    .strategy = job->strategy,
                    .partitions = job->partitions ? job->partitions
                                                  : l->procs[l->n_procs - 1].first
                                                    + l->procs[l->n_procs - 1].n,
                    .workers = l->procs[l->n_procs - 1].first
                               + l->procs[l->n_procs - 1].n,
                    .undirected = job->undirected,
                    .max_supersteps = job->max_supersteps,
                    .stream = !stream ? 0 : stream == job->input ? 1 : 2,
                    .params = (gx_param_t *)c->params, .n_params = c->n_params };
    if (plugin->data) {
        gx_auth_hash(plugin->data, plugin->len, d.hash);
        d.has_hash = true;
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    gx_desc_pack(&d, &sb);
    size_t tlen = gx_procs_size(l->n_procs);
    void *table = gx_malloc(tlen);
    int rc = table ? 0 : gx_error_set(err, "out of memory");
    if (table)
        gx_procs_pack(l->procs, l->n_procs, table);
    for (uint32_t p = 1; p < l->n_procs && rc == 0; p++) {
        gx_frame_t f = { .kind = GX_N_RUN, .a = l->run_id, .b = p, .n_bins = 3 };
        f.bin[0] = sb.data;
        f.bin_len[0] = sb.size;
        f.bin[1] = table;
        f.bin_len[1] = tlen;
        f.bin[2] = plugin->data ? plugin->data : "";
        f.bin_len[2] = plugin->len;
        // A full link here (a RUN is the first message on it) means the
        // worker is not reading: wait a little, as for any send.
        double end = gx_clock_now() + GX_SILENCE_MS / 1000.0;
        while ((rc = gx_net_send_sealed(l->in, l->procs[p].id,
                                        l->procs[p].id_len, &f, NULL,
                                        &l->seal[p], NULL, err)) == 1
               && gx_clock_now() < end)
            usleep(1000);
        if (rc == 1)
            rc = gx_error_set(err, "worker %s:%u does not take its work",
                              l->procs[p].host, l->procs[p].port);
        else if (rc < 0 && errno == EHOSTUNREACH)
            rc = gx_error_set(err, "worker %s:%u went away before the run "
                              "began", l->procs[p].host, l->procs[p].port);
    }
    free(table);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static bool
is_gz_file(const char *path)
{
    size_t n = strlen(path);
    struct stat st;
    return n > 3 && strcmp(path + n - 3, ".gz") == 0 && stat(path, &st) == 0
           && S_ISREG(st.st_mode);
}

const char *
gx_cluster_stream(const gx_job_t *job)
{
    if (strcmp(job->input, "-") == 0 || is_gz_file(job->input))
        return job->input;
    if (job->vertices && strcmp(job->vertices, "-") == 0)
        return job->vertices;
    return NULL;
}

void
gx_cluster_abort(gx_link_t *l, const char *why)
{
    if (!l->in || l->told)
        return;
    gx_frame_t f = { .kind = GX_N_ABORT, .a = l->run_id, .n_bins = 1 };
    f.bin[0] = why;
    f.bin_len[0] = strlen(why);
    gx_error_t ignored;
    for (uint32_t p = 1; p < l->n_procs; p++)
        gx_net_send_sealed(l->in, l->procs[p].id, l->procs[p].id_len, &f,
                           NULL, &l->seal[p], NULL, &ignored);
    l->told = true;
}

// Registered workers waiting for a run that will not come are told so.
static void
refuse_waiting(reg_t *r, const char *why)
{
    gx_frame_t f = { .kind = GX_N_REFUSE, .n_bins = 1 };
    char text[600];
    snprintf(text, sizeof text, "the master gave up: %s", why);
    f.bin[0] = text;
    f.bin_len[0] = strlen(text);
    gx_error_t ignored;
    for (uint32_t k = 1; k <= r->n; k++)
        gx_net_send_sealed(r->l->in, r->procs[k].id, r->procs[k].id_len, &f,
                           NULL, &r->seal[k], NULL, &ignored);
}

// The master's host as workers see it in messages: the bound endpoint.
int
gx_cluster_master(const gx_job_t *job, gx_link_t *l, gx_error_t *err)
{
    const gx_cluster_t *c = job->cluster;
    memset(l, 0, sizeof *l);
    if (c->workers == 0 || c->workers > GX_MAX_WORKERS)
        return gx_error_set(err, "distributed mode needs 1 to %u workers",
                            GX_MAX_WORKERS);
    if (!c->secret || c->secret_len < GX_SECRET_MIN)
        return gx_error_set(err, "distributed mode needs a shared secret of at "
                            "least %d bytes", GX_SECRET_MIN);
    blob_t plugin = { 0 };
    if (c->plugin && read_plugin(c->plugin, &plugin, err) != 0)
        return -1;
    reg_t r = { .c = c, .l = l };
    int rc = -1;
    r.procs = gx_calloc(c->workers + 1, sizeof *r.procs);
    r.seal = gx_calloc(c->workers + 1, sizeof *r.seal);
    r.heard = gx_calloc(c->workers + 1, sizeof *r.heard);
    if (!r.procs || !r.seal || !r.heard)
        gx_error_set(err, "out of memory");
    else if (net_init(l, c->secret, c->secret_len, c->curve, err) == 0
             && bind_in(l, c->bind, l->master, sizeof l->master, err) == 0
             && gx_door_start(l->netctx, l->in, on_failed_handshake,
                              (void *)c, &l->door, err) == 0
             && (!c->bound || c->bound(l->master, c->bound_arg, err) == 0)
             && (await_workers(&r, err) == 0
                 || (refuse_waiting(&r, err->msg), false))) {
        uint32_t next = 0;
        for (uint32_t p = 1; p <= r.n; p++) {
            r.procs[p].first = next;
            next += r.procs[p].n;
        }
        snprintf(r.procs[0].host, sizeof r.procs[0].host, "%.255s", l->master);
        r.procs[0].port = port_of(l->master);
        l->procs = r.procs;
        l->seal = r.seal;
        l->n_seal = r.n + 1;
        l->n_procs = r.n + 1;
        r.procs = NULL;
        r.seal = NULL;
        gx_auth_random(&l->run_id, sizeof l->run_id);
        if (next > GX_MAX_WORKERS)
            gx_error_set(err, "the workers offer %u threads; at most %u",
                         next, GX_MAX_WORKERS);
        else
            rc = send_runs(job, l, &plugin, err);
    }
    free(r.procs);
    free(r.seal);
    free(r.heard);
    free(plugin.data);
    return rc;
}

// ---- A worker: registering -----------------------------------------------

// A worker's registration in progress: its nonce for this attempt.
typedef struct enrol {
    gx_link_t              *l;
    const gx_worker_opts_t *o;
    uint16_t                port;
    uint8_t                 wnonce[32];
} enrol_t;

static void
beat_master(gx_link_t *l, double *next)
{
    if (!beat_due(next))
        return;
    gx_frame_t b = { .kind = GX_N_BEAT };
    gx_error_t ignored;
    gx_net_send_sealed(l->up, NULL, 0, &b, NULL, &l->seal[0], NULL, &ignored);
}

// What a message from the master is worth once its link is sealed:
// 0 genuine, 1 to be ignored (unsealed: a challenge answering a REGISTER
// repeated earlier, or a stranger's; replayed), -1 the run cannot go on
// (altered on the way, or messages lost).
static int
judge(gx_link_t *l, gx_netmsg_t *in, gx_error_t *err)
{
    if (!in->sealed)
        return 1;
    switch (gx_net_open(&l->seal[0], in)) {
    case GX_OPEN_OK:
        return 0;
    case GX_OPEN_REPLAY:
        return 1;
    case GX_OPEN_GAP:
        return gx_error_setc(err, GX_E_AUTH, "messages from the master at %s "
                             "were lost", l->master);
    default:
        return gx_error_setc(err, GX_E_AUTH, "a %s message from the master at "
                             "%s failed authentication (altered on the way?)",
                             gx_net_kind_name(in->f.kind), l->master);
    }
}

// Waits for one message from the master; 1 on time-out. Once the link is
// sealed (`sealed`) only genuine messages count, and this worker beats
// meanwhile (the master drops a registered worker it does not hear from).
static int
from_master(gx_link_t *l, gx_netmsg_t *in, double timeout, bool sealed,
            gx_error_t *err)
{
    double end = gx_clock_now() + timeout, next = 0;
    for (;;) {
        if (sealed)
            beat_master(l, &next);
        if (gx_interrupted())
            return gx_error_setc(err, GX_E_INTERRUPTED, "%s",
                                 gx_interrupted_name());
        int rc = gx_net_recv(l->up, false, in, err);
        if (rc < 0)
            return -1;
        int worth = rc == 0 && sealed ? judge(l, in, err) : 0;
        if (worth < 0) {
            gx_netmsg_close(in);
            return -1;
        }
        if (rc == 0 && worth == 0 && in->f.kind != GX_N_BEAT)
            return 0;
        if (rc == 0 && worth == 0)
            end = gx_clock_now() + timeout;      // a beat: it is alive
        if (rc == 0) {
            gx_netmsg_close(in);
            continue;
        }
        double left = end - gx_clock_now();
        if (left <= 0)
            return 1;
        zmq_pollitem_t it = { l->up, 0, ZMQ_POLLIN, 0 };
        long ms = sealed && left > 0.2 ? 200 : (long)(left * 1000) + 1;
        if (zmq_poll(&it, 1, ms) < 0 && errno != EINTR)
            return gx_error_set(err, "poll: %s", zmq_strerror(errno));
    }
}

static int
refused(const gx_netmsg_t *in, const char *master, gx_error_t *err)
{
    char why[400] = "";
    str_bin(&in->f, 0, why, sizeof why);
    for (char *s = why; *s; s++)
        if ((unsigned char)*s < 32)
            *s = '?';
    return gx_error_setc(err, GX_E_REFUSED, "the master at %s refused this "
                         "worker: %s", master, why);
}

static void
host_to_advertise(const gx_worker_opts_t *o, char host[GX_HOST_MAX])
{
    if (o->advertise)
        snprintf(host, GX_HOST_MAX, "%s", o->advertise);
    else if (gethostname(host, GX_HOST_MAX) != 0)
        snprintf(host, GX_HOST_MAX, "localhost");
    host[GX_HOST_MAX - 1] = 0;
}

static int
say_register(enrol_t *en, gx_error_t *err)
{
    char host[GX_HOST_MAX];
    host_to_advertise(en->o, host);
    uint32_t abi = GX_PROGRAM_ABI_VERSION;
    gx_frame_t f = { .kind = GX_N_REGISTER,
                     .step = en->o->claim_protocol ? en->o->claim_protocol
                                                   : GX_PROTOCOL_VERSION,
                     .b = en->o->threads, .n_bins = 5 };
    f.bin[0] = GRAPHX_VERSION;
    f.bin_len[0] = strlen(GRAPHX_VERSION);
    f.bin[1] = host;
    f.bin_len[1] = strlen(host);
    f.bin[2] = &en->port;
    f.bin_len[2] = 2;
    f.bin[3] = &abi;
    f.bin_len[3] = 4;
    f.bin[4] = en->wnonce;
    f.bin_len[4] = 32;
    // 1 (the link is full) is fine: an earlier REGISTER still waits there
    // for the connection, and one is all the master needs.
    return gx_net_send_hdr(en->l->up, NULL, 0, &f, err) >= 0 ? 0
           : gx_error_set(err, "cannot send to the master at %s",
                          en->l->master);
}

// After the proof: the master's sealed beat (accepted) or REFUSE. A REFUSE
// is taken sealed or not: it can only end this worker, never run anything.
static int
verdict(gx_link_t *l, gx_error_t *err)
{
    double end = gx_clock_now() + GX_SILENCE_MS / 1000.0;
    while (gx_clock_now() < end) {
        gx_netmsg_t in;
        int rc = gx_net_recv(l->up, false, &in, err);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            uint32_t kind = in.f.kind;
            int worth = kind == GX_N_REFUSE ? 0 : judge(l, &in, err);
            if (kind == GX_N_REFUSE)
                refused(&in, l->master, err);
            gx_netmsg_close(&in);
            if (worth < 0 || kind == GX_N_REFUSE)
                return -1;
            if (worth == 0 && kind == GX_N_BEAT)
                return 0;
            continue;
        }
        zmq_pollitem_t it = { l->up, 0, ZMQ_POLLIN, 0 };
        zmq_poll(&it, 1, 100);
    }
    return gx_error_set(err, "the master at %s did not answer the proof of "
                        "the secret", l->master);
}

// A full link (copies of REGISTER still leaving) empties soon now that
// the master answers.
static int
send_proof(gx_link_t *l, const uint8_t proof[32], gx_error_t *err)
{
    gx_frame_t f = { .kind = GX_N_PROOF, .n_bins = 1 };
    f.bin[0] = proof;
    f.bin_len[0] = 32;
    double end = gx_clock_now() + GX_SILENCE_MS / 1000.0;
    int rc;
    while ((rc = gx_net_send_hdr(l->up, NULL, 0, &f, err)) == 1
           && gx_clock_now() < end)
        usleep(1000);
    if (rc != 0)
        return gx_error_set(err, "cannot send to the master at %s", l->master);
    return 0;
}

// Why nothing came back from the master, as far as this side can tell:
// the --curve hint only where something answered the connection.
static int
no_answer(gx_link_t *l, const gx_worker_opts_t *o, double wait,
          gx_error_t *err)
{
    gx_watch_poll(&l->watch);
    if (!l->watch.connected)
        return gx_error_set(err, "nothing answered at the master's address %s "
                            "within %g s (is the master running there, and "
                            "can this host reach it?)", l->master, wait);
    if (l->watch.failures && o->curve)
        return gx_error_set(err, "the master at %s refused the CURVE "
                            "handshake: a different secret there, or no "
                            "--curve", l->master);
    if (l->watch.failures)
        return gx_error_set(err, "the ZeroMQ handshake with the master at %s "
                            "failed (does it use --curve?)", l->master);
    return gx_error_set(err, "the master at %s took the connection but did "
                        "not answer within %g s (is it graphx-run %s?)",
                        l->master, wait, GRAPHX_VERSION);
}

// The master's CHALLENGE: its proof of the secret over both nonces must
// hold before anything else from it is believed; then both ends derive
// the link's key, and this worker proves the secret in turn.
static int
answer_challenge(enrol_t *en, gx_netmsg_t *in, gx_error_t *err)
{
    gx_link_t *l = en->l;
    const gx_worker_opts_t *o = en->o;
    const gx_frame_t *f = &in->f;
    if (f->kind != GX_N_CHALLENGE || f->n_bins != 2 || f->bin_len[0] != 32
        || f->bin_len[1] != 32)
        return gx_error_set(err, "the master at %s does not speak graphx's "
                            "protocol %u", l->master, GX_PROTOCOL_VERSION);
    uint8_t mnonce[32], want[32], key[32];
    memcpy(mnonce, f->bin[0], 32);
    gx_auth_proof(o->secret, o->secret_len, GX_PROVE_MASTER, en->wnonce,
                  mnonce, want);
    if (!gx_auth_equal(want, f->bin[1])) {
        gx_frame_t no = { .kind = GX_N_REFUSE, .n_bins = 1 };
        no.bin[0] = "its proof of the secret failed there (another secret?)";
        no.bin_len[0] = strlen(no.bin[0]);
        gx_net_send_hdr(l->up, NULL, 0, &no, err);
        return gx_error_set(err, "the master at %s did not prove the secret "
                            "(another secret there, or not a graphx master)",
                            l->master);
    }
    gx_auth_session(o->secret, o->secret_len, en->wnonce, mnonce, key);
    gx_seal_init(&l->seal[0], key, 1, 0);
    memset(key, 0, sizeof key);
    gx_auth_proof(o->secret, o->secret_len, GX_PROVE_WORKER, en->wnonce,
                  mnonce, want);
    return send_proof(l, want, err);
}

// REGISTER (said again every 2 s: a master that took the first and died
// before answering, or restarts at the same address, hears it again),
// then the master's CHALLENGE or REFUSE.
static int
await_challenge(enrol_t *en, gx_netmsg_t *in, gx_error_t *err)
{
    double wait = en->o->wait_timeout > 0 ? en->o->wait_timeout : 60;
    double end = gx_clock_now() + wait;
    int rc = 1;
    while (rc == 1 && gx_clock_now() < end) {
        if (say_register(en, err) != 0)
            return -1;
        double left = end - gx_clock_now();
        rc = from_master(en->l, in, left < 2 ? left : 2, false, err);
        // Handshakes that keep failing will not start working: say so now.
        gx_watch_poll(&en->l->watch);
        if (rc == 1 && en->l->watch.failures && !en->l->watch.handshaken)
            break;
    }
    if (rc == 1)
        return no_answer(en->l, en->o, wait, err);
    return rc;
}

static int
register_with(gx_link_t *l, const gx_worker_opts_t *o, uint16_t port,
              gx_error_t *err)
{
    enrol_t en = { .l = l, .o = o, .port = port };
    gx_auth_random(en.wnonce, sizeof en.wnonce);
    gx_netmsg_t in;
    if (await_challenge(&en, &in, err) != 0)
        return -1;
    int rc = in.f.kind == GX_N_REFUSE ? refused(&in, l->master, err)
                                      : answer_challenge(&en, &in, err);
    gx_netmsg_close(&in);
    return rc != 0 ? -1 : verdict(l, err);
}

// The RUN, sealed and genuine. 1: the master fell silent (err says so);
// -1: anything else (a refusal, a RUN altered on the way, lost messages).
static int
await_run(gx_link_t *l, gx_netmsg_t *in, gx_error_t *err)
{
    int rc = from_master(l, in, GX_SILENCE_MS / 1000.0, true, err);
    if (rc == 1)
        return gx_error_setc(err, GX_E_MASTER_GONE, "the master at %s stopped "
                             "answering before the run began", l->master), 1;
    if (rc < 0)
        return -1;
    if (in->f.kind == GX_N_REFUSE) {
        refused(in, l->master, err);
        gx_netmsg_close(in);
        return -1;
    }
    if (in->f.kind != GX_N_RUN || in->f.n_bins != 3 || in->f.b == 0) {
        gx_netmsg_close(in);
        return gx_error_set(err, "the master at %s sent %s, not a run",
                            l->master, gx_net_kind_name(in->f.kind));
    }
    return 0;
}

// This worker's links to its peers: each DEALER with a routing id of 16
// random bytes (nobody can take it first), and each link sealed under the
// key of this pair of processes in this run. Who sent a message is what
// its seal proves, never its routing id.
static int
connect_peers(gx_link_t *l, gx_error_t *err)
{
    gx_seal_t master = l->seal[0];
    gx_seal_t *seal = gx_calloc(l->n_procs, sizeof *seal);
    if (!(l->out = gx_calloc(l->n_procs, sizeof *l->out))
        || !(l->watch_out = gx_calloc(l->n_procs, sizeof *l->watch_out))
        || !seal) {
        free(seal);
        return gx_error_set(err, "out of memory");
    }
    memset(l->seal, 0, sizeof *l->seal);
    free(l->seal);
    l->seal = seal;
    l->n_seal = l->n_procs;
    l->seal[0] = master;
    for (uint32_t p = 1; p < l->n_procs; p++) {
        if (p == l->self)
            continue;
        uint8_t key[32], id[16] = { 'q' };
        gx_auth_peer_key(l->secret, l->secret_len, l->run_id, l->self, p, key);
        gx_seal_init(&l->seal[p], key, l->self, p);
        memset(key, 0, sizeof key);
        gx_auth_random(id + 1, sizeof id - 1);
        char ep[GX_HOST_MAX + 32];
        const gx_proc_t *pr = &l->procs[p];
        bool v6 = strchr(pr->host, ':') != NULL;
        snprintf(ep, sizeof ep, v6 ? "tcp://[%s]:%u" : "tcp://%s:%u",
                 pr->host, pr->port);
        if (!(l->out[p] = gx_net_socket(l->netctx, ZMQ_DEALER, id, sizeof id,
                                        &l->curve, false, err))
            || gx_watch_start(l->netctx, l->out[p], &l->watch_out[p], err) != 0)
            return -1;
        gx_net_ipv6(l->out[p], ep);
        if (zmq_connect(l->out[p], ep) != 0)
            return gx_error_set(err, "cannot connect to worker process %u at "
                                "%s: %s", p, ep, zmq_strerror(errno));
    }
    return 0;
}

// A path the description names that this host cannot open: said here,
// with why the path must be the same on every host.
static int
check_path(const char *what, const char *path, gx_error_t *err)
{
    if (!path || strcmp(path, "-") == 0 || access(path, R_OK) == 0)
        return 0;
    return gx_error_set(err, "%s %s: %s on this host (a distributed run reads "
                        "it at the same path on every host)", what, path,
                        strerror(errno));
}

// The RUN's parts, checked: the process table, this worker's place in
// it, the plugin against its hash, the inputs this host must see.
static int
check_run(gx_link_t *l, const gx_worker_opts_t *o, const gx_frame_t *f,
          const gx_desc_t *d, gx_error_t *err)
{
    l->run_id = f->a;
    int rc = gx_procs_unpack(f->bin[1], f->bin_len[1], d->workers, &l->procs,
                             &l->n_procs, err);
    if (rc == 0 && (f->b >= l->n_procs || l->procs[f->b].n != o->threads))
        return gx_error_set(err, "run description: this worker's place is "
                            "wrong");
    if (rc == 0 && d->has_hash != (f->bin_len[2] > 0))
        return gx_error_set(err, "run description: the plugin and its hash "
                            "disagree");
    uint8_t hash[32];
    if (rc == 0 && d->has_hash) {
        gx_auth_hash(f->bin[2], f->bin_len[2], hash);
        if (!gx_auth_equal(hash, d->hash))
            return gx_error_set(err, "the plugin %s arrived damaged (its hash "
                                "does not match)", d->program);
    }
    l->self = (uint32_t)f->b;
    if (rc == 0 && d->stream != 1)
        rc = check_path("input", d->input, err);
    if (rc == 0 && d->stream != 2)
        rc = check_path("--vertices", d->vertices, err);
    return rc;
}

// The RUN, sealed by the master and opened (judge) before any of it is
// read: only now is a plugin loaded, an input opened, an output written.
static int
take_run(gx_link_t *l, const gx_worker_opts_t *o, gx_netmsg_t *in,
         gx_error_t *err)
{
    const gx_frame_t *f = &in->f;
    gx_desc_t d;
    if (gx_desc_unpack(f->bin[0], f->bin_len[0], &d, err) != 0)
        return -1;
    int rc = check_run(l, o, f, &d, err);
    gx_resolved_t r = { 0 };
    gx_run_desc_t rd = { .program = d.program,
                         .plugin = d.has_hash ? f->bin[2] : NULL,
                         .plugin_len = f->bin_len[2], .params = d.params,
                         .n_params = d.n_params };
    if (rc == 0)
        rc = o->resolve(&rd, &r, err);
    if (rc == 0) {
        rc = connect_peers(l, err);
        if (rc == 0)
            rc = gx_cluster_worker_run(l, &d, &r, o, err);
        if (o->release)
            o->release(&r);
    }
    gx_desc_free(&d);
    return rc;
}

static void
tell_master(gx_link_t *l, const char *msg)
{
    gx_frame_t f = { .kind = GX_N_FAIL, .a = l->run_id, .b = l->self,
                     .n_bins = 1 };
    f.bin[0] = msg;
    f.bin_len[0] = strlen(msg);
    gx_error_t err;
    gx_net_send_sealed(l->up, NULL, 0, &f, NULL, &l->seal[0], NULL, &err);
}

static void
no_linger(gx_link_t *l, bool master_too)
{
    int zero = 0;
    if (master_too)
        zmq_setsockopt(l->up, ZMQ_LINGER, &zero, sizeof zero);
    for (uint32_t p = 0; l->out && p < l->n_procs; p++)
        if (l->out[p])
            zmq_setsockopt(l->out[p], ZMQ_LINGER, &zero, sizeof zero);
}

static void
note(const gx_worker_opts_t *o, const char *what)
{
    if (o->note)
        o->note(what, o->note_arg);
}

// Where this worker listens for its peers: --bind, else the address its
// --advertise name resolves to here (ZeroMQ binds addresses and interface
// names, not host names), else every interface.
static int
peer_endpoint(const gx_worker_opts_t *o, char *ep, size_t cap, gx_error_t *err)
{
    char addr[INET6_ADDRSTRLEN] = "*";
    const char *host = o->bind;
    if (!host && o->advertise) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
        int rc = getaddrinfo(o->advertise, NULL, &hints, &res);
        if (rc != 0)
            return gx_error_set(err, "cannot resolve --advertise %s to listen "
                                "on it: %s (--bind ADDR to choose the address)",
                                o->advertise, gai_strerror(rc));
        getnameinfo(res->ai_addr, res->ai_addrlen, addr, sizeof addr, NULL, 0,
                    NI_NUMERICHOST);
        freeaddrinfo(res);
    }
    if (!host)
        host = addr;
    bool v6 = strchr(host, ':') != NULL && host[0] != '[';
    snprintf(ep, cap, v6 ? "tcp://[%s]:%u" : "tcp://%s:%u", host, o->port);
    return 0;
}

// Sockets up: the ROUTER peers reach, and the DEALER to the master, whose
// connection is watched (what to say if nothing answers).
static int
open_worker(gx_link_t *l, const gx_worker_opts_t *o, char *bound, size_t cap,
            gx_error_t *err)
{
    char ep[GX_HOST_MAX + 32];
    uint8_t id[16] = { 'p' };
    gx_auth_random(id + 1, sizeof id - 1);
    if (peer_endpoint(o, ep, sizeof ep, err) != 0
        || net_init(l, o->secret, o->secret_len, o->curve, err) != 0
        || bind_in(l, ep, bound, cap, err) != 0
        || !(l->up = gx_net_socket(l->netctx, ZMQ_DEALER, id, sizeof id,
                                   &l->curve, false, err))
        || gx_watch_start(l->netctx, l->up, &l->watch, err) != 0)
        return -1;
    if (!(l->seal = gx_calloc(1, sizeof *l->seal)))
        return gx_error_set(err, "out of memory");
    l->n_seal = 1;
    gx_net_ipv6(l->up, o->master);
    int64_t max = GX_NET_RUN_MAX;               // the RUN carries the plugin
    zmq_setsockopt(l->up, ZMQ_MAXMSGSIZE, &max, sizeof max);
    if (zmq_connect(l->up, o->master) != 0)
        return gx_error_set(err, "cannot connect to the master at %s: %s",
                            o->master, zmq_strerror(errno));
    return 0;
}

// The run, once registered: a failure before the hub took over (a bad
// description, a program that cannot be set up here) is told to the
// master. It reports every failure of the run but its own absence, so
// the caller need not say them again (-2).
static int
serve_run(gx_link_t *l, const gx_worker_opts_t *o, gx_netmsg_t *in,
          gx_error_t *err)
{
    note(o, "running");
    int rc = take_run(l, o, in, err);
    if (rc != 0 && err->msg[0])
        tell_master(l, err->msg);
    // After a failure what is queued for a peer is of no use; what is for
    // the master (FAIL) still goes, unless it is gone, or has stopped the
    // run itself and needs nothing more from here.
    bool master_gone = err->code == GX_E_MASTER_GONE;
    if (rc != 0)
        no_linger(l, master_gone || err->code == GX_E_STOPPED);
    if (rc != 0 && !master_gone)
        rc = -2;
    return rc;
}

int
gx_worker_serve(const gx_worker_opts_t *o, gx_error_t *err)
{
    gx_link_t l = { 0 };
    if (!o->threads || o->threads > GX_MAX_WORKERS || !o->resolve)
        return gx_error_set(err, "a worker needs 1 to %u threads",
                            GX_MAX_WORKERS);
    if (!o->secret || o->secret_len < GX_SECRET_MIN)
        return gx_error_set(err, "a worker needs the shared secret, of at "
                            "least %d bytes", GX_SECRET_MIN);
    snprintf(l.master, sizeof l.master, "%s", o->master);
    char bound[300];
    int rc = -1;
    bool told = false;
    gx_netmsg_t in = { 0 };
    if (open_worker(&l, o, bound, sizeof bound, err) == 0
        && register_with(&l, o, port_of(bound), err) == 0) {
        note(o, "registered; waiting for the run");
        int got = await_run(&l, &in, err);
        if (got == 0)
            rc = serve_run(&l, o, &in, err);
        else if (got < 0) {                // e.g. a RUN altered on the way:
            tell_master(&l, err->msg);     // the master hears why
            told = true;
        }
    }
    // Not in a run: a registration still queued for a master that never
    // came must not hold the exit for the linger's 2 s.
    if (rc == -1 && l.up && !l.run_id && !told)
        no_linger(&l, true);
    gx_netmsg_close(&in);
    gx_link_close(&l);
    return rc;
}
