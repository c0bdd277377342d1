// tests/test_frames.c: the typed views suite (core/frames.h). Every kind
// survives pack, encode, decode and unpack with its fields intact; and a
// frame whose bins do not fit its kind (a bin missing or extra, a length
// off by one, a row count whose product wraps, another kind, an overlong
// string) is refused by its unpack, never read. Decoding works on a heap
// copy of exactly the encoded length, so a read past a bin shows under
// AddressSanitizer.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/frames.h"
#include "core/net.h"
#include "testutil.h"

// A frame after a trip over the wire: encoded, copied, decoded. The copy
// is the caller's to free.
static gx_frame_t
wire(const gx_frame_t *f, uint8_t **copy)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    gx_error_t err;
    cr_assert_eq(gx_frame_encode(f, &sb, &err), 0, "%s", err.msg);
    cr_assert_leq(sb.size, gx_frame_encoded_max(f));
    *copy = gx_test_copy(sb.data, sb.size);
    gx_frame_t out;
    cr_assert_eq(gx_frame_decode(*copy, sb.size, &out, &err), 0, "%s", err.msg);
    msgpack_sbuffer_destroy(&sb);
    return out;
}

Test(frames, every_kind_of_rows_round_trips)
{
    uint64_t ids[3] = { 7, 1ull << 40, UINT64_MAX - 1 };
    uint32_t loc[3] = { 0, 5, UINT32_MAX };
    uint64_t od[3] = { 1, 2, 3 }, idg[3] = { 4, 5, 6 };
    uint8_t *c;
    gx_layout_t lay = gx_rows_layout(GX_F_REG, 0);
    const void *reg_cols[4] = { ids, loc, od, idg };
    gx_frame_t f = gx_rows_pack(&lay, 9, 4, 3, reg_cols);
    gx_frame_t g = wire(&f, &c);
    gx_reg_view_t r;
    cr_assert_eq(gx_reg_unpack(&g, &r), 0);
    cr_assert(r.part == 4 && r.n == 3);
    for (uint64_t i = 0; i < 3; i++) {
        cr_assert_eq(gx_col_u64(r.id, i), ids[i]);
        cr_assert_eq(gx_col_u32(r.local, i), loc[i]);
        cr_assert_eq(gx_col_u64(r.outdeg, i), od[i]);
        cr_assert_eq(gx_col_u64(r.indeg, i), idg[i]);
    }
    free(c);

    // MSG with 12-byte messages: the width comes from the program.
    uint8_t msgs[3 * 12];
    for (size_t i = 0; i < sizeof msgs; i++)
        msgs[i] = (uint8_t)(i * 7 + 1);
    lay = gx_rows_layout(GX_F_MSG, 12);
    const void *msg_cols[2] = { loc, msgs };
    f = gx_rows_pack(&lay, 11, 2, 3, msg_cols);
    g = wire(&f, &c);
    gx_msg_view_t m;
    cr_assert_eq(gx_msg_unpack(&g, 12, &m), 0);
    cr_assert(m.sender == 2 && m.step == 11 && m.n == 3);
    cr_assert_eq(memcmp(gx_col_row(m.msg, 2, 12), msgs + 24, 12), 0);
    cr_assert_neq(gx_msg_unpack(&g, 8, &m), 0, "8-byte messages read as 12");
    cr_assert_neq(gx_sync_unpack(&g, 12, &(gx_sync_view_t){ 0 }), 0,
                  "a MSG frame taken for SYNC");
    free(c);
}

Test(frames, edges_weighted_and_not)
{
    gx_edge_t e[2] = { { 1, 2 }, { 3, 4 } };
    double wt[2] = { 0.5, -2.0 };
    uint8_t *c;
    gx_layout_t lw = gx_rows_layout(GX_F_EDGES, 1);
    gx_layout_t lu = gx_rows_layout(GX_F_EDGES, 0);
    cr_assert(lw.n_cols == 2 && lu.n_cols == 1);
    gx_frame_t f = gx_rows_pack(&lw, 0, 6, 2, (const void *[]){ e, wt });
    gx_frame_t g = wire(&f, &c);
    gx_edges_view_t v;
    cr_assert_eq(gx_edges_unpack(&g, true, &v), 0);
    cr_assert(v.part == 6 && v.n == 2 && v.weight);
    double w1;
    memcpy(&w1, gx_col_row(v.weight, 1, 8), 8);
    cr_assert_eq(w1, -2.0);
    cr_assert_neq(gx_edges_unpack(&g, false, &v), 0,
                  "weights where none were asked for");
    free(c);
    f = gx_rows_pack(&lu, 0, 6, 2, (const void *[]){ e });
    g = wire(&f, &c);
    cr_assert_eq(gx_edges_unpack(&g, false, &v), 0);
    cr_assert(v.weight == NULL);
    gx_edge_t e1;
    memcpy(&e1, gx_col_row(v.edge, 1, sizeof e1), sizeof e1);
    cr_assert(e1.src == 3 && e1.dst == 4);
    cr_assert_neq(gx_edges_unpack(&g, true, &v), 0, "weights missing");
    free(c);
}

