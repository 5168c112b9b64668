/* The guest-mode microbenchmarks' shared options (guest_bench_options.h). */
#include "guest_bench_options.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gcvm.h"

int guest_bench_options(const char *program, long max_batch, int *argc, char **argv,
                        struct guest_bench_options *options)
{
    options->iterations = 200;
    options->gcvm_iterations = -1;
    options->vcpus = 1;
    int kept = 1;
    for (int i = 1; i < *argc; i++) {
        if (strncmp(argv[i], "--batch=", 8) == 0)
            options->batch = atol(argv[i] + 8);
        else if (strncmp(argv[i], "--iterations=", 13) == 0)
            options->iterations = atol(argv[i] + 13);
        else if (strncmp(argv[i], "--gcvm-iterations=", 18) == 0)
            options->gcvm_iterations = atol(argv[i] + 18);
        else if (strncmp(argv[i], "--vcpus=", 8) == 0)
            options->vcpus = atol(argv[i] + 8);
        else
            argv[kept++] = argv[i];
    }
    *argc = kept;
    if (options->batch < 1 || options->batch > max_batch || options->iterations < 1 ||
        options->vcpus < 1 || options->vcpus > 17) {
        fprintf(stderr, "%s: --batch must be 1..%ld, --iterations positive and --vcpus 1..17\n",
                program, max_batch);
        return 2;
    }
    if (options->gcvm_iterations < 0) {
        struct gcvm_info info = {0};
        bool emulated = gcvm_init() == 0 && gcvm_get_info(&info) == 0 && !info.hardware;
        options->gcvm_iterations = emulated ? 3 : options->iterations;
    }
    return 0;
}
