/* gcvm collector: the auto barrier's choice for this machine.
 *
 * Auto measures every barrier the machine offers on one short workload and keeps the
 * fastest (docs/barriers.md, "auto"). The choice is kept in a cache file per user, keyed
 * by what decides it (kernel release, CPU model, the barriers offered), so that a program
 * measures once per machine rather than once per process. */
#ifndef GCVM_GC_BARRIER_AUTO_H
#define GCVM_GC_BARRIER_AUTO_H

#include "gcvm/gc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Setting this environment variable to anything but "" or "0" makes auto measure again
 * (and rewrite the cache) instead of reading the cache. */
#define GC_BARRIER_AUTO_CALIBRATE_ENV "GCVM_CALIBRATE"

struct gc_barrier_auto_choice {
    enum gc_barrier_kind kind; /* the barrier auto uses on this machine */
    int from_cache;            /* 1: read from the cache file; 0: measured by this call */
    char figures[512];         /* what was measured: "card 4.3 ms; mprotect 13.6 ms; ..." */
    char key[512];             /* what the choice depends on, as stored in the cache */
    char cache_file[512];      /* the cache file; "" where there is none (no HOME) */
};

/* Fills *out with auto's choice and returns out->kind. The choice comes from the cache
 * file when that holds one for this machine's key and neither `recalibrate` nor
 * GCVM_CALIBRATE asks for a new one; otherwise it is measured now (tens of
 * milliseconds) and written to the cache. The cache file is
 * $XDG_CACHE_HOME/gcvm/barrier-auto, else ~/.cache/gcvm/barrier-auto; a cache file
 * that cannot be read or parsed, or a cache that cannot be written, costs a one-line
 * warning on stderr and never an error. Concurrent callers, in one process or many, each
 * see a whole cache file. Must not be called while the thread is the mutator of a heap
 * with a gcvm barrier. */
GCVM_GC_API enum gc_barrier_kind gc_barrier_auto_query(int recalibrate,
                                                       struct gc_barrier_auto_choice *out);

#ifdef __cplusplus
}
#endif

#endif
