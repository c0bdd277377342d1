// algos/registry.c: the built-ins by name, for the command line.
#include <string.h>
#include "algos/algos.h"

const gx_program_t *
gx_algo_find(const char *name)
{
    static const gx_program_t *const builtins[] = {
        &gx_pagerank_program,
        &gx_cc_program,
    };
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(name, builtins[i]->name) == 0)
            return builtins[i];
    return NULL;
}
