// bench/rmat.c: graph generator for the benchmarks. Writes an edge list,
// "SRC DST\n" per edge ("SRC DST WEIGHT\n" with --weights), that graphx-run
// and bench/baseline both read. Two shapes:
//
//   - RMAT (the default), a skewed power-law graph: short diameter, hubs;
//   - --grid WxH, a W x H lattice, each undirected edge written both ways
//     (so it is read as a directed file, with no --undirected): diameter
//     W+H-2, no hubs. The two are opposite ends for a Pregel engine: RMAT
//     is a few supersteps over many edges, the grid thousands of supersteps
//     over a thin frontier, so per-superstep overhead shows.
//
// Weights (--weights) are uniform in (0, 1], drawn as k / 10^6 for k in
// 1..10^6 and written with 6 decimals ("0.042001", "1"): exact text, fast to
// write, and one weight per undirected grid edge, the same both ways. They
// come from their own generator, so --weights adds a column to the same
// edges the same seed gives without it.
//
// Each edge picks one of four quadrants (probabilities a, b, c, d) at each of
// SCALE levels of the 2^SCALE x 2^SCALE adjacency matrix, as Graph500 and
// Chakrabarti et al. do; duplicates and self-loops are kept, as Graph500
// keeps them. Left alone, RMAT puts the heaviest vertices at the smallest
// ids (all-"a" choices give vertex 0), which flatters any partitioner that
// hashes or ranges ids; so ids go through a seeded bijection on [0, 2^SCALE)
// before they are written. The same seed gives the same bytes.
//
// Speed comes from three things: a 64-bit PRNG (xoshiro256**) gives two
// levels per draw, the quadrant choice is branch-free compares against
// integer thresholds, and output is formatted by hand into a large buffer
// written with write(2) -- no stdio call per edge.
#define _GNU_SOURCE             // getopt_long, clock_gettime under -std=c11
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SCALE   56           // ids stay well inside graphx-run's 0 .. 2^63-1
#define OUT_BUF     (4u << 20)   // large writes: the pipe or page cache, not syscalls, bound us
#define MAX_LINE    51           // two 20-digit numbers, a weight, spaces, a newline

// --- PRNG: splitmix64 to seed, xoshiro256** to draw (Blackman & Vigna). ---

static uint64_t
splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct rng { uint64_t s[4]; } rng_t;

static inline uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t
rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

// --- Vertex id permutation. ----------------------------------------------
//
// Multiplying by an odd number is a bijection mod 2^S, and so is x ^ (x >> k)
// for k >= 1 on S-bit values; three rounds of both, with seeded multipliers,
// scatter the hubs without a 2^S-entry table (which would be 8 GiB at S=30).
typedef struct perm {
    uint64_t mask;
    int      shift;
    uint64_t mul[3];
    uint64_t add[3];
} perm_t;

static void
perm_init(perm_t *p, int scale, uint64_t *seed_state)
{
    p->mask = scale >= 64 ? ~0ULL : (1ULL << scale) - 1;
    p->shift = (scale + 1) / 2;
    if (p->shift == 0)
        p->shift = 1;
    for (int i = 0; i < 3; i++) {
        p->mul[i] = splitmix64(seed_state) | 1;
        p->add[i] = splitmix64(seed_state);
    }
}

static inline uint64_t
perm_apply(const perm_t *p, uint64_t x)
{
    for (int i = 0; i < 3; i++) {
        x = (x * p->mul[i] + p->add[i]) & p->mask;
        x ^= x >> p->shift;
    }
    return x;
}

// --- Output. ---------------------------------------------------------------

typedef struct out {
    int    fd;
    char  *buf;
    size_t len;
    const char *name;
    uint64_t total;
} out_t;

static int
out_flush(out_t *o)
{
    size_t done = 0;
    while (done < o->len) {
        ssize_t n = write(o->fd, o->buf + done, o->len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "rmat: write %s: %s\n", o->name, strerror(errno));
            return -1;
        }
        done += (size_t)n;
    }
    o->total += o->len;
    o->len = 0;
    return 0;
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Writes x in decimal at p, returns the byte after it. Two digits per
// division: a scale-20 graph has 33M numbers to format.
static inline char *
put_u64(char *p, uint64_t x)
{
    char tmp[20];
    char *t = tmp + sizeof tmp;
    while (x >= 100) {
        unsigned r = (unsigned)(x % 100);
        x /= 100;
        t -= 2;
        memcpy(t, digit_pairs + 2 * r, 2);
    }
    if (x >= 10) {
        t -= 2;
        memcpy(t, digit_pairs + 2 * x, 2);
    } else {
        *--t = (char)('0' + x);
    }
    size_t n = (size_t)(tmp + sizeof tmp - t);
    memcpy(p, t, n);
    return p + n;
}

// " 0.dddddd" (or " 1") for k / 10^6, k in 1..10^6.
static inline char *
put_weight(char *p, uint64_t k)
{
    *p++ = ' ';
    if (k >= 1000000) {
        *p++ = '1';
        return p;
    }
    *p++ = '0';
    *p++ = '.';
    for (int i = 5; i >= 0; i--) {
        p[i] = (char)('0' + k % 10);
        k /= 10;
    }
    return p + 6;
}

