// core/frames.c: the frames' typed views (core/frames.h). Each kind's
// meaning of a, b and its bins is written here once, for packing and for
// unpacking alike; every length a received frame claims is checked
// against the view before anyone reads a byte of it.
#include "core/frames.h"

#include "core/net.h"

// ---- Rows ------------------------------------------------------------------

gx_layout_t
gx_rows_layout(uint32_t kind, uint32_t payload)
{
    gx_layout_t l = { .kind = kind };
    switch (kind) {
    case GX_F_EDGES:                 // edge, [weight]
        l.n_cols = payload ? 2 : 1;
        l.width[0] = sizeof(gx_edge_t);
        l.width[1] = payload ? sizeof(double) : 0;
        break;
    case GX_F_REG:                   // id, local, out-degree, in-degree
        l.n_cols = 4;
        l.width[0] = 8, l.width[1] = 4, l.width[2] = 8, l.width[3] = 8;
        break;
    case GX_F_ROUTE:                 // local, master
        l.n_cols = 2;
        l.width[0] = 4, l.width[1] = 4;
        break;
    case GX_F_MSG:                   // master, message
    case GX_F_SYNC:                  // local, message
        l.n_cols = 2;
        l.width[0] = 4, l.width[1] = payload;
        break;
    case GX_F_DIRECT:                // vertex id, direct message
    case GX_F_RESULT:                // vertex id, value
        l.n_cols = 2;
        l.width[0] = 8, l.width[1] = payload;
        break;
    default:
        break;
    }
    return l;
}

gx_frame_t
gx_rows_pack(const gx_layout_t *lay, uint64_t step, uint64_t a, uint64_t n,
             const void *const *col)
{
    gx_frame_t f = { .kind = lay->kind, .step = step, .a = a, .b = n,
                     .n_bins = lay->n_cols };
    for (uint32_t c = 0; c < lay->n_cols; c++) {
        f.bin[c] = n ? col[c] : "";
        f.bin_len[c] = (size_t)n * lay->width[c];
    }
    return f;
}

// Whether f is a frame of rows of this layout: of its kind, with exactly
// its columns, each of b rows (b * width must not wrap to the bin's
// length). col[] then points at the columns.
static int
rows_unpack(const gx_frame_t *f, const gx_layout_t *lay, const void **col)
{
    if (f->kind != lay->kind || lay->n_cols == 0 || f->n_bins != lay->n_cols)
        return -1;
    for (uint32_t c = 0; c < lay->n_cols; c++) {
        if (!gx_frame_rows_ok(f, c, lay->width[c]))
            return -1;
        col[c] = f->bin[c];
    }
    return 0;
}

int
gx_edges_unpack(const gx_frame_t *f, bool weighted, gx_edges_view_t *v)
{
    gx_layout_t lay = gx_rows_layout(GX_F_EDGES, weighted);
    const void *col[GX_ROWS_MAX_COLS] = { 0 };
    if (rows_unpack(f, &lay, col) != 0)
        return -1;
    *v = (gx_edges_view_t){ .part = f->a, .n = f->b, .edge = col[0],
                            .weight = col[1] };
    return 0;
}

int
gx_reg_unpack(const gx_frame_t *f, gx_reg_view_t *v)
{
    gx_layout_t lay = gx_rows_layout(GX_F_REG, 0);
    const void *col[GX_ROWS_MAX_COLS];
    if (rows_unpack(f, &lay, col) != 0)
        return -1;
    *v = (gx_reg_view_t){ .part = f->a, .n = f->b, .id = col[0],
                          .local = col[1], .outdeg = col[2],
                          .indeg = col[3] };
    return 0;
}

int
gx_route_unpack(const gx_frame_t *f, gx_route_view_t *v)
{
    gx_layout_t lay = gx_rows_layout(GX_F_ROUTE, 0);
    const void *col[GX_ROWS_MAX_COLS];
    if (rows_unpack(f, &lay, col) != 0)
        return -1;
    *v = (gx_route_view_t){ .part = f->a, .n = f->b, .local = col[0],
                            .master = col[1] };
    return 0;
}

