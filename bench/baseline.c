// bench/baseline.c: the single-thread COST baseline (McSherry, Isard and
// Murray, "Scalability! But at what COST?", HotOS 2015). graphx-run is only
// worth its workers if it beats this program, which does the same PageRank
// and connected components on one core with no framework at all.
//
//   baseline pagerank FILE [--iterations N] [--damping D] [-o OUT]
//   baseline cc FILE [-o OUT]
//
// It reads the same edge-list text as graphx-run ("SRC DST [WEIGHT]" lines,
// '#'/'%' comments, blank lines, CRLF), so both pay for parsing; and it
// computes what LDBC Graphalytics and networkx compute, so -o output can be
// compared with graphx-run's line by line. One JSON object on stdout reports
// the phases (load = read + parse, build = id compaction + CSR, compute) and
// the peak RSS, which bench/run tabulates against graphx-run.
//
// Being fast is the point, so the shape follows from the data: the file is
// read in 16 MiB chunks into one reused buffer (the peak RSS should be the
// graph's, not a copy of the file's), digits are parsed by hand into uint32
// pairs while the ids fit (8 bytes per edge, widened once if not), ids are
// compacted to dense uint32 with a direct array when the id space is not
// much larger than the edge count (RMAT, most real data sets) and with a
// hash table otherwise, and the PageRank inner loop is a load and an add.
#define _GNU_SOURCE             // memrchr, getopt_long, clock_gettime under -std=c11
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef CHUNK
#define CHUNK       (16u << 20)     // read size; also the longest line we accept
#endif
#define MAX_ID      ((uint64_t)INT64_MAX)   // graphx-run's limit (loaders/loader.h)
#define NO_VERTEX   UINT32_MAX      // unused slot in id maps and labels
#define EMPTY_KEY   UINT64_MAX      // free hash slot; never a valid id (> MAX_ID)

