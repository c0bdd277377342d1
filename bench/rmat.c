// bench/rmat.c: RMAT graph generator for the benchmarks. Writes an edge list,
// "SRC DST\n" per edge, that graphx-run and bench/baseline both read.
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
#define MAX_LINE    42           // two 20-digit numbers, a space and a newline

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

// --- Options. --------------------------------------------------------------

static void
usage(FILE *f)
{
    fprintf(f,
        "usage: rmat [--scale S] [--edge-factor F] [--seed N] [-a A] [-b B] [-c C]\n"
        "            [-o FILE] [-v]\n"
        "Writes an RMAT edge list, \"SRC DST\" per line, with F * 2^S edges over\n"
        "vertex ids 0 .. 2^S-1 (permuted). Defaults: S=20 F=16 seed=1,\n"
        "a=0.57 b=0.19 c=0.19 (d = 1-a-b-c), output to stdout.\n");
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
    bool verbose = false;

    static const struct option longopts[] = {
        {"scale",       required_argument, NULL, 's'},
        {"edge-factor", required_argument, NULL, 'e'},
        {"seed",        required_argument, NULL, 'S'},
        {"output",      required_argument, NULL, 'o'},
        {"verbose",     no_argument,       NULL, 'v'},
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
    rng_t rng;
    for (int i = 0; i < 4; i++)
        rng.s[i] = splitmix64(&seed_state);
    perm_t perm;
    perm_init(&perm, (int)scale, &seed_state);

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
    const int levels = (int)scale;
    for (uint64_t i = 0; i < n_edges; i++) {
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
        if (o.len > OUT_BUF - MAX_LINE && out_flush(&o) != 0)
            return 1;
        char *p = o.buf + o.len;
        p = put_u64(p, perm_apply(&perm, src));
        *p++ = ' ';
        p = put_u64(p, perm_apply(&perm, dst));
        *p++ = '\n';
        o.len = (size_t)(p - o.buf);
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
        fprintf(stderr, "rmat: scale %" PRIu64 ", %" PRIu64 " edges, %" PRIu64
                " bytes in %.3f s (%.1f M edges/s, %.0f MB/s)\n",
                scale, n_edges, o.total, s, (double)n_edges / s / 1e6,
                (double)o.total / s / 1e6);
    }
    return 0;
}
