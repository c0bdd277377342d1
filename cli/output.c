// cli/output.c: results out of the process. The TSV goes to a temporary
// file beside the target and is renamed over it only when complete, so a
// failed or interrupted run never leaves half a file at the output path.
// The target is what the path's symbolic links lead to (docs/design.md,
// "Outputs"): a rename over the link itself would replace the link.
#define _GNU_SOURCE                         // mkostemp
#include "cli/output.h"
#include "cli/paths.h"
#include "cli/stdfds.h"
#include "core/line.h"
#include "core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// ---- Output files and fatal signals ------------------------------------------

// The signals whose default action ends the process and that can be caught:
// a temporary is removed on each. Not SIGSEGV, SIGBUS, SIGFPE or SIGILL:
// those are our own bugs, whose core dump and sanitizer report matter more
// than a leftover file that says by its name what it is. Not SIGPROF,
// which profilers own, nor the rare Linux-only ones.
static const int fatal_signals[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGALRM, SIGVTALRM,
    SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ, SIGABRT,
};
#define N_FATAL (sizeof fatal_signals / sizeof fatal_signals[0])

// Temporaries to remove if a signal ends the process: at most the output
// and the report. The handler may run on any thread (the engine's workers
// do not block signals) while the main thread commits or abandons, so a
// slot's path is static storage that is never freed or reused, and `live`
// is a lock-free atomic: the handler sees no path or a whole one.
enum { N_SLOTS = 2 };
static struct {
    atomic_int live;
    char       path[PATH_MAX];
} pending[N_SLOTS];
static int n_used;                      // slots handed out (main thread only)

static void
on_fatal_signal(int sig)
{
    for (int i = 0; i < N_SLOTS; i++)
        if (atomic_load(&pending[i].live))
            unlink(pending[i].path);    // async-signal-safe
    // Die of the same signal, so the parent sees how the run ended. It is
    // blocked while this handler runs: raise() leaves it pending, and it
    // is delivered, with the default action, as the handler returns.
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

static void
fatal_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < N_FATAL; i++)
        sigaddset(set, fatal_signals[i]);
}

static void
install_handlers(void)
{
    static bool installed;
    if (installed)
        return;
    installed = true;
    // The mask holds every handled signal, so a second one (SIGTERM during
    // SIGINT's cleanup) waits instead of running the handler inside itself.
    struct sigaction sa = { .sa_handler = on_fatal_signal };
    fatal_set(&sa.sa_mask);
    for (size_t i = 0; i < N_FATAL; i++) {
        // An ignored signal stays ignored: nohup's SIGHUP, a background
        // job's SIGINT and SIGQUIT, a parent's SIGPIPE. A handled one stays
        // handled: a distributed master's SIGTERM and SIGINT end the run
        // as a failure (the workers are told), whose usual path removes
        // the temporaries.
        struct sigaction old;
        if (sigaction(fatal_signals[i], NULL, &old) == 0
            && old.sa_handler != SIG_DFL)
            continue;
        sigaction(fatal_signals[i], &sa, NULL);
    }
}

static void
untrack(int slot)
{
    if (slot >= 0)
        atomic_store(&pending[slot].live, 0);
}

// mode_t of a new file as open(2) would make it: 0666 less the umask. The
// umask can only be read by setting it; outputs are opened before gx_run
// starts any thread, so nothing can create a file in between.
static mode_t
new_file_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

// mkstemp made the temporary 0600. A new file gets what any tool would
// give it; a replaced file keeps its permission bits (writing over a 0600
// file must not make it world-readable) and, when we may, its owner.
// Setuid, setgid and sticky bits are not carried over: they mean nothing
// on a data file and would be a surprise on one that is now ours.
static int
set_mode(const gx_outfile_t *o, const struct stat *old, gx_error_t *err)
{
    mode_t mode = old ? old->st_mode & 0777 : new_file_mode();
    if (old) {
        // Only root may give a file away; anyone else keeps it as theirs,
        // which is what a failure here leaves.
        if (fchown(o->fd, old->st_uid, old->st_gid) != 0) {
            // Deliberately ignored: see above.
        }
    }
    if (fchmod(o->fd, mode) != 0)
        return gx_error_set(err, "%s: cannot set mode %04o: %s", o->path,
                            (unsigned)mode, strerror(errno));
    return 0;
}