static void
die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("baseline: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// --- Loading: bytes -> (src, dst) pairs of raw ids. ----------------------
//
// Pairs are stored as two uint32 while every id fits, which is most data
// sets: half the memory of uint64 pairs, and at load time the kernel's
// page zeroing, not the parsing, is what a bigger array costs. The first
// larger id widens the array once. All access goes through memcpy, so the
// two views of the same memory never break aliasing rules.

typedef struct edges {
    void     *mem;          // pair i: uint32[2] at 8i, or uint64[2] at 16i if wide
    bool      wide;
    size_t    n, cap;
    uint64_t  max_id;
} edges_t;

static void
edges_grow(edges_t *g)
{
    // realloc of a block this size is mremap in glibc: no copy, and the
    // untouched tail of the reservation costs no RSS.
    size_t cap = g->cap < 1024 ? 1024 : g->cap + g->cap / 2;
    void *p = realloc(g->mem, cap * (g->wide ? 16 : 8));
    if (!p)
        die("out of memory for %zu edges", cap);
    g->mem = p;
    g->cap = cap;
}

static void
edges_widen(edges_t *g)
{
    void *p = realloc(g->mem, (g->cap ? g->cap : 1) * 16);
    if (!p)
        die("out of memory for %zu edges", g->cap);
    g->mem = p;
    g->wide = true;
    // Backwards, so pair i's 16 bytes only cover pairs already moved.
    for (size_t i = g->n; i-- > 0;) {
        uint32_t narrow[2];
        memcpy(narrow, (char *)p + 8 * i, 8);
        uint64_t w[2] = { narrow[0], narrow[1] };
        memcpy((char *)p + 16 * i, w, 16);
    }
}

static inline void
get_raw(const edges_t *e, size_t i, uint64_t *s, uint64_t *d)
{
    if (e->wide) {
        uint64_t two[2];
        memcpy(two, (const char *)e->mem + 16 * i, 16);
        *s = two[0];
        *d = two[1];
    } else {
        uint32_t two[2];
        memcpy(two, (const char *)e->mem + 8 * i, 8);
        *s = two[0];
        *d = two[1];
    }
}

// Reads digits at *pp into an id. 18 digits cannot pass MAX_ID, so only
// longer numbers pay for an overflow check.
static inline bool
parse_id(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;
    int nd = 0;
    unsigned d;
    while ((d = (unsigned)(unsigned char)*p - '0') < 10) {
        if (++nd > 18) {
            if (v > (MAX_ID - d) / 10)
                return false;
        }
        v = v * 10 + d;
        p++;
    }
    *pp = p;
    *out = v;
    return true;
}

// Names what is wrong with the line at p (which failed the fast path).
static void
bad_line(const char *path, uint64_t line_no, const char *p, const char *end)
{
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    int len = eol ? (int)(eol - p) : 0;
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (len > 60)
        len = 60;
    die("%s:%" PRIu64 ": expected 'src dst [weight]' with ids 0..2^63-1, got '%.*s'",
        path, line_no, len, p);
}

// Parses whole lines in [p, end); end[-1] must be '\n', which is the
// sentinel that stops every inner loop without a bounds check.
static void
parse_lines(const char *p, const char *end, edges_t *g, uint64_t *line_no,
            const char *path)
{
    uint64_t max_id = g->max_id;
    while (p < end) {
        const char *line = p;
        ++*line_no;
        while (*p == ' ' || *p == '\t')
            p++;
        char c = *p;
        if ((unsigned)(c - '0') >= 10) {
            if (c == '#' || c == '%') {
                p = (const char *)memchr(p, '\n', (size_t)(end - p)) + 1;
                continue;
            }
            if (c == '\n') {
                p++;
                continue;
            }
            if (c == '\r' && p[1] == '\n') {
                p += 2;
                continue;
            }
            bad_line(path, *line_no, line, end);
        }
        uint64_t src, dst;
        if (!parse_id(&p, &src) || (*p != ' ' && *p != '\t'))
            bad_line(path, *line_no, line, end);
        while (*p == ' ' || *p == '\t')
            p++;
        if ((unsigned)(*p - '0') >= 10 || !parse_id(&p, &dst))
            bad_line(path, *line_no, line, end);
        if (*p == '\n') {
            p++;
        } else {
            // A weight (ignored), trailing blanks or a CR: rare, so checked
            // off the fast path. The weight must be one field.
            if (*p != ' ' && *p != '\t' && *p != '\r')
                bad_line(path, *line_no, line, end);
            while (*p == ' ' || *p == '\t')
                p++;
            while (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                p++;
            while (*p == ' ' || *p == '\t' || *p == '\r')
                p++;
            if (*p != '\n')
                bad_line(path, *line_no, line, end);
            p++;
        }
        if (g->n == g->cap)
            edges_grow(g);
        if (!g->wide && ((src | dst) >> 32) == 0) {
            uint32_t two[2] = { (uint32_t)src, (uint32_t)dst };
            memcpy((char *)g->mem + 8 * g->n, two, 8);
        } else {
            if (!g->wide)
                edges_widen(g);
            uint64_t two[2] = { src, dst };
            memcpy((char *)g->mem + 16 * g->n, two, 16);
        }
        g->n++;
        uint64_t m = src > dst ? src : dst;
        if (m > max_id)
            max_id = m;
    }
    g->max_id = max_id;
}

static uint64_t
load(const char *path, edges_t *g)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        // RMAT lines average 14 bytes, real edge lists more: a guess that
        // rarely needs a second growth.
        g->cap = (size_t)st.st_size / 10 + 1024;
        g->mem = xmalloc(g->cap * 8);
    }
    char *buf = xmalloc(CHUNK + 2);       // + a '\n' for a last line without one
    size_t have = 0;
    uint64_t total = 0, line_no = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, CHUNK - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("%s: %s", path, strerror(errno));
        }
        if (n == 0) {
            if (have > 0) {
                if (buf[have - 1] != '\n')
                    buf[have++] = '\n';
                parse_lines(buf, buf + have, g, &line_no, path);
            }
            break;
        }
        have += (size_t)n;
        total += (uint64_t)n;
        const char *last = memrchr(buf, '\n', have);
        if (!last) {
            if (have == CHUNK)
                die("%s:%" PRIu64 ": line longer than %u bytes", path, line_no + 1, CHUNK);
            continue;
        }
        size_t whole = (size_t)(last - buf) + 1;
        parse_lines(buf, buf + whole, g, &line_no, path);
        memmove(buf, buf + whole, have - whole);
        have -= whole;
    }
    free(buf);
    close(fd);
    return total;
}

// --- Build: raw ids -> dense uint32 ids, in increasing order of raw id. ---
//
// Keeping the order means compact id order is output order, and the
// smallest raw id in a component is its smallest compact id.

typedef struct graph {
    uint32_t  n;            // vertices: those on at least one edge
    size_t    m;            // edges
    uint32_t *pair;         // compacted: pair[2i] = src, pair[2i+1] = dst
    uint64_t *orig;         // compact id -> raw id, ascending
    const char *id_map;     // "dense" or "hash", for the report
} graph_t;

// Writes compacted pair i over raw pair i in the same memory: at byte 8i,
// never past the raw pair (8i or 16i) that is read next.
static inline void
put_compact(void *mem, size_t i, uint32_t s, uint32_t d)
{
    uint32_t two[2] = { s, d };
    memcpy((char *)mem + 8 * i, two, 8);
}

