/* Boehm GC's stop-the-world pauses, for the benchmarks that compare against it.
 *
 * A pause runs from Boehm's "stop the world" event to its "start the world" event: the
 * part of a collection the program cannot run through. Incremental marking steps and
 * lazy sweeping done inside allocation calls are not counted (Boehm reports no event). */
#ifndef GCVM_BENCH_BOEHM_PAUSES_H
#define GCVM_BENCH_BOEHM_PAUSES_H

#include <stddef.h>

struct boehm_pause_figures {
    size_t count;    /* pauses recorded since the last reset */
    double max_ms;   /* the longest; 0 with none */
    double p99_ms;   /* the 99th percentile (the nearest rank); 0 with none */
    double total_ms; /* their sum */
};

/* Starts recording: installs Boehm's collection-event callback. Call once, after GC_INIT. */
void boehm_pauses_record(void);

/* Forgets the pauses recorded so far (a benchmark's warm-up, say). */
void boehm_pauses_reset(void);

/* The figures of the pauses recorded since the last reset. The first 65536 pauses count
 * towards the longest and the percentile; all of them towards the total. */
struct boehm_pause_figures boehm_pauses_figures(void);

#endif