// The path as messages show it: with its target when a link led elsewhere.
static const char *
shown(const gx_outfile_t *o, char *buf, size_t cap)
{
    if (!o->target || strcmp(o->target, o->path) == 0)
        return o->path;
    snprintf(buf, cap, "%s (-> %s)", o->path, o->target);
    return buf;
}

static int
open_failed(gx_outfile_t *o, int e, gx_error_t *err)
{
    char buf[PATH_MAX + 64];
    gx_error_set(err, "%s: cannot write: %s", shown(o, buf, sizeof buf),
                 strerror(e));
    gx_outfile_abandon(o);
    return -1;
}

// A descriptor of ours ("-", /dev/stdout, /proc/self/fd/N): a duplicate,
// so the output goes where the shell pointed it, at its offset (a `>>`
// log is appended to), and nothing is created or renamed.
static int
open_descriptor(gx_outfile_t *o, int fd, gx_error_t *err)
{
    o->direct = true;
    o->own_fd = fd;
    if (gx_stdfds_was_closed(fd)) {
        const char *std = fd == STDOUT_FILENO ? "standard output"
                          : fd == STDERR_FILENO ? "standard error"
                          : "standard input";
        if (strcmp(o->path, std) == 0)          // "-"
            gx_error_set(err, "cannot write to %s: it is closed", std);
        else
            gx_error_set(err, "%s: cannot write: %s is closed", o->path, std);
        gx_outfile_abandon(o);
        return -1;
    }
    o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return o->fd < 0 ? open_failed(o, errno, err) : 0;
}

// A device or a pipe (a FIFO, a tty): there is no file to replace, and
// renaming over it would replace the device itself. Not created, and not
// truncated (that means nothing there). A procfs link of another process
// is opened as it is and appended to, as its owner's descriptor would be.
static int
open_in_place(gx_outfile_t *o, bool magic, gx_error_t *err)
{
    o->direct = true;
    int flags = O_WRONLY | O_NOCTTY | O_CLOEXEC | (magic ? O_APPEND : 0);
    o->fd = open(o->target, flags);
    return o->fd < 0 ? open_failed(o, errno, err) : 0;
}

static int
open_temporary(gx_outfile_t *o, const struct stat *old, gx_error_t *err)
{
    if (n_used == N_SLOTS) {                   // the output and the report
        gx_error_set(err, "%s: too many output files", o->path);
        gx_outfile_abandon(o);
        return -1;
    }
    char *tmp = pending[n_used].path;
    int n = snprintf(tmp, PATH_MAX, "%s.tmp-XXXXXX", o->target);
    if (n < 0 || n >= PATH_MAX)
        return open_failed(o, ENAMETOOLONG, err);
    // Signals wait from the file's creation until the handler knows it, so
    // no moment exists when one would leave it behind. Only this thread
    // exists yet (outputs are opened before gx_run).
    sigset_t fatal, saved;
    fatal_set(&fatal);
    pthread_sigmask(SIG_BLOCK, &fatal, &saved);
    install_handlers();
    o->fd = mkostemp(tmp, O_CLOEXEC);
    int e = errno;
    if (o->fd >= 0) {
        o->slot = n_used++;
        atomic_store(&pending[o->slot].live, 1);
        o->tmp = tmp;
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (o->fd < 0)
        return open_failed(o, e, err);
    if (set_mode(o, old, err) != 0) {
        gx_outfile_abandon(o);
        return -1;
    }
    return 0;
}

int
gx_outfile_open(gx_outfile_t *o, const char *path, gx_error_t *err)
{
    *o = (gx_outfile_t)GX_OUTFILE_NONE;
    bool dash = strcmp(path, "-") == 0;
    if (!(o->path = strdup(dash ? "standard output" : path)))
        return gx_error_set(err, "%s: out of memory", path);
    if (dash)
        return open_descriptor(o, STDOUT_FILENO, err);
    gx_target_t t;
    if (gx_paths_target(path, &t) != 0)
        return open_failed(o, errno, err);
    o->target = t.path;
    if (t.fd >= 0)
        return open_descriptor(o, t.fd, err);
    struct stat st;
    bool exists = stat(o->target, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        char buf[PATH_MAX + 64];
        gx_error_set(err, "%s: is a directory", shown(o, buf, sizeof buf));
        gx_outfile_abandon(o);
        return -1;
    }
    if (t.in_place || (exists && !S_ISREG(st.st_mode)))
        return open_in_place(o, t.in_place, err);
    // Any other stat failure (a missing or unreadable directory) is
    // mkstemp's to report, with the same errno.
    return open_temporary(o, exists ? &st : NULL, err);
}

int
gx_outfile_close(gx_outfile_t *o, gx_error_t *err)
{
    if (o->fd < 0)
        return 0;
    int rc = close(o->fd);
    o->fd = -1;
    if (rc != 0)
        return gx_error_set(err, "%s: %s", o->path, strerror(errno));
    return 0;
}

int
gx_outfile_commit(gx_outfile_t *o, gx_error_t *err)
{
    if (!o->path)
        return 0;                              // never opened
    if (gx_outfile_close(o, err) != 0) {
        gx_outfile_abandon(o);
        return -1;
    }
    if (o->tmp && rename(o->tmp, o->target) != 0) {
        int e = errno;
        gx_error_set(err, "%s: %s", o->path, strerror(e));
        gx_outfile_abandon(o);
        return -1;
    }
    untrack(o->slot);
    free(o->path);
    free(o->target);
    *o = (gx_outfile_t)GX_OUTFILE_NONE;
    return 0;
}

void
gx_outfile_abandon(gx_outfile_t *o)
{
    if (o->fd >= 0)
        close(o->fd);
    if (o->tmp)
        unlink(o->tmp);                        // before untrack: no gap
    untrack(o->slot);
    free(o->path);
    free(o->target);
    *o = (gx_outfile_t)GX_OUTFILE_NONE;
}

void
gx_outfile_note(const gx_outfile_t *o, gx_error_t *err)
{
    if (!o->direct || !o->dirty)
        return;
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len, " (%s is written directly, "
             "not renamed into place: what was written before the failure "
             "stays there)", o->path);
}

