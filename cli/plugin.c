// cli/plugin.c: loading a vertex program from a shared object. dlopen's
// own errors for a file that is not a library for this machine are
// cryptic ("invalid ELF header", "wrong ELF class") or, for a PIE
// executable, odd, so the ELF header is read and checked first and each
// refusal says in plain words what the file is. dlopen runs code (the
// object's constructors): only a file that passed those checks gets there.
#include "cli/plugin.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#define GX_ELF_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define GX_ELF_MACHINE EM_AARCH64
#elif defined(__i386__)
#define GX_ELF_MACHINE EM_386
#elif defined(__arm__)
#define GX_ELF_MACHINE EM_ARM
#elif defined(__riscv)
#define GX_ELF_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define GX_ELF_MACHINE EM_PPC64
#elif defined(__s390x__)
#define GX_ELF_MACHINE EM_S390
#else
#error "graphx-run: unknown machine; add its EM_ constant to cli/plugin.c"
#endif

#if UINTPTR_MAX == 0xffffffffffffffffu
#define GX_ELF_CLASS ELFCLASS64
typedef Elf64_Ehdr ehdr_t;
#else
#define GX_ELF_CLASS ELFCLASS32
typedef Elf32_Ehdr ehdr_t;
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define GX_ELF_DATA ELFDATA2LSB
#else
#define GX_ELF_DATA ELFDATA2MSB
#endif

struct gx_plugin {
    char               *path;
    void               *handle;
    const gx_program_t *program;
};

typedef const gx_program_t *(entry_fn)(void);

static const char *
machine_name(unsigned m)
{
    switch (m) {
    case EM_X86_64:  return "x86-64";
    case EM_386:     return "i386";
    case EM_AARCH64: return "arm64";
    case EM_ARM:     return "arm";
    case EM_RISCV:   return "riscv";
    case EM_PPC64:   return "ppc64";
    case EM_PPC:     return "ppc";
    case EM_S390:    return "s390";
    case EM_MIPS:    return "mips";
    default:         return NULL;
    }
}

static const char *
type_name(unsigned t)
{
    switch (t) {
    case ET_REL:  return "a relocatable object (.o)";
    case ET_EXEC: return "an executable";
    case ET_CORE: return "a core dump";
    default:      return "not a shared object";
    }
}

static int
check_file(const char *path, gx_error_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return gx_error_set(err, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return gx_error_set(err, "%s: is a directory, not a plugin", path);
    if (!S_ISREG(st.st_mode))
        return gx_error_set(err, "%s: is not a regular file", path);
    return 0;
}

// The identification bytes first, so a text file is "not an ELF file" and
// a 32-bit object is named as such, whatever its length.
static int
check_ident(const char *path, const unsigned char *id, size_t got,
            gx_error_t *err)
{
    if (got < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG) != 0)
        return gx_error_set(err, "%s: not an ELF file (a plugin is a shared "
                            "object: cc -shared -fPIC)", path);
    if (id[EI_CLASS] != GX_ELF_CLASS)
        return gx_error_set(err, "%s: a %s ELF file; this graphx-run is "
                            "%d-bit", path, id[EI_CLASS] == ELFCLASS32
                            ? "32-bit" : id[EI_CLASS] == ELFCLASS64
                            ? "64-bit" : "bad-class",
                            GX_ELF_CLASS == ELFCLASS64 ? 64 : 32);
    if (id[EI_DATA] != GX_ELF_DATA)
        return gx_error_set(err, "%s: ELF data is %s; this machine is %s",
                            path, id[EI_DATA] == ELFDATA2MSB ? "big-endian"
                            : id[EI_DATA] == ELFDATA2LSB ? "little-endian"
                            : "of no known byte order",
                            GX_ELF_DATA == ELFDATA2LSB ? "little-endian"
                            : "big-endian");
    return 0;
}

