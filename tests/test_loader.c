// tests/test_loader.c: the loader suite. Every format the loader accepts,
// every error it must name (with the right file and line), and the promise
// of parallel loading: n byte-range splits together read exactly the lines
// of a single read, in order. Expectations come from edges the tests
// generate themselves, never from the loader.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "loaders/loader.h"
#include "testutil.h"

// --- Helpers ---------------------------------------------------------------

static void
setup(void)
{
    gx_test_tmpdir_make("loader");
}

TestSuite(loader, .init = setup, .fini = gx_test_tmpdir_remove);

static uint64_t
file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return (uint64_t) st.st_size;
}

typedef struct edges {
    gx_edge_t *e;
    size_t     n, cap;
} edges_t;

static void
edges_push(edges_t *v, uint64_t src, uint64_t dst)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 256;
        v->e = realloc(v->e, v->cap * sizeof *v->e);
        cr_assert_not_null(v->e);
    }
    v->e[v->n++] = (gx_edge_t) {src, dst};
}

// Reads split `split` of `nsplits` of an open input, appending to out.
// `cap` is the caller's batch size: small ones make the reader stop and
// resume in the middle of its buffer.
static int
read_split(const gx_input_t *in, gx_line_kind_t kind, unsigned split,
           unsigned nsplits, size_t cap, edges_t *out, gx_error_t *err)
{
    gx_reader_t *r = gx_reader_new(in, kind, split, nsplits, err);
    if (!r)
        return -1;
    gx_edge_t *batch = malloc(cap * sizeof *batch);
    cr_assert_not_null(batch);
    ssize_t got;
    while ((got = gx_reader_next(r, batch, NULL, cap, err)) > 0)
        for (ssize_t i = 0; i < got; i++)
            edges_push(out, batch[i].src, batch[i].dst);
    // At the end, and again after it: 0, not an error.
    if (got == 0)
        cr_assert_eq(gx_reader_next(r, batch, NULL, cap, err), 0);
    free(batch);
    gx_reader_destroy(&r);
    cr_assert_null(r);
    return got < 0 ? -1 : 0;
}

// Reads a whole path as nsplits splits, concatenated in split order.
static int
read_path(const char *path, gx_line_kind_t kind, unsigned nsplits, size_t cap,
          edges_t *out, gx_error_t *err)
{
    gx_input_t *in = gx_input_open(path, NULL, err);
    if (!in)
        return -1;
    int rc = 0;
    for (unsigned s = 0; s < nsplits && rc == 0; s++)
        rc = read_split(in, kind, s, nsplits, cap, out, err);
    gx_input_destroy(&in);
    cr_assert_null(in);
    return rc;
}

static void
assert_edges(const edges_t *got, const gx_edge_t *want, size_t n, const char *what)
{
    cr_assert_eq(got->n, n, "%s: %zu edges, want %zu", what, got->n, n);
    for (size_t i = 0; i < n; i++)
        if (got->e[i].src != want[i].src || got->e[i].dst != want[i].dst)
            cr_assert_fail("%s: edge %zu is (%" PRIu64 ", %" PRIu64 "), want (%"
                           PRIu64 ", %" PRIu64 ")", what, i, got->e[i].src,
                           got->e[i].dst, want[i].src, want[i].dst);
}

// The four edges every small format fixture holds.
static const gx_edge_t four[] = {{1, 2}, {2, 3}, {3, 1}, {10, 20}};

static void
assert_reads_four(const char *path)
{
    for (unsigned n = 1; n <= 3; n++) {
        edges_t got = {0};
        gx_error_t err = {0};
        cr_assert_eq(read_path(path, GX_LINES_EDGES, n, 2, &got, &err), 0,
                     "%s: %s", path, err.msg);
        assert_edges(&got, four, 4, path);
        free(got.e);
    }
}

// Writes len bytes of text to a temporary file, reads it and expects
// exactly `want` ("FILE:" is prefixed here, so callers give "LINE: problem").
static void
assert_error_n(const char *text, size_t len, gx_line_kind_t kind, const char *want)
{
    const char *path = gx_test_tmp_path("bad.txt");
    gx_test_write_bytes(path, text, len);
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(path, kind, 1, 16, &got, &err), -1,
                 "no error for %s", want);
    char full[600];
    snprintf(full, sizeof full, "%s:%s", path, want);
    cr_assert_str_eq(err.msg, full);
    free(got.e);
}

static void
assert_error(const char *text, gx_line_kind_t kind, const char *want)
{
    assert_error_n(text, strlen(text), kind, want);
}

// A deterministic generator, so a failing case can be replayed.
static uint64_t rng_state = 88172645463325252u;

static uint64_t
rng(void)
{
    return gx_test_xorshift64(&rng_state);
}

static uint64_t
random_id(void)
{
    // Lengths from 1 to 19 digits, so lines vary from 4 to 60-odd bytes.
    static const uint64_t bound[] = {10u, 1000u, 1000000u, 10000000000u,
                                     1000000000000000u, 9223372036854775807u};
    return rng() % bound[rng() % 6];
}

static const char *
random_blanks(void)
{
    static const char *b[] = {" ", "\t", "  ", " \t ", "\t\t"};
    return b[rng() % 5];
}

// Appends `lines` random lines (edges in most shapes, comments, blank
// lines, CRLF, weights) to t and their edges to want; returns the lines.
static size_t
random_edge_list(gx_test_text_t *t, edges_t *want, size_t lines)
{
    for (size_t i = 0; i < lines; i++) {
        unsigned shape = (unsigned) (rng() % 20);
        if (shape == 0) {
            gx_test_text_add(t, "# comment %" PRIu64 "\n", rng());
        } else if (shape == 1) {
            gx_test_text_add(t, "%%%s\n", rng() % 2 ? "" : " percent comment");
        } else if (shape == 2) {
            gx_test_text_add(t, "%s\n", rng() % 2 ? "" : " \t");
        } else {
            uint64_t s = random_id(), d = random_id();
            gx_test_text_add(t, "%s%" PRIu64 "%s%" PRIu64, shape == 3 ? " " : "", s,
                     random_blanks(), d);
            if (shape == 4)
                gx_test_text_add(t, "%s%.3f", random_blanks(),
                                 (double) (rng() % 100000) / 7);
            if (shape == 5)
                gx_test_text_add(t, " 1e-%u", (unsigned) (rng() % 300));
            gx_test_text_add(t, "%s%s", shape == 6 ? " " : "",
                             shape == 7 ? "\r\n" : "\n");
            edges_push(want, s, d);
        }
    }
    return lines;
}

// --- Formats ---------------------------------------------------------------

Test(loader, reads_space_separated_edges)
{
    assert_reads_four(gx_test_fixture("loader-spaces.txt"));
}

Test(loader, reads_tab_separated_edges)
{
    assert_reads_four(gx_test_fixture("loader-tabs.tsv"));
}

Test(loader, skips_hash_and_percent_comments_blank_lines_and_extra_blanks)
{
    assert_reads_four(gx_test_fixture("loader-mixed.txt"));
}

Test(loader, reads_crlf_line_endings)
{
    assert_reads_four(gx_test_fixture("loader-crlf.txt"));
}

Test(loader, reads_a_last_line_without_newline)
{
    assert_reads_four(gx_test_fixture("loader-no-final-newline.txt"));
}

Test(loader, accepts_weights_and_drops_them)
{
    assert_reads_four(gx_test_fixture("loader-weights.txt"));
    // Forms only strtod knows still count as numbers.
    const char *path = gx_test_write_tmp("w.txt",
                                         "1 2 inf\n2 3 0x1p3\n3 1 .5\n10 20 5.\n");
    assert_reads_four(path);
}

Test(loader, reads_ids_up_to_2_63_minus_1)
{
    const gx_edge_t want[] = {
        {0, 9223372036854775807u},
        {9223372036854775807u, 0},
        {42, 9223372036854775806u},
    };
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(gx_test_fixture("loader-huge-ids.txt"), GX_LINES_EDGES, 1, 8,
                           &got, &err), 0, "%s", err.msg);
    assert_edges(&got, want, 3, "huge ids");
    free(got.e);
}

Test(loader, reads_a_vertex_file_as_one_id_per_line)
{
    const gx_edge_t want[] = {{1, 1}, {2, 2}, {3, 3}, {10, 10}, {20, 20}};
    for (unsigned n = 1; n <= 3; n++) {
        edges_t got = {0};
        gx_error_t err = {0};
        cr_assert_eq(read_path(gx_test_fixture("loader-vertices.v"), GX_LINES_VERTICES,
                               n, 3, &got, &err), 0, "%s", err.msg);
        assert_edges(&got, want, 5, "vertices");
        free(got.e);
    }
}

