// store/files.c: the store's names on disk, and the checks that read them.
// A name says whose file it is, graphx-spill-HOST-NS-PID-N, so that a
// later run can tell what a killed process left from what a live one
// holds, in a spill dir that other hosts (over NFS) or other containers
// (their own pid namespace, maybe the same host name) may share: a pid
// means something only on one host and in one pid namespace.
#define _GNU_SOURCE                         // O_TMPFILE
#include "store/files.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_MAX 64                          // HOST_NAME_MAX on Linux

// The host name with anything but [A-Za-z0-9._-] made '_', so that a name
// is one path component and parses back. "-" stays: names parse from the
// right, where the three numbers are.
static void
host_token(char out[HOST_MAX + 1])
{
    if (gethostname(out, HOST_MAX + 1) != 0 || out[0] == '\0')
        snprintf(out, HOST_MAX + 1, "localhost");
    out[HOST_MAX] = '\0';
    for (char *c = out; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
                  || (*c >= '0' && *c <= '9') || strchr("._-", *c);
        if (!ok)
            *c = '_';
    }
}

// The inode of this process's pid namespace (the same for every process
// in it), or 0 where /proc is not mounted.
static unsigned long long
pid_ns(void)
{
    struct stat st;
    if (stat("/proc/self/ns/pid", &st) != 0)
        return 0;
    return (unsigned long long)st.st_ino;
}

int
gx_store_name_next(char *path, size_t cap, const char *dir)
{
    static atomic_ullong count;
    char host[HOST_MAX + 1];
    host_token(host);
    unsigned long long n = atomic_fetch_add(&count, 1);
    int len = snprintf(path, cap, "%s/" GX_STORE_PREFIX "%s-%llu-%ld-%llu", dir,
                       host, pid_ns(), (long)getpid(), n);
    return len < 0 || (size_t)len + sizeof GX_STORE_LOCKSFX > cap ? -1 : 0;
}

// The decimal number that ends s[0, *end), with no sign and no leading
// zero (our names have none), preceded by '-'; *end moves to that '-'.
static bool
number_before(const char *s, size_t *end, unsigned long long *out)
{
    size_t e = *end, b = e;
    while (b > 0 && s[b - 1] >= '0' && s[b - 1] <= '9')
        b--;
    if (b == e || e - b > 19 || b == 0 || s[b - 1] != '-'
        || (s[b] == '0' && e - b > 1))
        return false;
    unsigned long long v = 0;
    for (size_t i = b; i < e; i++)
        v = v * 10 + (unsigned long long)(s[i] - '0');   // 19 digits: no wrap
    *out = v;
    *end = b - 1;
    return true;
}

// Whether `name` is a store file (data or lock) of this host and pid
// namespace; its pid in *pid.
static bool
parse_name(const char *name, const char *host, unsigned long long ns, pid_t *pid)
{
    size_t plen = strlen(GX_STORE_PREFIX), slen = strlen(GX_STORE_LOCKSFX);
    if (strncmp(name, GX_STORE_PREFIX, plen) != 0)
        return false;
    const char *s = name + plen;
    size_t end = strlen(s);
    if (end > slen && strcmp(s + end - slen, GX_STORE_LOCKSFX) == 0)
        end -= slen;
    unsigned long long n, p, their_ns;
    if (!number_before(s, &end, &n) || !number_before(s, &end, &p)
        || !number_before(s, &end, &their_ns))
        return false;
    if (end != strlen(host) || memcmp(s, host, end) != 0 || their_ns != ns
        || p == 0 || p > INT_MAX)
        return false;
    *pid = (pid_t)p;
    return true;
}

// One entry of the sweep: removed (1), left (0), or failed (-1, errno).
static int
sweep_one(int dfd, const char *name, const char *host, unsigned long long ns)
{
    pid_t pid;
    if (!parse_name(name, host, ns, &pid))
        return 0;
    // EPERM: alive, under another user. Only ESRCH says it is gone.
    if (kill(pid, 0) == 0 || errno != ESRCH)
        return 0;
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    // Only regular files, and only ours: another user's in a shared /tmp
    // is theirs to sweep (the sticky bit would refuse us anyway).
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return 0;
    if (unlinkat(dfd, name, 0) != 0)
        return errno == ENOENT ? 0 : -1;
    return 1;
}

int
gx_store_sweep(const char *dir, gx_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return gx_error_set(err, "spill dir %s: cannot list it: %s", dir,
                            strerror(errno));
    char host[HOST_MAX + 1];
    host_token(host);
    unsigned long long ns = pid_ns();
    int removed = 0, failed = 0;
    char failed_name[256] = "";
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        int rc = sweep_one(dirfd(d), e->d_name, host, ns);
        if (rc > 0 && removed < INT_MAX)
            removed++;
        if (rc < 0 && !failed) {
            failed = errno;
            snprintf(failed_name, sizeof failed_name, "%s", e->d_name);
        }
        errno = 0;
    }
    int list_errno = errno;
    closedir(d);
    if (failed)
        return gx_error_set(err, "spill dir %s: cannot remove %s, left by a "
                            "process that is gone: %s", dir, failed_name,
                            strerror(failed));
    if (list_errno)
        return gx_error_set(err, "spill dir %s: cannot list it: %s", dir,
                            strerror(list_errno));
    return removed;
}

// A file in dir that has no name, or whose name is gone at once (a
// filesystem without O_TMPFILE). That name is a store's: were the process
// killed in between, a later sweep would remove it.
static int
probe_file(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    char path[4096];
    if (gx_store_name_next(path, sizeof path, dir) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
        unlink(path);
    return fd;
}

int
gx_store_check_dir(const char *dir, gx_error_t *err)
{
    struct stat st;
    if (!dir || !*dir)
        return gx_error_set(err, "spill dir: none given");
    if (stat(dir, &st) != 0)
        return errno == ENOENT
               ? gx_error_set(err, "spill dir %s does not exist", dir)
               : gx_error_set(err, "spill dir %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return gx_error_set(err, "spill dir %s is not a directory", dir);
    // access(2) is not enough: root passes it for /proc and for a 0500
    // dir alike, and only the second is writable. Creating a file is.
    int fd = probe_file(dir);
    if (fd < 0)
        return gx_error_set(err, "spill dir %s is not writable: %s", dir,
                            strerror(errno));
    // One page written, so a full disk shows here, not at the first spill.
    static const char page[4096];
    ssize_t w = pwrite(fd, page, sizeof page, 0);
    int w_errno = errno;
    close(fd);
    if (w != (ssize_t)sizeof page)
        return gx_error_set(err, "spill dir %s: cannot write to it: %s", dir,
                            w < 0 ? strerror(w_errno) : "a short write");
    return 0;
}