static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO;                // no progress and no errno of its own
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int
gx_values_open(gx_values_out_t *v, gx_outfile_t *o, const gx_program_t *prog,
               gx_error_t *err)
{
    *v = (gx_values_out_t){ .o = o, .prog = prog };
    if (!(v->buf = malloc(GX_VALUES_BUF)))
        return gx_error_set(err, "%s: out of memory", o->path);
    return 0;
}

int
gx_values_put(uint64_t id, const void *value, void *arg, gx_error_t *err)
{
    gx_values_out_t *v = arg;
    int n = gx_value_line(v->prog, id, value, v->buf + v->len);
    if (n < 0)
        return gx_error_set(err, "%s: program %s formatted a value badly",
                            v->o->path, v->prog->name);
    v->len += (size_t)n;
    if (v->len > GX_VALUES_BUF - GX_LINE_MAX) {
        v->o->dirty = true;
        if (write_all(v->o->fd, v->buf, v->len) != 0)
            return gx_error_set(err, "%s: %s", v->o->path, strerror(errno));
        v->len = 0;
    }
    return 0;
}

int
gx_values_close(gx_values_out_t *v, gx_error_t *err)
{
    int rc = 0;
    if (v->buf && v->len)
        v->o->dirty = true;
    if (v->buf && v->len && write_all(v->o->fd, v->buf, v->len) != 0)
        rc = gx_error_set(err, "%s: %s", v->o->path, strerror(errno));
    free(v->buf);
    v->buf = NULL;
    v->len = 0;
    return rc;
}

void
gx_values_discard(gx_values_out_t *v)
{
    free(v->buf);
    v->buf = NULL;
    v->len = 0;
}

// ---- Summary ----------------------------------------------------------------

static const char *
human_bytes(uint64_t b, char *buf, size_t cap)
{
    const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
    return buf;
}

// A value's first 8 bytes as an unsigned key in the value's own order, so
// one comparison serves doubles, signed and unsigned integers: a double's
// sign bit is flipped (and, when negative, every bit), a signed integer's
// sign bit is flipped. Equal keys are equal bit patterns.
static uint64_t
order_key(gx_value_type_t type, const void *value)
{
    uint64_t u;
    memcpy(&u, value, 8);
    switch (type) {
    case GX_VALUE_F64: return (u >> 63) ? ~u : u | (1ULL << 63);
    case GX_VALUE_I64: return u ^ (1ULL << 63);
    default:           return u;
    }
}