Test(loader, reads_a_directory_of_part_files_in_name_order_skipping_dot_and_underscore_files)
{
    // part-10 sorts before part-2 (strcmp); _SUCCESS and .part-2.crc hold
    // lines that would fail if they were read.
    const gx_edge_t want[] = {{1, 2}, {2, 3}, {3, 1}, {10, 20}};
    const char *dir = gx_test_fixture("loader-parts");
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(dir, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    cr_assert(gx_input_splittable(in));
    cr_assert_eq(gx_input_bytes(in), 7 + 10);
    cr_assert_str_eq(gx_input_path(in), dir);
    gx_input_destroy(&in);
    for (unsigned n = 1; n <= 5; n++) {
        edges_t got = {0};
        cr_assert_eq(read_path(dir, GX_LINES_EDGES, n, 3, &got, &err), 0, "%s", err.msg);
        assert_edges(&got, want, 4, "parts");
        free(got.e);
    }
}

Test(loader, reads_a_gz_file_through_zlib_as_one_split)
{
    const char text[] = "# gz\n1 2\n2\t3 0.5\n3 1\r\n10 20";
    const char *path = gx_test_tmp_path("edges.txt.gz");
    gx_test_write_gz(path, text, sizeof text - 1);
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    cr_assert_not(gx_input_splittable(in));
    cr_assert_eq(gx_input_bytes(in), file_size(path));
    cr_assert_null(gx_reader_new(in, GX_LINES_EDGES, 0, 2, &err));
    cr_assert(strstr(err.msg, "one reader"), "got: %s", err.msg);
    edges_t got = {0};
    cr_assert_eq(read_split(in, GX_LINES_EDGES, 0, 1, 3, &got, &err), 0, "%s", err.msg);
    assert_edges(&got, four, 4, "gz");
    gx_input_destroy(&in);
    free(got.e);
}

Test(loader, reads_gz_and_plain_part_files_of_one_directory)
{
    cr_assert_eq(mkdir(gx_test_tmp_path("parts"), 0755), 0);
    gx_test_write_bytes(gx_test_tmp_path("parts/a"), "1 2\n", 4);
    gx_test_write_gz(gx_test_tmp_path("parts/b.gz"), "2 3\n3 1", 7);
    gx_test_write_bytes(gx_test_tmp_path("parts/c"), "10 20\n", 6);
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(gx_test_tmp_path("parts"), NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    cr_assert_not(gx_input_splittable(in));
    cr_assert_eq(gx_input_bytes(in), 4 + file_size(gx_test_tmp_path("parts/b.gz")) + 6);
    edges_t got = {0};
    cr_assert_eq(read_split(in, GX_LINES_EDGES, 0, 1, 2, &got, &err), 0, "%s", err.msg);
    assert_edges(&got, four, 4, "mixed dir");
    gx_input_destroy(&in);
    free(got.e);
}

Test(loader, names_a_part_file_with_its_unprintable_bytes_escaped)
{
    // Part names come from whoever made the files; the directory is the
    // user's own argument and stays as typed.
    const char *dir = gx_test_tmp_path("parts");
    cr_assert_eq(mkdir(dir, 0755), 0);
    gx_test_write_tmp("parts/part-0", "1 2\n");
    gx_test_write_tmp("parts/part-1\x1b[2J\xc3\xa9\\", "2 3\nx 1\n");
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(dir, GX_LINES_EDGES, 1, 4, &got, &err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s/part-1\\x1b[2J\\xc3\\xa9\\\\:2: vertex id 'x' "
             "is not a non-negative integer", dir);
    cr_assert_str_eq(err.msg, want);
    free(got.e);
}

Test(loader, rejects_a_subdirectory_or_fifo_among_part_files)
{
    // A Hive-style partition directory was skipped, and its edges with it.
    const char *dir = gx_test_tmp_path("parts");
    cr_assert_eq(mkdir(dir, 0755), 0);
    gx_test_write_tmp("parts/part-0", "1 2\n");
    cr_assert_eq(mkdir(gx_test_tmp_path("parts/_temporary"), 0755), 0);   // skipped
    cr_assert_eq(mkdir(gx_test_tmp_path("parts/.cache"), 0755), 0);       // skipped
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(dir, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    gx_input_destroy(&in);
    cr_assert_eq(mkdir(gx_test_tmp_path("parts/dt=2024-01-01"), 0755), 0);
    gx_test_write_tmp("parts/dt=2024-01-01/part-0", "2 3\n");
    char want[600];
    snprintf(want, sizeof want, "%s/dt=2024-01-01: a subdirectory, so it would not be "
             "read (names starting with '_' or '.' are skipped)", dir);
    cr_assert_null(gx_input_open(dir, NULL, &err));
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(rename(gx_test_tmp_path("parts/dt=2024-01-01"),
                        gx_test_tmp_path("parts/_dt=2024-01-01")), 0);
    cr_assert_eq(mkfifo(gx_test_tmp_path("parts/pipe"), 0600), 0);
    snprintf(want, sizeof want, "%s/pipe: not a regular file, so it would not be "
             "read (names starting with '_' or '.' are skipped)", dir);
    cr_assert_null(gx_input_open(dir, NULL, &err));
    cr_assert_str_eq(err.msg, want);
}

// Replaces fd 0 with fd; Criterion runs each test in its own process.
static void
become_stdin(int fd)
{
    cr_assert_geq(dup2(fd, STDIN_FILENO), 0);
    close(fd);
}

Test(loader, reads_stdin_through_a_pipe)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    const char text[] = "1 2\n# c\n2 3\n3 1\n10 20\n";
    cr_assert_eq(write(p[1], text, sizeof text - 1), (ssize_t) sizeof text - 1);
    close(p[1]);
    become_stdin(p[0]);
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open("-", NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    cr_assert_not(gx_input_splittable(in));
    cr_assert_eq(gx_input_bytes(in), 0);
    cr_assert_null(gx_reader_new(in, GX_LINES_EDGES, 0, 2, &err));
    edges_t got = {0};
    cr_assert_eq(read_split(in, GX_LINES_EDGES, 0, 1, 3, &got, &err), 0, "%s", err.msg);
    assert_edges(&got, four, 4, "stdin");
    // Standard input is gone once read: a second reader is refused.
    cr_assert_null(gx_reader_new(in, GX_LINES_EDGES, 0, 1, &err));
    cr_assert(strstr(err.msg, "only once"), "got: %s", err.msg);
    gx_input_destroy(&in);
    free(got.e);
}

Test(loader, reads_gzip_data_on_stdin)
{
    const char text[] = "1 2\n2 3\n3 1\n10 20\n";
    const char *path = gx_test_tmp_path("stdin.gz");
    gx_test_write_gz(path, text, sizeof text - 1);
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    become_stdin(fd);
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path("-", GX_LINES_EDGES, 1, 16, &got, &err), 0, "%s", err.msg);
    assert_edges(&got, four, 4, "gzip stdin");
    free(got.e);
}

Test(loader, names_a_bad_line_on_stdin_by_its_line_number)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    const char text[] = "1 2\n\n3 x\n";
    cr_assert_eq(write(p[1], text, sizeof text - 1), (ssize_t) sizeof text - 1);
    close(p[1]);
    become_stdin(p[0]);
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path("-", GX_LINES_EDGES, 1, 16, &got, &err), -1);
    cr_assert_str_eq(err.msg, "stdin:3: vertex id 'x' is not a non-negative integer");
    free(got.e);
}

Test(loader, gives_no_records_and_no_error_for_an_empty_input)
{
    const char *texts[] = {"", "\n\n", "# only\n% comments\n", "  \t\r\n"};
    for (size_t i = 0; i < 4; i++) {
        const char *path = gx_test_write_tmp("empty.txt", texts[i]);
        for (unsigned n = 1; n <= 3; n++) {
            edges_t got = {0};
            gx_error_t err = {0};
            cr_assert_eq(read_path(path, GX_LINES_EDGES, n, 4, &got, &err), 0,
                         "%s", err.msg);
            cr_assert_eq(got.n, 0);
            free(got.e);
        }
    }
}

Test(loader, reads_a_line_longer_than_the_read_buffer)
{
    // 5 MB: longer than the reader's 4 MB buffer, and split mid-line.
    size_t big = 5u << 20;
    gx_test_text_t t = {0};
    gx_test_text_add(&t, "1 2\n#");
    for (size_t i = 0; i < big; i++)
        gx_test_text_add(&t, "c");
    gx_test_text_add(&t, "\n2 3 1.");
    for (size_t i = 0; i < big; i++)
        gx_test_text_add(&t, "5");
    gx_test_text_add(&t, "\n3 1\n10 20\n");
    const char *path = gx_test_tmp_path("long.txt");
    gx_test_write_bytes(path, t.s, t.n);
    assert_reads_four(path);

    // The same long line as a bad token is quoted short.
    t.n = 0;
    gx_test_text_add(&t, "1 2\n1 ");
    for (size_t i = 0; i < big; i++)
        gx_test_text_add(&t, "x");
    gx_test_text_add(&t, "\n");
    gx_test_write_bytes(path, t.s, t.n);
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(path, GX_LINES_EDGES, 2, 4, &got, &err), -1);
    char want[256];
    snprintf(want, sizeof want, "%s:2: vertex id '%s...' is not a non-negative "
             "integer", path, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    cr_assert_str_eq(err.msg, want);
    free(got.e);
    free(t.s);
}

// A line that does not fit in memory is an error naming it. The address
// space is capped at what the process has plus 40 MB, so the reader's
// buffer cannot double to hold a 64 MB line.
Test(loader, names_the_line_that_does_not_fit_in_memory)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    gx_test_tmpdir_remove();                    // a skipped test gets no .fini
    cr_skip_test("a sanitizer needs more address space than the cap leaves");
#endif
    size_t big = 64u << 20;
    char *text = malloc(big + 16);
    cr_assert_not_null(text);
    memcpy(text, "1 2\n2 3\n#", 9);
    memset(text + 9, 'c', big);
    memcpy(text + 9 + big, "\n", 1);
    const char *path = gx_test_tmp_path("huge-line.txt");
    gx_test_write_bytes(path, text, big + 10);
    free(text);
    for (unsigned n = 1; n <= 2; n++) {
        long pages = 0;
        FILE *statm = fopen("/proc/self/statm", "r");
        cr_assert_not_null(statm);
        cr_assert_eq(fscanf(statm, "%ld", &pages), 1);
        fclose(statm);
        struct rlimit old, cap;
        cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
        cap = old;
        cap.rlim_cur = (rlim_t) pages * (rlim_t) sysconf(_SC_PAGESIZE) + (40u << 20);
        cr_assert_eq(setrlimit(RLIMIT_AS, &cap), 0);
        edges_t got = {0};
        gx_error_t err = {0};
        int rc = read_path(path, GX_LINES_EDGES, n, 4, &got, &err);
        cr_assert_eq(setrlimit(RLIMIT_AS, &old), 0);
        cr_assert_eq(rc, -1, "%u splits", n);
        char want[300];
        snprintf(want, sizeof want, "%s:3: out of memory for a line of over ", path);
        cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "got: %s", err.msg);
        free(got.e);
    }
}

// --- Bad input -------------------------------------------------------------

Test(loader, names_file_and_line_of_a_one_token_line)
{
    assert_error("1 2\n# c\n7\n4 5\n", GX_LINES_EDGES,
                 "3: expected 'src dst [weight]', got 1 field");
}

Test(loader, rejects_a_line_with_four_fields)
{
    assert_error("1 2\n3 4 5 6\n", GX_LINES_EDGES,
                 "2: expected 'src dst [weight]', got 4 fields");
}

Test(loader, rejects_a_non_numeric_vertex_id)
{
    assert_error("1 2\r\n\r\nabc 4\r\n", GX_LINES_EDGES,
                 "3: vertex id 'abc' is not a non-negative integer");
    assert_error("1 +2\n", GX_LINES_EDGES,
                 "1: vertex id '+2' is not a non-negative integer");
    assert_error("1 2x\n", GX_LINES_EDGES,
                 "1: vertex id '2x' is not a non-negative integer");
}

Test(loader, rejects_a_negative_vertex_id)
{
    assert_error("1 2\n-3 4\n", GX_LINES_EDGES, "2: vertex id '-3' is negative");
}

Test(loader, rejects_a_vertex_id_of_2_63)
{
    assert_error("1 9223372036854775808\n", GX_LINES_EDGES,
                 "1: vertex id '9223372036854775808' is larger than 2^63-1");
    assert_error("1 2\n99999999999999999999999 1", GX_LINES_EDGES,
                 "2: vertex id '99999999999999999999999' is larger than 2^63-1");
}

