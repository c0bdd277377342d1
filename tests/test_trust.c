// tests/test_trust.c: the trust suite. Protocol 2's promises, attacked
// from the network with real graphx-run and graphx-worker processes on
// 127.0.0.1: a rogue master that does not know the secret, a relay in the
// middle that alters a sealed RUN, a squatter on the workers' ports during
// a run, proofs wrong in their last byte only, and a master stopped by
// SIGTERM. The attackers are written here, in this process's own thread,
// with core/net.h's functions, so they speak the protocol faithfully up
// to the one thing each gets wrong.
//
// What must never happen is seen from outside: a plugin whose constructor
// writes $GX_MARKER (tests/plugins/marker.c) is what every attacker ships,
// so a worker that loaded something it should not have leaves that file.
//
// No test can hang: every wait has a deadline, every process started here
// is in its own process group, dies with the test process (PDEATHSIG) and
// is killed with its group by the suite's .fini.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>
#include "core/codec.h"
#include "core/desc.h"
#include "core/net.h"
#include "graphx/graphx.h"
#include "testproc.h"
#include "testutil.h"

#ifndef GX_WORKER_BIN
#error "GX_WORKER_BIN (build/graphx-worker) must be defined"
#endif
#ifndef GX_PLUGIN_DIR
#error "GX_PLUGIN_DIR (where marker.so and outdeg.so are built) must be defined"
#endif

#define SECRET      "trust-suite-secret-0123"
#define WRONG       "not-this-suites-secret-4567"
#define MARKER_SO   GX_PLUGIN_DIR "/marker.so"
#define OUTDEG_SO   GX_PLUGIN_DIR "/outdeg.so"
#define RANK_TOL    1e-12
#define RUN_SECS    30.0    // a run of a small graph longer than this is a hang
#define NOTICE_SECS 10.0    // a dead or lying peer is noticed within this

// ---- The suite's directory, secret and marker ---------------------------------

static char secret_path[256];
static char marker_path[256];
static char marker_env[300];    // GX_MARKER=<marker_path>, for the workers

static void
setup(void)
{
    gx_test_tmpdir_make("trust");
    snprintf(secret_path, sizeof secret_path, "%s",
             gx_test_write_tmp("secret", SECRET "\n"));
    cr_assert_eq(chmod(secret_path, 0600), 0);
    snprintf(marker_path, sizeof marker_path, "%s",
             gx_test_tmp_path("marker"));
    snprintf(marker_env, sizeof marker_env, "GX_MARKER=%s", marker_path);
    signal(SIGPIPE, SIG_IGN);
    gx_error_t err;
    cr_assert_eq(gx_auth_init(&err), 0, "%s", err.msg);
}

static void
teardown(void)
{
    proc_kill_all();
    gx_test_tmpdir_remove();
}

TestSuite(trust, .init = setup, .fini = teardown);

static const char *
tmp(const char *name)
{
    return gx_test_tmp_path(name);
}

// The marker plugin's constructor never ran in any worker.
static void
assert_no_marker(void)
{
    cr_assert(!gx_test_exists(marker_path), "a worker loaded the attacker's "
              "plugin: %s exists", marker_path);
}

// ---- Command lines (processes, args_t, endpoints: testproc.h) --------------

// graphx-run CMD --master EP --workers N --secret-file S EXTRA.
static proc_t *
start_master(const endpoint_t *ep, unsigned workers, const char *const *cmd,
             const char *const *extra)
{
    return proc_start_master(ep, workers, secret_path, cmd, extra, NULL);
}

// graphx-worker --master EP --threads 1 --advertise 127.0.0.1 with the
// suite's secret and GX_MARKER set, then EXTRA.
static proc_t *
start_worker(const char *master, const char *const *extra)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_WORKER_BIN, "--master", master, "--threads", "1",
                      "--advertise", "127.0.0.1", "--secret-file", secret_path));
    args_add(&a, extra);
    return proc_start(a.v, LIST(marker_env));
}

// CMD -o OUT in local mode with 2 threads, to its exit.
static void
run_local(const char *const *cmd, const char *out)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_BIN));
    args_add(&a, cmd);
    args_add(&a, LIST("-o", out, "--workers", "2", "-q"));
    proc_expect_exit(proc_start(a.v, NULL), RUN_SECS, 0);
}

// ---- Files ----------------------------------------------------------------------

// "id<TAB>value" lines of two files: the same ids, values within RANK_TOL.
static void
assert_ranks_close(const char *want_path, const char *got_path)
{
    size_t wn, gn;
    char *want = gx_test_slurp(want_path, &wn);
    char *got = gx_test_slurp(got_path, &gn);
    cr_assert(want && got && wn > 0, "%s or %s is missing", want_path,
              got_path);
    char *w = want, *g = got;
    unsigned lines = 0;
    while (*w && *g) {
        char *we, *ge;
        uint64_t wid = strtoull(w, &we, 10), gid = strtoull(g, &ge, 10);
        cr_assert(*we == '\t' && *ge == '\t' && wid == gid, "line %u: "
                  "vertex %" PRIu64 ", local %" PRIu64, lines + 1, gid, wid);
        double wv = strtod(we + 1, &w), gv = strtod(ge + 1, &g);
        cr_assert(fabs(wv - gv) <= RANK_TOL, "vertex %" PRIu64 ": %.17g, "
                  "local %.17g", wid, gv, wv);
        w += *w == '\n';
        g += *g == '\n';
        lines++;
    }
    cr_assert(!*w && !*g, "%s and %s differ in length", got_path, want_path);
    free(want);
    free(got);
}

