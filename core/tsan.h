// core/tsan.h: hand-off edges ThreadSanitizer cannot see. libzmq is not
// instrumented, so TSan does not know that a pipe orders the sender's
// writes to a buffer before the receiver's reads and before the free
// (wherever ZeroMQ frees it). These draw that edge on the buffer's
// address: released before the send, acquired after the receive and
// before the free (docs/design.md, "Threads under ThreadSanitizer").
#ifndef GX_CORE_TSAN_H
#define GX_CORE_TSAN_H

#ifdef GX_TSAN
#include <sanitizer/tsan_interface.h>
#define TSAN_RELEASE(addr) __tsan_release(addr)
#define TSAN_ACQUIRE(addr) __tsan_acquire(addr)
#else
#define TSAN_RELEASE(addr) ((void)0)
#define TSAN_ACQUIRE(addr) ((void)0)
#endif

#endif
