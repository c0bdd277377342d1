// include/graphx/error.h: the one way errors travel. A failing function
// returns -1 (or NULL) and fills a caller-owned gx_error_t; failing never
// allocates, so an out-of-memory error can still be reported.
#ifndef GRAPHX_ERROR_H
#define GRAPHX_ERROR_H

#include <stdarg.h>
#include <stdio.h>

typedef struct gx_error {
    char msg[512];
} gx_error_t;

// Formats the message into err (if err is not NULL) and returns -1, so a
// failure is one line: `return gx_error_set(err, "...", ...);`
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline int
gx_error_set(gx_error_t *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#endif