int
gx_msg_unpack(const gx_frame_t *f, uint32_t msg_size, gx_msg_view_t *v)
{
    gx_layout_t lay = gx_rows_layout(GX_F_MSG, msg_size);
    const void *col[GX_ROWS_MAX_COLS];
    if (msg_size == 0 || rows_unpack(f, &lay, col) != 0)
        return -1;
    *v = (gx_msg_view_t){ .sender = f->a, .step = f->step, .n = f->b,
                          .master = col[0], .msg = col[1] };
    return 0;
}

int
gx_sync_unpack(const gx_frame_t *f, uint32_t msg_size, gx_sync_view_t *v)
{
    gx_layout_t lay = gx_rows_layout(GX_F_SYNC, msg_size);
    const void *col[GX_ROWS_MAX_COLS];
    if (msg_size == 0 || rows_unpack(f, &lay, col) != 0)
        return -1;
    *v = (gx_sync_view_t){ .part = f->a, .step = f->step, .n = f->b,
                           .local = col[0], .msg = col[1] };
    return 0;
}

int
gx_direct_unpack(const gx_frame_t *f, uint32_t direct_size,
                 gx_direct_view_t *v)
{
    gx_layout_t lay = gx_rows_layout(GX_F_DIRECT, direct_size);
    const void *col[GX_ROWS_MAX_COLS];
    if (direct_size == 0 || rows_unpack(f, &lay, col) != 0)
        return -1;
    *v = (gx_direct_view_t){ .sender = f->a, .step = f->step, .n = f->b,
                             .id = col[0], .msg = col[1] };
    return 0;
}

int
gx_result_unpack(const gx_frame_t *f, uint32_t value_size,
                 gx_result_view_t *v)
{
    gx_layout_t lay = gx_rows_layout(GX_F_RESULT, value_size);
    const void *col[GX_ROWS_MAX_COLS];
    if (value_size == 0 || f->step > 1 || rows_unpack(f, &lay, col) != 0)
        return -1;
    *v = (gx_result_view_t){ .worker = f->a, .n = f->b, .last = f->step == 1,
                             .id = col[0], .value = col[1] };
    return 0;
}

// ---- The barrier -------------------------------------------------------------

// bin i holds exactly len bytes.
static bool
bin_is(const gx_frame_t *f, uint32_t i, size_t len)
{
    return f->n_bins > i && f->bin_len[i] == len;
}

gx_frame_t
gx_report_pack(const gx_report_view_t *v)
{
    gx_frame_t f = { .kind = GX_F_REPORT, .step = v->step, .a = v->worker,
                     .n_bins = 4 };
    f.bin[0] = v->stats;
    f.bin_len[0] = GX_STAT_N * sizeof(uint64_t);
    f.bin[1] = v->n_aggs ? v->agg : "";
    f.bin_len[1] = v->n_aggs * sizeof(gx_agg_value_t);
    f.bin[2] = v->sent;
    f.bin_len[2] = (size_t)v->W * 4;
    f.bin[3] = v->proc ? v->proc : "";
    f.bin_len[3] = v->proc ? GX_PROC_N * sizeof(uint64_t) : 0;
    return f;
}

int
gx_report_unpack(const gx_frame_t *f, uint32_t n_aggs, uint32_t W,
                 gx_report_view_t *v)
{
    if (f->kind != GX_F_REPORT || f->n_bins != 4 || f->b != 0
        || f->a > UINT32_MAX || !bin_is(f, 0, GX_STAT_N * sizeof(uint64_t))
        || !bin_is(f, 1, n_aggs * sizeof(gx_agg_value_t))
        || !bin_is(f, 2, (size_t)W * 4)
        || (!bin_is(f, 3, 0) && !bin_is(f, 3, GX_PROC_N * sizeof(uint64_t))))
        return -1;
    *v = (gx_report_view_t){ .step = f->step, .worker = (uint32_t)f->a,
                             .n_aggs = n_aggs, .W = W, .stats = f->bin[0],
                             .agg = f->bin[1], .sent = f->bin[2],
                             .proc = f->bin_len[3] ? f->bin[3] : NULL };
    return 0;
}

