// store/env.c: the store's environment (see env.h, store.h): created at
// the first put, run under one lock, grown when full, closed with its
// files. What shaped it:
// - The map must grow when a put finds it full, and mdb_env_set_mapsize
//   may run only while the process has no transaction open. So every
//   transaction runs under a rwlock taken shared, and growth (and the
//   lazy open) take it exclusive. The lock prefers writers: a stream of
//   gets cannot starve a growth.
// - Without MDB_WRITEMAP the map is read-only and commits go out by
//   pwrite: written pages are page cache, never our RSS (and a stray
//   pointer cannot write into the map).
// - A write cut short by a full disk comes back from LMDB as EIO (its
//   page flush turns a short pwrite into EIO). The error then asks the
//   filesystem how much room is left and says so.
// - A failed mdb_env_set_mapsize leaves the environment unmapped: any
//   later transaction would fault. The store refuses all further work
//   then (close still works), and checks first that the address space
//   has room for the new map, so that running out of it is an ordinary,
//   recoverable error.
#define _GNU_SOURCE                          // pthread_rwlockattr_setkind_np
#include "store/env.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAP_MIN      ((size_t)256 << 10)
// Reader slots: with MDB_NOTLS one per get in flight, not per thread.
#define READERS      1024
// What a commit writes beyond its blocks (tree pages, the free list): a
// write failing with this much room or less left is a full disk.
#define WRITE_SLACK  ((size_t)1 << 20)
#define ENV_FLAGS    (MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOMETASYNC | MDB_NOTLS)

// The rwlock calls cannot fail here: EAGAIN needs 2^30 readers and
// EDEADLK a thread that takes it twice, which no path of this file does.
static void
lock_shared(gx_store_t *self)
{
    (void)pthread_rwlock_rdlock(&self->lock);
}

static void
lock_exclusive(gx_store_t *self)
{
    (void)pthread_rwlock_wrlock(&self->lock);
}

static void
unlock(gx_store_t *self)
{
    (void)pthread_rwlock_unlock(&self->lock);
}

// A full disk shows as EIO as often as ENOSPC (see the top): either,
// with no more room left than the write needed, is reported as one.
int
gx_store_fail(const gx_store_t *self, int rc, const char *doing, size_t wrote,
     gx_error_t *err)
{
    struct statvfs vfs;
    if ((rc == EIO || rc == ENOSPC) && statvfs(self->dir, &vfs) == 0) {
        unsigned long long room = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
        if (rc == ENOSPC || room <= (unsigned long long)wrote + WRITE_SLACK)
            return gx_error_set(err, "spill %s: %s: no space left on device "
                                "(%llu bytes free in %s)", self->path, doing,
                                room, self->dir);
    }
    return gx_error_set(err, "spill %s: %s: %s", self->path, doing,
                        mdb_strerror(rc));
}

static int
broken_error(const gx_store_t *self, gx_error_t *err)
{
    return gx_error_set(err, "spill %s: unusable since a growth of its map "
                        "failed: %s", self->path, mdb_strerror(self->broken));
}

// Creates both files, so that LMDB, which opens them with O_CREAT and
// follows links, only ever opens files of ours: the names are known in
// advance, and a link planted at one in a shared /tmp would have it write
// wherever the link points. A file already there has our host, pid
// namespace and pid: a dead process that had our pid left it.
static int
create_files(const gx_store_t *self)
{
    const char *paths[2] = { self->path, self->lock_path };
    int flags = O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW;
    for (int i = 0; i < 2; i++) {
        int fd = open(paths[i], flags, 0600);
        if (fd < 0 && errno == EEXIST && unlink(paths[i]) == 0)
            fd = open(paths[i], flags, 0600);
        if (fd < 0) {
            int e = errno;
            if (i == 1)
                unlink(self->path);
            return e;
        }
        close(fd);               // before LMDB opens it (lmdb.h: fcntl locks)
    }
    return 0;
}

static int
open_dbi(MDB_env *env, MDB_dbi *dbi)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, dbi);
    return rc == 0 ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
}

// The first put's, under the exclusive lock. Once LMDB holds descriptors
// to both files it needs their names no more (it never opens a file by
// name again, and growth maps the same descriptor), so they go at once
// unless keep_names, and a kill -9 then leaves nothing behind: the kernel
// frees the space with the last descriptor.
// The map's pages a transaction touched are mapped file pages, and they
// would stay in the resident set until the kernel wants them back: the
// blocks read, the tree's pages, the first page of each block replaced or
// removed, and around each page faulted in, its neighbours already in the
// page cache (fault-around; MADV_RANDOM does not stop it). So each
// transaction drops the whole map from the resident set as it ends: the
// pages stay in the page cache, and the next read of one is a minor
// fault. Safe at any time: the map is a read-only file mapping, and a
// reader in another thread faults what it reads back in.
static void
drop_map(const gx_store_t *self)
{
    if (self->map_at)
        (void)madvise(self->map_at, self->map_len, MADV_DONTNEED);
}

