// tests/test_budget.c: the memory budget suite (core/budget.h). The cgroup
// limit is read from trees built here as the kernel lays them out: a
// container on cgroup v2, a nested v2 cgroup under a tighter parent, a v1
// memory hierarchy, a hybrid system with both (the smaller wins), a v1
// mount of a subtree, and no limit at all; then this machine's own
// figures against what /proc says.
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/budget.h"
#include "testutil.h"

#define GIB ((uint64_t)1 << 30)

static void setup(void) { gx_test_tmpdir_make("budget"); }
TestSuite(budget, .init = setup, .fini = gx_test_tmpdir_remove);

// Writes root/rel (making its directories) with `text`.
static void
put(const char *root, const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *s = strchr(path + strlen(root) + 1, '/'); s;
         s = strchr(s + 1, '/')) {
        *s = 0;
        cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
        *s = '/';
    }
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

// A fake root with 16 GiB of physical memory.
static const char *
tree(const char *name)
{
    static char root[4096];
    snprintf(root, sizeof root, "%s/%s", gx_test_tmpdir(), name);
    cr_assert(mkdir(root, 0755) == 0);
    put(root, "proc/meminfo", "MemTotal:       16777216 kB\n"
                              "MemFree:         1000000 kB\n");
    return root;
}

Test(budget, container_on_cgroup_v2)
{
    const char *r = tree("v2");
    put(r, "proc/self/mountinfo",
        "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n");
    put(r, "proc/self/cgroup", "0::/\n");
    put(r, "sys/fs/cgroup/memory.max", "2147483648\n");
    cr_assert_eq(gx_budget_cgroup_limit(r), 2 * GIB);
    gx_budget_t b;
    gx_error_t err;
    cr_assert_eq(gx_budget_detect(r, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(b.physical, 16 * GIB);
    cr_assert_eq(b.from, GX_BUDGET_CGROUP);
    cr_assert_eq(b.bytes, 2 * GIB / 100 * 90);
}

// A parent's limit binds its children: the tightest on the way up wins,
// and "max" is no limit.
Test(budget, nested_v2_under_a_tighter_parent)
{
    const char *r = tree("nested");
    put(r, "proc/self/mountinfo",
        "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
    put(r, "proc/self/cgroup", "0::/user.slice/user-1000.slice/job.scope\n");
    put(r, "sys/fs/cgroup/user.slice/user-1000.slice/job.scope/memory.max",
        "max\n");
    put(r, "sys/fs/cgroup/user.slice/user-1000.slice/memory.max",
        "1073741824\n");
    put(r, "sys/fs/cgroup/user.slice/memory.max", "4294967296\n");
    cr_assert_eq(gx_budget_cgroup_limit(r), GIB);
}

Test(budget, v1_memory_hierarchy_and_its_unlimited_figure)
{
    const char *r = tree("v1");
    put(r, "proc/self/mountinfo",
        "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
    put(r, "proc/self/cgroup", "8:cpu:/\n4:memory:/jobs/42\n");
    put(r, "sys/fs/cgroup/memory/memory.limit_in_bytes",
        "9223372036854771712\n");
    put(r, "sys/fs/cgroup/memory/jobs/memory.limit_in_bytes",
        "9223372036854771712\n");
    cr_assert_eq(gx_budget_cgroup_limit(r), 0, "v1's 'unlimited' taken as a "
                 "limit");
    put(r, "sys/fs/cgroup/memory/jobs/42/memory.limit_in_bytes",
        "805306368\n");
    cr_assert_eq(gx_budget_cgroup_limit(r), 768u << 20);
    // The cpu line must not be taken for the memory hierarchy's.
    put(r, "sys/fs/cgroup/cpu/memory.limit_in_bytes", "1\n");
    cr_assert_eq(gx_budget_cgroup_limit(r), 768u << 20);
}

// Both hierarchies, as on systemd's hybrid layout: the smaller limit is
// the one that kills.
Test(budget, hybrid_takes_the_smaller)
{
    const char *r = tree("hybrid");
    put(r, "proc/self/mountinfo",
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
    put(r, "proc/self/cgroup", "4:memory:/a\n0::/b\n");
    put(r, "sys/fs/cgroup/memory/a/memory.limit_in_bytes", "3221225472\n");
    put(r, "sys/fs/cgroup/unified/b/memory.max", "2147483648\n");
    cr_assert_eq(gx_budget_cgroup_limit(r), 2 * GIB);
}

// A container sees a subtree mounted as its root: /proc/self/cgroup gives
// the path in the whole hierarchy, which lies under the mount's root.
Test(budget, subtree_mount_of_a_container)
{
    const char *r = tree("subtree");
    put(r, "proc/self/mountinfo",
        "35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup "
        "rw,memory\n");
    put(r, "proc/self/cgroup", "4:memory:/docker/abc\n");
    put(r, "sys/fs/cgroup/memory/memory.limit_in_bytes", "536870912\n");
    cr_assert_eq(gx_budget_cgroup_limit(r), 512u << 20);
}

Test(budget, no_cgroup_means_physical_memory)
{
    const char *r = tree("none");
    gx_budget_t b;
    gx_error_t err;
    cr_assert_eq(gx_budget_detect(r, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(b.cgroup, 0);
    cr_assert_eq(b.from, GX_BUDGET_PHYSICAL);
    cr_assert_eq(b.bytes, 16 * GIB / 100 * 90);
    // A cgroup limit above physical memory does not raise the budget.
    put(r, "proc/self/mountinfo",
        "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    put(r, "proc/self/cgroup", "0::/\n");
    put(r, "sys/fs/cgroup/memory.max", "68719476736\n");
    cr_assert_eq(gx_budget_detect(r, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(b.cgroup, 64 * GIB);
    cr_assert_eq(b.from, GX_BUDGET_PHYSICAL);
}

Test(budget, unreadable_meminfo_is_an_error)
{
    char root[4096];
    snprintf(root, sizeof root, "%s/empty", gx_test_tmpdir());
    cr_assert(mkdir(root, 0755) == 0);
    gx_budget_t b;
    gx_error_t err;
    cr_assert_eq(gx_budget_detect(root, &b, &err), -1);
    cr_assert(strstr(err.msg, "/proc/meminfo"), "%s", err.msg);
}

// This machine: physical memory as sysconf says, a budget at most 90% of
// it, and below the cgroup limit when there is one.
Test(budget, this_machine)
{
    gx_budget_t b;
    gx_error_t err;
    cr_assert_eq(gx_budget_detect("/", &b, &err), 0, "%s", err.msg);
    uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES)
                    * (uint64_t)sysconf(_SC_PAGESIZE);
    cr_assert(b.physical <= phys && b.physical > phys / 100 * 99,
              "MemTotal %llu vs sysconf %llu", (unsigned long long)b.physical,
              (unsigned long long)phys);
    cr_assert(b.bytes <= b.physical / 100 * 90 && b.bytes > 0);
    if (b.cgroup)
        cr_assert(b.bytes <= b.cgroup);
}

Test(budget, sizes_as_users_write_them)
{
    uint64_t v;
    cr_assert(gx_size_parse("512M", &v) == 0 && v == 512u << 20);
    cr_assert(gx_size_parse("8g", &v) == 0 && v == 8 * GIB);
    cr_assert(gx_size_parse("3K", &v) == 0 && v == 3072);
    cr_assert(gx_size_parse("2T", &v) == 0 && v == 2048 * GIB);
    cr_assert(gx_size_parse("1048576", &v) == 0 && v == 1048576);
    cr_assert(gx_size_parse("16777215T", &v) == 0);
    cr_assert_eq(gx_size_parse("16777216T", &v), -1, "2^64 wrapped");
    cr_assert_eq(gx_size_parse("18446744073709551616", &v), -1);
    cr_assert_eq(gx_size_parse("1.5G", &v), -1);
    cr_assert_eq(gx_size_parse("512MB", &v), -1);
    cr_assert_eq(gx_size_parse("-1", &v), -1);
    cr_assert_eq(gx_size_parse("", &v), -1);
    cr_assert_eq(gx_size_parse(NULL, &v), -1);
}
