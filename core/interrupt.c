// core/interrupt.c: see interrupt.h.
#include "core/interrupt.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "graphx/graphx.h"

// Lock-free, so a signal handler may store it.
static atomic_int caught;

void
gx_interrupt(int signo)
{
    atomic_store(&caught, signo > 0 ? signo : SIGTERM);
}

bool
gx_interrupted(void)
{
    return atomic_load(&caught) != 0;
}

const char *
gx_interrupted_name(void)
{
    static char name[48];
    int s = atomic_load(&caught);
    snprintf(name, sizeof name, "stopped by %s",
             s == SIGTERM ? "SIGTERM" : s == SIGINT ? "SIGINT"
             : s == SIGHUP ? "SIGHUP" : "a signal");
    return name;
}