// Where LMDB mapped the data file: it does not say (mdb_env_info gives
// an address only for MDB_FIXEDMAP), so the process's own map list is
// read for the mapping of the file's inode. After open and each growth,
// which maps it anew; under the exclusive lock. Not found: no dropping.
static void
find_map(gx_store_t *self)
{
    self->map_at = NULL;
    int fd;
    struct stat st;
    FILE *f = NULL;
    if (mdb_env_get_fd(self->env, &fd) != 0 || fstat(fd, &st) != 0
        || !(f = fopen("/proc/self/maps", "re")))
        return;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, ino;
        unsigned dmaj, dmin;
        if (sscanf(line, "%lx-%lx %*s %*x %x:%x %lu", &lo, &hi, &dmaj, &dmin,
                   &ino) == 5
            && ino == (unsigned long)st.st_ino
            && makedev(dmaj, dmin) == st.st_dev) {
            self->map_at = (void *)lo;
            self->map_len = hi - lo;
            break;
        }
    }
    fclose(f);
}

static int
open_env(gx_store_t *self, gx_error_t *err)
{
    int rc = create_files(self);
    if (rc)
        return gx_store_fail(self, rc, "cannot create it", 0, err);
    MDB_env *env = NULL;
    rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, self->map);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(env, READERS);
    if (rc == 0)
        rc = mdb_env_open(env, self->path, ENV_FLAGS, 0600);
    if (rc == 0)
        rc = open_dbi(env, &self->dbi);
    MDB_stat st;
    if (rc == 0 && (rc = mdb_env_stat(env, &st)) == 0)
        self->psize = st.ms_psize;
    if (rc == 0 && gx_store_fault_at(self, GX_STORE_OPEN))
        rc = EIO;
    if (rc) {
        mdb_env_close(env);      // also after a failed mdb_env_open (lmdb.h)
        gx_store_unlink(self);
        return gx_store_fail(self, rc, "cannot open it", 0, err);
    }
    if (!self->keep_names)
        gx_store_unlink(self);
    self->env = env;
    find_map(self);
    return 0;
}

void
gx_store_leave(gx_store_t *self)
{
    drop_map(self);
    unlock(self);
}

int
gx_store_enter(gx_store_t *self, bool create, gx_error_t *err)
{
    for (;;) {
        lock_shared(self);
        if (self->broken) {
            broken_error(self, err);
            unlock(self);
            return -1;
        }
        if (self->env)
            return 0;
        unlock(self);
        if (!create)
            return 1;
        lock_exclusive(self);
        int rc = self->env || self->broken ? 0 : open_env(self, err);
        unlock(self);
        if (rc)
            return -1;
    }
}

// The map after growth for a transaction of `bytes` that found `map`
// full: doubled until the room added holds the transaction with a
// quarter to spare, within map_max. 0 if it cannot grow.
static size_t
grown_size(size_t map, size_t bytes, size_t map_max)
{
    size_t need = bytes + bytes / 4;
    if (need < bytes || need > SIZE_MAX - WRITE_SLACK)
        return 0;
    need += WRITE_SLACK;
    size_t want = map;
    do {
        if (want > SIZE_MAX / 2)
            return 0;
        want *= 2;
    } while (want - map < need);
    if (map_max && want > map_max)
        want = map_max;
    return want > map ? want : 0;
}

// Whether the address space holds a map of `size` bytes now: LMDB unmaps
// the old map before it maps the new, and on failure has neither.
static int
address_space_for(size_t size)
{
    void *p = mmap(NULL, size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return errno;
    munmap(p, size);
    return 0;
}

static int
grow_locked(gx_store_t *self, size_t bytes, gx_error_t *err)
{
    size_t want = grown_size(self->map, bytes, self->map_max);
    if (want == 0)
        return gx_error_set(err, "spill %s: the map is full at %zu MiB and may "
                            "not grow to hold %zu bytes more", self->path,
                            self->map >> 20, bytes);
    int rc = gx_store_fault_at(self, GX_STORE_GROW) ? ENOMEM
             : address_space_for(want);
    if (rc)
        return gx_error_set(err, "spill %s: cannot grow the map from %zu to %zu "
                            "MiB: %s", self->path, self->map >> 20, want >> 20,
                            strerror(rc));
    rc = mdb_env_set_mapsize(self->env, want);
    if (rc) {
        self->broken = rc;
        return gx_error_set(err, "spill %s: growing the map from %zu to %zu MiB "
                            "lost it: %s", self->path, self->map >> 20,
                            want >> 20, mdb_strerror(rc));
    }
    self->map = want;
    find_map(self);
    atomic_store_explicit(&self->map_now, want, memory_order_relaxed);
    gx_store_count(&self->grows, 1);
    return 0;
}

// Grows the map that a transaction found full at size `seen`, unless
// another thread already has while this one waited for the lock.
static int
grow(gx_store_t *self, size_t seen, size_t bytes, gx_error_t *err)
{
    lock_exclusive(self);
    int rc = self->broken ? broken_error(self, err)
             : self->map != seen ? 0
             : grow_locked(self, bytes, err);
    unlock(self);
    return rc;
}

// The size of the file after the last commit, for the statistics.
static void
note_file_size(gx_store_t *self)
{
    MDB_envinfo info;
    if (mdb_env_info(self->env, &info) != 0)
        return;
    unsigned long long bytes = (unsigned long long)(info.me_last_pgno + 1)
                               * self->psize;
    atomic_store_explicit(&self->file_bytes, bytes, memory_order_relaxed);
}

static int
run_write(gx_store_t *self, gx_store_txn_fn *body, const void *arg)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc)
        return rc;
    rc = body(txn, self->dbi, arg);
    if (rc == 0 && gx_store_fault_at(self, GX_STORE_PUT))
        rc = EIO;                             // as a commit's failed write
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = mdb_txn_commit(txn);                 // frees txn, failed or not
    if (rc == 0)
        note_file_size(self);
    return rc;
}

