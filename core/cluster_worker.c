// core/cluster_worker.c: a worker process's side of a distributed run:
// it registers with the master (and makes the master prove the shared
// secret first), waits for its RUN, checks it (seal, hash, paths), sets
// the program up and runs its share of the engine, then tells the master
// how it ended. docs/design.md, "Distributed mode" and "Trust".
#define _GNU_SOURCE                      // pipe2
#include "core/cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/clock.h"
#include "core/desc.h"
#include "core/launch.h"
#include "core/mem.h"

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
    if (!gx_link_beat_due(next))
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
    char why[400];
    gx_note_text(&in->f, why, sizeof why);
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
    gx_register_t r = { .protocol = en->o->claim_protocol
                                    ? en->o->claim_protocol
                                    : GX_PROTOCOL_VERSION,
                        .threads = en->o->threads,
                        .abi = GX_PROGRAM_ABI_VERSION, .port = en->port,
                        .version = GRAPHX_VERSION };
    host_to_advertise(en->o, r.host);
    memcpy(r.nonce, en->wnonce, sizeof r.nonce);
    gx_frame_t f = gx_register_pack(&r);
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
    gx_frame_t f = gx_proof_pack(proof);
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
    const uint8_t *mnonce, *proof;
    if (gx_challenge_unpack(f, &mnonce, &proof) != 0)
        return gx_error_set(err, "the master at %s does not speak graphx's "
                            "protocol %u", l->master, GX_PROTOCOL_VERSION);
    uint8_t want[GX_PROOF_BYTES], key[32];
    gx_auth_proof(o->secret, o->secret_len, GX_PROVE_MASTER, en->wnonce,
                  mnonce, want);
    if (!gx_auth_equal(want, proof)) {
        gx_frame_t no = gx_note_pack(GX_N_REFUSE, 0, 0, "its proof of the "
                                     "secret failed there (another secret?)");
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
    gx_run_view_t v;
    if (gx_run_unpack(&in->f, &v) != 0) {
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
        gx_free(seal);
        return gx_error_set(err, "out of memory");
    }
    memset(l->seal, 0, sizeof *l->seal);
    gx_free(l->seal);
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
check_run(gx_link_t *l, const gx_worker_opts_t *o, const gx_run_view_t *v,
          const gx_desc_t *d, gx_error_t *err)
{
    l->run_id = v->run_id;
    int rc = gx_procs_unpack(v->table, v->table_len, d->workers, &l->procs,
                             &l->n_procs, err);
    if (rc == 0 && (v->proc >= l->n_procs || l->procs[v->proc].n != o->threads))
        return gx_error_set(err, "run description: this worker's place is "
                            "wrong");
    if (rc == 0 && d->has_hash != (v->plugin_len > 0))
        return gx_error_set(err, "run description: the plugin and its hash "
                            "disagree");
    uint8_t hash[32];
    if (rc == 0 && d->has_hash) {
        gx_auth_hash(v->plugin, v->plugin_len, hash);
        if (!gx_auth_equal(hash, d->hash))
            return gx_error_set(err, "the plugin %s arrived damaged (its hash "
                                "does not match)", d->program);
    }
    l->self = v->proc;
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
    gx_run_view_t v;
    gx_desc_t d;
    if (gx_run_unpack(&in->f, &v) != 0)       // await_run checked it
        return gx_error_set(err, "the master sent a malformed run");
    if (gx_desc_unpack(v.desc, v.desc_len, &d, err) != 0)
        return -1;
    int rc = check_run(l, o, &v, &d, err);
    gx_resolved_t r = { 0 };
    gx_run_desc_t rd = { .program = d.program,
                         .plugin = d.has_hash ? v.plugin : NULL,
                         .plugin_len = v.plugin_len, .params = d.params,
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
    gx_frame_t f = gx_note_pack(GX_N_FAIL, l->run_id, l->self, msg);
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
        || gx_link_net_init(l, o->secret, o->secret_len, o->curve, err) != 0
        || gx_link_listen(l, ep, bound, cap, err) != 0
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
        && register_with(&l, o, gx_link_port_of(bound), err) == 0) {
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

// ---- A worker: its share of the run ------------------------------------------

// The worker of thread 0 reads the streamed input, if the run has one: a
// pipe its hub fills with what the master sends, which is its fd 0 for
// standard input. *read_fd: the pipe's read end for any other stream.
static int
stream_pipe(gx_link_t *l, const char *stream, int *read_fd, gx_error_t *err)
{
    *read_fd = -1;
    if (!stream || l->procs[l->self].first != 0)
        return 0;
    int fd[2];
    bool is_stdin = strcmp(stream, "-") == 0;
    if (pipe2(fd, O_CLOEXEC) != 0
        || (is_stdin && dup2(fd[0], STDIN_FILENO) < 0)
        || fcntl(fd[1], F_SETFL, O_NONBLOCK) != 0)
        return gx_error_set(err, "cannot make a pipe for %s: %s", stream,
                            strerror(errno));
    if (is_stdin)
        close(fd[0]);
    else
        *read_fd = fd[0];
    l->stream = true;
    l->stream_pipe = fd[1];
    l->stream_name = stream;
    return 0;
}

int
gx_cluster_worker_run(gx_link_t *l, const gx_desc_t *d, const gx_resolved_t *r,
                      const gx_worker_opts_t *o, gx_error_t *err)
{
    gx_job_t job = { .input = d->input, .vertices = d->vertices,
                     .program = r->program, .program_state = r->state,
                     .workers = d->workers, .partitions = d->partitions,
                     .strategy = (gx_strategy_t)d->strategy,
                     .undirected = d->undirected,
                     .max_supersteps = d->max_supersteps,
                     .output_parts = d->parts,
                     .memory = o->memory, .spill_dir = o->spill_dir };
    if (d->strategy > GX_STRATEGY_CANONICAL)
        return gx_error_set(err, "run description: unknown strategy %u",
                            d->strategy);
    if (gx_program_check(r->program, err) != 0)
        return -1;
    const gx_proc_t *me = &l->procs[l->self];
    gx_engine_t e = { .first = me->first, .n_here = me->n };
    gx_result_t res = { 0 };
    const char *stream = d->stream == 1 ? d->input
                         : d->stream == 2 ? d->vertices : NULL;
    int read_fd;
    int rc = stream_pipe(l, stream, &read_fd, err);
    if (rc == 0)
        rc = gx_engine_init(&e, &job, d->workers, stream, read_fd, err);
    if (rc == 0)
        rc = gx_engine_run(&e, l, &res, err);
    if (l->stream && l->stream_pipe >= 0)
        close(l->stream_pipe);
    gx_engine_free(&e);
    if (read_fd >= 0)
        close(read_fd);
    gx_result_free(&res);
    return rc;
}