Test(loader, rejects_a_bad_weight)
{
    assert_error("1 2 0.5\n2 3 1.5x\n", GX_LINES_EDGES,
                 "2: weight '1.5x' is not a number");
    assert_error("1 2 0.5\n2 3 1e\n", GX_LINES_EDGES, "2: weight '1e' is not a number");
    assert_error("1 2 -\n", GX_LINES_EDGES, "1: weight '-' is not a number");
}

Test(loader, rejects_a_carriage_return_between_fields)
{
    // Lines ended by CR alone (classic Mac) are one line to us; had CR been
    // a plain blank there, these would load as edges made of two lines.
    assert_error("1\r2\r", GX_LINES_EDGES,
                 "1: carriage return between fields (are lines ended by CR alone?)");
    assert_error("5 6\n1 2\r0.5\r\n", GX_LINES_EDGES,
                 "2: carriage return between fields (are lines ended by CR alone?)");
    assert_error("1 2\r3 4\r", GX_LINES_EDGES,
                 "1: carriage return between fields (are lines ended by CR alone?)");
    assert_error("1\r2\r3\r", GX_LINES_VERTICES,
                 "1: carriage return between fields (are lines ended by CR alone?)");
    assert_error("1 \r\t2\n", GX_LINES_EDGES,
                 "1: carriage return between fields (are lines ended by CR alone?)");
}

Test(loader, reads_carriage_returns_at_either_end_of_a_line)
{
    // CRLF, CR CR LF, CR before trailing blanks, and LF CR line ends.
    const char *path = gx_test_write_tmp("cr.txt",
                                         "1 2\r\n\r2 3 0.5\r\r\n3 1 \r \n\r10 20\n\r");
    assert_reads_four(path);
}

Test(loader, rejects_two_ids_on_a_vertex_line)
{
    assert_error("1\n2 3\n", GX_LINES_VERTICES, "2: expected one vertex id, got 2 fields");
    assert_error("1\n-2\n", GX_LINES_VERTICES, "2: vertex id '-2' is negative");
}

// Bad tokens are quoted whole and escaped: a NUL does not end the quote
// early, and no control byte reaches the terminal that shows the error.
Test(loader, quotes_a_bad_token_whole_with_nul_and_control_bytes_escaped)
{
    const char nul[] = "1 2\n1 3\0x\n";
    assert_error_n(nul, sizeof nul - 1, GX_LINES_EDGES,
                   "2: vertex id '3\\x00x' is not a non-negative integer");
    assert_error("1 \x1b[2J\x1b[31mred\n", GX_LINES_EDGES,
                 "1: vertex id '\\x1b[2J\\x1b[31mred' is not a non-negative integer");
    assert_error("-\x07\\ 1\n", GX_LINES_EDGES,
                 "1: vertex id '-\\x07\\\\' is not a non-negative integer");
    assert_error("-3\x7f 1\n", GX_LINES_VERTICES,
                 "1: expected one vertex id, got 2 fields");
    assert_error("-3\x7f\n", GX_LINES_VERTICES,
                 "1: vertex id '-3\\x7f' is not a non-negative integer");
    assert_error("1 2 0.5\xc3\xa9\n", GX_LINES_EDGES,
                 "1: weight '0.5\\xc3\\xa9' is not a number");
    const char nul_weight[] = "1 2 1\0\n";
    assert_error_n(nul_weight, sizeof nul_weight - 1, GX_LINES_EDGES,
                   "1: weight '1\\x00' is not a number");
}

Test(loader, quotes_at_most_40_bytes_of_a_bad_token)
{
    gx_test_text_t t = {0}, want = {0};
    gx_test_text_add(&t, "1 ");
    for (int i = 0; i < 41; i++)
        gx_test_text_add(&t, "\x01");
    gx_test_text_add(&t, "\n");
    gx_test_text_add(&want, "1: vertex id '");
    for (int i = 0; i < 40; i++)
        gx_test_text_add(&want, "\\x01");
    gx_test_text_add(&want, "...' is not a non-negative integer");
    assert_error(t.s, GX_LINES_EDGES, want.s);
    // Exactly 40 bytes: no "...".
    const char *w40 = "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww";
    cr_assert_eq(strlen(w40), 40);
    t.n = want.n = 0;
    gx_test_text_add(&t, "1 2 %s\n", w40);
    gx_test_text_add(&want, "1: weight '%s' is not a number", w40);
    assert_error(t.s, GX_LINES_EDGES, want.s);
    free(t.s);
    free(want.s);
}

Test(loader, quote_escapes_every_byte_outside_printable_ascii)
{
    char out[GX_QUOTE_CAP];
    for (unsigned c = 0; c < 256; c++) {
        char in = (char) c;
        gx_quote(out, sizeof out, &in, 1, GX_QUOTE_MAX);
        char want[8];
        if (c == '\\')
            snprintf(want, sizeof want, "\\\\");
        else if (c < 0x20 || c > 0x7e)
            snprintf(want, sizeof want, "\\x%02x", c);
        else
            snprintf(want, sizeof want, "%c", c);
        cr_assert_str_eq(out, want, "byte %u", c);
    }
    // An escape is never cut: with room for one escape, the next stops it.
    char small[4 + 4 + 1];
    cr_assert_str_eq(gx_quote(small, sizeof small, "\x01\x02", 2, 99), "\\x01...");
    cr_assert_str_eq(gx_quote(small, sizeof small, "ab", 2, 1), "a...");
    cr_assert_str_eq(gx_quote(small, sizeof small, "", 0, 99), "");
}

// Whatever the bytes of a bad line, the message is printable ASCII.
Test(loader, error_messages_of_random_bytes_are_printable_ascii)
{
    uint64_t state = 42;
    for (int round = 0; round < 20000; round++) {
        char line[64];
        size_t n = 1 + gx_test_splitmix64(&state) % 60;
        for (size_t i = 0; i < n; i++) {
            char c = (char) gx_test_splitmix64(&state);
            line[i] = c == '\n' ? 'x' : c;
        }
        line[n] = '\n';
        gx_edge_t e;
        size_t used;
        uint64_t lines;
        gx_error_t err = {0};
        if (gx_scan((gx_line_kind_t) (round & 1), line, n + 1, &e, NULL, 1, &used, &lines,
                    &err) >= 0)
            continue;
        for (const char *p = err.msg; *p; p++)
            cr_assert((unsigned char) *p >= 0x20 && (unsigned char) *p <= 0x7e,
                      "round %d: byte 0x%02x in the message", round, (unsigned char) *p);
    }
}

Test(loader, names_a_missing_file)
{
    gx_error_t err = {0};
    const char *path = gx_test_tmp_path("no-such-file.txt");
    cr_assert_null(gx_input_open(path, NULL, &err));
    char want[300];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    cr_assert_str_eq(err.msg, want);
}

Test(loader, names_an_unreadable_file)
{
    if (geteuid() == 0) {
        gx_test_tmpdir_remove();                    // a skipped test gets no .fini
        cr_skip_test("root reads any file");
    }
    const char *path = gx_test_write_tmp("secret.txt", "1 2\n");
    cr_assert_eq(chmod(path, 0), 0);
    gx_error_t err = {0};
    cr_assert_null(gx_input_open(path, NULL, &err));
    char want[300];
    snprintf(want, sizeof want, "%s: Permission denied", path);
    cr_assert_str_eq(err.msg, want);
}

Test(loader, rejects_a_directory_without_input_files)
{
    const char *dir = gx_test_tmp_path("empty-dir");
    cr_assert_eq(mkdir(dir, 0755), 0);
    gx_error_t err = {0};
    char want[300];
    snprintf(want, sizeof want, "%s: no input files", dir);
    cr_assert_null(gx_input_open(dir, NULL, &err));
    cr_assert_str_eq(err.msg, want);
    // Markers and hidden files do not count as input.
    gx_test_write_tmp("empty-dir/_SUCCESS", "");
    gx_test_write_tmp("empty-dir/.hidden", "1 2\n");
    cr_assert_null(gx_input_open(dir, NULL, &err));
    cr_assert_str_eq(err.msg, want);
}

// Writes a gzip file of `lines` edges "i i+1" and returns its size.
static uint64_t
write_numbered_gz(const char *path, size_t lines)
{
    gx_test_text_t t = {0};
    for (size_t i = 0; i < lines; i++)
        gx_test_text_add(&t, "%zu %zu\n", i, i + 1);
    gx_test_write_gz(path, t.s, t.n);
    free(t.s);
    return file_size(path);
}

// Reads a damaged gz and checks that the error names the first line not
// read whole, after every whole line before it was delivered.
static void
assert_truncated(const char *path, const char *problem)
{
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(path, GX_LINES_EDGES, 1, 100, &got, &err), -1);
    for (size_t i = 0; i < got.n; i++)
        cr_assert(got.e[i].src == i && got.e[i].dst == i + 1);
    char want[300];
    snprintf(want, sizeof want, "%s:%zu: %s", path, got.n + 1, problem);
    cr_assert_str_eq(err.msg, want);
    free(got.e);
}

Test(loader, names_the_line_where_a_truncated_gz_stream_stops)
{
    const char *path = gx_test_tmp_path("cut.gz");
    uint64_t size = write_numbered_gz(path, 50000);
    cr_assert_eq(truncate(path, (off_t) (size / 2)), 0);
    assert_truncated(path, "truncated gzip stream");
}

Test(loader, rejects_a_gz_stream_without_its_trailer)
{
    // Every line is there; only the CRC and length are missing.
    const char *path = gx_test_tmp_path("notrailer.gz");
    uint64_t size = write_numbered_gz(path, 1000);
    cr_assert_eq(truncate(path, (off_t) (size - 4)), 0);
    assert_truncated(path, "truncated gzip stream");
}

Test(loader, rejects_a_corrupt_gz_stream)
{
    const char *path = gx_test_tmp_path("corrupt.gz");
    uint64_t size = write_numbered_gz(path, 20000);
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    for (long off = (long) size / 2; off < (long) size / 2 + 64; off++) {
        fseek(f, off, SEEK_SET);
        fputc(0x55, f);
    }
    fclose(f);
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(path, GX_LINES_EDGES, 1, 100, &got, &err), -1);
    // The damage shows first as lines of garbage ("1111...1 0"); they are
    // reported as the damage they are, not as a bad vertex id.
    cr_assert(strstr(err.msg, ": corrupt gzip stream ("), "got: %s", err.msg);
    cr_assert(strncmp(err.msg, path, strlen(path)) == 0, "got: %s", err.msg);
    free(got.e);
}