// ---- The wire, as an attacker speaks it ---------------------------------------

// Sends a header (with a body when `body` is not NULL, sealed when `seal`
// is not NULL) to `to` (a ROUTER's peer) or up a DEALER (to NULL).
static void
send_frame(void *s, const void *to, size_t to_len, const gx_frame_t *f,
           const void *body, size_t body_len, gx_seal_t *seal)
{
    zmq_msg_t m;
    if (body) {
        zmq_msg_init_size(&m, body_len);
        memcpy(zmq_msg_data(&m), body, body_len);
    }
    gx_error_t err = { 0 };
    int rc = gx_net_send_sealed(s, to, to_len, f, body ? &m : NULL, seal,
                                NULL, &err);
    if (rc != 0 && body)
        zmq_msg_close(&m);
    cr_assert_eq(rc, 0, "sending %s: rc %d %s", gx_net_kind_name(f->kind), rc,
                 err.msg);
}

// The next well-formed message within `secs`; false if none came.
static bool
recv_within(void *s, bool router, gx_netmsg_t *in, double secs)
{
    double end = gx_test_now() + secs;
    for (;;) {
        gx_error_t err;
        int rc = gx_net_recv(s, router, in, &err);
        cr_assert_geq(rc, 0, "receive: %s", err.msg);
        if (rc == 0)
            return true;
        if (rc == 2)
            continue;
        double left = end - gx_test_now();
        if (left <= 0)
            return false;
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        zmq_poll(&it, 1, left > 0.05 ? 50 : 1 + (long)(left * 1000));
    }
}