Test(frames, empty_batches_and_results)
{
    uint8_t *c;
    gx_layout_t lay = gx_rows_layout(GX_F_RESULT, 8);
    gx_frame_t f = gx_rows_pack(&lay, 1, 3, 0, (const void *[]){ NULL, NULL });
    gx_frame_t g = wire(&f, &c);
    gx_result_view_t r;
    cr_assert_eq(gx_result_unpack(&g, 8, &r), 0);
    cr_assert(r.worker == 3 && r.n == 0 && r.last);
    free(c);
    // step is the last-batch flag: anything above 1 is no RESULT.
    f.step = 2;
    g = wire(&f, &c);
    cr_assert_neq(gx_result_unpack(&g, 8, &r), 0);
    free(c);
}

// Each row kind refuses a frame whose bins are one byte short, one bin
// short, one bin over, or whose row count makes count * width wrap.
Test(frames, malformed_rows_are_refused)
{
    static const uint32_t kinds[] = { GX_F_EDGES, GX_F_REG, GX_F_ROUTE,
                                      GX_F_MSG, GX_F_SYNC, GX_F_DIRECT,
                                      GX_F_RESULT };
    static uint8_t buf[4][64];
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        gx_layout_t lay = gx_rows_layout(kinds[k], 8);
        gx_frame_t good = { .kind = kinds[k], .b = 2, .n_bins = lay.n_cols };
        for (uint32_t i = 0; i < lay.n_cols; i++) {
            good.bin[i] = buf[i];
            good.bin_len[i] = 2 * lay.width[i];
        }
        for (int bad = -1; bad < 5; bad++) {
            gx_frame_t f = good;
            if (bad == 0)
                f.bin_len[lay.n_cols - 1]--;
            else if (bad == 1)
                f.n_bins--;
            else if (bad == 2)
                f.bin_len[f.n_bins++] = 0;
            else if (bad == 3)                  // 2^61 * 8 wraps to 0
                f.b = 1ull << 61, f.bin_len[0] = 0;
            else if (bad == 4)
                f.kind = kinds[(k + 1) % 7];
            union {
                gx_edges_view_t e; gx_reg_view_t r; gx_route_view_t o;
                gx_msg_view_t m; gx_sync_view_t s; gx_direct_view_t d;
                gx_result_view_t v;
            } u;
            int rc;
            switch (kinds[k]) {
            case GX_F_EDGES:  rc = gx_edges_unpack(&f, true, &u.e); break;
            case GX_F_REG:    rc = gx_reg_unpack(&f, &u.r); break;
            case GX_F_ROUTE:  rc = gx_route_unpack(&f, &u.o); break;
            case GX_F_MSG:    rc = gx_msg_unpack(&f, 8, &u.m); break;
            case GX_F_SYNC:   rc = gx_sync_unpack(&f, 8, &u.s); break;
            case GX_F_DIRECT: rc = gx_direct_unpack(&f, 8, &u.d); break;
            default:          rc = gx_result_unpack(&f, 8, &u.v); break;
            }
            if (bad < 0)
                cr_assert_eq(rc, 0, "a good %s frame refused",
                             gx_frame_kind_name(kinds[k]));
            else
                cr_assert_neq(rc, 0, "a %s frame with fault %d taken",
                              gx_frame_kind_name(kinds[k]), bad);
        }
    }
}