Test(loader, rejects_a_gz_file_that_is_not_gzip)
{
    const char *path = gx_test_write_tmp("plain.gz", "1 2\n");
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(path, GX_LINES_EDGES, 1, 100, &got, &err), -1);
    char want[300];
    snprintf(want, sizeof want, "%s: not in gzip format", path);
    cr_assert_str_eq(err.msg, want);
    free(got.e);
}

Test(loader, rejects_a_file_that_shrinks_while_it_is_read)
{
    // Every split past the new end would have read nothing and said nothing.
    gx_test_text_t t = {0};
    edges_t want = {0};
    random_edge_list(&t, &want, 100000);
    const char *path = gx_test_tmp_path("shrinks.txt");
    gx_test_write_bytes(path, t.s, t.n);
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    cr_assert_eq(truncate(path, (off_t) (t.n / 2)), 0);
    char want_msg[300];
    snprintf(want_msg, sizeof want_msg, "%s: file shrank while reading, from %zu to "
             "%zu bytes", path, t.n, t.n / 2);
    for (unsigned n = 1; n <= 4; n++) {
        unsigned failed = 0;
        for (unsigned s = 0; s < n; s++) {
            edges_t got = {0};
            gx_error_t e = {0};
            if (read_split(in, GX_LINES_EDGES, s, n, 1000, &got, &e) < 0) {
                cr_assert_str_eq(e.msg, want_msg, "split %u of %u", s, n);
                failed++;
            }
            free(got.e);
        }
        cr_assert_geq(failed, 1, "%u splits", n);
    }
    gx_input_destroy(&in);
    free(want.e);
    free(t.s);
}

// --- Concatenated gzip members and what may follow them -----------------------

// Appends n raw bytes to t.
static void
bytes_add(gx_test_text_t *t, const void *p, size_t n)
{
    if (t->n + n > t->cap) {
        t->cap = (t->n + n) * 2;
        t->s = realloc(t->s, t->cap);
        cr_assert_not_null(t->s);
    }
    memcpy(t->s + t->n, p, n);
    t->n += n;
}

// Appends one gzip member holding text[0..n) to t; returns its size.
static size_t
gz_member_add(gx_test_text_t *t, const char *text, size_t n)
{
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t bound = deflateBound(&z, (uLong) n);
    unsigned char *out = malloc(bound);
    cr_assert_not_null(out);
    z.next_in = (Bytef *) text;
    z.avail_in = (uInt) n;
    z.next_out = out;
    z.avail_out = (uInt) bound;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t size = bound - z.avail_out;
    deflateEnd(&z);
    bytes_add(t, out, size);
    free(out);
    return size;
}

static size_t
gz_text_add(gx_test_text_t *t, const char *text)
{
    return gz_member_add(t, text, strlen(text));
}

// Reads the bytes of t as a .gz file, then again as gzip data on stdin
// (a pipe fed by a thread, so t may be larger than the pipe's buffer),
// and expects `want` edges and then the error `problem` ("" for none) after
// the source's name, e.g. ": byte 24: data after ...".
typedef struct feeder {
    int          fd;
    const char  *s;
    size_t       n;
} feeder_t;

static void *
feed(void *arg)
{
    feeder_t *f = arg;
    for (size_t off = 0; off < f->n;) {
        ssize_t w = write(f->fd, f->s + off, f->n - off);
        if (w <= 0)
            break;                          // the reader stopped early: fine
        off += (size_t) w;
    }
    close(f->fd);
    return NULL;
}

// Batches of 3 make the reader resume mid-buffer again and again. Under
// TSan each resume checks the whole buffer (gx_scan's memrchr: 258 s for
// the 300-member case), so there they hold 256.
#if defined(__SANITIZE_THREAD__)
enum { GZ_CAP = 256 };
#else
enum { GZ_CAP = 3 };
#endif

static void
assert_gz_reads(const gx_test_text_t *t, const gx_edge_t *want, size_t nwant,
                const char *problem)
{
    signal(SIGPIPE, SIG_IGN);               // a reader that fails stops reading
    const char *path = gx_test_tmp_path("members.gz");
    gx_test_write_bytes(path, t->s, t->n);
    for (int stdin_too = 0; stdin_too <= 1; stdin_too++) {
        const char *name = path;
        pthread_t th;
        feeder_t f = {.s = t->s, .n = t->n};
        if (stdin_too) {
            int p[2];
            cr_assert_eq(pipe(p), 0);
            f.fd = p[1];
            cr_assert_geq(dup2(p[0], STDIN_FILENO), 0);
            close(p[0]);
            cr_assert_eq(pthread_create(&th, NULL, feed, &f), 0);
            name = "stdin";
        }
        edges_t got = {0};
        gx_error_t err = {0};
        int rc = read_path(stdin_too ? "-" : path, GX_LINES_EDGES, 1, GZ_CAP, &got, &err);
        if (stdin_too) {
            // Ends the pipe (a feeder the reader left gets EPIPE) and keeps
            // fd 0 taken, so the next pipe() does not land on it.
            int nul = open("/dev/null", O_RDONLY);
            cr_assert_geq(dup2(nul, STDIN_FILENO), 0);
            close(nul);
            pthread_join(th, NULL);
        }
        assert_edges(&got, want, nwant, name);
        if (problem[0]) {
            char full[600];
            snprintf(full, sizeof full, "%s%s", name, problem);
            cr_assert_eq(rc, -1, "%s: no error, want %s", name, full);
            cr_assert_str_eq(err.msg, full);
        } else {
            cr_assert_eq(rc, 0, "%s", err.msg);
        }
        free(got.e);
    }
}

Test(loader, reads_every_member_of_a_concatenated_gz_file_and_stream)
{
    // As `gzip -c a >x; gzip -c b >>x` makes, with an empty member and a
    // line that starts in one member and ends in the next.
    gx_test_text_t t = {0};
    gz_text_add(&t, "1 2\n");
    gz_text_add(&t, "");
    gz_text_add(&t, "2 3\n3");
    gz_text_add(&t, " 1\n10 20");
    assert_gz_reads(&t, four, 4, "");
    free(t.s);
}

Test(loader, reads_many_members_across_read_boundaries_and_counts_their_bytes)
{
    // 300 members of 1..3000 lines: members and headers straddle every
    // internal buffer boundary somewhere.
    gx_test_text_t t = {0};
    edges_t want = {0};
    for (int m = 0; m < 300; m++) {
        gx_test_text_t text = {0};
        random_edge_list(&text, &want, 1 + rng() % 3000);
        gz_member_add(&t, text.s ? text.s : "", text.n);
        free(text.s);
    }
    assert_gz_reads(&t, want.e, want.n, "");
    // Progress of a .gz is in compressed bytes and ends at the file size.
    const char *path = gx_test_tmp_path("members.gz");
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    gx_reader_t *r = gx_reader_new(in, GX_LINES_EDGES, 0, 1, &err);
    cr_assert_not_null(r, "%s", err.msg);
    gx_edge_t batch[512];
    ssize_t k;
    while ((k = gx_reader_next(r, batch, NULL, 512, &err)) > 0)
        cr_assert_leq(gx_reader_bytes(r), t.n);
    cr_assert_eq(k, 0, "%s", err.msg);
    cr_assert_eq(gx_reader_bytes(r), t.n);
    gx_reader_destroy(&r);
    gx_input_destroy(&in);
    free(want.e);
    free(t.s);
}

Test(loader, rejects_data_after_the_last_gzip_member_naming_its_byte)
{
    // The issue 11 case: `(printf '1 2\n' | gzip; printf '3 4\n5 6\n')`.
    // zcat says "trailing garbage ignored"; two edges were silently lost.
    gx_test_text_t t = {0};
    size_t at = gz_text_add(&t, "1 2\n");
    bytes_add(&t, "3 4\n5 6\n", 8);
    char problem[128];
    snprintf(problem, sizeof problem,
             ": byte %zu: data after the last gzip member is not gzip", at);
    assert_gz_reads(&t, four, 1, problem);
    // After several members, the offset counts all of them.
    t.n = 0;
    at = gz_text_add(&t, "1 2\n2 3\n");
    at += gz_text_add(&t, "3 1\n10 20\n");
    bytes_add(&t, "x", 1);
    snprintf(problem, sizeof problem,
             ": byte %zu: data after the last gzip member is not gzip", at);
    assert_gz_reads(&t, four, 4, problem);
    free(t.s);
}

Test(loader, skips_zero_padding_after_the_last_member_but_nothing_else)
{
    // Tape blocking pads with zeros; gzip -d accepts them. They hold no
    // lines, so skipping them loses nothing.
    static const char zeros[100000];
    gx_test_text_t t = {0};
    size_t at = gz_text_add(&t, "1 2\n2 3\n3 1\n10 20\n");
    bytes_add(&t, zeros, sizeof zeros);
    assert_gz_reads(&t, four, 4, "");
    // Zeros and then anything, even another member: an error at the zeros.
    char problem[128];
    snprintf(problem, sizeof problem,
             ": byte %zu: data after the last gzip member is not gzip", at);
    bytes_add(&t, "\1", 1);
    assert_gz_reads(&t, four, 4, problem);
    t.n = at + 512;
    gz_text_add(&t, "5 6\n");
    assert_gz_reads(&t, four, 4, problem);
    free(t.s);
}

Test(loader, names_a_member_cut_short_after_a_whole_one_as_truncated)
{
    // A lone 1f, the magic alone, a header alone: the start of a member
    // whose rest is missing, as gzip -d says too.
    static const char *tails[] = {"\x1f", "\x1f\x8b", "\x1f\x8b\x08\0\0\0\0\0\0\3"};
    static const size_t lens[] = {1, 2, 10};
    for (size_t i = 0; i < 3; i++) {
        gx_test_text_t t = {0};
        gz_text_add(&t, "1 2\n2 3\n3 1\n10 20\n");
        bytes_add(&t, tails[i], lens[i]);
        assert_gz_reads(&t, four, 4, ":5: truncated gzip stream");
        free(t.s);
    }
}

Test(loader, names_a_corrupt_second_member_after_the_whole_lines_before_it)
{
    gx_test_text_t t = {0};
    gz_text_add(&t, "1 2\n2 3\n3 1\n10 20\n");
    bytes_add(&t, "\x1f\x8b\x09\0\0\0\0\0\0\3", 10);       // method 9: no such
    assert_gz_reads(&t, four, 4, ":5: corrupt gzip stream (unknown compression method)");
    free(t.s);
}

