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
    if (l->in)
        zmq_close(l->in);
    if (l->up)
        zmq_close(l->up);
    for (uint32_t p = 0; l->out && p < l->n_procs; p++)
        if (l->out[p])
            zmq_close(l->out[p]);
    free(l->out);
    free(l->procs);
    if (l->auth)
        zactor_destroy((zactor_t **)&l->auth);
    if (l->auth_dir[0]) {
        char path[128];
        snprintf(path, sizeof path, "%s/client.key", l->auth_dir);
        unlink(path);
        rmdir(l->auth_dir);
    }
    memset(l, 0, sizeof *l);
}

// CZMQ's context (zauth must share it), without CZMQ's signal handlers:
// the command line decides what SIGINT does.
static int
net_init(gx_link_t *l, const void *secret, size_t len, bool curve,
         gx_error_t *err)
{
    if (gx_auth_init(err) != 0)
        return -1;
    zsys_handler_set(NULL);
    if (!(l->netctx = zsys_init()))
        return gx_error_set(err, "cannot start ZeroMQ");
    if (curve)
        gx_auth_curve(secret, len, &l->curve);
    return 0;
}

// zauth, allowing the one client key the secret derives: written as a
// certificate into a private directory, the form zauth reads.
static int
start_auth(gx_link_t *l, gx_error_t *err)
{
    if (!l->curve.on)
        return 0;
    const char *tmp = getenv("TMPDIR");
    snprintf(l->auth_dir, sizeof l->auth_dir, "%s/graphx-auth-XXXXXX",
             tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(l->auth_dir)) {
        l->auth_dir[0] = 0;
        return gx_error_set(err, "cannot create a directory for CURVE keys: "
                            "%s", strerror(errno));
    }
    zcert_t *c = zcert_new_from(l->curve.client_public, l->curve.client_secret);
    char path[128];
    snprintf(path, sizeof path, "%s/client.key", l->auth_dir);
    int rc = c ? zcert_save_public(c, path) : -1;
    zcert_destroy(&c);
    if (rc != 0)
        return gx_error_set(err, "cannot write %s", path);
    zactor_t *auth = zactor_new(zauth, NULL);
    if (!auth)
        return gx_error_set(err, "cannot start zauth");
    l->auth = auth;
    zstr_sendx(auth, "CURVE", l->auth_dir, NULL);
    zsock_wait(auth);
    return 0;
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
    uint8_t  nonce[32];
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
    double             *heard;
    uint32_t            n;            // accepted so far
} reg_t;

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
    if (r->c->refused) {
        const char *addr = zmq_msg_gets((zmq_msg_t *)&in->hdr, "Peer-Address");
        char line[512];
        snprintf(line, sizeof line, "refused a worker from %s: %s",
                 addr ? addr : "an unknown address", why);
        r->c->refused(line, r->c->bound_arg);
    }
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
    if (!str_bin(f, 1, host, sizeof host) || !host[0] || f->n_bins < 3
        || f->bin_len[2] != 2 || f->b == 0 || f->b > GX_MAX_WORKERS)
        return refuse(r, in, "a malformed registration");
    memcpy(&port, f->bin[2], 2);
    if (r->n == r->c->workers)
        return refuse(r, in, "the run has all the %u workers it needs",
                      r->c->workers);
    // A worker says REGISTER again until it hears back: the same challenge
    // again, so whichever copy it answers is the one expected.
    pending_t *p = NULL;
    for (uint32_t i = 0; i < r->n_pend && !p; i++)
        if (r->pend[i].id_len == in->id_len
            && memcmp(r->pend[i].id, in->id, in->id_len) == 0)
            p = &r->pend[i];
    if (!p) {
        p = &r->pend[r->n_pend < PENDING_MAX ? r->n_pend++
                     : (uint32_t)(gx_clock_now() * 1000) % PENDING_MAX];
        memcpy(p->id, in->id, in->id_len);
        p->id_len = in->id_len;
        gx_auth_random(p->nonce, 32);
    }
    p->threads = (uint32_t)f->b;
    p->port = port;
    snprintf(p->host, sizeof p->host, "%s", host);
    p->t = gx_clock_now();
    gx_frame_t c = { .kind = GX_N_CHALLENGE, .n_bins = 1 };
    c.bin[0] = p->nonce;
    c.bin_len[0] = 32;
    gx_error_t err;
    gx_net_send_hdr(r->l->in, in->id, in->id_len, &c, &err);
}

