// loaders/input.c: the gx_input_* entry points. An input is what the user
// named (a file, a directory of part files, a .gz, "-" or a stream passed on
// by the hub) made into a list of files, each with its access (private.h),
// their sizes and their offsets in the concatenation, which the readers'
// splits divide. Opening checks everything a worker would otherwise find
// out later and alone: existence, permissions, what a directory holds.
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loaders/private.h"

#define STDIN_NAME "stdin"

char *
gx_loader_strdup(const gx_loader_mem_t *mem, const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = mem->alloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

// The input's files array of n, zeroed.
static gx_file_t *
files_new(const gx_loader_mem_t *mem, size_t n)
{
    gx_file_t *f = mem->alloc(n * sizeof *f);
    if (f)
        memset(f, 0, n * sizeof *f);
    return f;
}

// An input of one file, named `name` in messages, whose access is known
// without looking at it (stdin, a stream): path and name are copies.
static int
one_stream(gx_input_t *self, const char *name, int fd, gx_error_t *err)
{
    const gx_loader_mem_t *m = &self->mem;
    char *copy = gx_loader_strdup(m, name), *fname = gx_loader_strdup(m, name);
    self->files = files_new(m, 1);
    if (!self->files || !copy || !fname) {
        m->release(copy);
        m->release(fname);
        return gx_error_set(err, "%s: out of memory", self->path);
    }
    self->is_stdin = true;
    self->stream_fd = fd;
    self->files[0] = (gx_file_t) {.path = copy, .name = fname,
                                  .access = GX_ACCESS_STREAM};
    self->nfiles = 1;
    return 0;
}

// An input of the one file the user named: in messages as typed, as cli/
// does.
static int
one_file(gx_input_t *self, const struct stat *st, gx_error_t *err)
{
    const gx_loader_mem_t *m = &self->mem;
    char *copy = gx_loader_strdup(m, self->path);
    char *name = gx_loader_strdup(m, self->path);
    self->files = files_new(m, 1);
    if (!self->files || !copy || !name) {
        m->release(copy);
        m->release(name);
        return gx_error_set(err, "%s: out of memory", self->path);
    }
    if (gx_file_check(&self->files[0], copy, name, st, err) < 0) {
        m->release(copy);
        m->release(name);
        return -1;
    }
    self->nfiles = 1;
    return 0;
}

// Lays the files end to end: each one's base, the total, and whether the
// input splits (every file read by byte range).
static void
lay_out(gx_input_t *self)
{
    self->splittable = true;
    for (size_t i = 0; i < self->nfiles; i++) {
        self->files[i].base = self->total;
        self->total += self->files[i].size;
        if (self->files[i].access != GX_ACCESS_RANGE)
            self->splittable = false;
    }
}

// The caller's calls, libc's where it gives none.
static gx_loader_mem_t
mem_of(const gx_loader_mem_t *given)
{
    gx_loader_mem_t m = given ? *given : (gx_loader_mem_t){ 0 };
    if (!m.alloc)
        m.alloc = malloc;
    if (!m.resize)
        m.resize = realloc;
    if (!m.release)
        m.release = free;
    if (!m.window)
        m.window = GX_LOADER_BUFSIZE;
    return m;
}

static gx_input_t *
input_new(const char *path, const gx_loader_mem_t *given, gx_error_t *err)
{
    gx_loader_mem_t m = mem_of(given);
    gx_input_t *self = m.alloc(sizeof *self);
    if (self) {
        memset(self, 0, sizeof *self);
        self->mem = m;
    }
    if (!self || !(self->path = gx_loader_strdup(&m, path))) {
        gx_error_set(err, "%s: out of memory", path);
        m.release(self);
        return NULL;
    }
    atomic_init(&self->stdin_taken, false);
    return self;
}

gx_input_t *
gx_input_open_stream(const char *name, int fd, const gx_loader_mem_t *mem,
                     gx_error_t *err)
{
    gx_input_t *self = input_new(name, mem, err);
    if (self && one_stream(self, name, fd, err) < 0)
        gx_input_destroy(&self);
    if (self)
        lay_out(self);
    return self;
}

gx_input_t *
gx_input_open(const char *path, const gx_loader_mem_t *mem, gx_error_t *err)
{
    gx_input_t *self = input_new(path, mem, err);
    if (!self)
        return NULL;
    int rc;
    struct stat st;
    if (strcmp(path, "-") == 0)
        rc = one_stream(self, STDIN_NAME, STDIN_FILENO, err);
    else if (stat(path, &st) < 0)
        rc = gx_error_set(err, "%s: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = gx_parts_list(path, &self->mem, &self->files, &self->nfiles, err);
    else
        rc = one_file(self, &st, err);
    if (rc < 0) {
        gx_input_destroy(&self);
        return NULL;
    }
    lay_out(self);
    return self;
}

void
gx_input_destroy(gx_input_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gx_input_t *self = *self_p;
    void (*release)(void *) = self->mem.release;
    for (size_t i = 0; i < self->nfiles; i++) {
        release(self->files[i].path);
        release(self->files[i].name);
    }
    release(self->files);
    release(self->path);
    release(self);
    *self_p = NULL;
}

bool
gx_input_splittable(const gx_input_t *self)
{
    return self->splittable;
}

uint64_t
gx_input_bytes(const gx_input_t *self)
{
    return self->total;
}

void
gx_input_set_window(gx_input_t *self, size_t window)
{
    self->mem.window = window ? window : GX_LOADER_BUFSIZE;
}

const char *
gx_input_path(const gx_input_t *self)
{
    return self->path;
}
