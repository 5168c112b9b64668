/* The nursery with several mutator threads (heap_sizing.c, "Nursery size" in
 * docs/collector.md): each attached mutator fills nursery blocks of its own, so the cap on
 * the nursery's size grows with the threads attached. Four threads that each allocate as
 * much short-lived data as one thread did alone must not take four times its minor
 * collections (they would with a nursery capped at the single-threaded size: the old
 * generation is too small here for its 1/16 to lift the cap). The waits around stopping
 * the world (gc_stats.stop_wait_ms, resume_wait_ms) are counted with threads, and a lone
 * thread has no others to wait for.
 * Usage: test_nursery_threads BARRIER. */
#include <pthread.h>
#include <stdint.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_DATA = 1 };
enum { THREADS = 4 };

static const size_t garbage_per_thread = (size_t)96 << 20;

/* Allocates garbage_per_thread bytes of 64-byte objects that die at once. */
static void allocate_garbage(struct gc_mutator *m)
{
    volatile uintptr_t sink = 0;
    for (size_t done = 0; done < garbage_per_thread; done += 64) {
        uint64_t *o = gc_alloc_pointerfree(m, KIND_DATA, 64);
        CHECK(o != NULL);
        o[0] = done;
        sink ^= (uintptr_t)o;
    }
    (void)sink;
}

static uint64_t minor_collections(struct gc_heap *h)
{
    struct gc_stats s;
    gc_get_stats(h, &s);
    return s.minor_collections;
}

/* All threads attach before any allocates: a thread that started late under load would
 * otherwise find fewer mutators attached, and a nursery sized for them. */
static pthread_barrier_t all_attached;

static void *thread_main(void *arg)
{
    struct gc_mutator *m = attach_or_fail(arg);
    gc_blocking_enter(m);
    pthread_barrier_wait(&all_attached);
    gc_blocking_leave(m);
    allocate_garbage(m);
    gc_mutator_detach(m);
    return NULL;
}

int main(int argc, char **argv)
{
    struct gc_config cfg;
    gc_config_init(&cfg); /* nursery_bytes 0: sized by the heap */
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.parallelism = 1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);

    struct gc_mutator *m = attach_or_fail(h);
    allocate_garbage(m);
    gc_mutator_detach(m);
    uint64_t alone = minor_collections(h);
    struct gc_stats single;
    gc_get_stats(h, &single);
    CHECK_MSG(single.resume_wait_ms == 0, "a lone thread had %.3f ms of others resuming",
              single.resume_wait_ms);

    pthread_t threads[THREADS];
    CHECK(pthread_barrier_init(&all_attached, NULL, THREADS) == 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&threads[i], NULL, thread_main, h) == 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
    uint64_t together = minor_collections(h) - alone;
    pthread_barrier_destroy(&all_attached);

    printf("minor collections: %llu for one thread alone, %llu for %d threads with as much "
           "each\n",
           (unsigned long long)alone, (unsigned long long)together, THREADS);
    CHECK_MSG(alone >= 8, "one thread's %llu MiB took only %llu minor collections",
              (unsigned long long)(garbage_per_thread >> 20), (unsigned long long)alone);
    CHECK_MSG(together <= 2 * alone,
              "%d threads took %llu minor collections, over twice one thread's %llu: the "
              "nursery did not grow with the mutators",
              THREADS, (unsigned long long)together, (unsigned long long)alone);
    /* The waits around stopping the world are counted once threads stop each other. */
    struct gc_stats s;
    gc_get_stats(h, &s);
    printf("stopping the others: %.2f ms (longest %.3f ms); resuming: %.2f ms\n", s.stop_wait_ms,
           s.stop_wait_max_ms, s.resume_wait_ms);
    CHECK_MSG(s.stop_wait_ms > 0 && s.resume_wait_ms > 0,
              "no stop or resume wait counted with %d threads", THREADS);
    CHECK(s.stop_wait_max_ms > 0 && s.stop_wait_max_ms <= s.stop_wait_ms);
    gc_heap_destroy(h);
    return 0;
}