static void
compact_dense(edges_t *e, graph_t *g)
{
    size_t span = (size_t)e->max_id + 1;
    uint32_t *map = xcalloc(span, sizeof *map);
    for (size_t i = 0; i < e->n; i++) {
        uint64_t s, d;
        get_raw(e, i, &s, &d);
        map[s] = 1;
        map[d] = 1;
    }
    uint64_t n = 0;
    for (size_t id = 0; id < span; id++)
        n += map[id];
    if (n >= NO_VERTEX)
        die("%" PRIu64 " vertices: more than this baseline's 32-bit ids hold", n);
    g->orig = xmalloc(n * sizeof *g->orig);
    uint32_t next = 0;
    for (size_t id = 0; id < span; id++) {
        if (map[id]) {
            g->orig[next] = id;
            map[id] = next++;
        }
    }
    for (size_t i = 0; i < e->n; i++) {
        uint64_t s, d;
        get_raw(e, i, &s, &d);
        put_compact(e->mem, i, map[s], map[d]);
    }
    free(map);
    g->n = (uint32_t)n;
    g->id_map = "dense";
}

typedef struct slot {
    uint64_t key;
    uint32_t val;
} slot_t;

static inline size_t
slot_of(uint64_t key, int bits)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

// Linear probing, kept at most half full; one 16-byte slot per lookup.
static void
compact_hash(edges_t *e, graph_t *g)
{
    int bits = 16;
    size_t cap = (size_t)1 << bits, count = 0;
    slot_t *tab = xmalloc(cap * sizeof *tab);
    for (size_t i = 0; i < cap; i++)
        tab[i].key = EMPTY_KEY;
    for (size_t i = 0; i < 2 * e->n; i++) {
        uint64_t ends[2];
        get_raw(e, i / 2, &ends[0], &ends[1]);
        uint64_t key = ends[i & 1];
        size_t h = slot_of(key, bits);
        while (tab[h].key != EMPTY_KEY && tab[h].key != key)
            h = (h + 1) & (cap - 1);
        if (tab[h].key == key)
            continue;
        tab[h].key = key;
        if (++count * 2 > cap) {
            size_t ncap = cap * 2;
            slot_t *nt = xmalloc(ncap * sizeof *nt);
            for (size_t j = 0; j < ncap; j++)
                nt[j].key = EMPTY_KEY;
            for (size_t j = 0; j < cap; j++) {
                if (tab[j].key == EMPTY_KEY)
                    continue;
                size_t k = slot_of(tab[j].key, bits + 1);
                while (nt[k].key != EMPTY_KEY)
                    k = (k + 1) & (ncap - 1);
                nt[k] = tab[j];
            }
            free(tab);
            tab = nt;
            cap = ncap;
            bits++;
        }
    }
    if (count >= NO_VERTEX)
        die("%zu vertices: more than this baseline's 32-bit ids hold", count);
    g->orig = xmalloc(count * sizeof *g->orig);
    size_t k = 0;
    for (size_t j = 0; j < cap; j++)
        if (tab[j].key != EMPTY_KEY)
            g->orig[k++] = tab[j].key;
    qsort(g->orig, count, sizeof *g->orig, cmp_u64);
    for (size_t r = 0; r < count; r++) {
        size_t h = slot_of(g->orig[r], bits);
        while (tab[h].key != g->orig[r])
            h = (h + 1) & (cap - 1);
        tab[h].val = (uint32_t)r;
    }
    for (size_t i = 0; i < e->n; i++) {
        uint64_t key[2];
        uint32_t val[2];
        get_raw(e, i, &key[0], &key[1]);
        for (int s = 0; s < 2; s++) {
            size_t h = slot_of(key[s], bits);
            while (tab[h].key != key[s])
                h = (h + 1) & (cap - 1);
            val[s] = tab[h].val;
        }
        put_compact(e->mem, i, val[0], val[1]);
    }
    free(tab);
    g->n = (uint32_t)count;
    g->id_map = "hash";
}

// Takes the edges over: their memory becomes the compacted pairs.
static void
compact(edges_t *e, graph_t *g, bool force_hash)
{
    g->m = e->n;
    // A direct map costs 4 bytes per id in [0, max_id]: take it while that
    // stays within 8 bytes per edge, beyond which the hash table is smaller.
    bool dense = !force_hash && e->n > 0 && e->max_id / 2 < e->n;
    if (e->n == 0) {
        g->n = 0;
        g->orig = NULL;
        g->id_map = "dense";
    } else if (dense) {
        compact_dense(e, g);
    } else {
        compact_hash(e, g);
    }
    // Shrinking (by half if the pairs were wide) returns the tail pages
    // (mremap), so the later arrays reuse that memory, not add to the peak.
    void *p = realloc(e->mem, (e->n ? e->n : 1) * 2 * sizeof(uint32_t));
    g->pair = p ? p : e->mem;
    e->mem = NULL;
    e->n = e->cap = 0;
}