static void *
socket_of(void *ctx, int type)
{
    void *s = zmq_socket(ctx, type);
    cr_assert_not_null(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    return s;
}

// A ROUTER bound where a master would be.
static void *
fake_master_socket(void *ctx, const endpoint_t *ep)
{
    void *s = socket_of(ctx, ZMQ_ROUTER);
    cr_assert_eq(zmq_bind(s, ep->s), 0, "bind %s: %s", ep->s,
                 zmq_strerror(errno));
    return s;
}

// A worker's REGISTER, as graphx-worker says it, with nonce `wn`.
static void
say_register(void *dealer, const uint8_t wn[32])
{
    uint16_t port = 1;
    uint32_t abi = GX_PROGRAM_ABI_VERSION;
    gx_frame_t f = { .kind = GX_N_REGISTER, .step = GX_PROTOCOL_VERSION,
                     .b = 1, .n_bins = 5,
                     .bin = { GRAPHX_VERSION, "127.0.0.1", &port, &abi, wn },
                     .bin_len = { strlen(GRAPHX_VERSION), 9, 2, 4, 32 } };
    send_frame(dealer, NULL, 0, &f, NULL, 0, NULL);
}

// A REGISTER as a master receives it: the worker's nonce out of it.
static bool
register_nonce(const gx_netmsg_t *in, uint8_t wn[32])
{
    if (in->f.kind != GX_N_REGISTER || in->f.n_bins != 5
        || in->f.bin_len[4] != 32)
        return false;
    memcpy(wn, in->f.bin[4], 32);
    return true;
}

static void
send_challenge(void *router, const gx_netmsg_t *to, const uint8_t mn[32],
               const uint8_t proof[32])
{
    gx_frame_t c = { .kind = GX_N_CHALLENGE, .n_bins = 2,
                     .bin = { mn, proof }, .bin_len = { 32, 32 } };
    send_frame(router, to->id, to->id_len, &c, NULL, 0, NULL);
}

// ---- 1. A rogue master that does not know the secret ---------------------------

typedef struct rogue {
    void      *ctx, *router;
    endpoint_t ep;
    bool       random_proof;      // else a proof under WRONG
    char      *plugin;            // marker.so's bytes
    size_t     plugin_len;
    unsigned   registers, proofs, refusals;
} rogue_t;

// The RUN a rogue would like a worker to take: marker.so under its true
// hash, karate as input, 1 worker; sealed with `seal` (or not at all).
static void
rogue_run(rogue_t *r, const gx_netmsg_t *to, gx_seal_t *seal)
{
    gx_desc_t d = { .program = "marker", .has_hash = true,
                    .input = GX_DATASETS "/karate.txt", .partitions = 1,
                    .workers = 1 };
    gx_auth_hash(r->plugin, r->plugin_len, d.hash);
    msgpack_sbuffer desc;
    msgpack_sbuffer_init(&desc);
    gx_desc_pack(&d, &desc);
    gx_proc_t table[2] = { { .host = "127.0.0.1", .port = (uint16_t)r->ep.port },
                           { .host = "127.0.0.1", .port = 1, .n = 1 } };
    uint8_t rows[4096];
    cr_assert_leq(gx_procs_size(2), sizeof rows);
    gx_procs_pack(table, 2, rows);
    gx_frame_t run = { .kind = GX_N_RUN, .a = 42, .b = 1, .n_bins = 3,
                       .bin = { desc.data, rows, r->plugin },
                       .bin_len = { desc.size, gx_procs_size(2),
                                    r->plugin_len } };
    send_frame(r->router, to->id, to->id_len, &run, NULL, 0, seal);
    msgpack_sbuffer_destroy(&desc);
}

// One message to the rogue: a CHALLENGE (its "proof" random or under the
// wrong secret) and at once an unsealed RUN for any REGISTER; for a
// PROOF, whatever it is, a BEAT and a RUN sealed under the wrong secret.
static void
rogue_answer(rogue_t *r, const gx_netmsg_t *in, uint8_t wn[32],
             uint8_t mn[32])
{
    uint8_t proof[32], key[32];
    if (register_nonce(in, wn)) {
        r->registers++;
        gx_auth_random(mn, 32);
        if (r->random_proof)
            gx_auth_random(proof, 32);
        else
            gx_auth_proof(WRONG, strlen(WRONG), GX_PROVE_MASTER, wn, mn, proof);
        send_challenge(r->router, in, mn, proof);
        rogue_run(r, in, NULL);
    } else if (in->f.kind == GX_N_PROOF) {
        r->proofs++;
        gx_seal_t seal;
        gx_auth_session(WRONG, strlen(WRONG), wn, mn, key);
        gx_seal_init(&seal, key, 0, 1);
        gx_frame_t beat = { .kind = GX_N_BEAT };
        send_frame(r->router, in->id, in->id_len, &beat, NULL, 0, &seal);
        rogue_run(r, in, &seal);
    } else if (in->f.kind == GX_N_REFUSE) {
        r->refusals++;
    }
}

// Serves the worker until it exits or `secs` pass.
static void
rogue_serve(rogue_t *r, proc_t *w, double secs)
{
    double end = gx_test_now() + secs;
    uint8_t wn[32] = { 0 }, mn[32] = { 0 };
    while (!proc_done(w) && gx_test_now() < end) {
        gx_netmsg_t in;
        if (!recv_within(r->router, true, &in, 0.05))
            continue;
        rogue_answer(r, &in, wn, mn);
        gx_netmsg_close(&in);
    }
}

static void
rogue_open(rogue_t *r, bool random_proof, const gx_curve_t *curve)
{
    *r = (rogue_t){ .ctx = zmq_ctx_new(), .ep = endpoint_new(),
                    .random_proof = random_proof };
    r->plugin = gx_test_slurp(MARKER_SO, &r->plugin_len);
    cr_assert(r->plugin && r->plugin_len > 0, "%s is missing", MARKER_SO);
    if (curve) {
        gx_error_t err;
        r->router = gx_net_socket(r->ctx, ZMQ_ROUTER, NULL, 0, curve, true,
                                  &err);
        cr_assert_not_null(r->router, "%s", err.msg);
        cr_assert_eq(zmq_bind(r->router, r->ep.s), 0);
    } else {
        r->router = fake_master_socket(r->ctx, &r->ep);
    }
}

static void
rogue_close(rogue_t *r)
{
    zmq_close(r->router);
    zmq_ctx_term(r->ctx);
    free(r->plugin);
}

// A rogue whose proof is random, then one proving a wrong secret: the
// worker checks the master's proof first, refuses, loads nothing.
static void
rogue_refused(bool random_proof)
{
    rogue_t r;
    rogue_open(&r, random_proof, NULL);
    proc_t *w = start_worker(r.ep.s, LIST("--wait-timeout", "10"));
    rogue_serve(&r, w, NOTICE_SECS);
    proc_expect_exit(w, 1, 1);
    proc_expect_err(w, "did not prove the secret");
    char where[128];
    snprintf(where, sizeof where, "the master at %s", r.ep.s);
    proc_expect_err(w, where);
    cr_assert_geq(r.registers, 1, "the worker never registered");
    cr_assert_eq(r.proofs, 0, "the worker proved the secret to a rogue");
    cr_assert_geq(r.refusals, 1, "the worker did not tell the rogue why");
    assert_no_marker();
    rogue_close(&r);
}

Test(trust, rogue_master_random_proof, .timeout = 30)
{
    rogue_refused(true);
}

Test(trust, rogue_master_wrong_secret, .timeout = 30)
{
    rogue_refused(false);
}

// A worker with --curve and a rogue that has no CURVE keys (a plain
// ROUTER), or keys derived from another secret: no ZeroMQ handshake
// completes, so nothing of the protocol is even read. The worker gives up
// once its handshakes have failed for 2 s, long before --wait-timeout,
// saying why.
static void
rogue_curve(const gx_curve_t *keys)
{
    rogue_t r;
    rogue_open(&r, false, keys);
    double t0 = gx_test_now();
    proc_t *w = start_worker(r.ep.s, LIST("--curve", "--wait-timeout", "30"));
    rogue_serve(&r, w, 6 + NOTICE_SECS);
    proc_expect_exit(w, 1, 1);
    double took = gx_test_now() - t0;
    cr_assert(took >= 1.5 && took < 6, "gave up after %.1f s, not 2 to 4",
              took);
    cr_assert_eq(r.registers, 0, "a REGISTER crossed a failed handshake");
    char where[128];
    snprintf(where, sizeof where, "the master at %s", r.ep.s);
    proc_expect_err(w, where);
    proc_expect_err(w, "CURVE");
    assert_no_marker();
    rogue_close(&r);
}

Test(trust, rogue_master_without_curve, .timeout = 30)
{
    rogue_curve(NULL);
}

Test(trust, rogue_master_wrong_curve_keys, .timeout = 30)
{
    gx_curve_t keys;
    gx_auth_curve(WRONG, strlen(WRONG), &keys);
    rogue_curve(&keys);
}

// ---- 2. A relay in the middle ------------------------------------------------

typedef enum relay_mode {
    RELAY_FAITHFUL,      // the RUN decoded and encoded again, unchanged
    RELAY_PLUGIN,        // marker.so instead of the plugin, its hash patched
    RELAY_INPUT,         // another input path of the same length
} relay_mode_t;

typedef struct relay {
    void        *ctx, *front, *back;  // ROUTER for the worker, DEALER to the master
    endpoint_t   ep;
    relay_mode_t mode;
    const char  *from_path, *to_path; // RELAY_INPUT
    uint8_t      id[256];             // the worker's routing id
    size_t       id_len;
    unsigned     runs;                // RUNs seen (and altered)
} relay_t;

// Replaces the first `len` bytes equal to `old` in buf[0..n) by `new`.
static void
patch(uint8_t *buf, size_t n, const void *old, const void *new, size_t len)
{
    uint8_t *at = memmem(buf, n, old, len);
    cr_assert_not_null(at, "the relay did not find what to replace in the "
                       "description");
    memcpy(at, new, len);
}

// The RUN's header altered as the mode says, the seal part left alone:
// the new header in *out (msgpack-encoded by the same codec).
static void
alter_run(relay_t *r, const gx_frame_t *f, msgpack_sbuffer *out)
{
    gx_frame_t g = *f;
    uint8_t *desc = gx_test_copy(f->bin[0], f->bin_len[0]);
    char *marker = NULL;
    if (r->mode == RELAY_PLUGIN) {
        size_t len;
        cr_assert_gt(f->bin_len[2], 0, "the master shipped no plugin");
        marker = gx_test_slurp(MARKER_SO, &len);
        cr_assert_not_null(marker);
        uint8_t old[32], new[32];
        gx_auth_hash(f->bin[2], f->bin_len[2], old);
        gx_auth_hash(marker, len, new);
        patch(desc, f->bin_len[0], old, new, 32);
        g.bin[2] = marker;
        g.bin_len[2] = len;
    } else if (r->mode == RELAY_INPUT) {
        cr_assert_eq(strlen(r->from_path), strlen(r->to_path));
        patch(desc, f->bin_len[0], r->from_path, r->to_path,
              strlen(r->from_path));
    }
    g.bin[0] = desc;
    gx_error_t err;
    cr_assert_eq(gx_frame_encode(&g, out, &err), 0, "%s", err.msg);
    free(desc);
    free(marker);
}

// All parts of one message from s (the first kept in r->id when it comes
// from the front: a routing id); n parts in m[].
static int
take_parts(relay_t *r, void *s, bool front, zmq_msg_t m[8])
{
    int n = 0;
    bool more = true;
    while (more) {
        cr_assert_lt(n, 8, "a message of more than 8 parts");
        zmq_msg_init(&m[n]);
        cr_assert_geq(zmq_msg_recv(&m[n], s, 0), 0);
        more = zmq_msg_more(&m[n]);
        n++;
    }
    if (front) {                       // the routing id: who the worker is
        cr_assert_leq(zmq_msg_size(&m[0]), sizeof r->id);
        r->id_len = zmq_msg_size(&m[0]);
        memcpy(r->id, zmq_msg_data(&m[0]), r->id_len);
    }
    return n;
}

static void
give_parts(void *s, zmq_msg_t *m, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_geq(zmq_msg_send(&m[i], s, i + 1 < n ? ZMQ_SNDMORE : 0), 0,
                      "relay send: %s", zmq_strerror(errno));
}

// master -> worker: the RUN's header replaced (see alter_run), then the
// worker's routing id in front of it all.
static void
relay_down(relay_t *r)
{
    zmq_msg_t m[9];
    int n = take_parts(r, r->back, false, m + 1);
    gx_frame_t f;
    gx_error_t err;
    if (gx_frame_decode(zmq_msg_data(&m[1]), zmq_msg_size(&m[1]), &f, &err) == 0
        && f.kind == GX_N_RUN && f.n_bins == 3) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        alter_run(r, &f, &sb);
        zmq_msg_close(&m[1]);
        zmq_msg_init_size(&m[1], sb.size);
        memcpy(zmq_msg_data(&m[1]), sb.data, sb.size);
        msgpack_sbuffer_destroy(&sb);
        r->runs++;
    }
    cr_assert_gt(r->id_len, 0, "the master spoke before the worker");
    zmq_msg_init_size(&m[0], r->id_len);
    memcpy(zmq_msg_data(&m[0]), r->id, r->id_len);
    give_parts(r->front, m, n + 1);
}