static void
on_proof(reg_t *r, const gx_netmsg_t *in)
{
    uint32_t i = 0;
    while (i < r->n_pend && (r->pend[i].id_len != in->id_len
                             || memcmp(r->pend[i].id, in->id, in->id_len)))
        i++;
    if (i == r->n_pend)
        return;                                 // no challenge: ignored
    pending_t p = r->pend[i];
    r->pend[i] = r->pend[--r->n_pend];
    uint8_t want[32];
    gx_auth_proof(r->c->secret, r->c->secret_len, p.nonce, want);
    if (in->f.n_bins != 1 || in->f.bin_len[0] != 32
        || !gx_auth_equal(want, in->f.bin[0]))
        return refuse(r, in, "wrong secret");
    if (r->n == r->c->workers)
        return refuse(r, in, "the run has all the %u workers it needs",
                      r->c->workers);
    gx_proc_t *pr = &r->procs[++r->n];
    memcpy(pr->id, p.id, p.id_len);
    pr->id_len = p.id_len;
    pr->n = p.threads;
    pr->port = p.port;
    snprintf(pr->host, sizeof pr->host, "%s", p.host);
    r->heard[r->n] = gx_clock_now();
    gx_frame_t ok = { .kind = GX_N_BEAT };
    gx_error_t err;
    gx_net_send_hdr(r->l->in, in->id, in->id_len, &ok, &err);
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
        if (r->c->refused) {
            char line[512];
            snprintf(line, sizeof line, "worker %s:%u went quiet before the "
                     "run began; waiting for another", r->procs[k].host,
                     r->procs[k].port);
            r->c->refused(line, r->c->bound_arg);
        }
        r->procs[k] = r->procs[r->n];
        r->heard[k] = r->heard[r->n];
        r->n--;
        k--;
    }
}

static void
on_waiting(reg_t *r, gx_netmsg_t *in)
{
    for (uint32_t k = 1; k <= r->n; k++)
        if (r->procs[k].id_len == in->id_len
            && memcmp(r->procs[k].id, in->id, in->id_len) == 0) {
            r->heard[k] = gx_clock_now();
            return;
        }
    if (in->f.kind == GX_N_REGISTER)
        on_register(r, in);
    else if (in->f.kind == GX_N_PROOF)
        on_proof(r, in);
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
        gx_net_send_hdr(r->l->in, r->procs[k].id, r->procs[k].id_len, &b, &err);
}

