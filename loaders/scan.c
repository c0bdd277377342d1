// loaders/scan.c: the edge-list scanner, text -> (src, dst) records and,
// when asked, their weights. It is the inner loop of every load (hundreds of
// MB per worker), so the common line shape "DIGITS BLANKS DIGITS [BLANKS
// WEIGHT] [CR] LF" is parsed by hand with no call per line; every other line
// (comments with CR, odd blanks, long ids, weights that need strtod, and
// every bad line) goes through one careful tokenizing parser. The fast path
// may only accept what the careful parser would accept with the same result;
// when in doubt it hands the line over. Most loads want no weights, so the
// scan is compiled twice (scan_lines, always inlined) and the loop without
// weights holds no trace of them.
#define _GNU_SOURCE                         // memrchr
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "loaders/loader.h"

// Field separators. CR counts as a blank so that CRLF files parse like LF
// files and stray CRs at either end of a line change nothing; between two
// fields it is an error (parse_line), as there it most likely ends a line.
static inline bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

// The digit value of c, or something > 9 for any other byte.
static inline unsigned
digit(char c)
{
    return (unsigned) (unsigned char) c - '0';
}

// Here because the scanner quotes most; input.c uses it for file names.
// Only error paths call it, so it is written for clarity, not speed.
const char *
gx_quote(char *out, size_t cap, const char *s, size_t n, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i = 0;
    for (; i < n && i < max; i++) {
        unsigned char c = (unsigned char) s[i];
        size_t k = c == '\\' ? 2 : c < 0x20 || c > 0x7e ? 4 : 1;   // bytes out
        if (o + k + 4 > cap)                // keep room for "..." and the NUL
            break;
        if (k == 1) {
            out[o++] = (char) c;
        } else if (k == 2) {
            out[o++] = '\\';
            out[o++] = '\\';
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

// Parses one vertex id token [s, s+n): decimal digits only, 0 .. 2^63-1.
// Leading zeros are fine ("007" is 7), a sign is not.
static int
parse_id(const char *s, size_t n, uint64_t *v, gx_error_t *err)
{
    char q[GX_QUOTE_CAP];
    size_t i = (n > 0 && s[0] == '-') ? 1 : 0;
    bool digits = i < n;
    for (size_t k = i; k < n; k++)
        if (digit(s[k]) > 9)
            digits = false;
    if (!digits)
        return gx_error_set(err, "vertex id '%s' is not a non-negative integer",
                            gx_quote(q, sizeof q, s, n, GX_QUOTE_MAX));
    if (i == 1)
        return gx_error_set(err, "vertex id '%s' is negative",
                            gx_quote(q, sizeof q, s, n, GX_QUOTE_MAX));
    uint64_t x = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned d = digit(s[k]);
        if (x > ((uint64_t) GX_MAX_VERTEX_ID - d) / 10)
            return gx_error_set(err, "vertex id '%s' is larger than 2^63-1",
                                gx_quote(q, sizeof q, s, n, GX_QUOTE_MAX));
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

// Recognises the plain decimal forms strtod accepts in full:
// [+-] digits [. digits] [(e|E) [+-] digits], at least one mantissa digit.
// Returns the end of the number, or NULL when the text is not of that form
// (it may still be a number strtod takes: "inf", "0x1p3", ...). Reads only
// while characters match, so it stops at any non-number byte.
static inline const char *
simple_float(const char *p, const char *end)
{
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    const char *m = p;
    while (p < end && digit(*p) <= 9)
        p++;
    size_t mant = (size_t) (p - m);
    if (p < end && *p == '.') {
        const char *f = ++p;
        while (p < end && digit(*p) <= 9)
            p++;
        mant += (size_t) (p - f);
    }
    if (mant == 0)
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        const char *x = p;
        while (p < end && digit(*p) <= 9)
            p++;
        if (p == x)
            return NULL;
    }
    return p;
}

// 10^0 .. 10^22, every one an exact double (5^22 < 2^53).
static const double exact_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

// The value of a token simple_float accepted, [s, e), when one IEEE
// multiply or divide gives it (Clinger's fast path): a mantissa up to 2^53
// and 10^k up to 10^22 are exact, so the one rounding is the correctly
// rounded result, bit for bit what glibc's strtod returns. False for
// anything else (long mantissas, 1e-300), which then goes to strtod. Only
// where doubles are evaluated as doubles (not x87's long double).
static inline bool
exact_decimal(const char *s, const char *e, double *v)
{
    if (FLT_EVAL_METHOD != 0)
        return false;
    bool neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    uint64_t m = 0;
    int sig = 0, exp10 = 0;                 // significant digits; m * 10^exp10
    bool frac = false;
    for (; s < e && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            frac = true;
            continue;
        }
        if (frac)
            exp10--;
        unsigned d = digit(*s);
        if (m == 0 && d == 0)               // a leading zero adds no digit
            continue;
        if (++sig > 19)                     // m stays below 10^19 < 2^64
            return false;
        m = m * 10 + d;
    }
    if (s < e) {                            // the exponent: (e|E) [+-] digits
        s++;
        bool eneg = *s == '-';
        if (*s == '-' || *s == '+')
            s++;
        int x = 0;
        for (; s < e; s++) {
            if (x > 1000)                   // far outside 10^+-22 either way
                return false;
            x = x * 10 + (int) digit(*s);
        }
        exp10 += eneg ? -x : x;
    }
    double r;
    if (m == 0)
        r = 0.0;                            // any exponent: 0, and -0 below
    else if (m > (UINT64_C(1) << 53) || exp10 < -22 || exp10 > 22)
        return false;
    else if (exp10 >= 0)
        r = (double) m * exact_pow10[exp10];
    else
        r = (double) m / exact_pow10[-exp10];
    *v = neg ? -r : r;
    return true;
}

// A weight is whatever strtod consumes in full. With w NULL the value is
// not kept and only validity matters: "inf" and "1e999" (ERANGE) pass, as
// they always have. With w, the value is stored and must be finite, since
// a vertex program would carry an infinity or NaN into every sum. The
// simple forms are read without strtod (which also needs a NUL-terminated
// copy of the token).
static int
parse_weight(const char *s, size_t n, double *w, gx_error_t *err)
{
    char q[GX_QUOTE_CAP];
    bool simple = simple_float(s, s + n) == s + n;
    if (simple && (!w || exact_decimal(s, s + n, w)))
        return 0;
    char small[128];
    char *copy = n < sizeof small ? small : malloc(n + 1);
    if (!copy)
        return gx_error_set(err, "weight: out of memory");
    memcpy(copy, s, n);
    copy[n] = '\0';
    char *stop = NULL;
    errno = 0;
    double v = strtod(copy, &stop);
    bool ok = n > 0 && stop == copy + n;   // ERANGE (1e999) is still a number
    if (copy != small)
        free(copy);
    if (!ok)
        return gx_error_set(err, "weight '%s' is not a number",
                            gx_quote(q, sizeof q, s, n, GX_QUOTE_MAX));
    if (w && !isfinite(v))
        return gx_error_set(err, "weight '%s' is not a finite number",
                            gx_quote(q, sizeof q, s, n, GX_QUOTE_MAX));
    if (w)
        *w = v;
    return 0;
}

// The careful parser: one line [line, eol) with no LF inside. Returns 1 and
// fills *out (and *weight, unless NULL) for a record, 0 for a comment or
// blank line, -1 on a bad line. With weight, the weight is required.
// Field count is checked before the fields, so "1 2 3 4" says "4 fields"
// rather than complaining about the third one. A CR between fields comes
// first: in a file whose lines end in CR alone, "1\r2\r" would otherwise be
// the edge (1, 2) made of two lines, and "1 2\r3\r" one with a weight.
static int
parse_line(gx_line_kind_t kind, const char *line, const char *eol,
           gx_edge_t *out, double *weight, gx_error_t *err)
{
    const char *tok[3];
    size_t len[3];
    size_t nf = 0;                          // a line of 2^31 fields fits in memory
    const char *p = line;
    for (;;) {
        bool cr = false;
        while (p < eol && is_blank(*p))
            cr |= *p++ == '\r';
        if (p == eol)
            break;
        if (cr && nf > 0)
            return gx_error_set(err, "carriage return between fields "
                                "(are lines ended by CR alone?)");
        if (nf == 0 && (*p == '#' || *p == '%'))
            return 0;
        const char *s = p;
        while (p < eol && !is_blank(*p))
            p++;
        if (nf < 3) {
            tok[nf] = s;
            len[nf] = (size_t) (p - s);
        }
        nf++;
    }
    if (nf == 0)
        return 0;
    if (kind == GX_LINES_VERTICES) {
        if (nf != 1)
            return gx_error_set(err, "expected one vertex id, got %zu fields", nf);
        if (parse_id(tok[0], len[0], &out->src, err) < 0)
            return -1;
        out->dst = out->src;
        return 1;
    }
    if (weight && nf != 3)
        return gx_error_set(err, "expected 'src dst weight', got %zu field%s",
                            nf, nf == 1 ? "" : "s");
    if (nf != 2 && nf != 3)
        return gx_error_set(err, "expected 'src dst [weight]', got %zu field%s",
                            nf, nf == 1 ? "" : "s");
    if (parse_id(tok[0], len[0], &out->src, err) < 0
        || parse_id(tok[1], len[1], &out->dst, err) < 0)
        return -1;
    if (nf == 3 && parse_weight(tok[2], len[2], weight, err) < 0)
        return -1;
    return 1;
}

// Ids of up to 18 digits cannot exceed 2^63-1 (10^18 - 1 < 2^63 - 1), so the
// fast path accumulates without overflow checks and hands longer ones over.
#define FAST_DIGITS 18

// gx_scan's body, for weights NULL (a constant there: every weight test
// folds away) and for weights kept. Inlined into both call sites by force,
// as GCC would not copy a function this size on its own.
//
// Longer than the 80 lines other functions keep to, on purpose (issue 19
// excepts it): it is the per-byte loop of every load. Its fast path keeps
// p, n, nlines and the ids in registers across lines and leaves for the
// careful parser by goto from inside the digit loops; cut into helpers,
// each would have to hand back where it stopped and why, through memory
// unless GCC inlines them all back. That cost is expected, not measured:
// no split of this loop has been written and timed. Whoever splits it
// should compare bench/run's "load MB/s" before and after.
static inline __attribute__((always_inline)) ssize_t
scan_lines(gx_line_kind_t kind, const char *buf, size_t len, gx_edge_t *out,
           double *weights, size_t cap, size_t *used, uint64_t *lines,
           gx_error_t *err)
{
    const char *p = buf;
    const char *end = buf + len;
    // Every line before `safe` ends in LF, and LF is neither a digit nor a
    // blank nor a sign, so the fast loops below stop at it without bounds
    // checks. A last line without LF goes to the careful parser.
    const char *nl = len ? memrchr(buf, '\n', len) : NULL;
    const char *safe = nl ? nl + 1 : buf;
    size_t n = 0;
    uint64_t nlines = 0;

    while (p < safe && n < cap) {
        const char *line = p;
        while (*p == ' ' || *p == '\t')
            p++;
        unsigned d = digit(*p);
        if (d <= 9) {
            const char *q = p + 1;
            uint64_t src = d;
            while ((d = digit(*q)) <= 9) {
                src = src * 10 + d;           // may wrap: then q - p > 18
                q++;
            }
            if (q - p > FAST_DIGITS)
                goto careful;
            uint64_t dst = src;
            double weight = 0.0;                // stored once the line is whole
            if (kind == GX_LINES_EDGES) {
                if (*q != ' ' && *q != '\t')
                    goto careful;
                do
                    q++;
                while (*q == ' ' || *q == '\t');
                const char *t = q;
                if ((d = digit(*q)) > 9)
                    goto careful;
                dst = d;
                q++;
                while ((d = digit(*q)) <= 9) {
                    dst = dst * 10 + d;
                    q++;
                }
                if (q - t > FAST_DIGITS)
                    goto careful;
                bool has_weight = false;
                if (*q == ' ' || *q == '\t') {
                    do
                        q++;
                    while (*q == ' ' || *q == '\t');
                    if (*q != '\n' && *q != '\r') {
                        // A weight; the token must end at a blank or LF.
                        const char *w = q;
                        q = simple_float(q, safe);
                        if (!q || (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n'))
                            goto careful;
                        if (weights && !exact_decimal(w, q, &weight))
                            goto careful;
                        has_weight = true;
                        while (*q == ' ' || *q == '\t')
                            q++;
                    }
                }
                if (weights && !has_weight)
                    goto careful;           // which names the missing weight
            } else {
                while (*q == ' ' || *q == '\t')
                    q++;
            }
            if (*q == '\r')
                q++;
            if (*q != '\n')
                goto careful;
            out[n].src = src;
            out[n].dst = dst;
            if (weights)
                weights[n] = weight;
            n++;
            nlines++;
            p = q + 1;
            continue;
        }
        if (*p == '\n') {
            nlines++;
            p++;
            continue;
        }
        if (*p == '#' || *p == '%') {
            p = (const char *) memchr(p, '\n', (size_t) (safe - p)) + 1;
            nlines++;
            continue;
        }
    careful:;
        const char *eol = memchr(line, '\n', (size_t) (safe - line));
        int r = parse_line(kind, line, eol, &out[n], weights ? &weights[n] : NULL, err);
        if (r < 0) {
            *used = (size_t) (line - buf);
            *lines = nlines;
            return n > 0 ? (ssize_t) n : -1;    // the records first; see loader.h
        }
        n += (size_t) r;
        nlines++;
        p = eol + 1;
    }
    if (p == safe && p < end && n < cap) {
        int r = parse_line(kind, p, end, &out[n], weights ? &weights[n] : NULL, err);
        if (r < 0) {
            *used = (size_t) (p - buf);
            *lines = nlines;
            return n > 0 ? (ssize_t) n : -1;
        }
        n += (size_t) r;
        p = end;
    }
    *used = (size_t) (p - buf);
    *lines = nlines;
    return (ssize_t) n;
}

// The two copies, each a function of its own so that the compiler lays out
// and allocates registers for the unweighted loop as if weights did not
// exist (inlined together into gx_scan, it cost an instruction per line).
static __attribute__((noinline)) ssize_t
scan_unweighted(gx_line_kind_t kind, const char *buf, size_t len, gx_edge_t *out,
                size_t cap, size_t *used, uint64_t *lines, gx_error_t *err)
{
    return scan_lines(kind, buf, len, out, NULL, cap, used, lines, err);
}

static __attribute__((noinline)) ssize_t
scan_weighted(const char *buf, size_t len, gx_edge_t *out, double *weights,
              size_t cap, size_t *used, uint64_t *lines, gx_error_t *err)
{
    return scan_lines(GX_LINES_EDGES, buf, len, out, weights, cap, used, lines, err);
}

ssize_t
gx_scan(gx_line_kind_t kind, const char *buf, size_t len,
        gx_edge_t *out, double *weights, size_t cap, size_t *used,
        uint64_t *lines, gx_error_t *err)
{
    if (!weights)
        return scan_unweighted(kind, buf, len, out, cap, used, lines, err);
    if (kind != GX_LINES_EDGES) {           // a caller's mistake, not the input's
        *used = 0;
        *lines = 0;
        return gx_error_set(err, "weights are kept only for edge lines");
    }
    return scan_weighted(buf, len, out, weights, cap, used, lines, err);
}
