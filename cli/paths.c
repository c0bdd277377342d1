// cli/paths.c: where an output path really goes, and whether two
// command-line paths name one file. Outputs are written to a temporary and
// renamed over their target (the end of any chain of symbolic links), so
// two outputs clash when they have one target, and an output destroys an
// input that is that target or the inode behind it (st_dev/st_ino).
#define _GNU_SOURCE                         // asprintf
#include "cli/paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define PROC_MAGIC 0x9fa0                   // statfs f_type of procfs
#define MAX_LINKS  40                       // as the kernel's ELOOP

// The directory part of `path`: "." for a bare name, "/" for "/x".
static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return !slash ? strdup(".")
           : strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

// The entry `path` names: its directory resolved (symlinks, "." and ".."
// as the kernel sees them) and its last component as given. NULL when the
// directory does not resolve.
static char *
resolved_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = dir_of(path);
    char *real = dir ? realpath(dir, NULL) : NULL;
    free(dir);
    if (!real)
        return NULL;
    char *name = NULL;
    if (asprintf(&name, "%s/%s", strcmp(real, "/") ? real : "", base) < 0)
        name = NULL;
    free(real);
    return name;
}

// Is `dir` this process's own descriptor table, and `base` a number in it?
static bool
own_fd(const char *dir, const char *base, int *fd)
{
    struct stat d, self;
    if (stat(dir, &d) != 0)
        return false;
    bool ours = (stat("/proc/self/fd", &self) == 0 && self.st_dev == d.st_dev
                 && self.st_ino == d.st_ino)
                || (stat("/proc/thread-self/fd", &self) == 0
                    && self.st_dev == d.st_dev && self.st_ino == d.st_ino);
    char *end;
    errno = 0;
    long n = strtol(base, &end, 10);
    if (!ours || !*base || *end || errno || n < 0 || n > INT_MAX)
        return false;
    *fd = (int)n;
    return true;
}

// One step along a chain: 1 and t->path replaced by what the link at it
// points to, 0 at the end of the chain, -1 on an error (errno).
static int
follow(gx_target_t *t)
{
    struct stat st;
    if (lstat(t->path, &st) != 0 || !S_ISLNK(st.st_mode))
        return 0;                   // a missing name is the file to create
    char *dir = dir_of(t->path);
    if (!dir)
        return -1;
    struct statfs fs;
    bool proc = statfs(dir, &fs) == 0 && fs.f_type == PROC_MAGIC;
    const char *base = strrchr(t->path, '/') ? strrchr(t->path, '/') + 1
                                             : t->path;
    if (proc) {
        if (!own_fd(dir, base, &t->fd))
            t->in_place = true;
        free(dir);
        return 0;
    }
    char text[PATH_MAX];
    ssize_t n = readlink(t->path, text, sizeof text - 1);
    if (n < 0) {
        free(dir);
        return 0;                   // opening it will say why
    }
    text[n] = '\0';
    // A relative link is relative to the directory that holds it.
    char *next = NULL;
    int rc = text[0] == '/' ? ((next = strdup(text)) ? 0 : -1)
                            : asprintf(&next, "%s/%s", dir, text);
    free(dir);
    if (rc < 0 || !next)
        return -1;
    free(t->path);
    t->path = next;
    return 1;
}

int
gx_paths_target(const char *path, gx_target_t *t)
{
    *t = (gx_target_t){ .path = strdup(path), .fd = -1 };
    if (!t->path)
        return -1;
    int rc = 1;
    for (int hops = 0; hops <= MAX_LINKS && rc > 0; hops++)
        rc = follow(t);
    if (rc == 0)
        return 0;
    int e = rc > 0 ? ELOOP : errno;
    free(t->path);
    t->path = NULL;
    errno = e;
    return -1;
}

// The resolved name of the file an output at `path` would create.
static char *
target_name(const char *path)
{
    gx_target_t t;
    if (gx_paths_target(path, &t) != 0)
        return NULL;
    char *name = resolved_name(t.path);
    free(t.path);
    return name;
}

bool
gx_paths_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    bool ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return S_ISREG(sa.st_mode) && S_ISREG(sb.st_mode)
               && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea || eb)
        return false;               // one name exists and one does not
    // Neither exists yet: the same file iff the same resolved target. If a
    // directory does not resolve, the plain strings decide, and opening
    // the file will report the missing directory.
    char *ra = target_name(a), *rb = target_name(b);
    bool same = ra && rb ? strcmp(ra, rb) == 0 : strcmp(a, b) == 0;
    free(ra);
    free(rb);
    return same;
}

static bool
stat_input(const char *path, struct stat *st)
{
    if (strcmp(path, "-") == 0)
        return fstat(STDIN_FILENO, st) == 0;
    return stat(path, st) == 0;
}

bool
gx_paths_same_stream(const char *a, const char *b)
{
    // "-" is read as a stream from fd 0 even when that is a regular file,
    // so the second reader would start where the first stopped.
    if (strcmp(a, "-") == 0 && strcmp(b, "-") == 0)
        return true;
    // Otherwise only pipes and sockets are shared streams. A character
    // device gives each open its own reads (/dev/null twice is fine), and a
    // terminal read twice is the user's own typing.
    struct stat sa, sb;
    if (!stat_input(a, &sa) || !stat_input(b, &sb))
        return false;
    bool stream = S_ISFIFO(sa.st_mode) || S_ISSOCK(sa.st_mode);
    return stream && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

char *
gx_paths_absolute(const char *path)
{
    if (path[0] == '/' || strcmp(path, "-") == 0)
        return strdup(path);
    char *cwd = get_current_dir_name();
    if (!cwd)
        return NULL;
    char *abs = NULL;
    if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) < 0)
        abs = NULL;
    free(cwd);
    return abs;
}
