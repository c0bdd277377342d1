// core/budget.h: a process's memory budget, the figure out-of-core runs
// keep within (docs/design.md, "Out of core"). Given with --memory, or by
// default 90% of the smaller of physical memory and the tightest cgroup
// limit on the process (v2 memory.max, v1 memory.limit_in_bytes, on its
// cgroup and every ancestor), so that under a container's or systemd's
// limit the engine keeps within it without being told.
#ifndef GX_CORE_BUDGET_H
#define GX_CORE_BUDGET_H

#include <stddef.h>
#include <stdint.h>
#include "graphx/error.h"

#define GX_BUDGET_SHARE 90           // percent of memory the default takes

typedef enum gx_budget_from {
    GX_BUDGET_CGROUP = 1,            // the cgroup's limit was the smaller
    GX_BUDGET_PHYSICAL,              // physical memory was the smaller
} gx_budget_from_t;

typedef struct gx_budget {
    uint64_t         bytes;          // the budget
    uint64_t         physical;       // MemTotal
    uint64_t         cgroup;         // the tightest cgroup limit, 0: none
    gx_budget_from_t from;
} gx_budget_t;

// The default budget of this process. `root` is where /proc and /sys are
// read from: "/" but for tests, which build a tree of their own. Fails
// only when /proc/meminfo cannot be read.
int  gx_budget_detect(const char *root, gx_budget_t *b, gx_error_t *err);
// The tightest memory limit of the cgroups this process is in (and their
// ancestors), under root; 0 when there is none.
uint64_t gx_budget_cgroup_limit(const char *root);
// A size as users write it: digits, then an optional K, M, G or T (powers
// of 1024, either case), e.g. 512M, 8G, 1048576. 0 and -1: -1 when it is
// not one or does not fit in 64 bits.
int  gx_size_parse(const char *s, uint64_t *out);

#endif
