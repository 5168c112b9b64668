/* A C interface to Google Benchmark: register functions, loop on keep_running, report
 * counters; the C++ library does the timing, repetitions and JSON output. */
#ifndef GCVM_GBENCH_SHIM_H
#define GCVM_GBENCH_SHIM_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gbench_state gbench_state;
typedef void (*gbench_fn)(gbench_state *state, void *arg);

/* Registers a benchmark run once per repetition (one iteration, times in ms). */
void gbench_register(const char *name, gbench_fn fn, void *arg);

/* Registers a microbenchmark timed by the function itself (gbench_set_iteration_time),
 * run for a fixed number of iterations, times in ns. */
void gbench_register_manual(const char *name, gbench_fn fn, void *arg, long iterations);

/* The time one iteration took, in seconds, measured by the benchmark itself. */
void gbench_set_iteration_time(gbench_state *state, double seconds);

/* True while the timed loop should run another iteration. */
bool gbench_keep_running(gbench_state *state);

/* Stops or resumes the clock inside the loop (set-up and checks are not timed). */
void gbench_pause_timing(gbench_state *state);
void gbench_resume_timing(gbench_state *state);

/* A number reported beside the time in every output format. */
void gbench_counter(gbench_state *state, const char *name, double value);

/* Marks the run as failed (or skipped) with a message; the loop must then end. */
void gbench_fail(gbench_state *state, const char *message);

/* Runs the registered benchmarks as Google Benchmark's own main() would. */
int gbench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
