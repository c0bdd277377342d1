// tests/fault_cli.c: graphx-run-fault, the CLI with a fault armed from the
// environment (GRAPHX_FAULT=alloc|thread|socket|send:N) before it starts.
// Test-only: the graphx-run users get reads no such variable. cli/main.c
// is compiled into this binary with its main() renamed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/fault.h"

int gx_cli_main(int argc, char **argv);

// GRAPHX_FAULT_COUNT=FILE: write how many points of the armed kind the run
// passed, so a test knows how far to loop.
static void
write_count(void)
{
    const char *path = getenv("GRAPHX_FAULT_COUNT");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%llu\n", (unsigned long long)gx_fault_count());
        fclose(f);
    }
}

int
main(int argc, char **argv)
{
    const char *spec = getenv("GRAPHX_FAULT");
    if (spec) {
        const char *colon = strchr(spec, ':');
        for (int k = 0; colon && k < GX_FAULT_KINDS; k++)
            if (strncmp(spec, gx_fault_kind_name(k), (size_t)(colon - spec)) == 0)
                gx_fault_arm(k, strtoull(colon + 1, NULL, 10));
    }
    atexit(write_count);
    return gx_cli_main(argc, argv);
}