Test(loader, names_a_bad_line_of_a_whole_member_even_when_a_later_one_is_corrupt)
{
    // The first member's CRC checked out, so its bad line is real.
    gx_test_text_t t = {0};
    gz_text_add(&t, "1 2\nx y\n");
    size_t size = gz_text_add(&t, "2 3\n3 1\n10 20\n");
    t.s[t.n - size + 12] ^= 0x55;                           // deflate data
    t.s[t.n - 8] ^= 0x55;                                   // and the CRC
    assert_gz_reads(&t, four, 1, ":2: vertex id 'x' is not a non-negative integer");
    free(t.s);
}

Test(loader, names_the_damage_when_a_bad_line_starts_exactly_where_a_corrupt_member_does)
{
    // The mirror of the test above: the bad line is the corrupt member's
    // first, so it may be the damage, and the CRC says it is. A line that
    // starts where the member starts belongs to it, not to the member
    // before (a <= for < there reported 'x' and passed every suite).
    gx_test_text_t t = {0};
    gz_text_add(&t, "1 2\n2 3\n3 1\n");
    gz_text_add(&t, "x y\n10 20\n");
    t.s[t.n - 8] ^= 0x55;                                   // its CRC only
    assert_gz_reads(&t, four, 3, ":4: corrupt gzip stream (incorrect data check)");
    free(t.s);
}

Test(loader, reads_an_empty_gz_and_a_gz_of_nothing_as_no_edges)
{
    gx_test_text_t t = {0};
    const char *path = gx_test_tmp_path("empty.gz");
    gx_test_write_bytes(path, "", 0);
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(path, GX_LINES_EDGES, 1, 4, &got, &err), 0, "%s", err.msg);
    cr_assert_eq(got.n, 0);
    gz_text_add(&t, "");
    gz_text_add(&t, "# nothing\n");
    assert_gz_reads(&t, NULL, 0, "");
    free(t.s);
}

Test(loader, names_the_part_file_whose_gz_has_trailing_data)
{
    cr_assert_eq(mkdir(gx_test_tmp_path("parts"), 0755), 0);
    gx_test_write_bytes(gx_test_tmp_path("parts/a"), "1 2\n", 4);
    gx_test_text_t t = {0};
    size_t at = gz_text_add(&t, "2 3\n3 1\n");
    bytes_add(&t, "10 20\n", 6);
    const char *bad = gx_test_tmp_path("parts/b.gz");
    gx_test_write_bytes(bad, t.s, t.n);
    gx_test_write_bytes(gx_test_tmp_path("parts/c"), "10 20\n", 6);
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(gx_test_tmp_path("parts"), GX_LINES_EDGES, 1, 2, &got, &err), -1);
    char want[600];
    snprintf(want, sizeof want, "%s: byte %zu: data after the last gzip member "
             "is not gzip", bad, at);
    cr_assert_str_eq(err.msg, want);
    assert_edges(&got, four, 3, "before the bad part");
    free(got.e);
    free(t.s);
}

static void *
write_to_fifo(void *path)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("1 2\n", f);
        fclose(f);
    }
    return NULL;
}

Test(loader, rejects_a_gz_fifo_of_plain_text)
{
    // zlib's transparent mode read it as text; a .gz must be gzip, pipe or not.
    const char *path = gx_test_tmp_path("fifo.gz");
    cr_assert_eq(mkfifo(path, 0600), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, write_to_fifo, (void *) path), 0);
    edges_t got = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path(path, GX_LINES_EDGES, 1, 4, &got, &err), -1);
    pthread_join(th, NULL);
    char want[300];
    snprintf(want, sizeof want, "%s: not in gzip format", path);
    cr_assert_str_eq(err.msg, want);
    free(got.e);
}

Test(loader, refuses_a_split_that_does_not_exist)
{
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(gx_test_fixture("loader-spaces.txt"), NULL,
                                   &err);
    cr_assert_not_null(in, "%s", err.msg);
    cr_assert_null(gx_reader_new(in, GX_LINES_EDGES, 3, 3, &err));
    cr_assert_null(gx_reader_new(in, GX_LINES_EDGES, 0, 0, &err));
    gx_reader_t *r = gx_reader_new(in, GX_LINES_EDGES, 0, 1, &err);
    cr_assert_not_null(r, "%s", err.msg);
    gx_edge_t e;
    cr_assert_eq(gx_reader_next(r, &e, NULL, 0, &err), -1);
    cr_assert_eq(gx_reader_next(r, &e, NULL, 1, &err), 1);
    gx_reader_destroy(&r);
    gx_reader_destroy(&r);                  // NULL is fine
    gx_input_destroy(&in);
    gx_input_destroy(&in);
}

// --- The scanner -----------------------------------------------------------

Test(loader, scanner_stops_at_cap_on_a_line_boundary)
{
    const char buf[] = "1 2\n# c\n3 4\nbad\n5 6\n";
    gx_edge_t out[4];
    size_t used;
    uint64_t lines;
    gx_error_t err = {0};
    cr_assert_eq(gx_scan(GX_LINES_EDGES, buf, sizeof buf - 1, out, NULL, 1, &used, &lines,
                         &err), 1);
    cr_assert_eq(used, 4);
    cr_assert_eq(lines, 1);
    cr_assert_eq(gx_scan(GX_LINES_EDGES, buf + 4, sizeof buf - 5, out, NULL, 1, &used,
                         &lines, &err), 1);
    cr_assert(out[0].src == 3 && out[0].dst == 4);
    cr_assert_eq(used, 8);
    cr_assert_eq(lines, 2);
    // A bad line: the records before it first, stopping at its first byte
    // after the lines before it; then the bad line alone is the error.
    cr_assert_eq(gx_scan(GX_LINES_EDGES, buf, sizeof buf - 1, out, NULL, 4, &used, &lines,
                         &err), 2);
    cr_assert(out[0].src == 1 && out[1].src == 3);
    cr_assert_eq(used, 12);
    cr_assert_eq(lines, 3);
    cr_assert_eq(gx_scan(GX_LINES_EDGES, buf + 12, sizeof buf - 13, out, NULL, 4, &used,
                         &lines, &err), -1);
    cr_assert_eq(used, 0);
    cr_assert_eq(lines, 0);
    cr_assert_str_eq(err.msg, "expected 'src dst [weight]', got 1 field");
}

// The promise of gx_reader_next: every record before a bad line is
// delivered, then the error, even when they share one buffer and one batch.
Test(loader, delivers_every_edge_before_a_bad_line_then_the_error)
{
    for (size_t cap = 1; cap <= 8; cap++) {
        const char *path = gx_test_write_tmp("before.txt", "1 2\n2 3\n3 1\n10 20\nbad\n5 6\n");
        edges_t got = {0};
        gx_error_t err = {0};
        cr_assert_eq(read_path(path, GX_LINES_EDGES, 1, cap, &got, &err), -1);
        assert_edges(&got, four, 4, "before the bad line");
        char want[300];
        snprintf(want, sizeof want, "%s:5: expected 'src dst [weight]', got 1 field", path);
        cr_assert_str_eq(err.msg, want);
        free(got.e);
    }
}

// The fast path handles LF-terminated lines; a last line without LF always
// takes the careful one. Both must agree on every line, good or bad, with
// weights dropped and with weights kept (then bit for bit on the weight).
Test(loader, scanner_fast_and_careful_paths_agree)
{
    static const char *lines[] = {
        "1 2 1e-300", "1 2 2.50", "1 2 -0", "1 2 9007199254740993", "1 2 1e23",
        "1 2 0.1", "1 2 inf", "1 2 1e400", "1 2 -1e-400", "1 2 1e22", "1 2 1e-22",
        "1 2 123456789012345678901234567890", "1 2 0x1p-3", "1 2 .5e1",
        "1 2", " 1 2", "1\t2", "1 2 ", "1 2\r", "1  \t 2 \t", "1 2 3", "1 2 3.25",
        "1 2 -3e+5", "1 2 +.5", "1 2 5.", "1 2 .", "1 2 1e", "1 2 1e+", "1 2 nan",
        "1 2 0x10", "1 2 3 ", "1 2 3\r", "1 2 3x", "1 2 3 4", "1", "1 ", "1\r",
        "a 2", "1 b", "-1 2", "1 -2", "- 2", "1 2x", "1x 2", "1\r2", "1 2\r3",
        "000000000000000000001 2", "123456789012345678 1", "1234567890123456789 1",
        "9223372036854775807 9223372036854775807", "9223372036854775808 1",
        "18446744073709551616 1", "1 99999999999999999999999999", "# 1 2", "% x",
        "  # x", "", " ", "\t\r", "\r", "1 2 3.5\r", "1 2\t3.5\t\r", "1 2 3.5e",
        "1 2 3.5e5e5", "1 2 1.2.3", "1 2 ++1", "1 2 1e5 ", "\x01", "1\x00 2",
    };
    for (int keep = 0; keep <= 1; keep++) {
        for (int kind = 0; kind <= 1; kind++) {
            for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
                char with_lf[128];
                size_t n = strlen(lines[i]);
                if (i == sizeof lines / sizeof *lines - 1)
                    n = 4;                      // keeps the NUL byte
                memcpy(with_lf, lines[i], n);
                with_lf[n] = '\n';
                gx_edge_t a = {7, 7}, b = {7, 7};
                double wa = 7, wb = 7;
                size_t used_a, used_b;
                uint64_t lines_a, lines_b;
                gx_error_t err_a = {0}, err_b = {0};
                ssize_t ra = gx_scan(kind, with_lf, n + 1, &a, keep ? &wa : NULL, 1,
                                     &used_a, &lines_a, &err_a);
                ssize_t rb = gx_scan(kind, with_lf, n, &b, keep ? &wb : NULL, 1,
                                     &used_b, &lines_b, &err_b);
                cr_assert_eq(ra, rb, "keep %d kind %d line '%s': %zd vs %zd", keep,
                             kind, lines[i], ra, rb);
                cr_assert(a.src == b.src && a.dst == b.dst, "kind %d line '%s'", kind,
                          lines[i]);
                cr_assert(memcmp(&wa, &wb, sizeof wa) == 0, "kind %d line '%s': %a vs %a",
                          kind, lines[i], wa, wb);
                cr_assert_str_eq(err_a.msg, err_b.msg, "kind %d line '%s'", kind, lines[i]);
                if (ra >= 0) {
                    cr_assert_eq(used_a, n + 1);
                    cr_assert_eq(used_b, n);
                }
            }
        }
    }
}