// worker -> master: unchanged, without the routing id.
static void
relay_up(relay_t *r)
{
    zmq_msg_t m[8];
    int n = take_parts(r, r->front, true, m);
    zmq_msg_close(&m[0]);
    give_parts(r->back, m + 1, n - 1);
}

// Forwards both ways until `until` exits or `secs` pass.
static void
relay_pump(relay_t *r, proc_t *until, double secs)
{
    double end = gx_test_now() + secs;
    while (!proc_done(until) && gx_test_now() < end) {
        zmq_pollitem_t it[2] = { { r->front, 0, ZMQ_POLLIN, 0 },
                                 { r->back, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll(it, 2, 20) <= 0)
            continue;
        if (it[0].revents & ZMQ_POLLIN)
            relay_up(r);
        if (it[1].revents & ZMQ_POLLIN)
            relay_down(r);
    }
}

// The caller set the mode (and the paths): the sockets here.
static void
relay_open(relay_t *r, const endpoint_t *master)
{
    r->ctx = zmq_ctx_new();
    r->ep = endpoint_new();
    r->front = fake_master_socket(r->ctx, &r->ep);
    r->back = socket_of(r->ctx, ZMQ_DEALER);
    cr_assert_eq(zmq_connect(r->back, master->s), 0);
}

static void
relay_close(relay_t *r)
{
    zmq_close(r->front);
    zmq_close(r->back);
    zmq_ctx_term(r->ctx);
}

// outdeg.so on IN through a relay in `mode`, with one worker behind it.
// The worker's and the master's processes in w and m.
static void
relay_run(relay_t *r, const char *in, const char *out, proc_t **m, proc_t **w)
{
    endpoint_t ep = endpoint_new();
    relay_open(r, &ep);
    *m = start_master(&ep, 1, LIST("run", "--program", OUTDEG_SO, "-i", in),
                      LIST("-o", out, "-q", "--wait-timeout", "15"));
    *w = start_worker(r->ep.s, LIST("--wait-timeout", "15"));
    relay_pump(r, *w, RUN_SECS);
}

// A karate copy at a path as long as its twin's: in-a.txt and in-b.txt.
static void
twin_inputs(const char **a, const char **b)
{
    size_t n;
    char *k = gx_test_slurp(GX_DATASETS "/karate.txt", &n);
    cr_assert_not_null(k);
    *a = tmp("in-a.txt");
    gx_test_write_bytes(*a, k, n);
    free(k);
    *b = gx_test_write_tmp("in-b.txt", "1 2\n2 3\n3 1\n");
}

Test(trust, relay_faithful_control, .timeout = 60)
{
    const char *a, *b;
    twin_inputs(&a, &b);
    run_local(LIST("run", "--program", OUTDEG_SO, "-i", a), tmp("local.tsv"));
    relay_t r = { .mode = RELAY_FAITHFUL };
    proc_t *m, *w;
    relay_run(&r, a, tmp("dist.tsv"), &m, &w);
    relay_pump(&r, m, NOTICE_SECS);    // the master's last words, if any
    proc_expect_exit(w, 0, 0);
    proc_expect_exit(m, 0, 0);
    cr_assert_eq(r.runs, 1, "the relay saw %u RUNs", r.runs);
    gx_test_assert_same_bytes(tmp("local.tsv"), tmp("dist.tsv"));
    assert_no_marker();
    relay_close(&r);
}

// The relay alters the RUN: the worker refuses it on its seal alone,
// before it loads a plugin or opens an input, and the run fails.
static void
relay_refused(relay_mode_t mode)
{
    const char *a, *b;
    twin_inputs(&a, &b);
    relay_t r = { .mode = mode, .from_path = a, .to_path = b };
    proc_t *m, *w;
    const char *out = tmp("dist.tsv");
    relay_run(&r, a, out, &m, &w);
    proc_expect_exit(w, 0, 1);
    cr_assert_eq(r.runs, 1, "the relay saw %u RUNs", r.runs);
    proc_expect_err(w, "a RUN message from the master");
    proc_expect_err(w, "failed authentication");
    relay_pump(&r, m, RUN_SECS);
    proc_expect_exit(m, 0, -1);
    cr_assert(strstr(proc_err(m), "worker process 1")
              || strstr(proc_err(m), "authentication"),
              "the master names neither the worker nor the failure: %s",
              proc_err(m));
    cr_log_info("the master: %s", proc_err(m));
    assert_no_marker();
    cr_assert(!gx_test_exists(out), "a refused run left %s", out);
    relay_close(&r);
}

Test(trust, relay_swaps_the_plugin, .timeout = 60)
{
    relay_refused(RELAY_PLUGIN);
}

Test(trust, relay_swaps_the_input, .timeout = 60)
{
    relay_refused(RELAY_INPUT);
}

// ---- 3. A squatter on the workers' ports during a run ---------------------------

#define SQUAT_SOCKS 8                  // per worker port

typedef struct squatter {
    void    *ctx;
    void    *s[2][SQUAT_SOCKS];
    uint64_t seed;
    unsigned sent;
} squatter_t;

static uint64_t
rnd(squatter_t *q)
{
    return gx_test_splitmix64(&q->seed);
}

static void
rnd_fill(squatter_t *q, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)rnd(q);
}

