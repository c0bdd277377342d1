// bench/baseline.c: the single-thread COST baseline (McSherry, Isard and
// Murray, "Scalability! But at what COST?", HotOS 2015). graphx-run is only
// worth its workers if it beats this program, which does the same PageRank,
// connected components, BFS and SSSP on one core with no framework at all.
//
//   baseline pagerank FILE [--iterations N] [--damping D] [-o OUT]
//   baseline cc FILE [-o OUT]
//   baseline bfs FILE --source ID [-o OUT]
//   baseline sssp FILE --source ID [-o OUT]      (lines need a weight)
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
// The kernels are the textbook single-thread ones: PageRank by pulling
// over in-edges, CC by union-find, BFS by a FIFO queue over out-edges,
// SSSP by Dijkstra with a binary heap (lazy deletion) over out-edges.
// Weights are parsed (strtod) and stored only for sssp, as graphx-run
// stores them only for a program that asks.
#define _GNU_SOURCE             // memrchr, getopt_long, clock_gettime under -std=c11
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
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
    double   *w;            // weight of pair i, when want_w
    bool      want_w;       // sssp: every line must have a weight
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
    if (g->want_w) {
        double *w = realloc(g->w, cap * sizeof *w);
        if (!w)
            die("out of memory for %zu weights", cap);
        g->w = w;
    }
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
    const bool want_w = g->want_w;
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
        double wt = 1.0;
        if (*p == '\n' && !want_w) {
            p++;
        } else if (want_w) {
            // "src dst weight": one number, then only blanks or a CR.
            if (*p != ' ' && *p != '\t')
                bad_line(path, *line_no, line, end);
            while (*p == ' ' || *p == '\t')
                p++;
            char *after;
            wt = strtod(p, &after);
            if (after == p || (*after != ' ' && *after != '\t' && *after != '\r'
                               && *after != '\n'))
                bad_line(path, *line_no, line, end);
            p = after;
            while (*p == ' ' || *p == '\t' || *p == '\r')
                p++;
            if (*p != '\n')
                bad_line(path, *line_no, line, end);
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
        if (want_w)
            g->w[g->n] = wt;
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
        if (g->want_w)
            g->w = xmalloc(g->cap * sizeof *g->w);
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
    double   *w;            // weight of pair i (sssp only), else NULL
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
    g->w = e->w;
    e->mem = NULL;
    e->w = NULL;
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

// --- BFS and SSSP over out-edges. -----------------------------------------

typedef struct csr_out {
    uint64_t *off;          // n + 1 offsets into dst (and w)
    uint32_t *dst;          // out-neighbours of v: dst[off[v] .. off[v+1])
    double   *w;            // their weights (sssp), else NULL
} csr_out_t;

// Counting sort by source; duplicates and self-loops stay (harmless to
// both kernels, and what graphx-run stores too).
static void
build_out_csr(const graph_t *g, csr_out_t *c)
{
    uint32_t n = g->n;
    c->off = xcalloc((size_t)n + 1, sizeof *c->off);
    c->dst = xmalloc(g->m * sizeof *c->dst);
    c->w = g->w ? xmalloc(g->m * sizeof *c->w) : NULL;
    for (size_t i = 0; i < g->m; i++)
        c->off[g->pair[2 * i] + 1]++;
    for (uint32_t v = 0; v < n; v++)
        c->off[v + 1] += c->off[v];
    uint64_t *pos = xmalloc((size_t)n * sizeof *pos);
    memcpy(pos, c->off, (size_t)n * sizeof *pos);
    for (size_t i = 0; i < g->m; i++) {
        uint64_t k = pos[g->pair[2 * i]]++;
        c->dst[k] = g->pair[2 * i + 1];
        if (c->w)
            c->w[k] = g->w[i];
    }
    free(pos);
}

// Levels by a FIFO queue; level[v] = UINT32_MAX if v is not reached (or
// source is NO_VERTEX: not in the graph). Returns the vertices reached.
static uint32_t
bfs(const csr_out_t *c, uint32_t n, uint32_t source, uint32_t *level)
{
    for (uint32_t v = 0; v < n; v++)
        level[v] = UINT32_MAX;
    if (source == NO_VERTEX)
        return 0;
    uint32_t *queue = xmalloc((size_t)n * sizeof *queue);
    uint32_t head = 0, tail = 0;
    level[source] = 0;
    queue[tail++] = source;
    while (head < tail) {
        uint32_t u = queue[head++], next = level[u] + 1;
        for (uint64_t e = c->off[u]; e < c->off[u + 1]; e++) {
            uint32_t v = c->dst[e];
            if (level[v] == UINT32_MAX) {
                level[v] = next;
                queue[tail++] = v;
            }
        }
    }
    free(queue);
    return tail;
}

typedef struct heap_ent {
    double   d;
    uint32_t v;
} heap_ent_t;

// Dijkstra with a binary min-heap and lazy deletion: a vertex is pushed
// again when its distance falls, and stale entries are skipped when
// popped. The heap holds at most one entry per successful relaxation and
// grows as needed. Weights are taken to be non-negative (Graphalytics').
static uint32_t
dijkstra(const csr_out_t *c, uint32_t n, uint32_t source, double *dist)
{
    for (uint32_t v = 0; v < n; v++)
        dist[v] = INFINITY;
    if (source == NO_VERTEX)
        return 0;
    size_t cap = 1024, len = 0;
    heap_ent_t *h = xmalloc(cap * sizeof *h);
    uint32_t settled = 0;
    dist[source] = 0.0;
    h[len++] = (heap_ent_t){ 0.0, source };
    while (len > 0) {
        heap_ent_t top = h[0], last = h[--len];
        size_t i = 0;                   // sift `last` down from the root
        for (;;) {
            size_t k = 2 * i + 1;
            if (k >= len)
                break;
            if (k + 1 < len && h[k + 1].d < h[k].d)
                k++;
            if (h[k].d >= last.d)
                break;
            h[i] = h[k];
            i = k;
        }
        if (len > 0)
            h[i] = last;
        if (top.d > dist[top.v])
            continue;                   // stale
        settled++;
        for (uint64_t e = c->off[top.v]; e < c->off[top.v + 1]; e++) {
            uint32_t v = c->dst[e];
            double nd = top.d + c->w[e];
            if (!(nd < dist[v]))
                continue;
            dist[v] = nd;
            if (len == cap) {
                cap *= 2;
                heap_ent_t *nh = realloc(h, cap * sizeof *h);
                if (!nh)
                    die("out of memory for a heap of %zu entries", cap);
                h = nh;
            }
            size_t j = len++;           // sift up
            while (j > 0 && h[(j - 1) / 2].d > nd) {
                h[j] = h[(j - 1) / 2];
                j = (j - 1) / 2;
            }
            h[j] = (heap_ent_t){ nd, v };
        }
    }
    free(h);
    return settled;
}

// The compact id of raw id `id`, or NO_VERTEX: orig[] is ascending.
static uint32_t
find_vertex(const graph_t *g, uint64_t id)
{
    uint32_t lo = 0, hi = g->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->orig[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->n && g->orig[lo] == id ? lo : NO_VERTEX;
}

// --- Main. -----------------------------------------------------------------

static void
usage(FILE *f)
{
    fprintf(f,
        "usage: baseline pagerank FILE [--iterations N] [--damping D] [-o OUT] [--hash-ids]\n"
        "       baseline cc FILE [-o OUT] [--hash-ids]\n"
        "       baseline bfs FILE --source ID [-o OUT] [--hash-ids]\n"
        "       baseline sssp FILE --source ID [-o OUT] [--hash-ids]\n"
        "Single-thread reference for graphx-run. Prints a JSON report on stdout;\n"
        "-o writes \"id<TAB>value\" lines sorted by id, as graphx-run does\n"
        "(unreached: 9223372036854775807 for bfs, Infinity for sssp). sssp needs\n"
        "'src dst weight' lines. --hash-ids forces the hash table id map even\n"
        "when a direct array would do.\n");
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

enum algo { PAGERANK, CC, BFS, SSSP };

int
main(int argc, char **argv)
{
    long iterations = 10;
    double damping = 0.85;
    uint64_t source = 0;
    const char *out_path = NULL;
    bool force_hash = false, iterations_set = false, damping_set = false;
    bool source_set = false;

    static const struct option longopts[] = {
        {"iterations", required_argument, NULL, 'i'},
        {"damping",    required_argument, NULL, 'd'},
        {"source",     required_argument, NULL, 's'},
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
        case 's': {
            const char *q = optarg;
            if ((unsigned)(*q - '0') >= 10 || !parse_id(&q, &source) || *q) {
                fprintf(stderr, "baseline: bad --source '%s' (want 0..2^63-1)\n", optarg);
                return 2;
            }
            source_set = true;
            break;
        }
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
    const char *name = argv[optind], *path = argv[optind + 1];
    enum algo algo;
    if (strcmp(name, "pagerank") == 0)
        algo = PAGERANK;
    else if (strcmp(name, "cc") == 0)
        algo = CC;
    else if (strcmp(name, "bfs") == 0)
        algo = BFS;
    else if (strcmp(name, "sssp") == 0)
        algo = SSSP;
    else {
        fprintf(stderr, "baseline: unknown algorithm '%s' (pagerank, cc, bfs or sssp)\n",
                name);
        return 2;
    }
    if (algo != PAGERANK && (iterations_set || damping_set)) {
        fprintf(stderr, "baseline: --iterations and --damping are for pagerank\n");
        return 2;
    }
    bool needs_source = algo == BFS || algo == SSSP;
    if (needs_source != source_set) {
        fprintf(stderr, "baseline: --source is %s for %s\n",
                needs_source ? "required" : "not used", name);
        return 2;
    }

    double t0 = now();
    edges_t e = { .want_w = algo == SSSP };
    uint64_t input_bytes = load(path, &e);
    double t1 = now();

    graph_t g = {0};
    compact(&e, &g, force_hash);
    csr_in_t c = {0};
    csr_out_t co = {0};
    if (algo == PAGERANK)
        build_in_csr(&g, &c);
    else if (needs_source)
        build_out_csr(&g, &co);
    if (algo != CC) {
        free(g.pair);                       // the CSR holds the edges now
        g.pair = NULL;
        free(g.w);
        g.w = NULL;
    }
    uint32_t src = needs_source ? find_vertex(&g, source) : NO_VERTEX;
    double t2 = now();

    double *rank = NULL, *dist = NULL;
    uint32_t *label = NULL, *level = NULL;
    long steps = 1;                         // one pass, not supersteps
    uint32_t reached = 0;
    switch (algo) {
    case PAGERANK:
        rank = xmalloc((size_t)g.n * sizeof *rank);
        if (g.n > 0)
            pagerank(&c, g.n, (int)iterations, damping, rank);
        steps = iterations;
        break;
    case CC:
        label = xmalloc((size_t)g.n * sizeof *label);
        connected_components(&g, label);
        break;
    case BFS:
        level = xmalloc((size_t)g.n * sizeof *level);
        reached = bfs(&co, g.n, src, level);
        break;
    case SSSP:
        dist = xmalloc((size_t)g.n * sizeof *dist);
        reached = dijkstra(&co, g.n, src, dist);
        break;
    }
    double t3 = now();

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"algorithm\":\"%s\",\"vertices\":%" PRIu32 ",\"edges\":%zu,"
           "\"input_bytes\":%" PRIu64 ",\"load_seconds\":%.6f,\"build_seconds\":%.6f,"
           "\"compute_seconds\":%.6f,\"iterations\":%ld,\"seconds_per_iteration\":%.6f,"
           "\"peak_rss_bytes\":%lld,\"id_map\":\"%s\"",
           name, g.n, g.m, input_bytes, t1 - t0, t2 - t1, t3 - t2, steps,
           steps > 0 ? (t3 - t2) / (double)steps : 0.0,
           (long long)ru.ru_maxrss * 1024, g.id_map);
    if (needs_source)
        printf(",\"source\":%" PRIu64 ",\"reached\":%" PRIu32, source, reached);
    printf("}\n");
    fflush(stdout);

    if (out_path) {
        FILE *f = open_out(out_path);
        for (uint32_t v = 0; v < g.n; v++) {
            fprintf(f, "%" PRIu64 "\t", g.orig[v]);
            switch (algo) {
            case PAGERANK: fprintf(f, "%.17g\n", rank[v]); break;
            case CC:
                fprintf(f, "%" PRIu64 "\n", g.orig[label[v]]);
                break;
            case BFS:
                if (level[v] == UINT32_MAX)
                    fprintf(f, "%" PRId64 "\n", INT64_MAX);
                else
                    fprintf(f, "%" PRIu32 "\n", level[v]);
                break;
            case SSSP:
                if (isinf(dist[v]))
                    fprintf(f, "Infinity\n");
                else
                    fprintf(f, "%.17g\n", dist[v]);
                break;
            }
        }
        close_out(f, out_path);
    }
    free(rank);
    free(label);
    free(level);
    free(dist);
    free(c.off);
    free(c.src);
    free(c.outdeg);
    free(co.off);
    free(co.dst);
    free(co.w);
    free(g.pair);
    free(g.w);
    free(g.orig);
    return 0;
}