// --- PageRank (LDBC Graphalytics / networkx definition). -----------------

typedef struct csr_in {
    uint64_t *off;          // n + 1 offsets into src
    uint32_t *src;          // in-neighbours of v: src[off[v] .. off[v+1])
    uint32_t *outdeg;
} csr_in_t;

// Counting sort by destination. Duplicates and self-loops stay: each one
// is another share of the source's rank, as in networkx on a MultiDiGraph.
static void
build_in_csr(graph_t *g, csr_in_t *c)
{
    uint32_t n = g->n;
    c->off = xcalloc((size_t)n + 1, sizeof *c->off);
    c->outdeg = xcalloc(n, sizeof *c->outdeg);
    c->src = xmalloc(g->m * sizeof *c->src);
    for (size_t i = 0; i < g->m; i++) {
        c->outdeg[g->pair[2 * i]]++;
        c->off[g->pair[2 * i + 1] + 1]++;
    }
    for (uint32_t v = 0; v < n; v++)
        c->off[v + 1] += c->off[v];
    uint64_t *pos = xmalloc((size_t)n * sizeof *pos);
    memcpy(pos, c->off, (size_t)n * sizeof *pos);
    for (size_t i = 0; i < g->m; i++)
        c->src[pos[g->pair[2 * i + 1]]++] = g->pair[2 * i];
    free(pos);
}

// r'(v) = (1-d)/N + d * (sum_{(u,v)} r(u)/outdeg(u) + dangling/N), where
// dangling is the rank held by vertices without out-edges, spread evenly.
static void
pagerank(const csr_in_t *c, uint32_t n, int iterations, double damping,
         double *rank)
{
    double *contrib = xmalloc((size_t)n * sizeof *contrib);
    for (uint32_t v = 0; v < n; v++)
        rank[v] = 1.0 / n;
    for (int it = 0; it < iterations; it++) {
        // One division per vertex here keeps the per-edge loop to a load
        // and an add.
        double dangling = 0.0;
        for (uint32_t u = 0; u < n; u++) {
            if (c->outdeg[u]) {
                contrib[u] = rank[u] / c->outdeg[u];
            } else {
                contrib[u] = 0.0;
                dangling += rank[u];
            }
        }
        double base = (1.0 - damping) / n + damping * dangling / n;
        for (uint32_t v = 0; v < n; v++) {
            double sum = 0.0;
            for (uint64_t e = c->off[v]; e < c->off[v + 1]; e++)
                sum += contrib[c->src[e]];
            rank[v] = base + damping * sum;
        }
    }
    free(contrib);
}

// --- Connected components (weak): union-find. ----------------------------

static inline uint32_t
uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];      // path halving
        x = parent[x];
    }
    return x;
}

// label[v] = the smallest compact id in v's component, which (ids being
// compacted in order) is also the smallest raw id.
static void
connected_components(const graph_t *g, uint32_t *label)
{
    uint32_t n = g->n;
    uint32_t *parent = label;               // label's memory serves as parent first
    uint32_t *size = xmalloc((size_t)n * sizeof *size);
    for (uint32_t v = 0; v < n; v++) {
        parent[v] = v;
        size[v] = 1;
    }
    for (size_t i = 0; i < g->m; i++) {
        uint32_t a = uf_find(parent, g->pair[2 * i]);
        uint32_t b = uf_find(parent, g->pair[2 * i + 1]);
        if (a == b)
            continue;
        if (size[a] < size[b]) {
            uint32_t t = a;
            a = b;
            b = t;
        }
        parent[b] = a;
        size[a] += size[b];
    }
    // Point every vertex straight at its root first: the labelling pass
    // below overwrites parent[v] with v's label, so it must never need to
    // walk through another vertex's entry.
    for (uint32_t v = 0; v < n; v++)
        parent[v] = uf_find(parent, v);
    // Ascending v: the first member met in a component is its smallest.
    // size[] is free now and records that member per root.
    uint32_t *first = size;
    for (uint32_t v = 0; v < n; v++)
        first[v] = NO_VERTEX;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t r = parent[v];
        if (first[r] == NO_VERTEX)
            first[r] = v;
        label[v] = first[r];
    }
    free(size);
}