int
gx_store_write(gx_store_t *self, gx_store_txn_fn *body, const void *arg,
               size_t bytes, bool create, const char *doing, gx_error_t *err)
{
    for (;;) {
        int in = gx_store_enter(self, create, err);
        if (in != 0)
            return in;
        size_t seen = self->map;
        int rc = run_write(self, body, arg);
        gx_store_leave(self);
        if (rc == 0)
            return 0;
        if (rc == MDB_NOTFOUND)
            return 1;
        if (rc != MDB_MAP_FULL)
            return gx_store_fail(self, rc, doing, bytes, err);
        if (grow(self, seen, bytes, err) != 0)
            return -1;
    }
}

void
gx_store_stats(const gx_store_t *self, gx_store_stats_t *out)
{
    gx_store_t *s = (gx_store_t *)self;       // atomic loads take non-const
    memory_order relaxed = memory_order_relaxed;
    *out = (gx_store_stats_t){
        .bytes_put  = atomic_load_explicit(&s->bytes_put, relaxed),
        .bytes_got  = atomic_load_explicit(&s->bytes_got, relaxed),
        .puts       = atomic_load_explicit(&s->puts, relaxed),
        .gets       = atomic_load_explicit(&s->gets, relaxed),
        .grows      = atomic_load_explicit(&s->grows, relaxed),
        .map_bytes  = atomic_load_explicit(&s->map_now, relaxed),
        .file_bytes = atomic_load_explicit(&s->file_bytes, relaxed),
        .seconds    = (double)atomic_load_explicit(&s->ns, relaxed) * 1e-9,
    };
}

static int
init_lock(pthread_rwlock_t *lock)
{
    pthread_rwlockattr_t attr;
    int rc = pthread_rwlockattr_init(&attr);
    if (rc == 0)
        rc = pthread_rwlockattr_setkind_np(
            &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (rc == 0)
        rc = pthread_rwlock_init(lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return rc;
}

// Touches nothing on disk: paths and sizes only.
gx_store_t *
gx_store_new(const char *dir, const gx_store_opts_t *opts, gx_error_t *err)
{
    gx_store_opts_t o = opts ? *opts : (gx_store_opts_t){ 0 };
    if (!dir || !*dir) {
        gx_error_set(err, "spill dir: none given");
        return NULL;
    }
    gx_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        gx_error_set(err, "spill dir %s: out of memory", dir);
        return NULL;
    }
    int n = snprintf(self->dir, sizeof self->dir, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof self->dir
        || gx_store_name_next(self->path, sizeof self->path, dir) != 0) {
        gx_error_set(err, "spill dir %s: path too long", dir);
        free(self);
        return NULL;
    }
    snprintf(self->lock_path, sizeof self->lock_path, "%s" GX_STORE_LOCKSFX,
             self->path);
    self->os_page = (size_t)sysconf(_SC_PAGESIZE);
    size_t page = self->os_page;
    size_t map = o.map_bytes ? o.map_bytes : GX_STORE_MAP_DEFAULT;
    size_t max = o.map_max / page * page;
    self->map_max = o.map_max == 0 ? 0 : max < MAP_MIN ? MAP_MIN : max;
    map = map < MAP_MIN ? MAP_MIN : map / page * page;
    self->map = self->map_max && map > self->map_max ? self->map_max : map;
    atomic_store(&self->map_now, self->map);
    self->keep_names = o.keep_names;
    self->fault = o.fault;
    self->fault_arg = o.fault_arg;
    self->pid = getpid();
    if (init_lock(&self->lock) != 0) {
        gx_error_set(err, "spill dir %s: cannot make a lock", dir);
        free(self);
        return NULL;
    }
    return self;
}

void
gx_store_unlink(const gx_store_t *self)
{
    if (!self || getpid() != self->pid)
        return;
    unlink(self->path);
    unlink(self->lock_path);
}

const char *
gx_store_path(const gx_store_t *self)
{
    return self->path;
}

// In a forked child the environment is the parent's (lmdb.h: use an
// MDB_env only in the process that opened it), and so are the files.
void
gx_store_close(gx_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gx_store_t *self = *self_p;
    if (getpid() == self->pid) {
        gx_store_unlink(self);
        if (self->env)
            mdb_env_close(self->env);
    }
    pthread_rwlock_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}
