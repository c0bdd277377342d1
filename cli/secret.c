// cli/secret.c: see secret.h.
#include "cli/secret.h"

#include <errno.h>
#include <fcntl.h>
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

static int
from_file(gx_secret_t *s, const char *path, gx_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gx_error_set(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return gx_error_set(err, "%s: not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return gx_error_set(err, "%s: readable or writable by others (chmod "
                            "600 it)", path);
    }
    ssize_t n = read(fd, s->bytes, sizeof s->bytes);
    int e = errno;
    char extra;
    bool more = n == (ssize_t)sizeof s->bytes && read(fd, &extra, 1) == 1;
    close(fd);
    if (n < 0)
        return gx_error_set(err, "%s: %s", path, strerror(e));
    if (more)
        return gx_error_set(err, "%s: longer than %d bytes", path,
                            GX_SECRET_MAX);
    s->len = (size_t)n;
    trim(s);
    if (s->len == 0)
        return gx_error_set(err, "%s: the secret is empty", path);
    return 0;
}

int
gx_secret_load(gx_secret_t *s, const char *path, gx_error_t *err)
{
    s->len = 0;
    if (path)
        return from_file(s, path, err);
    const char *env = getenv("GRAPHX_SECRET");
    if (!env)
        return 0;
    size_t n = strlen(env);
    if (n == 0 || n > sizeof s->bytes)
        return gx_error_set(err, "GRAPHX_SECRET must hold 1 to %d bytes",
                            GX_SECRET_MAX);
    memcpy(s->bytes, env, n);
    s->len = n;
    trim(s);
    return 0;
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
}

void
gx_secret_wipe(gx_secret_t *s)
{
    volatile char *p = s->bytes;
    for (size_t i = 0; i < sizeof s->bytes; i++)
        p[i] = 0;
    s->len = 0;
}
