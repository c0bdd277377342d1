// loaders/parts.c: the files of an input. A directory is read as Hadoop and
// Spark write one: part files in name order, markers and hidden files
// skipped. Every file is checked here, at open, so that a file no worker
// could read, or a directory entry no worker would read, is one error
// naming it before the load starts, not a failure or silent loss later.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loaders/private.h"

static bool
ends_with_gz(const char *name)
{
    size_t n = strlen(name);
    return n >= 3 && strcmp(name + n - 3, ".gz") == 0;
}

int
gx_file_check(gx_file_t *f, char *path, char *name, const struct stat *st,
              gx_error_t *err)
{
    f->path = path;
    f->name = name;
    if (S_ISREG(st->st_mode)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return gx_error_set(err, "%s: %s", name, strerror(errno));
        close(fd);
        f->size = (uint64_t) st->st_size;
        f->access = ends_with_gz(path) ? GX_ACCESS_GZIP : GX_ACCESS_RANGE;
    } else {
        // A FIFO or device (e.g. <(zcat x) as /dev/fd/63): opening it could
        // block or consume it, so only check the permission.
        if (access(path, R_OK) < 0)
            return gx_error_set(err, "%s: %s", name, strerror(errno));
        f->size = 0;
        f->access = ends_with_gz(path) ? GX_ACCESS_GZIP : GX_ACCESS_STREAM;
    }
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

// The names found so far ("dir<sep>entry") and where their blocks come from.
typedef struct names {
    const gx_loader_mem_t *mem;
    char                 **at;
    size_t                 n, cap;
} names_t;

// Appends "dir<sep>entry" to the names, growing them by doubling.
static int
add_entry(names_t *nm, const char *dir, const char *sep, const char *entry,
          gx_error_t *err)
{
    if (nm->n == nm->cap) {
        size_t ncap = nm->cap ? nm->cap * 2 : 16;
        char **grown = nm->mem->resize(nm->at, ncap * sizeof *grown);
        if (!grown)
            return gx_error_set(err, "%s: out of memory", dir);
        nm->at = grown;
        nm->cap = ncap;
    }
    size_t len = strlen(dir) + strlen(sep) + strlen(entry) + 1;
    if (!(nm->at[nm->n] = nm->mem->alloc(len)))
        return gx_error_set(err, "%s: out of memory", dir);
    snprintf(nm->at[nm->n], len, "%s%s%s", dir, sep, entry);
    nm->n++;
    return 0;
}

// The entries of dir that may hold data, as paths "dir/entry" sorted by
// entry name. Hidden files and Hadoop/Spark markers (_SUCCESS, _logs,
// _temporary) start with '.' or '_' and are not data.
static int
dir_entries(const char *dir, const char *sep, names_t *nm, gx_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return gx_error_set(err, "%s: %s", dir, strerror(errno));
    int rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        if ((rc = add_entry(nm, dir, sep, e->d_name, err)) < 0)
            break;
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = gx_error_set(err, "%s: %s", dir, strerror(errno));
    closedir(d);
    // Same prefix on every name, so this is the order of the bare names.
    if (nm->n > 0)
        qsort(nm->at, nm->n, sizeof *nm->at, cmp_names);
    return rc;
}

// A part's name in messages: the directory as the user typed it, then the
// entry's bytes quoted, as they come from whoever made the files.
static char *
part_name(const gx_loader_mem_t *mem, const char *path, size_t entry_at)
{
    size_t n = strlen(path + entry_at), cap = entry_at + 4 * n + 4;
    char *name = mem->alloc(cap);
    if (name) {
        memcpy(name, path, entry_at);
        gx_quote(name + entry_at, cap - entry_at, path + entry_at, n, SIZE_MAX);
    }
    return name;
}

// Checks the part at path into f, taking path. Every entry that may be data
// must be a regular file: a subdirectory (a Hive-style "key=value/"
// partition) or a FIFO would otherwise be skipped, and its edges lost
// without a word.
static int
add_part(const gx_loader_mem_t *mem, gx_file_t *f, char *path, size_t entry_at,
         const char *dir, gx_error_t *err)
{
    char *name = part_name(mem, path, entry_at);
    struct stat st;
    int rc = 0;
    if (!name)
        rc = gx_error_set(err, "%s: out of memory", dir);
    else if (stat(path, &st) < 0)
        rc = gx_error_set(err, "%s: %s", name, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = gx_error_set(err, "%s: %s, so it would not be read (names starting "
                          "with '_' or '.' are skipped)", name,
                          S_ISDIR(st.st_mode) ? "a subdirectory" : "not a regular file");
    else if (gx_file_check(f, path, name, &st, err) < 0)
        rc = -1;
    if (rc < 0)
        mem->release(name);
    return rc;
}

int
gx_parts_list(const char *dir, const gx_loader_mem_t *mem, gx_file_t **files_p,
              size_t *n_p, gx_error_t *err)
{
    size_t dlen = strlen(dir);
    const char *sep = (dlen > 0 && dir[dlen - 1] == '/') ? "" : "/";
    names_t nm = { .mem = mem };
    size_t i = 0;
    int rc = dir_entries(dir, sep, &nm, err);
    if (rc == 0 && nm.n > 0
        && !(*files_p = mem->alloc(nm.n * sizeof **files_p)))
        rc = gx_error_set(err, "%s: out of memory", dir);
    if (rc == 0 && nm.n > 0)
        memset(*files_p, 0, nm.n * sizeof **files_p);
    for (; rc == 0 && i < nm.n; i++) {
        if ((rc = add_part(mem, &(*files_p)[*n_p], nm.at[i], dlen + strlen(sep),
                           dir, err)) < 0)
            break;
        (*n_p)++;                   // owns nm.at[i] and its name from here on
    }
    for (; i < nm.n; i++)                   // the paths not handed over
        mem->release(nm.at[i]);
    mem->release(nm.at);
    if (rc == 0 && *n_p == 0)
        rc = gx_error_set(err, "%s: no input files", dir);
    return rc;
}