static int
await_workers(reg_t *r, gx_error_t *err)
{
    double wait = r->c->wait_timeout > 0 ? r->c->wait_timeout : 60;
    double end = gx_clock_now() + wait, next = 0;
    while (r->n < r->c->workers) {
        if (gx_clock_now() > end)
            return gx_error_set(err, "%u of %u workers registered within %g s "
                                "(--wait-timeout)", r->n, r->c->workers, wait);
        zmq_pollitem_t it = { r->l->in, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&it, 1, 100) < 0 && errno != EINTR)
            return gx_error_set(err, "poll: %s", zmq_strerror(errno));
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
        while ((rc = gx_net_send_hdr(l->in, l->procs[p].id, l->procs[p].id_len,
                                     &f, err)) == 1 && gx_clock_now() < end)
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
        gx_net_send_hdr(l->in, l->procs[p].id, l->procs[p].id_len, &f,
                        &ignored);
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
        gx_net_send_hdr(r->l->in, r->procs[k].id, r->procs[k].id_len, &f,
                        &ignored);
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
    if (!c->secret || c->secret_len == 0)
        return gx_error_set(err, "distributed mode needs a shared secret");
    blob_t plugin = { 0 };
    if (c->plugin && read_plugin(c->plugin, &plugin, err) != 0)
        return -1;
    reg_t r = { .c = c, .l = l };
    int rc = -1;
    r.procs = gx_calloc(c->workers + 1, sizeof *r.procs);
    r.heard = gx_calloc(c->workers + 1, sizeof *r.heard);
    if (!r.procs || !r.heard)
        gx_error_set(err, "out of memory");
    else if (net_init(l, c->secret, c->secret_len, c->curve, err) == 0
             && start_auth(l, err) == 0
             && bind_in(l, c->bind, l->master, sizeof l->master, err) == 0
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
        l->n_procs = r.n + 1;
        r.procs = NULL;
        gx_auth_random(&l->run_id, sizeof l->run_id);
        if (next > GX_MAX_WORKERS)
            gx_error_set(err, "the workers offer %u threads; at most %u",
                         next, GX_MAX_WORKERS);
        else
            rc = send_runs(job, l, &plugin, err);
    }
    free(r.procs);
    free(r.heard);
    free(plugin.data);
    return rc;
}

// ---- A worker: registering -----------------------------------------------

static void
beat_master(gx_link_t *l, double *next)
{
    if (!beat_due(next))
        return;
    gx_frame_t b = { .kind = GX_N_BEAT };
    gx_error_t ignored;
    gx_net_send_hdr(l->up, NULL, 0, &b, &ignored);
}

// Waits for one message from the master; 1 on time-out. `beat`: tell the
// master this worker is alive meanwhile (once registered: the master drops
// a registered worker it does not hear from).
static int
from_master(gx_link_t *l, gx_netmsg_t *in, double timeout, bool beat,
            gx_error_t *err)
{
    double end = gx_clock_now() + timeout, next = 0;
    for (;;) {
        if (beat)
            beat_master(l, &next);
        int rc = gx_net_recv(l->up, false, in, err);
        if (rc == 0 && in->f.kind != GX_N_BEAT)
            return 0;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            gx_netmsg_close(in);
            end = gx_clock_now() + timeout;      // a beat: it is alive
            continue;
        }
        double left = end - gx_clock_now();
        if (left <= 0)
            return 1;
        zmq_pollitem_t it = { l->up, 0, ZMQ_POLLIN, 0 };
        long ms = beat && left > 0.2 ? 200 : (long)(left * 1000) + 1;
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
    return gx_error_set(err, "the master at %s refused this worker: %s",
                        master, why);
}

static int
say_register(gx_link_t *l, const gx_worker_opts_t *o, uint16_t port,
             gx_error_t *err)
{
    char host[GX_HOST_MAX];
    if (o->advertise)
        snprintf(host, sizeof host, "%s", o->advertise);
    else if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    uint32_t abi = GX_PROGRAM_ABI_VERSION;
    gx_frame_t f = { .kind = GX_N_REGISTER,
                     .step = o->claim_protocol ? o->claim_protocol
                                               : GX_PROTOCOL_VERSION,
                     .b = o->threads, .n_bins = 4 };
    f.bin[0] = GRAPHX_VERSION;
    f.bin_len[0] = strlen(GRAPHX_VERSION);
    f.bin[1] = host;
    f.bin_len[1] = strlen(host);
    f.bin[2] = &port;
    f.bin_len[2] = 2;
    f.bin[3] = &abi;
    f.bin_len[3] = 4;
    // 1 (the link is full) is fine: an earlier REGISTER still waits there
    // for the connection, and one is all the master needs.
    return gx_net_send_hdr(l->up, NULL, 0, &f, err) >= 0 ? 0
           : gx_error_set(err, "cannot send to the master at %s", l->master);
}

