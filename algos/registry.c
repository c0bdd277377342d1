// algos/registry.c: the built-ins by name, for the command line. The CLI
// lists them (gx_algo_count, gx_algo_at) for its help and its error
// messages, so adding a built-in is adding it here and nowhere else.
#include <string.h>
#include "algos/algos.h"

static const gx_program_t *const builtins[] = {
    &gx_pagerank_program,
    &gx_cc_program,
};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

size_t
gx_algo_count(void)
{
    return N_BUILTINS;
}

const gx_program_t *
gx_algo_at(size_t i)
{
    return i < N_BUILTINS ? builtins[i] : NULL;
}

const gx_program_t *
gx_algo_find(const char *name)
{
    for (size_t i = 0; i < N_BUILTINS; i++)
        if (strcmp(name, builtins[i]->name) == 0)
            return builtins[i];
    return NULL;
}