static inline uint64_t
draw_weight(rng_t *r)
{
    return 1 + (rng_next(r) >> 11) % 1000000;   // bias below 10^-9
}

static inline int
put_edge(out_t *o, uint64_t src, uint64_t dst, bool weighted, uint64_t k)
{
    if (o->len > OUT_BUF - MAX_LINE && out_flush(o) != 0)
        return -1;
    char *p = o->buf + o->len;
    p = put_u64(p, src);
    *p++ = ' ';
    p = put_u64(p, dst);
    if (weighted)
        p = put_weight(p, k);
    *p++ = '\n';
    o->len = (size_t)(p - o->buf);
    return 0;
}

// The W x H grid: cell (x, y) is vertex perm[y * W + x], a random
// permutation, so neighbours' ids are unrelated (as after any real
// loader's numbering). Row by row, each cell's right and down edges, both
// ways. Returns the edges written, or -1.
static int64_t
write_grid(out_t *o, uint64_t w, uint64_t h, rng_t *rng, rng_t *wrng,
           bool weighted)
{
    uint64_t n = w * h;
    uint64_t *perm = malloc((n ? n : 1) * sizeof *perm);
    if (!perm) {
        fprintf(stderr, "rmat: out of memory for a %" PRIu64 "-vertex grid\n", n);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint64_t i = n; i > 1; i--) {          // Fisher-Yates
        uint64_t j = rng_next(rng) % i;
        uint64_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    int64_t edges = 0;
    for (uint64_t y = 0; y < h; y++)
        for (uint64_t x = 0; x < w; x++) {
            uint64_t a = perm[y * w + x];
            uint64_t nb[2], k = 0;
            if (x + 1 < w)
                nb[k++] = perm[y * w + x + 1];
            if (y + 1 < h)
                nb[k++] = perm[(y + 1) * w + x];
            for (uint64_t i = 0; i < k; i++) {
                uint64_t wt = weighted ? draw_weight(wrng) : 0;
                if (put_edge(o, a, nb[i], weighted, wt) != 0
                    || put_edge(o, nb[i], a, weighted, wt) != 0) {
                    free(perm);
                    return -1;
                }
                edges += 2;
            }
        }
    free(perm);
    return edges;
}

// "WxH" with both in 1..2^24 (2^48 vertices would not be a benchmark).
static bool
parse_grid(const char *s, uint64_t *w, uint64_t *h)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return false;
    unsigned long long a = strtoull(s, &end, 10);
    if (errno || *end != 'x' || end[1] < '0' || end[1] > '9')
        return false;
    unsigned long long b = strtoull(end + 1, &end, 10);
    if (errno || *end || a == 0 || b == 0 || a > (1u << 24) || b > (1u << 24))
        return false;
    *w = a;
    *h = b;
    return true;
}

// --- Options. --------------------------------------------------------------

static void
usage(FILE *f)
{
    fprintf(f,
        "usage: rmat [--scale S] [--edge-factor F] [--seed N] [-a A] [-b B] [-c C]\n"
        "            [--weights] [-o FILE] [-v]\n"
        "       rmat --grid WxH [--seed N] [--weights] [-o FILE] [-v]\n"
        "Writes an RMAT edge list, \"SRC DST\" per line, with F * 2^S edges over\n"
        "vertex ids 0 .. 2^S-1 (permuted). Defaults: S=20 F=16 seed=1,\n"
        "a=0.57 b=0.19 c=0.19 (d = 1-a-b-c), output to stdout.\n"
        "--grid writes a W x H lattice instead (ids 0 .. WH-1, permuted), each\n"
        "edge both ways. --weights adds a third column, uniform in (0, 1] with\n"
        "6 decimals (one per grid edge, the same both ways).\n");
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '\0')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool
parse_prob(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= 0.0 && v <= 1.0))
        return false;
    *out = v;
    return true;
}

static const char *
option_name(int opt)
{
    switch (opt) {
    case 's': return "--scale (0..56)";
    case 'e': return "--edge-factor";
    case 'S': return "--seed";
    case 'a': return "-a (a probability in [0, 1])";
    case 'b': return "-b (a probability in [0, 1])";
    case 'G': return "--grid (WxH, each 1..16777216)";
    default:  return "-c (a probability in [0, 1])";
    }
}

// A probability as a 2^-32 fixed-point threshold, compared against 32
// random bits. A uint64 so that p = 1 (2^32) is "always below".
static uint64_t
threshold(double p)
{
    double t = p * 4294967296.0 + 0.5;
    return t >= 4294967296.0 ? 4294967296ULL : (uint64_t)t;
}