// After the proof: a beat (accepted) or REFUSE.
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
            if (kind == GX_N_REFUSE)
                refused(&in, l->master, err);
            gx_netmsg_close(&in);
            if (kind == GX_N_BEAT)
                return 0;
            if (kind == GX_N_REFUSE)
                return -1;
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

// REGISTER, CHALLENGE, PROOF, then the master's beat (accepted) or REFUSE.
static int
register_with(gx_link_t *l, const gx_worker_opts_t *o, uint16_t port,
              gx_error_t *err)
{
    double wait = o->wait_timeout > 0 ? o->wait_timeout : 60;
    double end = gx_clock_now() + wait;
    gx_netmsg_t in;
    int rc = 1;
    // Said again every 2 s: a master that took the first and died before
    // answering (or restarts at the same address) hears it again.
    while (rc == 1 && gx_clock_now() < end) {
        if (say_register(l, o, port, err) != 0)
            return -1;
        double left = end - gx_clock_now();
        rc = from_master(l, &in, left < 2 ? left : 2, false, err);
    }
    if (rc == 1)
        return gx_error_set(err, "no answer from the master at %s within %g s%s",
                            l->master, wait, o->curve
                            ? " (does it use --curve, and the same secret?)"
                            : " (does it use --curve?)");
    if (rc < 0)
        return -1;
    if (in.f.kind == GX_N_REFUSE) {
        refused(&in, l->master, err);
        gx_netmsg_close(&in);
        return -1;
    }
    uint8_t proof[32];
    bool ok = in.f.kind == GX_N_CHALLENGE && in.f.n_bins == 1
              && in.f.bin_len[0] == 32;
    if (ok)
        gx_auth_proof(o->secret, o->secret_len, in.f.bin[0], proof);
    gx_netmsg_close(&in);
    if (!ok)
        return gx_error_set(err, "the master at %s does not speak graphx's "
                            "protocol", l->master);
    if (send_proof(l, proof, err) != 0)
        return -1;
    return verdict(l, err);
}

