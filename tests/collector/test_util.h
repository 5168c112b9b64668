/* Small helpers shared by the collector's tests: checks that stop the test with the
 * location and a message, and the ctest convention for a skipped test (exit 77). */
#ifndef GCVM_TEST_UTIL_H
#define GCVM_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "gcvm/gc.h"

#define TEST_SKIP_CODE 77

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", "")

/* Exits with the skip code, and the reason, when the barrier is not available here. */
static inline void skip_unless_available(enum gc_barrier_kind kind)
{
    char why[256];
    if (!gc_barrier_available(kind, why, sizeof why)) {
        printf("SKIP: barrier %s is not available on this machine: %s\n", gc_barrier_name(kind),
               why);
        exit(TEST_SKIP_CODE);
    }
}

/* The barrier named by argv[1] (default: card), skipping the test when this machine
 * lacks it. */
static inline enum gc_barrier_kind barrier_from_args(int argc, char **argv)
{
    enum gc_barrier_kind kind = GC_BARRIER_CARD;
    if (argc > 1)
        CHECK_MSG(gc_barrier_parse(argv[1], &kind) == 0, "unknown barrier %s", argv[1]);
    skip_unless_available(kind);
    return kind;
}

/* The calling thread as a mutator of h; stops the test when it cannot attach. */
static inline struct gc_mutator *attach_or_fail(struct gc_heap *h)
{
    char err[256];
    struct gc_mutator *m = gc_mutator_attach(h, err, sizeof err);
    CHECK_MSG(m != NULL, "gc_mutator_attach: %s", err);
    return m;
}

#endif
