// core/cluster_master.c: the master's side of how the processes of a
// distributed run find each other.
//
// The master binds its ROUTER and waits for `workers` registrations. A
// worker connects a DEALER and says REGISTER with a nonce of its own; the
// master answers CHALLENGE, its nonce and its proof of the shared secret
// over both, and the worker proves the secret in turn (PROOF): neither
// secret nor anything it could be replayed from crosses the wire, and
// from then on the link is sealed (docs/design.md, "Trust"). A refusal
// (versions, secret, too many workers) is told to the worker and logged;
// it is not the run's failure. Once enough have registered the master
// numbers them, splits the worker threads among them and sends each the
// RUN: the description (core/desc.c), the process table and the plugin's
// bytes. From then on each process's hub (core/hub.c) carries the run.
#include "core/cluster.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/desc.h"
#include "core/mem.h"

#define PENDING_MAX 64               // registrations in progress at once

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
    gx_frame_t f = gx_note_pack(GX_N_REFUSE, 0, 0, why);
    gx_error_t err;
    gx_net_send_hdr(r->l->in, in->id, in->id_len, &f, &err);
    const char *addr = zmq_msg_gets((zmq_msg_t *)&in->hdr, "Peer-Address");
    char line[512];
    snprintf(line, sizeof line, "refused a worker from %s: %s",
             addr ? addr : "an unknown address", why);
    log_line(r->c, line);
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
    uint8_t proof[GX_PROOF_BYTES];
    gx_auth_proof(r->c->secret, r->c->secret_len, GX_PROVE_MASTER, p->wnonce,
                  p->mnonce, proof);
    gx_frame_t c = gx_challenge_pack(p->mnonce, proof);
    gx_error_t err;
    gx_net_send_hdr(r->l->in, in->id, in->id_len, &c, &err);
}

static void
on_register(reg_t *r, const gx_netmsg_t *in)
{
    gx_register_t g;
    int ok = gx_register_unpack(&in->f, &g) == 0;
    if (g.protocol != GX_PROTOCOL_VERSION || g.abi != GX_PROGRAM_ABI_VERSION)
        return refuse(r, in, "graphx %s (protocol %llu, ABI %u) cannot work "
                      "with this master, graphx %s (protocol %u, ABI %u)",
                      g.version, (unsigned long long)g.protocol, g.abi,
                      GRAPHX_VERSION, GX_PROTOCOL_VERSION, GX_PROGRAM_ABI_VERSION);
    if (!ok || g.threads > GX_MAX_WORKERS)
        return refuse(r, in, "a malformed registration");
    if (r->n == r->c->workers)
        return refuse(r, in, "the run has all the %u workers it needs",
                      r->c->workers);
    pending_t *p = pending_for(r, in, g.nonce);
    p->threads = g.threads;
    p->port = g.port;
    snprintf(p->host, sizeof p->host, "%s", g.host);
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
    uint8_t want[GX_PROOF_BYTES];
    const uint8_t *proof;
    gx_auth_proof(r->c->secret, r->c->secret_len, GX_PROVE_WORKER, p.wnonce,
                  p.mnonce, want);
    if (gx_proof_unpack(&in->f, &proof) != 0 || !gx_auth_equal(want, proof))
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
    char why[200];
    gx_note_text(&in->f, why, sizeof why);
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

static void
beat_all(reg_t *r, double *next)
{
    if (!gx_link_beat_due(next))
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
    if (n <= 0 || (unsigned long)n > GX_PLUGIN_MAX
        || !(b->data = gx_malloc((size_t)n))
        || fread(b->data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        gx_free(b->data);            // the caller returns without it
        b->data = NULL;
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
        gx_run_view_t v = { .run_id = l->run_id, .proc = p, .desc = sb.data,
                            .desc_len = sb.size, .table = table,
                            .table_len = tlen, .plugin = plugin->data,
                            .plugin_len = plugin->len };
        gx_frame_t f = gx_run_pack(&v);
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
    gx_free(table);
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
    gx_frame_t f = gx_note_pack(GX_N_ABORT, l->run_id, 0, why);
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
    char text[600];
    snprintf(text, sizeof text, "the master gave up: %s", why);
    gx_frame_t f = gx_note_pack(GX_N_REFUSE, 0, 0, text);
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
    else if (gx_link_net_init(l, c->secret, c->secret_len, c->curve, err) == 0
             && gx_link_listen(l, c->bind, l->master, sizeof l->master, err) == 0
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
        r.procs[0].port = gx_link_port_of(l->master);
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
    gx_free(r.procs);
    gx_free(r.seal);
    gx_free(r.heard);
    gx_free(plugin.data);
    return rc;
}