// DEALERs to a worker's port under forged routing ids: half 'q' and a
// 4-byte process index (what protocol 1's peers used), half 'q' and 15
// random bytes (what protocol 2's use).
static void
squat_connect(squatter_t *q, int w, const char *ep)
{
    for (int i = 0; i < SQUAT_SOCKS; i++) {
        uint8_t id[16] = { 'q' };
        size_t len = sizeof id;
        if (i < SQUAT_SOCKS / 2) {
            uint32_t index = (uint32_t)i;
            memcpy(id + 1, &index, 4);
            len = 5;
        } else {
            rnd_fill(q, id + 1, sizeof id - 1);
        }
        void *s = socket_of(q->ctx, ZMQ_DEALER);
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, len);
        cr_assert_eq(zmq_connect(s, ep), 0);
        q->s[w][i] = s;
    }
}

// One message as a peer would send it, with what a stranger cannot know
// made up: a DATA with a body, or a BEAT, END, ABORT or FAIL; a run id
// small or random; and most of the time a seal part of the right shape
// (from = process 1 or 2, a small sequence number, a random tag).
static void
squat_send(squatter_t *q, void *s)
{
    static const uint32_t kinds[] = { GX_N_DATA, GX_N_DATA, GX_N_BEAT,
                                      GX_N_END, GX_N_ABORT, GX_N_FAIL };
    uint8_t body[256], seal[GX_SEAL_LEN];
    gx_frame_t f = { .kind = kinds[rnd(q) % 6], .step = rnd(q) % 4,
                     .a = rnd(q) % 2 ? rnd(q) : rnd(q) % 4,
                     .b = rnd(q) % 3 };
    if (f.kind == GX_N_ABORT || f.kind == GX_N_FAIL) {
        f.n_bins = 1;
        f.bin[0] = "a squatter's word";
        f.bin_len[0] = 17;
    }
    msgpack_sbuffer hdr;
    msgpack_sbuffer_init(&hdr);
    gx_error_t err;
    cr_assert_eq(gx_frame_encode(&f, &hdr, &err), 0, "%s", err.msg);
    bool has_body = f.kind == GX_N_DATA, sealed = rnd(q) % 4 != 0;
    size_t body_len = rnd(q) % sizeof body + 1;
    rnd_fill(q, body, body_len);
    uint32_t from = 1 + (uint32_t)(rnd(q) % 2);
    uint64_t seq = rnd(q) % 8;
    memcpy(seal, "GXS2", 4);
    memcpy(seal + 4, &from, 4);
    memcpy(seal + 8, &seq, 8);
    rnd_fill(q, seal + 16, 32);
    // A full link refuses the first part: then nothing of it was sent.
    if (zmq_send(s, hdr.data, hdr.size,
                 ZMQ_DONTWAIT | (has_body || sealed ? ZMQ_SNDMORE : 0)) >= 0) {
        if (has_body)
            zmq_send(s, body, body_len, sealed ? ZMQ_SNDMORE : 0);
        if (sealed)
            zmq_send(s, seal, sizeof seal, 0);
        q->sent++;
    }
    msgpack_sbuffer_destroy(&hdr);
}

