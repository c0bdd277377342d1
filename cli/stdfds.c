// cli/stdfds.c: the standard descriptors. A closed fd 0 does not stay free
// for long: ZeroMQ's first eventfd takes it, and "-i -" then reads that
// eventfd ("stdin: Resource temporarily unavailable"). So fds 0..2 are
// opened on /dev/null before anything else runs. A closed stdout must
// still fail a run that has something to print, so which were closed is
// remembered rather than quietly writing the summary to /dev/null.
#include "cli/stdfds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool was_closed[3];
static bool stdout_closed_here;         // gx_stdout_close has run

int
gx_stdfds_open(void)
{
    // In order, so each open() gets the lowest free descriptor: this one.
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        was_closed[fd] = true;
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nfd < 0)
            return -1;
        if (nfd != fd) {                // cannot happen with 0..fd-1 open
            int rc = dup2(nfd, fd);
            close(nfd);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

bool
gx_stdfds_was_closed(int fd)
{
    return fd >= 0 && fd < 3 && was_closed[fd];
}

int
gx_stdout_check(gx_error_t *err)
{
    if (was_closed[STDOUT_FILENO])
        return gx_error_set(err, "cannot write to standard output: it is closed");
    return 0;
}

int
gx_stdout_close(gx_error_t *err)
{
    if (stdout_closed_here)
        return 0;
    stdout_closed_here = true;
    // An earlier flush may have failed and lost its errno; fclose flushes
    // what is left and usually fails the same way, so its errno names it.
    bool failed = ferror(stdout) != 0;
    errno = 0;
    if (fclose(stdout) != 0)
        failed = true;
    if (!failed)
        return 0;
    return gx_error_set(err, "cannot write to standard output: %s",
                        strerror(errno ? errno : EIO));
}

bool
gx_stderr_failed(void)
{
    return fflush(stderr) != 0 || ferror(stderr) != 0;
}
