// cli/parts.c: --output-parts DIR around the run (cli/parts.h).
#include "cli/parts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// A name an earlier run's output could have: refused, so that a reader of
// DIR never takes one run's part for another's.
static bool
is_output_name(const char *name)
{
    return strncmp(name, "part-", 5) == 0 || strncmp(name, ".part-", 6) == 0
           || strcmp(name, "_SUCCESS") == 0;
}

static int
check_empty_of_parts(const char *dir, gx_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return gx_error_set(err, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)))
        if (is_output_name(e->d_name))
            rc = gx_error_set(err, "%s: already holds %s from another run "
                              "(remove it, or name another directory)", dir,
                              e->d_name);
    closedir(d);
    return rc;
}

int
gx_parts_prepare(gx_parts_t *p, const char *dir, unsigned workers,
                 gx_error_t *err)
{
    // p->dir is set only once DIR is ours to clean: a refusal must not
    // take an earlier run's parts away.
    *p = (gx_parts_t){ .workers = workers };
    if (!dir)
        return 0;
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return gx_error_set(err, "%s: not a directory", dir);
        if (check_empty_of_parts(dir, err) != 0)
            return -1;
    } else if (errno != ENOENT) {
        return gx_error_set(err, "%s: %s", dir, strerror(errno));
    } else if (mkdir(dir, 0777) != 0) {
        return gx_error_set(err, "cannot create directory %s: %s", dir,
                            strerror(errno));
    } else {
        p->created = true;
    }
    p->dir = dir;
    return 0;
}

int
gx_parts_commit(gx_parts_t *p, gx_error_t *err)
{
    if (!p->dir)
        return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/_SUCCESS", p->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || close(fd) != 0)
        return gx_error_set(err, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

void
gx_parts_abandon(gx_parts_t *p)
{
    if (!p->dir)
        return;
    char path[4096];
    for (unsigned w = 0; w < p->workers; w++) {
        snprintf(path, sizeof path, "%s/part-%05u", p->dir, w);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/_SUCCESS", p->dir);
    unlink(path);
    if (p->created)
        rmdir(p->dir);
}