static int
check_header(const char *path, const ehdr_t *h, size_t got, gx_error_t *err)
{
    if (check_ident(path, h->e_ident, got, err) != 0)
        return -1;
    if (got < sizeof *h)
        return gx_error_set(err, "%s: truncated ELF header (%zu bytes)",
                            path, got);
    if (h->e_machine != GX_ELF_MACHINE) {
        const char *want = machine_name(GX_ELF_MACHINE);
        const char *is = machine_name(h->e_machine);
        if (is)
            return gx_error_set(err, "%s: built for %s, this machine is %s",
                                path, is, want);
        return gx_error_set(err, "%s: built for ELF machine %u, this "
                            "machine is %s", path, (unsigned)h->e_machine,
                            want);
    }
    if (h->e_type != ET_DYN)
        return gx_error_set(err, "%s: %s, not a shared object (build it "
                            "with cc -shared -fPIC)", path,
                            type_name(h->e_type));
    return 0;
}

static int
check_elf(const char *path, gx_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return gx_error_set(err, "%s: cannot read: %s", path, strerror(errno));
    ehdr_t h;
    memset(&h, 0, sizeof h);
    size_t got = 0;
    while (got < sizeof h) {
        ssize_t n = read(fd, (char *)&h + got, sizeof h - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return gx_error_set(err, "%s: cannot read: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return check_header(path, &h, got, err);
}

// dlopen looks a name without a slash up in the library path: the file
// checked above must be the one loaded, so it gets "./".
static void *
load(const char *path, gx_error_t *err)
{
    char buf[4096];
    const char *name = path;
    if (!strchr(path, '/')) {
        int n = snprintf(buf, sizeof buf, "./%s", path);
        if (n < 0 || (size_t)n >= sizeof buf) {
            gx_error_set(err, "%s: %s", path, strerror(ENAMETOOLONG));
            return NULL;
        }
        name = buf;
    }
    dlerror();
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        gx_error_set(err, "%s: cannot load: %s", path, why ? why : "dlopen failed");
    }
    return h;
}

static const gx_program_t *
find_program(const char *path, void *handle, gx_error_t *err)
{
    dlerror();
    void *sym = dlsym(handle, GX_PROGRAM_ENTRY);
    if (!sym) {
        gx_error_set(err, "%s: no symbol '%s' (a plugin exports const "
                     "gx_program_t *%s(void))", path, GX_PROGRAM_ENTRY,
                     GX_PROGRAM_ENTRY);
        return NULL;
    }
    entry_fn *entry;
    memcpy(&entry, &sym, sizeof entry);      // POSIX: object to function pointer
    const gx_program_t *prog = entry();
    if (!prog) {
        gx_error_set(err, "%s: %s() returned NULL", path, GX_PROGRAM_ENTRY);
        return NULL;
    }
    gx_error_t why = { 0 };
    if (gx_program_check(prog, &why) != 0) {
        gx_error_set(err, "%s: %s", path, why.msg);
        return NULL;
    }
    return prog;
}

gx_plugin_t *
gx_plugin_open(const char *path, gx_error_t *err)
{
    if (check_file(path, err) != 0 || check_elf(path, err) != 0)
        return NULL;
    gx_plugin_t *self = calloc(1, sizeof *self);
    if (!self || !(self->path = strdup(path))) {
        free(self);
        gx_error_set(err, "%s: out of memory", path);
        return NULL;
    }
    if (!(self->handle = load(path, err))
        || !(self->program = find_program(path, self->handle, err)))
        gx_plugin_destroy(&self);
    return self;
}

const gx_program_t *
gx_plugin_program(const gx_plugin_t *self)
{
    return self->program;
}

const char *
gx_plugin_path(const gx_plugin_t *self)
{
    return self->path;
}

void
gx_plugin_destroy(gx_plugin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gx_plugin_t *self = *self_p;
    if (self->handle)
        dlclose(self->handle);
    free(self->path);
    free(self);
    *self_p = NULL;
}
