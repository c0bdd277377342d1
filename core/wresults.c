// core/wresults.c: a worker's values at the end of a run: streamed to the
// master in RESULT batches (core/gather.c merges them), or written to this
// worker's part file with --output-parts (docs/design.md, "A run", 5).
#include "core/wresults.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "core/line.h"
#include "core/wframes.h"

#define RESULT_ROWS  8192u           // values per RESULT frame

// The master's word to send the next batch of values.
static int
await_more(worker_t *w)
{
    gx_inframe_t in = { 0 };
    gx_error_t err;
    if (gx_recv(w->mb.ctl, &in, -1, &err) != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    uint32_t kind = in.f.kind;
    gx_inframe_close(&in);
    if (kind != GX_F_MORE)
        return gx_alarm_raise(&w->alarm, "worker %u: unexpected %s frame "
                              "from the master", w->self,
                              gx_frame_kind_name(kind));
    return 0;
}

// This worker's values, sorted by id (its masters are), in batches the
// master asks for one at a time (core/gather.c): step 1 marks the last.
int
gx_worker_send_results(worker_t *w)
{
    gx_layout_t lay = gx_rows_layout(GX_F_RESULT, (uint32_t)w->vsz);
    uint32_t m = 0;
    do {
        uint32_t n = w->mt.n_master - m < RESULT_ROWS ? w->mt.n_master - m
                                                   : RESULT_ROWS;
        bool last = m + n == w->mt.n_master;
        const void *col[2] = { w->mt.mid + m,
                               w->mt.value + (size_t)m * w->vsz };
        gx_frame_t f = gx_rows_pack(&lay, last, w->self, n, col);
        gx_error_t err;
        if (gx_send(w->mb.ctl, 0, &f, NULL, &err) != 0)
            return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
        m += n;
        if (!last && await_more(w) != 0)
            return -1;
    } while (m < w->mt.n_master);
    return 0;
}

// --output-parts: this worker's vertices, sorted by id (its masters are),
// to DIR/part-NNNNN under a temporary name; RESULT_END tells the master
// how many. The master's word (GO) renames it: no part appears before
// every part is whole.
int
gx_worker_write_part(worker_t *w)
{
    const char *dir = w->e->job->output_parts;
    char final[sizeof w->part_tmp];
    snprintf(w->part_tmp, sizeof w->part_tmp, "%s/.part-%05u.tmp", dir, w->self);
    snprintf(final, sizeof final, "%s/part-%05u", dir, w->self);
    FILE *f = fopen(w->part_tmp, "w");
    // On a host of a distributed run that does not share the master's
    // filesystem, DIR may not exist yet: it is made here, as on the master.
    if (!f && errno == ENOENT && (mkdir(dir, 0777) == 0 || errno == EEXIST))
        f = fopen(w->part_tmp, "w");
    if (!f)
        return gx_alarm_raise(&w->alarm, "cannot create %s: %s", w->part_tmp,
                              strerror(errno));
    w->part_pending = true;
    errno = 0;
    char line[GX_LINE_MAX];
    for (uint32_t m = 0; m < w->mt.n_master && !w->alarm.raised; m++) {
        int n = gx_value_line(w->prog, w->mt.mid[m],
                              w->mt.value + (size_t)m * w->vsz, line);
        if (n < 0)
            gx_alarm_raise(&w->alarm, "%s: program %s formatted a value badly",
                           w->part_tmp, w->prog->name);
        else
            fwrite(line, 1, (size_t)n, f);
    }
    int bad = ferror(f);
    if ((fclose(f) != 0 || bad) && !w->alarm.raised)
        return gx_alarm_raise(&w->alarm, "cannot write %s: %s", w->part_tmp,
                              strerror(errno ? errno : EIO));
    gx_error_t err;
    gx_frame_t end = { .kind = GX_F_RESULT_END, .a = w->self,
                       .b = w->mt.n_master };
    if (w->alarm.raised || gx_send(w->mb.ctl, 0, &end, NULL, &err) != 0)
        return w->alarm.raised ? -1 : gx_alarm_raise(&w->alarm,
                                                     "worker %u: %s", w->self,
                                                     err.msg);
    if (gx_worker_await_command(w) != 0)
        return -1;
    if (rename(w->part_tmp, final) != 0)
        return gx_alarm_raise(&w->alarm, "cannot rename %s to %s: %s",
                              w->part_tmp, final, strerror(errno));
    w->part_pending = false;
    end.b = 0;
    if (gx_send(w->mb.ctl, 0, &end, NULL, &err) != 0)
        return gx_alarm_raise(&w->alarm, "worker %u: %s", w->self, err.msg);
    return 0;
}
