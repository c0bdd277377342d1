// cli/paths.c: whether two command-line paths name one file. Outputs are
// written to a temporary and renamed, and rename replaces a directory
// entry: so two outputs clash when they are one entry (compared by name
// with the directory resolved), and an output destroys an input that is
// that entry or the inode behind it (compared by st_dev/st_ino).
#define _GNU_SOURCE                         // asprintf
#include "cli/paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// The entry a rename over `path` would replace: its directory resolved
// (symlinks, "." and ".." as the kernel sees them) and its last component
// as given, since rename replaces a symlink, not what it points to. NULL
// when the directory does not resolve.
static char *
resolved_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = !slash ? strdup(".")
              : strndup(path, slash == path ? 1 : (size_t)(slash - path));
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
    // Neither exists yet: the same entry iff the same resolved name. If a
    // directory does not resolve, the plain strings decide, and opening
    // the file will report the missing directory.
    char *ra = resolved_name(a), *rb = resolved_name(b);
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