Test(loader, scanner_parses_random_lines_like_a_reference)
{
    gx_test_text_t t = {0};
    edges_t want = {0};
    random_edge_list(&t, &want, 20000);
    gx_edge_t *out = malloc(want.n * sizeof *out);
    size_t used;
    uint64_t lines;
    gx_error_t err = {0};
    ssize_t r = gx_scan(GX_LINES_EDGES, t.s, t.n, out, NULL, want.n, &used, &lines, &err);
    cr_assert_eq(r, (ssize_t) want.n, "%s", err.msg);
    cr_assert_eq(used, t.n);
    cr_assert_eq(lines, 20000);
    edges_t got = {out, want.n, want.n};
    assert_edges(&got, want.e, want.n, "scan");
    free(out);
    free(want.e);
    free(t.s);
}

// --- Parallel splits -------------------------------------------------------

Test(loader, splits_together_read_every_line_once_in_order)
{
    gx_test_text_t t = {0};
    edges_t want = {0};
    random_edge_list(&t, &want, 100000);
    const char *path = gx_test_tmp_path("big.txt");
    gx_test_write_bytes(path, t.s, t.n);
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    cr_assert_eq(gx_input_bytes(in), t.n);
    for (unsigned n = 1; n <= 7; n++) {
        edges_t got = {0};
        uint64_t bytes = 0;
        for (unsigned s = 0; s < n; s++) {
            gx_reader_t *r = gx_reader_new(in, GX_LINES_EDGES, s, n, &err);
            cr_assert_not_null(r, "%s", err.msg);
            gx_edge_t batch[1000];
            size_t cap = s % 2 ? 1000 : 7;
            ssize_t k;
            while ((k = gx_reader_next(r, batch, NULL, cap, &err)) > 0)
                for (ssize_t i = 0; i < k; i++)
                    edges_push(&got, batch[i].src, batch[i].dst);
            cr_assert_eq(k, 0, "split %u/%u: %s", s, n, err.msg);
            bytes += gx_reader_bytes(r);
            gx_reader_destroy(&r);
        }
        char what[32];
        snprintf(what, sizeof what, "%u splits", n);
        assert_edges(&got, want.e, want.n, what);
        cr_assert_eq(bytes, t.n, "%u splits consumed %" PRIu64 " bytes", n, bytes);
        free(got.e);
    }
    gx_input_destroy(&in);
    free(want.e);
    free(t.s);
}

Test(loader, a_bad_line_near_the_end_is_named_by_the_split_that_holds_it)
{
    gx_test_text_t t = {0};
    edges_t want = {0};
    random_edge_list(&t, &want, 99990);
    gx_test_text_add(&t, "12 abc\n");               // line 99991
    random_edge_list(&t, &want, 9);
    const char *path = gx_test_tmp_path("bad-big.txt");
    gx_test_write_bytes(path, t.s, t.n);
    char expect[300];
    snprintf(expect, sizeof expect, "%s:99991: vertex id 'abc' is not a "
             "non-negative integer", path);
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    for (unsigned n = 1; n <= 7; n++) {
        unsigned failed = 0;
        for (unsigned s = 0; s < n; s++) {
            edges_t got = {0};
            gx_error_t e = {0};
            if (read_split(in, GX_LINES_EDGES, s, n, 500, &got, &e) < 0) {
                failed++;
                cr_assert_str_eq(e.msg, expect, "split %u of %u", s, n);
                cr_assert_eq(s, n - 1, "split %u of %u", s, n);
            }
            free(got.e);
        }
        cr_assert_eq(failed, 1, "%u splits: %u failed", n, failed);
    }
    gx_input_destroy(&in);
    free(want.e);
    free(t.s);
}

Test(loader, splits_span_part_files_and_lines_never_do)
{
    // Empty files, files without a final LF and comment-only files, read
    // with more splits than some files have lines.
    cr_assert_eq(mkdir(gx_test_tmp_path("p"), 0755), 0);
    edges_t want = {0};
    for (int f = 0; f < 12; f++) {
        gx_test_text_t t = {0};
        size_t lines = f % 4 == 0 ? 0 : (size_t) (rng() % 3000);
        random_edge_list(&t, &want, lines);
        if (f % 3 == 1 && t.n > 0 && t.s[t.n - 1] == '\n')
            t.n--;                          // drop the last LF
        if (f == 5)
            gx_test_text_add(&t, "# only a comment\n");
        char name[32];
        snprintf(name, sizeof name, "p/part-%05d", f);
        gx_test_write_bytes(gx_test_tmp_path(name), t.s ? t.s : "", t.n);
        free(t.s);
    }
    for (unsigned n = 1; n <= 40; n += (n < 8 ? 1 : 16)) {
        edges_t got = {0};
        gx_error_t err = {0};
        cr_assert_eq(read_path(gx_test_tmp_path("p"), GX_LINES_EDGES, n, 64, &got, &err),
                     0, "%s", err.msg);
        char what[32];
        snprintf(what, sizeof what, "%u splits", n);
        assert_edges(&got, want.e, want.n, what);
        free(got.e);
    }
    free(want.e);
}

typedef struct job {
    const gx_input_t *in;
    unsigned          split, nsplits;
    edges_t           got;
    int               rc;
    gx_error_t        err;
} job_t;

static void *
run_job(void *arg)
{
    job_t *j = arg;
    gx_reader_t *r = gx_reader_new(j->in, GX_LINES_EDGES, j->split, j->nsplits, &j->err);
    if (!r) {
        j->rc = -1;
        return NULL;
    }
    static _Thread_local gx_edge_t batch[4096];
    ssize_t k;
    while ((k = gx_reader_next(r, batch, NULL, 4096, &j->err)) > 0)
        for (ssize_t i = 0; i < k; i++) {
            if (j->got.n == j->got.cap) {
                j->got.cap = j->got.cap ? j->got.cap * 2 : 4096;
                j->got.e = realloc(j->got.e, j->got.cap * sizeof *j->got.e);
            }
            j->got.e[j->got.n++] = batch[i];
        }
    j->rc = k < 0 ? -1 : 0;
    gx_reader_destroy(&r);
    return NULL;
}

Test(loader, readers_of_one_input_run_concurrently)
{
    gx_test_text_t t = {0};
    edges_t want = {0};
    random_edge_list(&t, &want, 50000);
    const char *path = gx_test_tmp_path("shared.txt");
    gx_test_write_bytes(path, t.s, t.n);
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    enum { N = 4 };
    job_t jobs[N];
    pthread_t th[N];
    for (unsigned s = 0; s < N; s++) {
        jobs[s] = (job_t) {.in = in, .split = s, .nsplits = N};
        cr_assert_eq(pthread_create(&th[s], NULL, run_job, &jobs[s]), 0);
    }
    edges_t got = {0};
    for (unsigned s = 0; s < N; s++) {
        pthread_join(th[s], NULL);
        cr_assert_eq(jobs[s].rc, 0, "%s", jobs[s].err.msg);
        for (size_t i = 0; i < jobs[s].got.n; i++)
            edges_push(&got, jobs[s].got.e[i].src, jobs[s].got.e[i].dst);
        free(jobs[s].got.e);
    }
    assert_edges(&got, want.e, want.n, "threads");
    gx_input_destroy(&in);
    free(got.e);
    free(want.e);
    free(t.s);
}

Test(loader, counts_consumed_bytes_up_to_the_input_size)
{
    const char *path = gx_test_tmp_path("bytes.gz");
    uint64_t size = write_numbered_gz(path, 30000);
    gx_error_t err = {0};
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    gx_reader_t *r = gx_reader_new(in, GX_LINES_EDGES, 0, 1, &err);
    cr_assert_not_null(r, "%s", err.msg);
    cr_assert_eq(gx_reader_bytes(r), 0);
    gx_edge_t batch[100];
    uint64_t last = 0;
    ssize_t k;
    while ((k = gx_reader_next(r, batch, NULL, 100, &err)) > 0) {
        uint64_t now = gx_reader_bytes(r);
        cr_assert_geq(now, last);
        cr_assert_leq(now, size);
        last = now;
    }
    cr_assert_eq(k, 0, "%s", err.msg);
    cr_assert_eq(gx_reader_bytes(r), size);
    gx_reader_destroy(&r);
    gx_input_destroy(&in);
}

// --- Weights ---------------------------------------------------------------
//
// Expected weights never come from the loader: a C literal, a double that
// was printed with %.17g or %a (both read back exactly), a dyadic fraction
// printed in full, or, for short decimals, glibc's strtod on the token
// alone (the semantics the loader promises, computed by other code).

typedef struct doubles {
    double *v;
    size_t  n, cap;
} doubles_t;

static void
doubles_push(doubles_t *d, double x)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->v = realloc(d->v, d->cap * sizeof *d->v);
        cr_assert_not_null(d->v);
    }
    d->v[d->n++] = x;
}

// read_split with weights kept: weights go to w, in step with out.
static int
read_split_weighted(const gx_input_t *in, unsigned split, unsigned nsplits, size_t cap,
                    edges_t *out, doubles_t *w, gx_error_t *err)
{
    gx_reader_t *r = gx_reader_new(in, GX_LINES_EDGES, split, nsplits, err);
    if (!r)
        return -1;
    gx_edge_t *batch = malloc(cap * sizeof *batch);
    double *wbatch = malloc(cap * sizeof *wbatch);
    cr_assert(batch && wbatch);
    ssize_t got;
    while ((got = gx_reader_next(r, batch, wbatch, cap, err)) > 0)
        for (ssize_t i = 0; i < got; i++) {
            edges_push(out, batch[i].src, batch[i].dst);
            doubles_push(w, wbatch[i]);
        }
    if (got == 0)
        cr_assert_eq(gx_reader_next(r, batch, wbatch, cap, err), 0);
    free(batch);
    free(wbatch);
    gx_reader_destroy(&r);
    return got < 0 ? -1 : 0;
}

static int
read_path_weighted(const char *path, unsigned nsplits, size_t cap, edges_t *out,
                   doubles_t *w, gx_error_t *err)
{
    gx_input_t *in = gx_input_open(path, NULL, err);
    if (!in)
        return -1;
    int rc = 0;
    for (unsigned s = 0; s < nsplits && rc == 0; s++)
        rc = read_split_weighted(in, s, nsplits, cap, out, w, err);
    gx_input_destroy(&in);
    return rc;
}

// Bit for bit: -0.0 is not 0.0.
static void
assert_weights(const doubles_t *got, const double *want, size_t n, const char *what)
{
    cr_assert_eq(got->n, n, "%s: %zu weights, want %zu", what, got->n, n);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got->v[i], &want[i], sizeof want[i]) != 0)
            cr_assert_fail("%s: weight %zu is %a (%.17g), want %a (%.17g)", what, i,
                           got->v[i], got->v[i], want[i], want[i]);
}

