// cli/secret.c: see secret.h.
#include "cli/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/net.h"

static void
trim(gx_secret_t *s)
{
    if (s->len && s->bytes[s->len - 1] == '\n')
        s->len--;
    if (s->len && s->bytes[s->len - 1] == '\r')
        s->len--;
}

// The rules every source shares, once trimmed; `from` names the source.
static int
check(const gx_secret_t *s, const char *from, gx_error_t *err)
{
    if (s->len == 0)
        return gx_error_set(err, "%s: the secret is empty", from);
    if (s->len < GX_SECRET_MIN)
        return gx_error_set(err, "%s: the secret is %zu bytes; at least %d are "
                            "needed (make one with: head -c 32 /dev/urandom | "
                            "base64 > FILE; chmod 600 FILE)", from, s->len,
                            GX_SECRET_MIN);
    return 0;
}

// All of `fd` up to EOF into s (a pipe may deliver it in pieces). The
// caller closes fd.
static int
read_all(gx_secret_t *s, int fd, const char *from, gx_error_t *err)
{
    s->len = 0;
    for (;;) {
        char extra;
        bool full = s->len == sizeof s->bytes;
        size_t room = sizeof s->bytes - s->len;
        ssize_t n = full ? read(fd, &extra, 1)
                         : read(fd, s->bytes + s->len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return gx_error_set(err, "%s: %s", from, strerror(errno));
        if (n == 0)
            break;
        if (full)
            return gx_error_set(err, "%s: longer than %d bytes", from,
                                GX_SECRET_MAX);
        s->len += (size_t)n;
    }
    trim(s);
    return check(s, from, err);
}

static int
from_file(gx_secret_t *s, const char *path, gx_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gx_error_set(err, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = gx_error_set(err, "%s: not a regular file", path);
    else if (st.st_mode & 077)
        rc = gx_error_set(err, "%s: readable or writable by others (chmod "
                          "600 it)", path);
    else
        rc = read_all(s, fd, path, err);
    close(fd);
    return rc;
}

static int
from_fd(gx_secret_t *s, int fd, gx_error_t *err)
{
    char from[32];
    snprintf(from, sizeof from, "--secret-fd %d", fd);
    if (fcntl(fd, F_GETFD) < 0)
        return gx_error_set(err, "%s: %s", from, strerror(errno));
    int rc = read_all(s, fd, from, err);
    close(fd);                         // nothing else is to come through it
    return rc;
}

// GRAPHX_SECRET's value lives in the block the kernel copied at exec, which
// /proc/PID/environ reads: unsetenv only drops the pointer to it, so its
// bytes are zeroed first (which also keeps it from the children this
// process starts). getenv's string is writable: it is either that block
// or a putenv/setenv copy, and nothing here putenv's a literal.
static void
scrub_env(void)
{
    char *v = getenv("GRAPHX_SECRET");
    if (v)
        explicit_bzero(v, strlen(v));
    unsetenv("GRAPHX_SECRET");
}

static int
from_env(gx_secret_t *s, gx_error_t *err)
{
    const char *env = getenv("GRAPHX_SECRET");
    if (!env)
        return 0;
    size_t n = strlen(env);
    if (n > sizeof s->bytes)
        return gx_error_set(err, "GRAPHX_SECRET: longer than %d bytes",
                            GX_SECRET_MAX);
    memcpy(s->bytes, env, n);
    s->len = n;
    trim(s);
    return check(s, "GRAPHX_SECRET", err);
}

int
gx_secret_load(gx_secret_t *s, const char *path, int fd, gx_error_t *err)
{
    s->len = 0;
    int rc = fd >= 0 ? from_fd(s, fd, err)
             : path  ? from_file(s, path, err)
             : from_env(s, err);
    scrub_env();
    if (rc != 0)
        gx_secret_wipe(s);
    return rc;
}

void
gx_secret_make(gx_secret_t *s)
{
    unsigned char raw[32];
    gx_auth_init(NULL);
    gx_auth_random(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(s->bytes + 2 * i, 3, "%02x", raw[i]);
    s->len = 2 * sizeof raw;
    explicit_bzero(raw, sizeof raw);
}

void
gx_secret_wipe(gx_secret_t *s)
{
    explicit_bzero(s->bytes, sizeof s->bytes);
    s->len = 0;
}