// --- Main. -----------------------------------------------------------------

static void
usage(FILE *f)
{
    fprintf(f,
        "usage: baseline pagerank FILE [--iterations N] [--damping D] [-o OUT] [--hash-ids]\n"
        "       baseline cc FILE [-o OUT] [--hash-ids]\n"
        "Single-thread reference for graphx-run. Prints a JSON report on stdout;\n"
        "-o writes \"id<TAB>value\" lines sorted by id. --hash-ids forces the hash\n"
        "table id map even when a direct array would do.\n");
}

static FILE *
open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("%s: %s", path, strerror(errno));
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    return f;
}

static void
close_out(FILE *f, const char *path)
{
    if (ferror(f) | fclose(f))
        die("%s: write failed", path);
}

int
main(int argc, char **argv)
{
    long iterations = 10;
    double damping = 0.85;
    const char *out_path = NULL;
    bool force_hash = false, iterations_set = false, damping_set = false;

    static const struct option longopts[] = {
        {"iterations", required_argument, NULL, 'i'},
        {"damping",    required_argument, NULL, 'd'},
        {"output",     required_argument, NULL, 'o'},
        {"hash-ids",   no_argument,       NULL, 'H'},
        {"help",       no_argument,       NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'i':
            errno = 0;
            iterations = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || iterations < 0 || iterations > 1000000) {
                fprintf(stderr, "baseline: bad --iterations '%s'\n", optarg);
                return 2;
            }
            iterations_set = true;
            break;
        case 'd':
            errno = 0;
            damping = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(damping >= 0.0 && damping <= 1.0)) {
                fprintf(stderr, "baseline: bad --damping '%s' (want 0..1)\n", optarg);
                return 2;
            }
            damping_set = true;
            break;
        case 'o': out_path = optarg; break;
        case 'H': force_hash = true; break;
        case 'h': usage(stdout); return 0;
        default:  usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    const char *algo = argv[optind], *path = argv[optind + 1];
    bool is_pr = strcmp(algo, "pagerank") == 0;
    if (!is_pr && strcmp(algo, "cc") != 0) {
        fprintf(stderr, "baseline: unknown algorithm '%s' (pagerank or cc)\n", algo);
        return 2;
    }
    if (!is_pr && (iterations_set || damping_set)) {
        fprintf(stderr, "baseline: --iterations and --damping are for pagerank\n");
        return 2;
    }

    double t0 = now();
    edges_t e = {0};
    uint64_t input_bytes = load(path, &e);
    double t1 = now();

    graph_t g = {0};
    compact(&e, &g, force_hash);
    csr_in_t c = {0};
    if (is_pr) {
        build_in_csr(&g, &c);
        free(g.pair);                       // the CSR holds the edges now
        g.pair = NULL;
    }
    double t2 = now();

    double *rank = NULL;
    uint32_t *label = NULL;
    long steps;
    if (is_pr) {
        rank = xmalloc((size_t)g.n * sizeof *rank);
        if (g.n > 0)
            pagerank(&c, g.n, (int)iterations, damping, rank);
        steps = iterations;
    } else {
        label = xmalloc((size_t)g.n * sizeof *label);
        connected_components(&g, label);
        steps = 1;                          // one pass over the edges, not supersteps
    }
    double t3 = now();

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"algorithm\":\"%s\",\"vertices\":%" PRIu32 ",\"edges\":%zu,"
           "\"input_bytes\":%" PRIu64 ",\"load_seconds\":%.6f,\"build_seconds\":%.6f,"
           "\"compute_seconds\":%.6f,\"iterations\":%ld,\"seconds_per_iteration\":%.6f,"
           "\"peak_rss_bytes\":%lld,\"id_map\":\"%s\"}\n",
           algo, g.n, g.m, input_bytes, t1 - t0, t2 - t1, t3 - t2, steps,
           steps > 0 ? (t3 - t2) / (double)steps : 0.0,
           (long long)ru.ru_maxrss * 1024, g.id_map);
    fflush(stdout);

    if (out_path) {
        FILE *f = open_out(out_path);
        for (uint32_t v = 0; v < g.n; v++) {
            if (is_pr)
                fprintf(f, "%" PRIu64 "\t%.17g\n", g.orig[v], rank[v]);
            else
                fprintf(f, "%" PRIu64 "\t%llu\n", g.orig[v],
                        (unsigned long long)g.orig[label[v]]);
        }
        close_out(f, out_path);
    }
    free(rank);
    free(label);
    free(c.off);
    free(c.src);
    free(c.outdeg);
    free(g.pair);
    free(g.orig);
    return 0;
}