static int
await_run(gx_link_t *l, gx_netmsg_t *in, gx_error_t *err)
{
    int rc = from_master(l, in, GX_SILENCE_MS / 1000.0, true, err);
    if (rc == 1)
        return gx_error_set(err, "the master at %s stopped answering before "
                            "the run began", l->master);
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

// This worker's links to its peers, named "q" + its own process index.
static int
connect_peers(gx_link_t *l, gx_error_t *err)
{
    if (!(l->out = gx_calloc(l->n_procs, sizeof *l->out)))
        return gx_error_set(err, "out of memory");
    uint8_t id[5] = { 'q' };
    memcpy(id + 1, &l->self, 4);
    for (uint32_t p = 1; p < l->n_procs; p++) {
        if (p == l->self)
            continue;
        char ep[GX_HOST_MAX + 32];
        const gx_proc_t *pr = &l->procs[p];
        bool v6 = strchr(pr->host, ':') != NULL;
        snprintf(ep, sizeof ep, v6 ? "tcp://[%s]:%u" : "tcp://%s:%u",
                 pr->host, pr->port);
        if (!(l->out[p] = gx_net_socket(l->netctx, ZMQ_DEALER, id, sizeof id,
                                        &l->curve, false, err)))
            return -1;
        gx_net_ipv6(l->out[p], ep);
        if (zmq_connect(l->out[p], ep) != 0)
            return gx_error_set(err, "cannot connect to worker process %u at "
                                "%s: %s", p, ep, zmq_strerror(errno));
    }
    return 0;
}

int gx_cluster_worker_run(gx_link_t *l, const gx_desc_t *d,
                          const gx_resolved_t *r, const gx_worker_opts_t *o,
                          gx_error_t *err);

static int
take_run(gx_link_t *l, const gx_worker_opts_t *o, gx_netmsg_t *in,
         gx_error_t *err)
{
    const gx_frame_t *f = &in->f;
    gx_desc_t d;
    if (gx_desc_unpack(f->bin[0], f->bin_len[0], &d, err) != 0)
        return -1;
    l->run_id = f->a;
    int rc = gx_procs_unpack(f->bin[1], f->bin_len[1], d.workers, &l->procs,
                             &l->n_procs, err);
    if (rc == 0 && (f->b >= l->n_procs || l->procs[f->b].n != o->threads))
        rc = gx_error_set(err, "run description: this worker's place is wrong");
    uint8_t hash[32];
    if (rc == 0 && d.has_hash != (f->bin_len[2] > 0))
        rc = gx_error_set(err, "run description: the plugin and its hash "
                          "disagree");
    if (rc == 0 && d.has_hash) {
        gx_auth_hash(f->bin[2], f->bin_len[2], hash);
        if (!gx_auth_equal(hash, d.hash))
            rc = gx_error_set(err, "the plugin %s arrived damaged (its hash "
                              "does not match)", d.program);
    }
    l->self = (uint32_t)f->b;
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
    gx_net_send_hdr(l->up, NULL, 0, &f, &err);
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

int
gx_worker_serve(const gx_worker_opts_t *o, gx_error_t *err)
{
    gx_link_t l = { 0 };
    if (!o->threads || o->threads > GX_MAX_WORKERS || !o->resolve)
        return gx_error_set(err, "a worker needs 1 to %u threads",
                            GX_MAX_WORKERS);
    if (!o->secret || !o->secret_len)
        return gx_error_set(err, "a worker needs the shared secret");
    snprintf(l.master, sizeof l.master, "%s", o->master);
    char ep[64], bound[300];
    snprintf(ep, sizeof ep, "tcp://*:%u", o->port);
    uint8_t id[9] = { 'p' };
    gx_auth_random(id + 1, 8);
    int rc = -1;
    gx_netmsg_t in = { 0 };
    if (net_init(&l, o->secret, o->secret_len, o->curve, err) == 0
        && start_auth(&l, err) == 0
        && bind_in(&l, ep, bound, sizeof bound, err) == 0
        && (l.up = gx_net_socket(l.netctx, ZMQ_DEALER, id, sizeof id, &l.curve,
                                 false, err)) != NULL) {
        gx_net_ipv6(l.up, o->master);
        int64_t max = GX_NET_RUN_MAX;           // the RUN carries the plugin
        zmq_setsockopt(l.up, ZMQ_MAXMSGSIZE, &max, sizeof max);
        if (zmq_connect(l.up, o->master) != 0)
            gx_error_set(err, "cannot connect to the master at %s: %s",
                         o->master, zmq_strerror(errno));
        else if (register_with(&l, o, port_of(bound), err) == 0
                 && (note(o, "registered; waiting for the run"), 1)
                 && await_run(&l, &in, err) == 0) {
            note(o, "running");
            rc = take_run(&l, o, &in, err);
            // A failure before the hub took over (a bad description, a
            // program that cannot be set up here): the master hears it.
            // It reports every failure of the run but its own absence,
            // so the caller need not say them again (-2).
            if (rc != 0 && err->msg[0])
                tell_master(&l, err->msg);
            // After a failure what is queued for a peer is of no use; what
            // is for the master (FAIL) still goes, unless it is gone.
            // ("the master at ...": it is gone; "the master stopped the
            // run": it has ended it and needs nothing more from here.)
            bool master_gone = strncmp(err->msg, "the master at ", 14) == 0;
            if (rc != 0)
                no_linger(&l, strncmp(err->msg, "the master ", 11) == 0);
            if (rc != 0 && !master_gone)
                rc = -2;
        }
    }
    // Not in a run: a registration still queued for a master that never
    // came must not hold the exit for the linger's 2 s.
    if (rc == -1 && l.up && !l.run_id)
        no_linger(&l, true);
    gx_netmsg_close(&in);
    gx_link_close(&l);
    return rc;
}