gx_frame_t
gx_go_pack(const gx_go_view_t *v)
{
    gx_frame_t f = { .kind = GX_F_GO, .n_bins = 4 };
    f.bin[0] = v->n_aggs ? v->agg : "";
    f.bin_len[0] = v->n_aggs * sizeof(gx_agg_value_t);
    f.bin[1] = v->facts;
    f.bin_len[1] = GX_FACT_N * sizeof(uint64_t);
    f.bin[2] = v->expect;
    f.bin_len[2] = sizeof(uint64_t);
    f.bin[3] = v->global;
    f.bin_len[3] = GX_MAX_GLOBALS * sizeof(gx_agg_value_t);
    return f;
}

int
gx_go_unpack(const gx_frame_t *f, uint32_t n_aggs, gx_go_view_t *v)
{
    if (f->kind != GX_F_GO || f->n_bins != 4
        || !bin_is(f, 0, n_aggs * sizeof(gx_agg_value_t))
        || !bin_is(f, 1, GX_FACT_N * sizeof(uint64_t))
        || !bin_is(f, 2, sizeof(uint64_t))
        || !bin_is(f, 3, GX_MAX_GLOBALS * sizeof(gx_agg_value_t)))
        return -1;
    *v = (gx_go_view_t){ .n_aggs = n_aggs, .agg = f->bin[0],
                         .facts = f->bin[1], .expect = f->bin[2],
                         .global = f->bin[3] };
    return 0;
}

gx_frame_t
gx_progress_pack(uint32_t worker, const uint64_t s[2])
{
    gx_frame_t f = { .kind = GX_F_PROGRESS, .a = worker, .n_bins = 1 };
    f.bin[0] = s;
    f.bin_len[0] = 2 * sizeof(uint64_t);
    return f;
}

int
gx_progress_unpack(const gx_frame_t *f, uint64_t *bytes, uint64_t *edges)
{
    if (f->kind != GX_F_PROGRESS || f->n_bins != 1 || !bin_is(f, 0, 16))
        return -1;
    *bytes = gx_col_u64(f->bin[0], 0);
    *edges = gx_col_u64(f->bin[0], 1);
    return 0;
}

// ---- Registration and the run ----------------------------------------------

// Bin i as a C string of fewer than cap bytes with no NUL inside.
static bool
bin_str(const gx_frame_t *f, uint32_t i, char *out, size_t cap)
{
    if (f->n_bins <= i || f->bin_len[i] >= cap
        || memchr(f->bin[i], 0, f->bin_len[i]))
        return false;
    memcpy(out, f->bin[i], f->bin_len[i]);
    out[f->bin_len[i]] = 0;
    return true;
}

gx_frame_t
gx_register_pack(const gx_register_t *r)
{
    gx_frame_t f = { .kind = GX_N_REGISTER, .step = r->protocol,
                     .b = r->threads, .n_bins = 5 };
    f.bin[0] = r->version;
    f.bin_len[0] = strlen(r->version);
    f.bin[1] = r->host;
    f.bin_len[1] = strlen(r->host);
    f.bin[2] = &r->port;
    f.bin_len[2] = sizeof r->port;
    f.bin[3] = &r->abi;
    f.bin_len[3] = sizeof r->abi;
    f.bin[4] = r->nonce;
    f.bin_len[4] = GX_NONCE_BYTES;
    return f;
}