int
main(int argc, char **argv)
{
    uint64_t scale = 20, edge_factor = 16, seed = 1;
    double a = 0.57, b = 0.19, c = 0.19;
    const char *out_path = NULL;
    bool verbose = false, weighted = false, grid = false;
    uint64_t grid_w = 0, grid_h = 0;

    static const struct option longopts[] = {
        {"scale",       required_argument, NULL, 's'},
        {"edge-factor", required_argument, NULL, 'e'},
        {"seed",        required_argument, NULL, 'S'},
        {"output",      required_argument, NULL, 'o'},
        {"verbose",     no_argument,       NULL, 'v'},
        {"weights",     no_argument,       NULL, 'W'},
        {"grid",        required_argument, NULL, 'G'},
        {"help",        no_argument,       NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "a:b:c:o:vh", longopts, NULL)) != -1) {
        bool ok = true;
        switch (opt) {
        case 's': ok = parse_u64(optarg, &scale) && scale <= MAX_SCALE; break;
        case 'e': ok = parse_u64(optarg, &edge_factor); break;
        case 'S': ok = parse_u64(optarg, &seed); break;
        case 'a': ok = parse_prob(optarg, &a); break;
        case 'b': ok = parse_prob(optarg, &b); break;
        case 'c': ok = parse_prob(optarg, &c); break;
        case 'o': out_path = optarg; break;
        case 'v': verbose = true; break;
        case 'W': weighted = true; break;
        case 'G': ok = parse_grid(optarg, &grid_w, &grid_h); grid = ok; break;
        case 'h': usage(stdout); return 0;
        default:  usage(stderr); return 2;
        }
        if (!ok) {
            fprintf(stderr, "rmat: bad value '%s' for %s\n", optarg, option_name(opt));
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "rmat: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    // Allow a little float slack so "-a 0.6 -b 0.2 -c 0.2" (d = 0) is accepted.
    if (a + b + c > 1.0 + 1e-9) {
        fprintf(stderr, "rmat: a + b + c = %g exceeds 1\n", a + b + c);
        return 2;
    }
    if (edge_factor != 0 && (UINT64_MAX >> scale) / edge_factor == 0) {
        fprintf(stderr, "rmat: edge factor %" PRIu64 " * 2^%" PRIu64 " overflows\n",
                edge_factor, scale);
        return 2;
    }
    uint64_t n_edges = edge_factor << scale;

    // Cumulative thresholds: r < ta is quadrant a (0,0), < tab is b (0,1),
    // < tabc is c (1,0), else d (1,1).
    uint64_t ta = threshold(a), tab = threshold(a + b), tabc = threshold(a + b + c);

    uint64_t seed_state = seed;
    rng_t rng, wrng;
    for (int i = 0; i < 4; i++)
        rng.s[i] = splitmix64(&seed_state);
    perm_t perm;
    perm_init(&perm, (int)scale, &seed_state);
    for (int i = 0; i < 4; i++)
        wrng.s[i] = splitmix64(&seed_state);

    out_t o = { .fd = STDOUT_FILENO, .name = "stdout" };
    if (out_path && strcmp(out_path, "-") != 0) {
        o.fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o.fd < 0) {
            fprintf(stderr, "rmat: %s: %s\n", out_path, strerror(errno));
            return 1;
        }
        o.name = out_path;
    }
    o.buf = malloc(OUT_BUF);
    if (!o.buf) {
        fprintf(stderr, "rmat: out of memory\n");
        return 1;
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (grid) {
        int64_t m = write_grid(&o, grid_w, grid_h, &rng, &wrng, weighted);
        if (m < 0)
            return 1;
        n_edges = (uint64_t)m;
    }
    const int levels = (int)scale;
    for (uint64_t i = 0; !grid && i < n_edges; i++) {
        uint64_t src = 0, dst = 0;
        // Two levels per 64-bit draw, high bits first; dst's bit is the XOR
        // of the three compares, which is 1 exactly for quadrants b and d.
        for (int l = 0; l < levels; l += 2) {
            uint64_t r = rng_next(&rng);
            uint64_t lo = r & 0xffffffffu, hi = r >> 32;
            src = (src << 1) | (lo >= tab);
            dst = (dst << 1) | ((lo >= ta) ^ (lo >= tab) ^ (lo >= tabc));
            if (l + 1 < levels) {
                src = (src << 1) | (hi >= tab);
                dst = (dst << 1) | ((hi >= ta) ^ (hi >= tab) ^ (hi >= tabc));
            }
        }
        uint64_t k = weighted ? draw_weight(&wrng) : 0;
        if (put_edge(&o, perm_apply(&perm, src), perm_apply(&perm, dst),
                     weighted, k) != 0)
            return 1;
    }
    if (out_flush(&o) != 0)
        return 1;
    if (o.fd != STDOUT_FILENO && close(o.fd) != 0) {
        fprintf(stderr, "rmat: close %s: %s\n", o.name, strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(o.buf);

    if (verbose) {
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
        if (grid)
            fprintf(stderr, "rmat: grid %" PRIu64 "x%" PRIu64, grid_w, grid_h);
        else
            fprintf(stderr, "rmat: scale %" PRIu64, scale);
        fprintf(stderr, ", %" PRIu64 " edges, %" PRIu64
                " bytes in %.3f s (%.1f M edges/s, %.0f MB/s)\n",
                n_edges, o.total, s, (double)n_edges / s / 1e6,
                (double)o.total / s / 1e6);
    }
    return 0;
}