Test(frames, the_barrier_round_trips)
{
    uint64_t stats[GX_STAT_N];
    for (int i = 0; i < GX_STAT_N; i++)
        stats[i] = 1000u + (uint64_t)i;
    gx_agg_value_t agg[2];
    memset(agg, 0xab, sizeof agg);
    uint32_t sent[3] = { 1, 0, 7 };
    gx_report_view_t rv = { .step = 5, .worker = 2, .n_aggs = 2, .W = 3,
                            .stats = stats, .agg = agg, .sent = sent };
    uint8_t *c;
    gx_frame_t f = gx_report_pack(&rv);
    gx_frame_t g = wire(&f, &c);
    gx_report_view_t r;
    cr_assert_eq(gx_report_unpack(&g, 2, 3, &r), 0);
    cr_assert(r.step == 5 && r.worker == 2);
    cr_assert_eq(gx_col_u64(r.stats, GX_STAT_N - 1), 1000u + GX_STAT_N - 1);
    cr_assert_eq(memcmp(r.agg, agg, sizeof agg), 0);
    cr_assert_eq(gx_col_u32(r.sent, 2), 7);
    cr_assert_null(r.proc, "figures where none were packed");
    cr_assert_neq(gx_report_unpack(&g, 1, 3, &r), 0, "aggregates miscounted");
    cr_assert_neq(gx_report_unpack(&g, 2, 4, &r), 0, "workers miscounted");
    free(c);
}

// A worker process's figures ride in the REPORT of one of its threads:
// all of them or none, never a part.
Test(frames, a_report_carries_its_process_figures)
{
    uint64_t stats[GX_STAT_N] = { 0 }, proc[GX_PROC_N];
    for (int i = 0; i < GX_PROC_N; i++)
        proc[i] = 7000u + (uint64_t)i;
    uint32_t sent[2] = { 0, 0 };
    gx_report_view_t rv = { .step = 3, .worker = 1, .W = 2, .stats = stats,
                            .sent = sent, .proc = proc };
    uint8_t *c;
    gx_frame_t f = gx_report_pack(&rv);
    gx_frame_t g = wire(&f, &c);
    gx_report_view_t r;
    cr_assert_eq(gx_report_unpack(&g, 0, 2, &r), 0);
    cr_assert_not_null(r.proc);
    cr_assert_eq(gx_col_u64(r.proc, GX_PROC_READ_BACK),
                 7000u + GX_PROC_READ_BACK);
    cr_assert_eq(gx_col_u64(r.proc, GX_PROC_N - 1), 7000u + GX_PROC_N - 1);
    g.bin_len[3] -= 8;
    cr_assert_neq(gx_report_unpack(&g, 0, 2, &r), 0, "a cut figures bin");
    free(c);
}

Test(frames, go_and_progress_round_trip)
{
    gx_agg_value_t agg[2];
    memset(agg, 0xab, sizeof agg);
    gx_report_view_t r;
    uint8_t *c;
    gx_frame_t f, g;

    uint64_t facts[GX_FACT_N] = { 10, 20 }, expect = 42;
    gx_agg_value_t global[GX_MAX_GLOBALS];
    memset(global, 0x5c, sizeof global);
    gx_go_view_t gv = { .n_aggs = 2, .agg = agg, .facts = facts,
                        .expect = &expect, .global = global };
    f = gx_go_pack(&gv);
    g = wire(&f, &c);
    gx_go_view_t go;
    cr_assert_eq(gx_go_unpack(&g, 2, &go), 0);
    cr_assert_eq(gx_col_u64(go.expect, 0), 42);
    cr_assert_eq(gx_col_u64(go.facts, 1), 20);
    cr_assert_eq(memcmp(go.global, global, sizeof global), 0);
    cr_assert_neq(gx_go_unpack(&g, 0, &go), 0);
    cr_assert_neq(gx_report_unpack(&g, 2, 3, &r), 0, "GO taken for REPORT");
    free(c);

    uint64_t s[2] = { 123456789, 98765 }, bytes, edges;
    f = gx_progress_pack(4, s);
    g = wire(&f, &c);
    cr_assert_eq(gx_progress_unpack(&g, &bytes, &edges), 0);
    cr_assert(bytes == s[0] && edges == s[1] && g.a == 4);
    g.bin_len[0] = 8;
    cr_assert_neq(gx_progress_unpack(&g, &bytes, &edges), 0);
    free(c);
}

