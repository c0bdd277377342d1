// core/line.c: one vertex's output line (core/line.h).
#include "core/line.h"

// Digits by hand: printf per line would cost more than the whole run's
// output deserves on a 10^8-vertex graph.
static size_t
put_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

int
gx_value_line(const gx_program_t *p, uint64_t id, const void *value,
              char *out)
{
    size_t len = put_u64(out, id);
    out[len++] = '\t';
    int n = p->format(value, out + len, GX_VALUE_TEXT_MAX + 1);
    if (n < 0 || n > GX_VALUE_TEXT_MAX)
        return -1;
    len += (size_t)n;
    out[len++] = '\n';
    return (int)len;
}