int
gx_register_unpack(const gx_frame_t *f, gx_register_t *r)
{
    memset(r, 0, sizeof *r);
    r->protocol = f->step;
    if (!bin_str(f, 0, r->version, sizeof r->version))
        strcpy(r->version, "?");
    if (bin_is(f, 3, sizeof r->abi))
        memcpy(&r->abi, f->bin[3], sizeof r->abi);
    if (f->kind != GX_N_REGISTER || f->n_bins != 5 || f->b == 0
        || f->b > UINT32_MAX || !bin_str(f, 1, r->host, sizeof r->host)
        || !r->host[0] || !bin_is(f, 2, sizeof r->port)
        || !bin_is(f, 3, sizeof r->abi) || !bin_is(f, 4, GX_NONCE_BYTES))
        return -1;
    r->threads = (uint32_t)f->b;
    memcpy(&r->port, f->bin[2], sizeof r->port);
    memcpy(r->nonce, f->bin[4], GX_NONCE_BYTES);
    return 0;
}

gx_frame_t
gx_challenge_pack(const uint8_t *nonce, const uint8_t *proof)
{
    gx_frame_t f = { .kind = GX_N_CHALLENGE, .n_bins = 2 };
    f.bin[0] = nonce;
    f.bin_len[0] = GX_NONCE_BYTES;
    f.bin[1] = proof;
    f.bin_len[1] = GX_PROOF_BYTES;
    return f;
}

int
gx_challenge_unpack(const gx_frame_t *f, const uint8_t **nonce,
                    const uint8_t **proof)
{
    if (f->kind != GX_N_CHALLENGE || f->n_bins != 2
        || !bin_is(f, 0, GX_NONCE_BYTES) || !bin_is(f, 1, GX_PROOF_BYTES))
        return -1;
    *nonce = f->bin[0];
    *proof = f->bin[1];
    return 0;
}

gx_frame_t
gx_proof_pack(const uint8_t *proof)
{
    gx_frame_t f = { .kind = GX_N_PROOF, .n_bins = 1 };
    f.bin[0] = proof;
    f.bin_len[0] = GX_PROOF_BYTES;
    return f;
}

int
gx_proof_unpack(const gx_frame_t *f, const uint8_t **proof)
{
    if (f->kind != GX_N_PROOF || f->n_bins != 1
        || !bin_is(f, 0, GX_PROOF_BYTES))
        return -1;
    *proof = f->bin[0];
    return 0;
}

gx_frame_t
gx_run_pack(const gx_run_view_t *v)
{
    gx_frame_t f = { .kind = GX_N_RUN, .a = v->run_id, .b = v->proc,
                     .n_bins = 3 };
    f.bin[0] = v->desc;
    f.bin_len[0] = v->desc_len;
    f.bin[1] = v->table;
    f.bin_len[1] = v->table_len;
    f.bin[2] = v->plugin_len ? v->plugin : "";
    f.bin_len[2] = v->plugin_len;
    return f;
}

int
gx_run_unpack(const gx_frame_t *f, gx_run_view_t *v)
{
    if (f->kind != GX_N_RUN || f->n_bins != 3 || f->b == 0
        || f->b > UINT32_MAX)
        return -1;
    *v = (gx_run_view_t){ .run_id = f->a, .proc = (uint32_t)f->b,
                          .desc = f->bin[0], .desc_len = f->bin_len[0],
                          .table = f->bin[1], .table_len = f->bin_len[1],
                          .plugin = f->bin_len[2] ? f->bin[2] : NULL,
                          .plugin_len = f->bin_len[2] };
    return 0;
}

gx_frame_t
gx_note_pack(uint32_t kind, uint64_t run_id, uint64_t from, const char *text)
{
    gx_frame_t f = { .kind = kind, .a = run_id, .b = from,
                     .n_bins = text ? 1 : 0 };
    f.bin[0] = text;
    f.bin_len[0] = text ? strlen(text) : 0;
    return f;
}

void
gx_note_text(const gx_frame_t *f, char *out, size_t cap)
{
    size_t n = f->n_bins ? f->bin_len[0] : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, n ? f->bin[0] : "", n);
    out[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 32)
            out[i] = '?';
}