// A value as the summary shows it: doubles with `prec` decimals (a rank)
// or, with prec < 0, in full (a value that labels a group).
static const char *
value_text(gx_value_type_t type, const void *value, int prec, char *buf,
           size_t cap)
{
    double f;
    int64_t i;
    uint64_t u;
    switch (type) {
    case GX_VALUE_F64:
        memcpy(&f, value, 8);
        if (prec >= 0)
            snprintf(buf, cap, "%.*f", prec, f);
        else
            snprintf(buf, cap, "%.17g", f);
        break;
    case GX_VALUE_I64: memcpy(&i, value, 8); snprintf(buf, cap, "%" PRId64, i); break;
    default:           memcpy(&u, value, 8); snprintf(buf, cap, "%" PRIu64, u); break;
    }
    return buf;
}

typedef struct ranked {
    uint64_t key;
    uint64_t id;
    uint64_t at;                    // index in res
} ranked_t;

// Larger value first; equal values in id order.
static int
by_key_desc(const ranked_t *x, const ranked_t *y)
{
    if (x->key != y->key)
        return x->key < y->key ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

// GX_SUMMARY_TOP: the k vertices with the largest values.
static void
top_values(FILE *out, const gx_program_t *prog, const gx_result_t *res, size_t k)
{
    const uint8_t *values = res->values;
    const char *label = prog->summary_label ? prog->summary_label : "value";
    // Keep the k best in a small sorted array: O(n k), k = 20.
    ranked_t best[32];
    size_t n = 0;
    for (uint64_t i = 0; i < res->n_vertices; i++) {
        ranked_t r = { order_key(prog->value_type, values + i * prog->value_size),
                       res->ids[i], i };
        if (n == k && by_key_desc(&r, &best[k - 1]) >= 0)
            continue;
        size_t at = n < k ? n++ : k - 1;
        while (at > 0 && by_key_desc(&r, &best[at - 1]) < 0) {
            best[at] = best[at - 1];
            at--;
        }
        best[at] = r;
    }
    fprintf(out, "\ntop %zu vertices by %s:\n  %4s  %20s  %s\n", n, label, "#",
            "vertex", label);
    for (size_t i = 0; i < n; i++) {
        char buf[352];
        fprintf(out, "  %4zu  %20" PRIu64 "  %s\n", i + 1, best[i].id,
                value_text(prog->value_type, values + best[i].at * prog->value_size,
                           10, buf, sizeof buf));
    }
}

typedef struct group {
    uint64_t key;
    uint64_t size;
    uint64_t at;                    // index of one of its vertices in res
} group_t;

static int
by_key(const void *a, const void *b)
{
    const group_t *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static int
by_size_desc(const void *a, const void *b)
{
    const group_t *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return by_key(a, b);
}

// GX_SUMMARY_GROUPS: how many distinct values, and the k most common with
// their sizes (equal sizes in value order). O(n log n) time, 24n bytes.
static void
top_groups(FILE *out, const gx_program_t *prog, const gx_result_t *res, size_t k)
{
    const uint8_t *values = res->values;
    const char *label = prog->summary_label ? prog->summary_label : "groups";
    uint64_t n = res->n_vertices;
    group_t *g = malloc((n ? n : 1) * sizeof *g);
    if (!g) {
        fprintf(out, "\n(out of memory listing %s)\n", label);
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        g[i] = (group_t){ order_key(prog->value_type, values + i * prog->value_size),
                          1, i };
    qsort(g, n, sizeof *g, by_key);
    uint64_t ng = 0;
    for (uint64_t i = 0; i < n;) {
        uint64_t j = i;
        while (j < n && g[j].key == g[i].key)
            j++;
        g[ng++] = (group_t){ g[i].key, j - i, g[i].at };
        i = j;
    }
    qsort(g, ng, sizeof *g, by_size_desc);
    fprintf(out, "  %-15s %" PRIu64 "\n", label, ng);
    size_t show = ng < k ? ng : k;
    fprintf(out, "\n%zu largest %s:\n  %4s  %20s  %s\n", show, label, "#",
            "value", "vertices");
    for (size_t i = 0; i < show; i++) {
        char buf[352];
        fprintf(out, "  %4zu  %20s  %" PRIu64 "\n", i + 1,
                value_text(prog->value_type, values + g[i].at * prog->value_size,
                           -1, buf, sizeof buf), g[i].size);
    }
    free(g);
}

// What process p read back in its supersteps: in all, and in the one
// that read the most.
static uint64_t
step_read_back(const gx_proc_stats_t *p, uint64_t supersteps, uint64_t *most)
{
    uint64_t sum = 0;
    *most = 0;
    for (uint64_t s = 0; p->read_back_steps && s < supersteps; s++) {
        sum += p->read_back_steps[s];
        if (p->read_back_steps[s] > *most)
            *most = p->read_back_steps[s];
    }
    return sum;
}

// One line per process that ran worker threads (local mode's one; each
// graphx-worker's in distributed mode): its budget, peak RSS and spill.
static void
print_procs(FILE *out, const gx_result_t *res)
{
    for (unsigned i = 0; i < res->n_procs; i++) {
        const gx_proc_stats_t *p = &res->procs[i];
        char label[32], b[6][32];
        uint64_t most, sum = step_read_back(p, res->supersteps, &most);
        snprintf(label, sizeof label, "process %u", i + 1);
        fprintf(out, "  %-15s threads %u-%u: budget %s, peak RSS %s",
                label, p->first_worker, p->first_worker + p->workers - 1,
                human_bytes(p->budget, b[0], sizeof b[0]),
                human_bytes(p->peak_rss, b[1], sizeof b[1]));
        if (!p->spilled_bytes && !p->read_back_bytes) {
            fprintf(out, "; nothing spilled\n");
            continue;
        }
        fprintf(out, "; %s spilled, %s read back (%s a superstep, at most "
                "%s), %.3f s in spill I/O\n",
                human_bytes(p->spilled_bytes, b[2], sizeof b[2]),
                human_bytes(p->read_back_bytes, b[3], sizeof b[3]),
                human_bytes(res->supersteps ? sum / res->supersteps : 0, b[4],
                            sizeof b[4]),
                human_bytes(most, b[5], sizeof b[5]), p->spill_seconds);
    }
}

void
gx_print_summary(FILE *out, const gx_run_info_t *info,
                 const gx_program_t *prog, const gx_result_t *res)
{
    char b1[32], b2[32], b3[32];
    double mbs = res->load_seconds > 0
                 ? (double)res->input_bytes / 1e6 / res->load_seconds : 0;
    fprintf(out, "graphx-run %s on %s\n", info->algorithm, info->input);
    fprintf(out, "  %-15s %" PRIu64 "\n", "vertices", res->n_vertices);
    fprintf(out, "  %-15s %" PRIu64 "\n", "edges", res->n_edges);
    fprintf(out, "  %-15s %u (%s, %u workers%s)\n", "partitions",
            res->partitions, gx_strategy_name(info->strategy), res->workers,
            res->partitions_picked ? "; picked for the memory budget" : "");
    fprintf(out, "  %-15s %.3f\n", "replication",
            res->n_vertices ? (double)res->replicas / (double)res->n_vertices
                            : 0.0);
    fprintf(out, "  %-15s %" PRIu64 "\n", "supersteps", res->supersteps);
    if (res->direct_messages)
        fprintf(out, "  %-15s %" PRIu64 "\n", "direct messages",
                res->direct_messages);
    if (res->dropped)
        fprintf(out, "  %-15s %" PRIu64 " (sent to ids that are no vertex)\n",
                "dropped", res->dropped);
    fprintf(out, "  %-15s %.3f s (%s, %.1f MB/s)\n", "loading",
            res->load_seconds, human_bytes(res->input_bytes, b1, sizeof b1),
            mbs);
    fprintf(out, "  %-15s %.3f s\n", "partitioning", res->partition_seconds);
    fprintf(out, "  %-15s %.3f s\n", "computing", res->compute_seconds);
    fprintf(out, "  %-15s %.3f s\n", "total", info->total_seconds);
    fprintf(out, "  %-15s %s%s\n", "peak memory",
            human_bytes(info->peak_rss, b1, sizeof b1),
            info->distributed ? " (the master's; each worker has its own)" : "");
    if (res->paged_edges && info->distributed)
        fprintf(out, "  %-15s %" PRIu64 " edges paged out (each worker "
                "process's budget and spill below)\n", "out of core",
                res->paged_edges);
    else if (res->paged_edges)
        fprintf(out, "  %-15s %" PRIu64 " edges paged out (budget %s; %s "
                "spilled, %s read back, %.3f s)\n", "out of core",
                res->paged_edges, human_bytes(res->budget, b1, sizeof b1),
                human_bytes(res->spilled_bytes, b2, sizeof b2),
                human_bytes(res->read_back_bytes, b3, sizeof b3),
                res->spill_seconds);
    if (res->budget && res->peak_accounted > res->budget)
        fprintf(out, "  %-15s the engine peaked at %s, over the %s budget: "
                "the masters, replica lists and one partition a thread stay in memory "
                "(README, Out of core)\n",
                "over budget", human_bytes(res->peak_accounted, b1, sizeof b1),
                human_bytes(res->budget, b2, sizeof b2));
    print_procs(out, res);
    if (prog->summary_kind == GX_SUMMARY_TOP)
        top_values(out, prog, res, 20);
    else if (prog->summary_kind == GX_SUMMARY_GROUPS)
        top_groups(out, prog, res, 20);
}

// ---- Report -------------------------------------------------------------------

static void
json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

// "processes": one object per process that ran worker threads, its
// per-superstep read-back an array beside the steps'.
static void
write_procs(FILE *f, const gx_result_t *res)
{
    fprintf(f, ",\n  \"processes\": [");
    for (unsigned i = 0; i < res->n_procs; i++) {
        const gx_proc_stats_t *p = &res->procs[i];
        fprintf(f, "%s\n    {\"first_worker\": %u, \"workers\": %u, "
                "\"budget_bytes\": %" PRIu64 ", \"peak_rss_bytes\": %" PRIu64
                ", \"spilled_bytes\": %" PRIu64 ", \"read_back_bytes\": %"
                PRIu64 ", \"spill_seconds\": %.6f, \"read_back_per_step\": [",
                i ? "," : "", p->first_worker, p->workers, p->budget,
                p->peak_rss, p->spilled_bytes, p->read_back_bytes,
                p->spill_seconds);
        for (uint64_t s = 0; s < res->supersteps; s++)
            fprintf(f, "%s%" PRIu64, s ? ", " : "", p->read_back_steps[s]);
        fprintf(f, "]}");
    }
    fprintf(f, "%s]", res->n_procs ? "\n  " : "");
}

int
gx_write_report(gx_outfile_t *o, const gx_run_info_t *info,
                const gx_result_t *res, gx_error_t *err)
{
    // Through a duplicate, so fclose leaves o->fd for gx_outfile_commit.
    o->dirty = true;
    int fd = dup(o->fd);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return gx_error_set(err, "%s: %s", o->path, strerror(e));
    }
    double mbs = res->load_seconds > 0
                 ? (double)res->input_bytes / 1e6 / res->load_seconds : 0;
    fprintf(f, "{\n  \"algorithm\": ");
    json_string(f, info->algorithm);
    fprintf(f, ",\n  \"plugin\": ");
    if (info->plugin)
        json_string(f, info->plugin);
    else
        fprintf(f, "null");
    fprintf(f, ",\n  \"input\": ");
    json_string(f, info->input);
    fprintf(f, ",\n  \"vertices\": %" PRIu64 ",\n  \"edges\": %" PRIu64
            ",\n  \"workers\": %u,\n  \"partitions\": %u,"
            "\n  \"partitions_picked\": %s,\n  \"strategy\": \"%s\""
            ",\n  \"replicas\": %" PRIu64 ",\n  \"replication_factor\": %.6f"
            ",\n  \"supersteps\": %" PRIu64 ",\n  \"direct_messages\": %" PRIu64
            ",\n  \"dropped\": %" PRIu64 ",\n  \"input_bytes\": %" PRIu64
            ",\n  \"seconds\": {\"load\": %.6f, \"partition\": %.6f, "
            "\"compute\": %.6f, \"total\": %.6f}"
            ",\n  \"load_mb_per_s\": %.3f,\n  \"peak_rss_bytes\": %" PRIu64
            ",\n  \"mode\": \"%s\"",
            res->n_vertices, res->n_edges, res->workers, res->partitions,
            res->partitions_picked ? "true" : "false",
            gx_strategy_name(info->strategy), res->replicas,
            res->n_vertices ? (double)res->replicas / (double)res->n_vertices
                            : 0.0,
            res->supersteps, res->direct_messages, res->dropped,
            res->input_bytes, res->load_seconds,
            res->partition_seconds, res->compute_seconds, info->total_seconds,
            mbs, info->peak_rss, info->distributed ? "distributed" : "local");
    fprintf(f, ",\n  \"memory\": {\"budget_bytes\": %" PRIu64
            ", \"peak_accounted_bytes\": %" PRIu64 ", \"paged_edges\": %"
            PRIu64 ", \"held_frames_spilled\": %" PRIu64
            ", \"spilled_bytes\": %" PRIu64 ", \"read_back_bytes\": %"
            PRIu64 ", \"spill_seconds\": %.6f}" ",\n  \"steps\": [",
            res->budget, res->peak_accounted, res->paged_edges,
            res->held_frames_spilled, res->spilled_bytes,
            res->read_back_bytes, res->spill_seconds);
    for (uint64_t i = 0; i < res->supersteps; i++) {
        const gx_step_stats_t *s = &res->steps[i];
        fprintf(f, "%s\n    {\"superstep\": %" PRIu64 ", \"seconds\": %.6f, "
                "\"active\": %" PRIu64 ", \"messages\": %" PRIu64
                ", \"bytes\": %" PRIu64 ", \"read_back_bytes\": %" PRIu64 "}",
                i ? "," : "", i + 1, s->seconds, s->active, s->messages,
                s->bytes, s->read_back_bytes);
    }
    fprintf(f, "%s]", res->supersteps ? "\n  " : "");
    write_procs(f, res);
    fprintf(f, "\n}\n");
    // A report of many steps outgrows the buffer, so a write may have
    // failed before fclose, which reports only its own last flush.
    bool failed = ferror(f) != 0;
    errno = 0;
    if (fclose(f) != 0 || failed)
        return gx_error_set(err, "%s: %s", o->path, strerror(errno ? errno : EIO));
    return 0;
}

// ---- Progress -----------------------------------------------------------------

void
gx_progress_init(gx_progress_out_t *p)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
    p->stage = -1;
}

static void
describe(const gx_progress_t *p, char *buf, size_t cap)
{
    switch (p->stage) {
    case GX_STAGE_LOAD: {
        double mb = (double)p->bytes / 1e6;
        double rate = p->seconds > 0 ? mb / p->seconds : 0;
        if (p->total_bytes)
            snprintf(buf, cap, "loading: %.1f / %.1f MB (%.0f%%), %" PRIu64
                     " edges, %.0f MB/s", mb, (double)p->total_bytes / 1e6,
                     100.0 * (double)p->bytes / (double)p->total_bytes,
                     p->edges, rate);
        else
            snprintf(buf, cap, "loading: %.1f MB, %" PRIu64 " edges, %.0f MB/s",
                     mb, p->edges, rate);
        break;
    }
    case GX_STAGE_PARTITION:
        snprintf(buf, cap, "partitioning: building CSR and replica tables");
        break;
    case GX_STAGE_COMPUTE:
        snprintf(buf, cap, "superstep %" PRIu64 ": %" PRIu64 " active, %"
                 PRIu64 " messages, %.2f s", p->superstep, p->active,
                 p->messages, p->seconds);
        break;
    default:
        snprintf(buf, cap, "writing output");
        break;
    }
}

void
gx_progress_show(const gx_progress_t *pg, void *arg)
{
    gx_progress_out_t *p = arg;
    char line[256];
    bool new_stage = (int)pg->stage != p->stage;
    if (new_stage && p->stage >= 0 && !p->tty && p->unprinted) {
        // Close the previous stage with its last state.
        describe(&p->last, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    double t = gx_clock_now();
    p->last = *pg;
    p->stage = (int)pg->stage;
    describe(pg, line, sizeof line);
    if (p->tty) {
        fprintf(stderr, "%s\r\033[K%s", new_stage && p->line_open ? "\n" : "",
                line);
        p->line_open = true;
    } else if (new_stage || t - p->last_plain >= 1.0) {
        // Plain lines (a log, a pipe): a stage's start and then at most one
        // line a second, so 10^5 supersteps do not flood the log.
        fprintf(stderr, "%s\n", line);
        p->last_plain = t;
        p->unprinted = false;
    } else {
        p->unprinted = true;
    }
    fflush(stderr);
}

void
gx_progress_abandon(gx_progress_out_t *p)
{
    // On a terminal the live line is wiped, so an error stands alone.
    if (p->tty && p->line_open)
        fputs("\r\033[K", stderr);
    p->line_open = false;
    p->unprinted = false;
    p->stage = -1;
}

void
gx_progress_done(gx_progress_out_t *p)
{
    if (p->tty && p->line_open)
        fputc('\n', stderr);
    else if (!p->tty && p->stage >= 0 && p->unprinted) {
        char line[256];
        describe(&p->last, line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    p->line_open = false;
    p->unprinted = false;
    p->stage = -1;
}
