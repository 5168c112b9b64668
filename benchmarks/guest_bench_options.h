/* Options the guest-mode microbenchmarks (gcvm-vm-bench, gcvm-syscall-bench) share:
 *   --batch=N             operations per timed batch (1..max_batch)
 *   --iterations=N        timed batches per row (default 200)
 *   --gcvm-iterations=N   timed batches per guest-mode row; by default --iterations where
 *                         ring 0 runs on VT-x/AMD-V, 3 where it is emulated (thousands of
 *                         times slower)
 *   --vcpus=N             threads holding a vCPU while a row runs, the timed one included
 *                         (1..17, default 1): the others write pages of their own in the
 *                         row's mode, as other mutators would (other_vcpus.h) */
#ifndef GCVM_GUEST_BENCH_OPTIONS_H
#define GCVM_GUEST_BENCH_OPTIONS_H

struct guest_bench_options {
    long batch, iterations, gcvm_iterations, vcpus;
};

/* Reads the options above from argv, leaving the others (Google Benchmark's) in argv and
 * their count in *argc; options->batch must hold the default on entry. Returns 0, or 2
 * after printing one line naming `program` and the bad option. */
int guest_bench_options(const char *program, long max_batch, int *argc, char **argv,
                        struct guest_bench_options *options);

#endif
