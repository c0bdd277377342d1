// core/budget.c: the memory budget (core/budget.h). The cgroup limit is
// found the way the kernel applies it: the process's cgroup in each
// hierarchy that holds the memory controller (/proc/self/cgroup), located
// under that hierarchy's mount (/proc/self/mountinfo: a v2 "cgroup2", or
// a v1 "cgroup" mounted with "memory"), and every ancestor up to the
// mount, since a parent's limit binds its children too. Hybrid systems
// have both; the smallest limit anywhere is the one that kills.
#include "core/budget.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096
#define V1_UNLIMITED ((uint64_t)1 << 60)  // v1 says "none" with ~2^63

// The first line of root/path holding an unsigned number, or "max".
// 0: a limit in *v; 1: none ("max", or v1's huge figure); -1: no file.
static int
read_limit(const char *root, const char *dir, const char *file, uint64_t *v)
{
    char path[PATH_CAP], line[64];
    if (snprintf(path, sizeof path, "%s/%s/%s", root, dir, file)
        >= (int)sizeof path)
        return -1;
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    if (!got)
        return -1;
    if (strncmp(line, "max", 3) == 0)
        return 1;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(line, &end, 10);
    if (errno || end == line || (*end && *end != '\n'))
        return -1;
    *v = n;
    return n >= V1_UNLIMITED ? 1 : 0;
}

// The smallest limit in `file` on the cgroup at mount/rel and its
// ancestors up to the mount itself (0: none found).
static uint64_t
tightest_up(const char *root, const char *mount, const char *rel,
            const char *file)
{
    char dir[PATH_CAP];
    if (snprintf(dir, sizeof dir, "%s%s", mount, rel) >= (int)sizeof dir)
        return 0;
    size_t floor = strlen(mount);
    uint64_t best = 0;
    for (;;) {
        uint64_t v;
        if (read_limit(root, dir, file, &v) == 0 && (!best || v < best))
            best = v;
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < floor)
            return best;
        *slash = 0;
    }
}

// A mount of a memory hierarchy, from a line of /proc/self/mountinfo:
// "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS".
typedef struct mount {
    char root[PATH_CAP / 2], point[PATH_CAP / 2];
    int  version;                    // 2, 1, or 0 (not a memory hierarchy)
} mount_t;

static bool
parse_mount(char *line, mount_t *m)
{
    char *dash = strstr(line, " - ");
    if (!dash)
        return false;
    char fstype[32] = "", super[256] = "";
    if (sscanf(line, "%*s %*s %*s %2047s %2047s", m->root, m->point) != 2
        || sscanf(dash + 3, "%31s %*s %255s", fstype, super) < 1)
        return false;
    m->version = strcmp(fstype, "cgroup2") == 0 ? 2 : 0;
    if (strcmp(fstype, "cgroup") == 0) {
        char *save;
        for (char *o = strtok_r(super, ",", &save); o;
             o = strtok_r(NULL, ",", &save))
            if (strcmp(o, "memory") == 0)
                m->version = 1;
    }
    return m->version != 0;
}

// The process's cgroup path in hierarchy `version` (2: the "0::" line;
// 1: the line naming the memory controller), from /proc/self/cgroup.
static bool
cgroup_path(const char *root, int version, char *out, size_t cap)
{
    char path[PATH_CAP], line[PATH_CAP];
    snprintf(path, sizeof path, "%s/proc/self/cgroup", root);
    FILE *f = fopen(path, "re");
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = 0;                  // line: the id; c1 + 1: controllers
        bool v2 = strcmp(line, "0") == 0 && c1[1] == 0;
        bool v1 = false;
        char *save;
        for (char *o = strtok_r(c1 + 1, ",", &save); o;
             o = strtok_r(NULL, ",", &save))
            v1 = v1 || strcmp(o, "memory") == 0;
        if ((version == 2 && v2) || (version == 1 && v1)) {
            found = snprintf(out, cap, "%s", c2 + 1) < (int)cap;
        }
    }
    if (f)
        fclose(f);
    return found;
}

// The limit a hierarchy's mount puts on this process (0: none). The path
// in /proc/self/cgroup is the hierarchy's; under a mount of a subtree (a
// container's), the part below the mount's root is what lies under it.
static uint64_t
mount_limit(const char *root, const mount_t *m)
{
    char path[PATH_CAP];
    if (!cgroup_path(root, m->version, path, sizeof path))
        return 0;
    const char *rel = path;
    size_t n = strlen(m->root);
    if (strcmp(m->root, "/") != 0 && strncmp(path, m->root, n) == 0
        && (path[n] == '/' || path[n] == 0))
        rel = path + n;
    if (strcmp(rel, "/") == 0)
        rel = "";
    return tightest_up(root, m->point, rel,
                       m->version == 2 ? "memory.max"
                                       : "memory.limit_in_bytes");
}

uint64_t
gx_budget_cgroup_limit(const char *root)
{
    char path[PATH_CAP], line[PATH_CAP];
    snprintf(path, sizeof path, "%s/proc/self/mountinfo", root);
    FILE *f = fopen(path, "re");
    uint64_t best = 0;
    while (f && fgets(line, sizeof line, f)) {
        mount_t m;
        if (!parse_mount(line, &m))
            continue;
        uint64_t v = mount_limit(root, &m);
        if (v && (!best || v < best))
            best = v;
    }
    if (f)
        fclose(f);
    return best;
}

static int
physical(const char *root, uint64_t *bytes, gx_error_t *err)
{
    char path[PATH_CAP], line[256];
    snprintf(path, sizeof path, "%s/proc/meminfo", root);
    FILE *f = fopen(path, "re");
    if (!f)
        return gx_error_set(err, "cannot read %s: %s", path, strerror(errno));
    unsigned long long kb = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "MemTotal: %llu kB", &kb) == 1;
    fclose(f);
    if (!found || kb == 0 || kb > UINT64_MAX / 1024)
        return gx_error_set(err, "%s holds no MemTotal", path);
    *bytes = (uint64_t)kb * 1024;
    return 0;
}

int
gx_budget_detect(const char *root, gx_budget_t *b, gx_error_t *err)
{
    memset(b, 0, sizeof *b);
    if (physical(root, &b->physical, err) != 0)
        return -1;
    b->cgroup = gx_budget_cgroup_limit(root);
    bool cg = b->cgroup && b->cgroup < b->physical;
    uint64_t base = cg ? b->cgroup : b->physical;
    b->bytes = base / 100 * GX_BUDGET_SHARE;
    b->from = cg ? GX_BUDGET_CGROUP : GX_BUDGET_PHYSICAL;
    return 0;
}

int
gx_size_parse(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    case 'T': case 't': shift = 40; end++; break;
    default: break;
    }
    if (errno || *end || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}