Test(frames, registration_round_trips_and_says_what_it_can)
{
    gx_register_t r = { .protocol = GX_PROTOCOL_VERSION, .threads = 3,
                        .abi = 2, .port = 40123, .version = "9.9.9",
                        .host = "node-7.example" };
    for (int i = 0; i < GX_NONCE_BYTES; i++)
        r.nonce[i] = (uint8_t)(i * 3);
    uint8_t *c;
    gx_frame_t f = gx_register_pack(&r);
    gx_frame_t g = wire(&f, &c);
    gx_register_t back;
    cr_assert_eq(gx_register_unpack(&g, &back), 0);
    cr_assert(back.protocol == r.protocol && back.threads == 3
              && back.abi == 2 && back.port == 40123);
    cr_assert_str_eq(back.version, "9.9.9");
    cr_assert_str_eq(back.host, "node-7.example");
    cr_assert_eq(memcmp(back.nonce, r.nonce, GX_NONCE_BYTES), 0);

    // Without a nonce it is malformed, yet its version and ABI are read,
    // so that another release is told as such.
    g.n_bins = 4;
    cr_assert_neq(gx_register_unpack(&g, &back), 0);
    cr_assert_str_eq(back.version, "9.9.9");
    cr_assert_eq(back.abi, 2);
    g.n_bins = 5;
    g.bin_len[1] = 0;                           // no host
    cr_assert_neq(gx_register_unpack(&g, &back), 0);
    free(c);

    // A version with a NUL inside, or too long, is shown as "?".
    char longv[100];
    memset(longv, 'v', sizeof longv - 1);
    longv[sizeof longv - 1] = 0;
    gx_frame_t h = { .kind = GX_N_REGISTER, .b = 1, .n_bins = 1 };
    h.bin[0] = longv;
    h.bin_len[0] = strlen(longv);
    cr_assert_neq(gx_register_unpack(&h, &back), 0);
    cr_assert_str_eq(back.version, "?");
}

Test(frames, challenge_proof_and_run)
{
    uint8_t nonce[GX_NONCE_BYTES], proof[GX_PROOF_BYTES];
    memset(nonce, 1, sizeof nonce);
    memset(proof, 2, sizeof proof);
    uint8_t *c;
    gx_frame_t f = gx_challenge_pack(nonce, proof);
    gx_frame_t g = wire(&f, &c);
    const uint8_t *n, *p;
    cr_assert_eq(gx_challenge_unpack(&g, &n, &p), 0);
    cr_assert(memcmp(n, nonce, sizeof nonce) == 0
              && memcmp(p, proof, sizeof proof) == 0);
    cr_assert_neq(gx_proof_unpack(&g, &p), 0, "a CHALLENGE taken for PROOF");
    g.bin_len[1] = GX_PROOF_BYTES - 1;
    cr_assert_neq(gx_challenge_unpack(&g, &n, &p), 0);
    free(c);
    f = gx_proof_pack(proof);
    g = wire(&f, &c);
    cr_assert_eq(gx_proof_unpack(&g, &p), 0);
    cr_assert_eq(memcmp(p, proof, sizeof proof), 0);
    free(c);

    gx_run_view_t rv = { .run_id = 77, .proc = 2, .desc = "desc",
                         .desc_len = 4, .table = "tbl", .table_len = 3 };
    f = gx_run_pack(&rv);
    g = wire(&f, &c);
    gx_run_view_t v;
    cr_assert_eq(gx_run_unpack(&g, &v), 0);
    cr_assert(v.run_id == 77 && v.proc == 2 && v.desc_len == 4
              && v.table_len == 3 && v.plugin == NULL && v.plugin_len == 0);
    cr_assert_eq(memcmp(v.table, "tbl", 3), 0);
    g.b = 0;                                    // process 0 is the master
    cr_assert_neq(gx_run_unpack(&g, &v), 0);
    free(c);
}

Test(frames, note_text_is_cut_and_made_printable)
{
    char out[8];
    gx_frame_t f = gx_note_pack(GX_N_FAIL, 5, 1, "a\tb\nc\x1b[31mlong text");
    gx_note_text(&f, out, sizeof out);
    cr_assert_str_eq(out, "a?b?c?[");
    cr_assert(f.a == 5 && f.b == 1);
    f = gx_note_pack(GX_N_BEAT, 5, 1, NULL);
    cr_assert_eq(f.n_bins, 0);
    gx_note_text(&f, out, sizeof out);
    cr_assert_str_eq(out, "");
}
