// cli/help.h: the help texts. Everything about a program in them (the
// command list, a command's summary, description and parameters) comes
// from its gx_program_t, built in or plugin alike.
#ifndef GX_CLI_HELP_H
#define GX_CLI_HELP_H

#include <stdio.h>
#include "graphx/graphx.h"

void gx_help_main(FILE *out);
// `usage` is how the program is named on the command line: "pagerank", or
// "run --program PATH".
void gx_help_program(FILE *out, const char *usage, const gx_program_t *prog);
// `graphx-run run --help` without a program.
void gx_help_run(FILE *out);

#endif