// assert_error_n with weights kept.
static void
assert_weighted_error(const char *text, const char *want)
{
    const char *path = gx_test_write_tmp("bad-weight.txt", text);
    edges_t got = {0};
    doubles_t w = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path_weighted(path, 1, 16, &got, &w, &err), -1, "no error for %s",
                 want);
    char full[600];
    snprintf(full, sizeof full, "%s:%s", path, want);
    cr_assert_str_eq(err.msg, full);
    free(got.e);
    free(w.v);
}

// The value strtod gives the whole token, or NAN when it does not take it all.
static double
strtod_whole(const char *token)
{
    char *stop;
    double v = strtod(token, &stop);
    return *token && *stop == '\0' ? v : NAN;
}

// A random weight token for the line of edge i, and its value.
static double
random_weight(char *tok, size_t cap)
{
    uint64_t x = rng();
    switch (rng() % 6) {
    case 0: {                               // any finite double, printed exactly
        double d;
        do {
            x = rng();
            memcpy(&d, &x, sizeof d);
        } while (!isfinite(d));
        snprintf(tok, cap, rng() % 2 ? "%.17g" : "%a", d);
        return d;
    }
    case 1: {                               // m / 2^j in full, some trailing zeros
        double d = (double) (x % 1000000) / (double) (1u << (rng() % 11));
        snprintf(tok, cap, "%s%.12f", rng() % 2 ? "-" : "", d);
        return tok[0] == '-' ? -d : d;
    }
    case 2: {                               // a short decimal, as awk writes them
        double d = (double) (x % 100000000) * 1e-4;
        snprintf(tok, cap, "%.*g", 1 + (int) (rng() % 9), d * pow(10, (double) (rng() % 40) - 20));
        return strtod_whole(tok);
    }
    case 3:                                 // an integer
        snprintf(tok, cap, "%" PRIu64, x % 100000);
        return (double) (x % 100000);
    default: {
        static const char *forms[] = {"1e-300", "-0.5", "3", "2.50", "-0", "0x1p-3",
                                      "4.9e-324", "1.7976931348623157e308", "+7", ".5",
                                      "5.", "1E3", "0.1", "1e23"};
        static const double values[] = {1e-300, -0.5, 3, 2.5, -0.0, 0.125, 4.9e-324,
                                        1.7976931348623157e308, 7, 0.5, 5, 1000, 0.1,
                                        1e23};
        size_t k = (size_t) (x % (sizeof forms / sizeof *forms));
        snprintf(tok, cap, "%s", forms[k]);
        return values[k];
    }
    }
}

// random_edge_list for weighted reads: every edge line has a weight.
static void
random_weighted_list(gx_test_text_t *t, edges_t *want, doubles_t *wants, size_t lines)
{
    for (size_t i = 0; i < lines; i++) {
        unsigned shape = (unsigned) (rng() % 20);
        if (shape == 0) {
            gx_test_text_add(t, "# comment %" PRIu64 "\n", rng());
        } else if (shape == 1) {
            gx_test_text_add(t, "%% 1 2\r\n");
        } else if (shape == 2) {
            gx_test_text_add(t, "%s\n", rng() % 2 ? "" : " \t\r");
        } else {
            uint64_t s = random_id(), d = random_id();
            char tok[64];
            double w = random_weight(tok, sizeof tok);
            gx_test_text_add(t, "%s%" PRIu64 "%s%" PRIu64 "%s%s%s%s", shape == 3 ? " " : "",
                             s, random_blanks(), d, random_blanks(), tok,
                             shape == 4 ? random_blanks() : "", shape == 5 ? "\r\n" : "\n");
            edges_push(want, s, d);
            doubles_push(wants, w);
        }
    }
}

Test(loader, keeps_weights_exactly_as_written)
{
    const char *path = gx_test_write_tmp("w.txt",
                                         "1 2 1e-300\n2 3 -0.5\n3 1 3\n10 20 2.50\n");
    const double want[] = {1e-300, -0.5, 3.0, 2.5};
    for (unsigned n = 1; n <= 3; n++) {
        edges_t got = {0};
        doubles_t w = {0};
        gx_error_t err = {0};
        cr_assert_eq(read_path_weighted(path, n, 2, &got, &w, &err), 0, "%s", err.msg);
        assert_edges(&got, four, 4, "weighted");
        assert_weights(&w, want, 4, "weighted");
        free(got.e);
        free(w.v);
    }
    // Forms only strtod reads, long mantissas, rounding, -0, subnormals.
    path = gx_test_write_tmp("w2.txt",
                             "1 2 0x1p-3\n2 3 9007199254740993\n3 1 -0\n10 20 4.9e-324\n"
                             "1 2 0.1\n2 3 1e23\n3 1 123456789012345678901234567890\n"
                             "10 20 +.5e1\n1 2 1e-400\n");
    const double want2[] = {0.125, 9007199254740992.0, -0.0, 4.9e-324, 0.1, 1e23,
                            123456789012345678901234567890.0, 5.0, 0.0};
    edges_t got = {0};
    doubles_t w = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path_weighted(path, 1, 3, &got, &w, &err), 0, "%s", err.msg);
    assert_weights(&w, want2, 9, "strtod forms");
    free(got.e);
    free(w.v);
}

Test(loader, scanner_reads_every_weight_as_strtod_does)
{
    // Random decimal tokens around the exact-arithmetic limits: mantissas
    // up to 25 digits (2^53 has 16), exponents far past 10^+-22.
    uint64_t state = 7;
    for (int round = 0; round < 50000; round++) {
        char tok[80];
        size_t k = 0;
        if (gx_test_splitmix64(&state) % 3 == 0)
            tok[k++] = gx_test_splitmix64(&state) % 2 ? '-' : '+';
        size_t ints = gx_test_splitmix64(&state) % 20, fracs = gx_test_splitmix64(&state) % 8;
        for (size_t i = 0; i < ints; i++)
            tok[k++] = (char) ('0' + gx_test_splitmix64(&state) % 10);
        if (fracs > 0 || ints == 0) {
            tok[k++] = '.';
            for (size_t i = 0; i < fracs + (ints == 0); i++)
                tok[k++] = (char) ('0' + gx_test_splitmix64(&state) % 10);
        }
        if (gx_test_splitmix64(&state) % 2)
            k += (size_t) snprintf(tok + k, sizeof tok - k, "e%d",
                                   (int) (gx_test_splitmix64(&state) % 700) - 350);
        tok[k] = '\0';
        double want = strtod_whole(tok);
        char line[128];
        int n = snprintf(line, sizeof line, "1 2 %s\n", tok);
        for (int lf = 0; lf <= 1; lf++) {   // the fast path, then the careful one
            gx_edge_t e;
            double w = 7;
            size_t used;
            uint64_t lines;
            gx_error_t err = {0};
            ssize_t r = gx_scan(GX_LINES_EDGES, line, (size_t) n - !lf, &e, &w, 1, &used,
                                &lines, &err);
            if (isfinite(want)) {
                cr_assert_eq(r, 1, "'%s': %s", tok, err.msg);
                cr_assert(memcmp(&w, &want, sizeof w) == 0, "'%s': %a, want %a", tok, w, want);
            } else {
                cr_assert_eq(r, -1, "'%s' read as %a", tok, w);
                char msg[128];
                snprintf(msg, sizeof msg, "weight '%s' is not a finite number", tok);
                cr_assert_str_eq(err.msg, msg);
            }
        }
    }
}

Test(loader, names_the_line_of_a_missing_weight_when_weights_are_kept)
{
    assert_weighted_error("1 2 0.5\n# c\n3 4\n",
                          "3: expected 'src dst weight', got 2 fields");
    assert_weighted_error("1 2 0.5\r\n3 4\r\n", "2: expected 'src dst weight', got 2 fields");
    assert_weighted_error("1 2 0.5\n3 4 ", "2: expected 'src dst weight', got 2 fields");
    assert_weighted_error("1 2 0.5\n7\n", "2: expected 'src dst weight', got 1 field");
    assert_weighted_error("1 2 3 4\n", "1: expected 'src dst weight', got 4 fields");
    assert_weighted_error("1 x 3\n", "1: vertex id 'x' is not a non-negative integer");
    // The edges before it come first, with their weights, whatever the batch.
    const double want[] = {0.5, 1.5, -2, 1e-300};
    for (size_t cap = 1; cap <= 8; cap++) {
        const char *path = gx_test_write_tmp("before.txt", "1 2 0.5\n2 3 1.5\n3 1 -2\n"
                                             "10 20 1e-300\n5 6\n7 8 1\n");
        edges_t got = {0};
        doubles_t w = {0};
        gx_error_t err = {0};
        cr_assert_eq(read_path_weighted(path, 1, cap, &got, &w, &err), -1);
        assert_edges(&got, four, 4, "before the bad line");
        assert_weights(&w, want, 4, "before the bad line");
        char msg[300];
        snprintf(msg, sizeof msg, "%s:5: expected 'src dst weight', got 2 fields", path);
        cr_assert_str_eq(err.msg, msg);
        free(got.e);
        free(w.v);
    }
}

Test(loader, refuses_weights_that_are_not_finite_numbers)
{
    static const char *infinite[] = {"inf", "-inf", "nan", "NAN", "infinity", "1e999",
                                     "-1e309", "0x1p1024"};
    for (size_t i = 0; i < sizeof infinite / sizeof *infinite; i++) {
        char text[64], msg[128];
        snprintf(text, sizeof text, "1 2 1\n3 4 %s\n", infinite[i]);
        snprintf(msg, sizeof msg, "2: weight '%s' is not a finite number", infinite[i]);
        assert_weighted_error(text, msg);
        // Dropped, they are numbers and read as before.
        const char *path = gx_test_write_tmp("dropped.txt", text);
        edges_t got = {0};
        gx_error_t err = {0};
        cr_assert_eq(read_path(path, GX_LINES_EDGES, 1, 4, &got, &err), 0, "%s", err.msg);
        cr_assert_eq(got.n, 2);
        free(got.e);
    }
    assert_weighted_error("1 2 x\n", "1: weight 'x' is not a number");
    assert_weighted_error("1 2 1.5x\n", "1: weight '1.5x' is not a number");
    assert_weighted_error("1 2 1e\n", "1: weight '1e' is not a number");
    assert_weighted_error("1 2 infx\n", "1: weight 'infx' is not a number");
}