Test(trust, squatter_during_run, .timeout = 90)
{
    char iterations[32];                 // a few seconds; fewer if sanitized
    snprintf(iterations, sizeof iterations, "%" PRIu64,
             gx_test_scaled(1000, 10));
    const char *const *cmd = LIST("pagerank", "-i", GX_DATASETS
                                  "/wiki-Vote.txt.gz", "--iterations",
                                  iterations);
    run_local(cmd, tmp("local.tsv"));
    endpoint_t ep = endpoint_new();
    proc_t *m = start_master(&ep, 2, cmd, LIST("-o", tmp("dist.tsv")));
    squatter_t q = { .ctx = zmq_ctx_new(), .seed = 0x5917 };
    proc_t *w[2];
    for (int i = 0; i < 2; i++) {
        endpoint_t wp = endpoint_new();
        char port[16];
        snprintf(port, sizeof port, "%u", wp.port);
        w[i] = start_worker(ep.s, LIST("--port", port, "--wait-timeout", "20"));
        squat_connect(&q, i, wp.s);
    }
    unsigned rounds = 0;
    double end = gx_test_now() + RUN_SECS;
    while (!proc_done(m) && gx_test_now() < end) {
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < SQUAT_SOCKS; k++)
                for (int j = 0; j < 4; j++)
                    squat_send(&q, q.s[i][k]);
        rounds++;
        usleep(2000);
    }
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < SQUAT_SOCKS; k++)
            zmq_close(q.s[i][k]);
    zmq_ctx_term(q.ctx);
    cr_assert(proc_wait(m, NOTICE_SECS), "the run did not end: %s",
              proc_err(m));
    cr_assert(WIFEXITED(m->status), "the master was killed by signal %d: %s",
              WTERMSIG(m->status), proc_err(m));
    cr_log_info("%u rounds, %u messages from the squatter", rounds, q.sent);
    cr_assert_geq(rounds, 3, "the run ended before the squatter came");
    // A stranger's traffic on a worker's port is ignored (its seals do not
    // open): the run ends as local mode does, and no worker is blamed.
    cr_assert(!strstr(proc_err(m), "stopped answering"), "the master blamed "
              "a healthy worker for the squatter: %s", proc_err(m));
    proc_expect_exit(m, 0, 0);
    for (int i = 0; i < 2; i++)
        proc_expect_exit(w[i], NOTICE_SECS, 0);
    assert_ranks_close(tmp("local.tsv"), tmp("dist.tsv"));
}

// ---- 4. Proofs wrong in their last byte only ---------------------------------

// A raw worker's registration with the real master up to its PROOF (the
// right one, or one with byte 31 flipped); returns the master's answer
// in *in (false: none within 5 s). The master's own proof is checked.
static bool
register_raw(void *ctx, const endpoint_t *ep, bool flip, gx_seal_t *seal,
             gx_netmsg_t *in, void **dealer)
{
    uint8_t wn[32], mn[32], want[32];
    gx_auth_random(wn, 32);
    *dealer = socket_of(ctx, ZMQ_DEALER);
    cr_assert_eq(zmq_connect(*dealer, ep->s), 0);
    say_register(*dealer, wn);
    cr_assert(recv_within(*dealer, false, in, 10), "no CHALLENGE");
    cr_assert_eq(in->f.kind, GX_N_CHALLENGE, "%s, not a CHALLENGE",
                 gx_net_kind_name(in->f.kind));
    cr_assert(in->f.n_bins == 2 && in->f.bin_len[0] == 32
              && in->f.bin_len[1] == 32, "a malformed CHALLENGE");
    memcpy(mn, in->f.bin[0], 32);
    gx_auth_proof(SECRET, strlen(SECRET), GX_PROVE_MASTER, wn, mn, want);
    cr_assert(gx_auth_equal(want, in->f.bin[1]), "the master's proof is wrong");
    gx_netmsg_close(in);
    uint8_t proof[32], key[32];
    gx_auth_proof(SECRET, strlen(SECRET), GX_PROVE_WORKER, wn, mn, proof);
    proof[31] ^= flip ? 0x01 : 0;
    gx_frame_t f = { .kind = GX_N_PROOF, .n_bins = 1, .bin = { proof },
                     .bin_len = { 32 } };
    send_frame(*dealer, NULL, 0, &f, NULL, 0, NULL);
    gx_auth_session(SECRET, strlen(SECRET), wn, mn, key);
    gx_seal_init(seal, key, 1, 0);
    return recv_within(*dealer, false, in, 5);
}

