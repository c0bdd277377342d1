// bench/pagerank_plugin.c: the built-in PageRank (algos/pagerank.c) again,
// as a plugin, so bench/run can time the same program both ways and show
// what loading through --program costs (the target: within 5%). Only the
// entry point is new; the module is built with hidden visibility, so its
// copy of gx_pagerank_program can never be confused with graphx-run's.
#include "algos/algos.h"

__attribute__((visibility("default"))) const gx_program_t *graphx_program(void);

const gx_program_t *
graphx_program(void)
{
    return &gx_pagerank_program;
}