Test(loader, keeps_weights_on_crlf_lines_and_around_comments)
{
    const char *path = gx_test_write_tmp("crlf.txt",
                                         "# w\r\n1 2 0.25\r\n% 9 9 x\r\n\r\n"
                                         "\r2 3 -1e-5 \r\r\n3 1\t7\t\r\n  \r\n10 20 .5\r");
    const double want[] = {0.25, -1e-5, 7, 0.5};
    for (unsigned n = 1; n <= 4; n++) {
        edges_t got = {0};
        doubles_t w = {0};
        gx_error_t err = {0};
        cr_assert_eq(read_path_weighted(path, n, 2, &got, &w, &err), 0, "%s", err.msg);
        assert_edges(&got, four, 4, "crlf");
        assert_weights(&w, want, 4, "crlf");
        free(got.e);
        free(w.v);
    }
    assert_weighted_error("1 2 0.5\r3 4 1\r",
                          "1: carriage return between fields (are lines ended by CR alone?)");
}

Test(loader, keeps_weights_through_parallel_splits_of_a_big_file)
{
    gx_test_text_t t = {0};
    edges_t want = {0};
    doubles_t wants = {0};
    random_weighted_list(&t, &want, &wants, 100000);
    const char *path = gx_test_tmp_path("big-weighted.txt");
    gx_test_write_bytes(path, t.s, t.n);
    edges_t seq = {0};
    doubles_t seqw = {0};
    gx_error_t err = {0};
    cr_assert_eq(read_path_weighted(path, 1, 4096, &seq, &seqw, &err), 0, "%s", err.msg);
    assert_edges(&seq, want.e, want.n, "sequential");
    assert_weights(&seqw, wants.v, wants.n, "sequential");
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    for (unsigned n = 2; n <= 7; n++) {
        edges_t got = {0};
        doubles_t w = {0};
        for (unsigned s = 0; s < n; s++)
            cr_assert_eq(read_split_weighted(in, s, n, s % 2 ? 1000 : 7, &got, &w, &err), 0,
                         "split %u/%u: %s", s, n, err.msg);
        char what[32];
        snprintf(what, sizeof what, "%u splits", n);
        assert_edges(&got, seq.e, seq.n, what);
        assert_weights(&w, seqw.v, seqw.n, what);
        free(got.e);
        free(w.v);
    }
    // A line without its weight near the end: named by the split that holds it.
    gx_test_text_add(&t, "12 13\n");
    gx_test_write_bytes(path, t.s, t.n);
    char expect[300];
    snprintf(expect, sizeof expect, "%s:100001: expected 'src dst weight', got 2 fields",
             path);
    gx_input_destroy(&in);
    in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    for (unsigned n = 1; n <= 4; n++) {
        unsigned failed = 0;
        for (unsigned s = 0; s < n; s++) {
            edges_t got = {0};
            doubles_t w = {0};
            gx_error_t e = {0};
            if (read_split_weighted(in, s, n, 500, &got, &w, &e) < 0) {
                failed++;
                cr_assert_str_eq(e.msg, expect, "split %u of %u", s, n);
                cr_assert_eq(s, n - 1, "split %u of %u", s, n);
            }
            free(got.e);
            free(w.v);
        }
        cr_assert_eq(failed, 1, "%u splits: %u failed", n, failed);
    }
    gx_input_destroy(&in);
    free(seq.e);
    free(seqw.v);
    free(want.e);
    free(wants.v);
    free(t.s);
}

// Reads bytes[0..n) as standard input (a pipe a thread feeds) with weights.
static int
read_stdin_weighted(const char *bytes, size_t n, edges_t *out, doubles_t *w,
                    gx_error_t *err)
{
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    feeder_t f = {.fd = p[1], .s = bytes, .n = n};
    cr_assert_geq(dup2(p[0], STDIN_FILENO), 0);
    close(p[0]);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, feed, &f), 0);
    int rc = read_path_weighted("-", 1, GZ_CAP, out, w, err);
    int nul = open("/dev/null", O_RDONLY);  // as in assert_gz_reads
    cr_assert_geq(dup2(nul, STDIN_FILENO), 0);
    close(nul);
    pthread_join(th, NULL);
    return rc;
}

Test(loader, keeps_weights_of_gz_members_and_of_stdin)
{
    gx_test_text_t text = {0};
    edges_t want = {0};
    doubles_t wants = {0};
    random_weighted_list(&text, &want, &wants, 20000);
    // Members cut at arbitrary bytes, so lines and weights span members.
    gx_test_text_t gz = {0};
    for (size_t at = 0; at < text.n;) {
        size_t len = 1 + rng() % 40000;
        if (len > text.n - at)
            len = text.n - at;
        gz_member_add(&gz, text.s + at, len);
        at += len;
    }
    const char *path = gx_test_tmp_path("weighted.gz");
    gx_test_write_bytes(path, gz.s, gz.n);
    const char *sources[] = {"gz file", "gzip on stdin", "text on stdin"};
    for (int src = 0; src < 3; src++) {
        edges_t got = {0};
        doubles_t w = {0};
        gx_error_t err = {0};
        int rc = src == 0 ? read_path_weighted(path, 1, GZ_CAP, &got, &w, &err)
               : src == 1 ? read_stdin_weighted(gz.s, gz.n, &got, &w, &err)
               : read_stdin_weighted(text.s, text.n, &got, &w, &err);
        cr_assert_eq(rc, 0, "%s: %s", sources[src], err.msg);
        assert_edges(&got, want.e, want.n, sources[src]);
        assert_weights(&w, wants.v, wants.n, sources[src]);
        free(got.e);
        free(w.v);
    }
    // A missing weight on stdin is named by its line.
    edges_t got = {0};
    doubles_t w = {0};
    gx_error_t err = {0};
    const char bad[] = "1 2 1\n\n3 4\n";
    cr_assert_eq(read_stdin_weighted(bad, sizeof bad - 1, &got, &w, &err), -1);
    cr_assert_str_eq(err.msg, "stdin:3: expected 'src dst weight', got 2 fields");
    free(got.e);
    free(w.v);
    free(want.e);
    free(wants.v);
    free(text.s);
    free(gz.s);
}

Test(loader, keeps_weights_only_for_edge_lines)
{
    gx_error_t err = {0};
    const char *path = gx_test_write_tmp("v.txt", "1\n2\n");
    gx_input_t *in = gx_input_open(path, NULL, &err);
    cr_assert_not_null(in, "%s", err.msg);
    gx_reader_t *r = gx_reader_new(in, GX_LINES_VERTICES, 0, 1, &err);
    cr_assert_not_null(r, "%s", err.msg);
    gx_edge_t e[4];
    double w[4];
    cr_assert_eq(gx_reader_next(r, e, w, 4, &err), -1);
    char want[300];
    snprintf(want, sizeof want, "%s: weights are kept only for edge lines", path);
    cr_assert_str_eq(err.msg, want);
    cr_assert_eq(gx_reader_next(r, e, NULL, 4, &err), 2);    // nothing was read
    gx_reader_destroy(&r);
    gx_input_destroy(&in);
    size_t used = 9;
    uint64_t lines = 9;
    cr_assert_eq(gx_scan(GX_LINES_VERTICES, "1\n", 2, e, w, 4, &used, &lines, &err), -1);
    cr_assert_str_eq(err.msg, "weights are kept only for edge lines");
    cr_assert(used == 0 && lines == 0);
}

// --- Memory: the caller's allocator ------------------------------------------

// What a loader holds, block by block, as the engine's accountant would
// count it: every block it takes must come back.
static atomic_long live_blocks, n_allocs, n_resizes;

static void *
count_alloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (p) {
        atomic_fetch_add(&live_blocks, 1);
        atomic_fetch_add(&n_allocs, 1);
    }
    return p;
}

static void *
count_resize(void *p, size_t bytes)
{
    void *q = realloc(p, bytes);
    if (q && !p)
        atomic_fetch_add(&live_blocks, 1);
    atomic_fetch_add(&n_resizes, 1);
    return q;
}

static void
count_release(void *p)
{
    if (p)
        atomic_fetch_sub(&live_blocks, 1);
    free(p);
}

// A directory with a plain part and a gzip part, lines longer than the
// 16-byte window asked for (so it grows), read whole; then the plain part
// alone in three splits. Every block (the input, its paths, readers,
// windows, the gzip buffer and zlib's state) is the caller's and goes back.
Test(loader, takes_every_block_from_the_callers_allocator_and_gives_it_back)
{
    const gx_loader_mem_t mem = { count_alloc, count_resize, count_release,
                                  16 };
    cr_assert_eq(mkdir(gx_test_tmp_path("mem"), 0755), 0);
    gx_test_text_t t = { 0 };
    edges_t want = { 0 };
    for (uint64_t i = 0; i < 2000; i++) {
        uint64_t s = i * 1000003, d = (i * 7919) << 20;
        gx_test_text_add(&t, "%" PRIu64 "\t%" PRIu64 "\n", s, d);
        edges_push(&want, s, d);
    }
    char plain[256], packed[256];
    snprintf(plain, sizeof plain, "%s", gx_test_tmp_path("mem/part-0"));
    snprintf(packed, sizeof packed, "%s", gx_test_tmp_path("mem/part-1.gz"));
    gx_test_write_bytes(plain, t.s, t.n);
    gx_test_write_gz(packed, t.s, t.n);
    for (size_t i = 0; i < 2000; i++)
        edges_push(&want, want.e[i].src, want.e[i].dst);
    struct { const char *path; unsigned splits; size_t n; } cases[] = {
        { gx_test_tmp_path("mem"), 1, 4000 }, { plain, 3, 2000 },
    };
    for (size_t c = 0; c < 2; c++) {
        gx_error_t err = { 0 };
        atomic_store(&n_allocs, 0);
        atomic_store(&n_resizes, 0);
        gx_input_t *in = gx_input_open(cases[c].path, &mem, &err);
        cr_assert_not_null(in, "%s", err.msg);
        edges_t got = { 0 };
        for (unsigned s = 0; s < cases[c].splits; s++)
            cr_assert_eq(read_split(in, GX_LINES_EDGES, s, cases[c].splits, 100,
                                    &got, &err), 0, "%s", err.msg);
        gx_input_destroy(&in);
        assert_edges(&got, want.e, cases[c].n, cases[c].path);
        cr_assert_gt(atomic_load(&n_allocs), 3, "%s", cases[c].path);
        cr_assert_gt(atomic_load(&n_resizes), 0, "a 16-byte window grew");
        cr_assert_eq(atomic_load(&live_blocks), 0, "%s: %ld blocks kept",
                     cases[c].path, atomic_load(&live_blocks));
        free(got.e);
    }
    free(want.e);
    free(t.s);
}