Test(trust, worker_proof_wrong_in_last_byte, .timeout = 30)
{
    endpoint_t ep = endpoint_new();
    proc_t *m = start_master(&ep, 2, LIST("cc", "-i", GX_DATASETS "/karate.txt"),
                             LIST("-o", tmp("out.tsv"), "--wait-timeout", "20"));
    void *ctx = zmq_ctx_new(), *d1, *d2;
    gx_seal_t seal;
    gx_netmsg_t in;
    cr_assert(register_raw(ctx, &ep, true, &seal, &in, &d1),
              "no answer to a wrong PROOF");
    cr_assert_eq(in.f.kind, GX_N_REFUSE, "a wrong PROOF got %s",
                 gx_net_kind_name(in.f.kind));
    cr_assert(in.f.n_bins == 1 && in.f.bin_len[0] == 12
              && memcmp(in.f.bin[0], "wrong secret", 12) == 0,
              "refused for '%.*s'", (int)in.f.bin_len[0],
              (const char *)in.f.bin[0]);
    gx_netmsg_close(&in);
    cr_assert(proc_wait_text(m, "refused a worker from 127.0.0.1: wrong secret",
                             5), "the master did not log it: %s", proc_err(m));
    // Control: the same with the byte as computed is accepted, with a
    // BEAT sealed under the key both ends derive.
    cr_assert(register_raw(ctx, &ep, false, &seal, &in, &d2),
              "no answer to a right PROOF");
    cr_assert_eq(in.f.kind, GX_N_BEAT, "a right PROOF got %s",
                 gx_net_kind_name(in.f.kind));
    cr_assert_eq(gx_net_open(&seal, &in), GX_OPEN_OK, "the BEAT's seal fails");
    gx_netmsg_close(&in);
    cr_assert(!proc_done(m), "the master gave up: %s", proc_err(m));
    zmq_close(d1);
    zmq_close(d2);
    zmq_ctx_term(ctx);
}

// A fake master (knowing the secret) answers a real worker's REGISTER
// with its proof, byte 31 flipped when `flip`; the worker's answer comes
// back in *in (false: none within 5 s).
static bool
challenge_worker(void *router, proc_t *w, bool flip, gx_netmsg_t *in,
                 uint8_t wn[32], uint8_t mn[32])
{
    cr_assert(recv_within(router, true, in, 10), "no REGISTER; worker: %s",
              proc_err(w));
    cr_assert(register_nonce(in, wn), "%s, not a REGISTER",
              gx_net_kind_name(in->f.kind));
    uint8_t proof[32];
    gx_auth_random(mn, 32);
    gx_auth_proof(SECRET, strlen(SECRET), GX_PROVE_MASTER, wn, mn, proof);
    proof[31] ^= flip ? 0x80 : 0;
    send_challenge(router, in, mn, proof);
    gx_netmsg_close(in);
    // Copies of the REGISTER said before the CHALLENGE arrived are skipped.
    double end = gx_test_now() + 5;
    while (recv_within(router, true, in, end - gx_test_now())) {
        if (in->f.kind != GX_N_REGISTER)
            return true;
        gx_netmsg_close(in);
    }
    return false;
}

Test(trust, master_proof_wrong_in_last_byte, .timeout = 30)
{
    void *ctx = zmq_ctx_new();
    endpoint_t ep = endpoint_new();
    void *router = fake_master_socket(ctx, &ep);
    uint8_t wn[32], mn[32];
    gx_netmsg_t in;
    proc_t *w = start_worker(ep.s, LIST("--wait-timeout", "10"));
    cr_assert(challenge_worker(router, w, true, &in, wn, mn),
              "the worker said nothing to a wrong proof");
    cr_assert_eq(in.f.kind, GX_N_REFUSE, "a wrong proof got %s",
                 gx_net_kind_name(in.f.kind));
    gx_netmsg_close(&in);
    proc_expect_exit(w, 5, 1);
    proc_expect_err(w, "did not prove the secret");
    // Control: the proof as computed gets the worker's PROOF, the right one.
    proc_t *w2 = start_worker(ep.s, LIST("--wait-timeout", "10"));
    cr_assert(challenge_worker(router, w2, false, &in, wn, mn),
              "the worker said nothing to a right proof");
    cr_assert_eq(in.f.kind, GX_N_PROOF, "a right proof got %s; worker: %s",
                 gx_net_kind_name(in.f.kind), proc_err(w2));
    uint8_t want[32];
    gx_auth_proof(SECRET, strlen(SECRET), GX_PROVE_WORKER, wn, mn, want);
    cr_assert(in.f.n_bins == 1 && in.f.bin_len[0] == 32
              && gx_auth_equal(want, in.f.bin[0]), "the worker's proof is wrong");
    // Sent off with a refusal, which it says and exits on.
    gx_frame_t no = { .kind = GX_N_REFUSE, .n_bins = 1,
                      .bin = { "the test is over" }, .bin_len = { 16 } };
    send_frame(router, in.id, in.id_len, &no, NULL, 0, NULL);
    gx_netmsg_close(&in);
    proc_expect_exit(w2, 5, 1);
    proc_expect_err(w2, "refused this worker: the test is over");
    zmq_close(router);
    zmq_ctx_term(ctx);
}

