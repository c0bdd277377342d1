// include/graphx/error.h: the one way errors travel. A failing function
// returns -1 (or NULL) and fills a caller-owned gx_error_t; failing never
// allocates, so an out-of-memory error can still be reported.
#ifndef GRAPHX_ERROR_H
#define GRAPHX_ERROR_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

// What kind of failure an error is, for code that must decide by it
// (the text is for people: no decision reads it).
typedef enum gx_errc {
    GX_E_OK = 0,
    GX_E_FAILED,            // any failure not named below
    GX_E_MASTER_GONE,       // distributed: the master stopped answering
    GX_E_STOPPED,           // distributed: the master stopped the run
    GX_E_REFUSED,           // distributed: the master refused this worker
    GX_E_AUTH,              // distributed: a message failed authentication
    GX_E_INTERRUPTED,       // a signal ended the run (gx_interrupt)
} gx_errc_t;

// 512 bytes, as when it held only `msg[512]` (plugins of ABI 2 fill it in
// their setup()): a plugin built against either layout writes within the
// other's 512 bytes, and its NUL lands inside them.
typedef struct gx_error {
    char    msg[508];
    int32_t code;                     // a gx_errc_t
} gx_error_t;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 0)))
#endif
static inline int
gx_error_vsetc(gx_error_t *err, gx_errc_t code, const char *fmt, va_list ap)
{
    if (err) {
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        err->code = (int32_t)code;
    }
    return -1;
}

// Formats the message into err (if err is not NULL) with `code` and
// returns -1, so a failure is one line.
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int
gx_error_setc(gx_error_t *err, gx_errc_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gx_error_vsetc(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

// The same as GX_E_FAILED: `return gx_error_set(err, "...", ...);`
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline int
gx_error_set(gx_error_t *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gx_error_vsetc(err, GX_E_FAILED, fmt, ap);
    va_end(ap);
    return -1;
}

#endif
