/* The request for blocks ahead, rewritten while mutators read it (docs/collector.md,
 * "Growth outside pauses"): a large object that takes requested blocks asks again, under
 * the heap's lock, while other mutators populate the request's blocks at their allocation
 * slow paths (prefault_assist), without it. Several threads allocate large and small
 * objects with the prefault thread forced on; each keeps a large object with a pattern of
 * its own and checks it after every round, since populating must change nothing. Run in
 * the ThreadSanitizer build too (label threads), where a plain access to the request
 * would be reported: every slow path reads it, even where the slower instrumented
 * mutators find the thread has populated all of it.
 * Usage: test_prefault_threads BARRIER. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_BYTES = 1 };
enum { THREADS = 3, ROUNDS = 120, LARGE_BYTES = 256 << 10, SMALL_PER_ROUND = 2000 };

static struct gc_heap *heap;

struct thread_run {
    unsigned index;
    void *kept; /* a root of the heap: this thread's large object, with its pattern */
};

static uint8_t pattern(unsigned thread, unsigned round, size_t at)
{
    return (uint8_t)(thread * 31u + round * 7u + at);
}

static void *thread_main(void *arg)
{
    struct thread_run *run = arg;
    struct gc_mutator *m = attach_or_fail(heap);
    for (unsigned round = 0; round < ROUNDS; round++) {
        uint8_t *large = gc_alloc_pointerfree(m, KIND_BYTES, LARGE_BYTES);
        CHECK(large != NULL);
        for (size_t i = 0; i < LARGE_BYTES; i += 64)
            large[i] = pattern(run->index, round, i);
        run->kept = large;
        for (unsigned k = 0; k < SMALL_PER_ROUND; k++) /* garbage: slow paths, collections */
            CHECK(gc_alloc_pointerfree(m, KIND_BYTES, 200) != NULL);
        CHECK(gc_alloc_pointerfree(m, KIND_BYTES, LARGE_BYTES) != NULL); /* garbage */
        for (size_t i = 0; i < LARGE_BYTES; i += 64)
            CHECK_MSG(large[i] == pattern(run->index, round, i),
                      "thread %u, round %u: byte %zu of its large object changed", run->index,
                      round, i);
    }
    gc_mutator_detach(m);
    return NULL;
}

int main(int argc, char **argv)
{
    setenv("GCVM_GC_PREFAULT", "1", 1);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.heap_max_bytes = (size_t)256 << 20;
    char err[256];
    heap = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "%s", err);
    struct thread_run runs[THREADS];
    pthread_t threads[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        runs[i] = (struct thread_run){i, NULL};
        CHECK(gc_root_add(heap, &runs[i].kept) == 0);
    }
    for (unsigned i = 0; i < THREADS; i++)
        CHECK(pthread_create(&threads[i], NULL, thread_main, &runs[i]) == 0);
    for (unsigned i = 0; i < THREADS; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
    struct gc_stats s;
    gc_get_stats(heap, &s);
    printf("%s: %llu minor and %llu major collections; populated ahead by the thread %.1f "
           "MiB, by the mutators %.1f MiB\n",
           gc_barrier_name(cfg.barrier), (unsigned long long)s.minor_collections,
           (unsigned long long)s.major_collections, (double)s.prefaulted_bytes / (1 << 20),
           (double)s.prefaulted_by_mutators_bytes / (1 << 20));
    CHECK_MSG(s.minor_collections >= 5, "only %llu minor collections",
              (unsigned long long)s.minor_collections);
    CHECK_MSG(s.prefaulted_bytes + s.prefaulted_by_mutators_bytes > 0,
              "nothing was populated ahead: the test did not exercise the request");
    gc_heap_destroy(heap);
    return 0;
}