// ---- 5. SIGTERM of the master during a run ------------------------------------

// A long PageRank over 2 workers, the master stopped by SIGTERM once it
// reports supersteps: the workers are told (ABORT), not left to wait out
// the master's silence (5 s), so every one ends within 2 s, naming the
// master and the signal. With -o (`out`) and without: an output file
// must not change how a signal ends the run.
static void
sigterm_mid_run(const char *out)
{
    endpoint_t ep = endpoint_new();
    proc_t *m = start_master(&ep, 2, LIST("pagerank", "-i", GX_DATASETS
                                          "/wiki-Vote.txt.gz", "--iterations",
                                          "100000"),
                             out ? LIST("-o", out) : NULL);
    proc_t *w[2];
    for (int i = 0; i < 2; i++)
        w[i] = start_worker(ep.s, LIST("--wait-timeout", "20"));
    cr_assert(proc_wait_text(m, "superstep ", RUN_SECS),
              "the run did not reach its supersteps; master: %s", proc_err(m));
    cr_assert_eq(kill(m->pid, SIGTERM), 0);
    double sent = gx_test_now();
    for (int i = 0; i < 2; i++) {
        double left = 2.0 - (gx_test_now() - sent);
        cr_assert(proc_wait(w[i], left > 0 ? left : 0), "worker %d still runs "
                  "2 s after the master's SIGTERM: %s\nmaster: %s", i,
                  proc_err(w[i]), proc_err(m));
        proc_expect_exit(w[i], 0, -1);
        proc_expect_err(w[i], "the master stopped the run");
        proc_expect_err(w[i], "SIGTERM");
    }
    proc_expect_exit(m, NOTICE_SECS, -1);
    proc_expect_err(m, "SIGTERM");
    cr_assert(!out || !gx_test_exists(out), "a stopped run left %s", out);
}

Test(trust, master_sigterm_mid_run, .timeout = 60)
{
    sigterm_mid_run(NULL);
}

Test(trust, master_sigterm_mid_run_with_output, .timeout = 60)
{
    sigterm_mid_run(tmp("out.tsv"));
}

// ---- CURVE keys never touch the disk ------------------------------------------

static bool
dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    cr_assert_not_null(d, "%s: %s", path, strerror(errno));
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = false;
    closedir(d);
    return empty;
}

// A --curve worker with TMPDIR at `dir`, waiting registered for a run.
static proc_t *
curve_worker_waiting(const endpoint_t *ep, const char *tmpdir_env)
{
    args_t a = { 0 };
    args_add(&a, LIST(GX_WORKER_BIN, "--master", ep->s, "--threads", "1",
                      "--advertise", "127.0.0.1", "--secret-file", secret_path,
                      "--curve", "--wait-timeout", "20"));
    proc_t *w = proc_start(a.v, LIST(marker_env, tmpdir_env));
    cr_assert(proc_wait_text(w, "registered; waiting for the run", 10),
              "the worker did not register: %s", proc_err(w));
    return w;
}

// zauth wanted the allowed client key as a certificate file, which a
// worker ended by a signal left in TMPDIR; the ZAP handler now holds it
// in memory. A worker killed by SIGKILL or SIGTERM while registered (its
// CURVE connection up) leaves its TMPDIR as empty as it found it; a
// worker without --curve is logged by the master, naming CURVE.
Test(trust, curve_leaves_no_key_file, .timeout = 60)
{
    const char *dir = tmp("wtmp");
    cr_assert_eq(mkdir(dir, 0700), 0);
    char env[300];
    snprintf(env, sizeof env, "TMPDIR=%s", dir);
    endpoint_t ep = endpoint_new();
    proc_t *m = start_master(&ep, 3, LIST("cc", "-i", GX_DATASETS
                                          "/karate.txt"),
                             LIST("--curve", "--wait-timeout", "20"));
    int sig[2] = { SIGKILL, SIGTERM };
    for (int i = 0; i < 2; i++) {
        proc_t *w = curve_worker_waiting(&ep, env);
        cr_assert(dir_is_empty(dir), "a registered --curve worker wrote into "
                  "its TMPDIR");
        cr_assert_eq(kill(w->pid, sig[i]), 0);
        cr_assert(proc_wait(w, NOTICE_SECS), "the worker outlived signal %d",
                  sig[i]);
        cr_assert(dir_is_empty(dir), "signal %d left a file in TMPDIR",
                  sig[i]);
    }
    proc_t *plain = start_worker(ep.s, LIST("--wait-timeout", "20"));
    proc_expect_exit(plain, 6, 1);
    proc_expect_err(plain, "does it use --curve?");
    cr_assert(proc_wait_text(m, "failed CURVE authentication: wrong secret or "
                             "no --curve", NOTICE_SECS),
              "the master did not log the failed handshake: %s", proc_err(m));
    kill(m->pid, SIGTERM);
    proc_expect_exit(m, NOTICE_SECS, -1);
}
