/* The background sweep costs no CPU while it waits (docs/collector.md, "Lazy sweeping").
 *
 *   blocked: a cycle ends with its SMALL blocks unswept while the marker thread is held;
 *            the mutator then allocates a large object, which it clears with the heap's
 *            lock held, and another thread lets the marker go meanwhile. The sweep finds
 *            the lock taken for the rest of the clearing: the threads other than the
 *            mutator must use a small part of that time (a sweep that spins waiting for
 *            the lock used a whole core).
 *   idle:    after a program allocated and cycles ran (the last one's sweep pending), it
 *            sleeps: the process must use almost no CPU during the sleep, and the sweep
 *            must be done by its end.
 *
 * usage: test_sweep_idle BARRIER
 * Exits 77 when the barrier is not available here. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_NODE = 1, KIND_DATA = 2 };
enum { NODES = 400000, LARGE_MIB = 128, RELEASE_AFTER_MS = 20 };

struct node {
    struct node *next;
    uint64_t payload[5];
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct node *)obj)->next, ctx);
}

static struct node *list; /* a root */
static struct gc_heap *heap;

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct gc_stats stats_of(void)
{
    struct gc_stats s;
    gc_get_stats(heap, &s);
    return s;
}

/* A list of NODES nodes of which every other one is kept: half of each block dies. */
static void build_and_thin(struct gc_mutator *m)
{
    list = NULL;
    for (int i = 0; i < NODES; i++) {
        struct node *n = gc_alloc(m, KIND_NODE, sizeof *n);
        CHECK(n != NULL);
        n->next = list;
        gc_write_barrier(m, (void **)&n->next);
        list = n;
    }
    gc_collect(m, GC_COLLECT_MINOR); /* all old now */
    for (struct node *n = list; n && n->next; n = n->next) {
        n->next = n->next->next;
        gc_write_barrier(m, (void **)&n->next);
    }
}

/* Ends the running cycle, if any, and runs one to its final pause: a lazy sweep follows. */
static void run_cycle(struct gc_mutator *m)
{
    while (gc_debug_cycle_start(m) != 0)
        CHECK(gc_debug_cycle_finish(m) == 0);
    CHECK(gc_debug_cycle_finish(m) == 0);
}

static void *release_marker(void *arg)
{
    (void)arg;
    struct timespec wait = {0, RELEASE_AFTER_MS * 1000000L};
    nanosleep(&wait, NULL);
    gc_debug_marker_hold(heap, 0);
    return NULL;
}

static void blocked(struct gc_mutator *m)
{
    build_and_thin(m);
    gc_debug_marker_hold(heap, 1);
    run_cycle(m);
    uint64_t unswept = stats_of().unswept_blocks;
    CHECK_MSG(unswept > 100, "the cycle left only %llu blocks unswept",
              (unsigned long long)unswept);

    pthread_t releaser;
    CHECK(pthread_create(&releaser, NULL, release_marker, NULL) == 0);
    uint64_t wall0 = clock_ns(CLOCK_MONOTONIC), process0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID),
             own0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    void *large = gc_alloc_pointerfree(m, KIND_DATA, (size_t)LARGE_MIB << 20);
    uint64_t wall = clock_ns(CLOCK_MONOTONIC) - wall0,
             others = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - process0 -
                      (clock_ns(CLOCK_THREAD_CPUTIME_ID) - own0);
    CHECK(large != NULL);
    CHECK(pthread_join(releaser, NULL) == 0);
    printf("blocked: a %d MiB object cleared in %.1f ms with %llu blocks to sweep; the other "
           "threads used %.1f ms of CPU meanwhile\n",
           LARGE_MIB, (double)wall / 1e6, (unsigned long long)unswept, (double)others / 1e6);
    if (wall < (uint64_t)4 * RELEASE_AFTER_MS * 1000000u) {
        printf("SKIP: the clearing was too short to tell (%.1f ms)\n", (double)wall / 1e6);
        exit(TEST_SKIP_CODE);
    }
    /* The sweep itself and the wake-ups: well under a tenth of the wait. */
    CHECK_MSG(others < wall / 10 + 5000000u,
              "the background sweep used %.1f ms of CPU waiting %.1f ms for the heap's lock",
              (double)others / 1e6, (double)wall / 1e6);
}

static void idle(struct gc_mutator *m)
{
    for (int round = 0; round < 3; round++) { /* cycles, each leaving a lazy sweep */
        build_and_thin(m);
        run_cycle(m);
    }
    uint64_t cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    struct timespec wait = {0, 500000000L};
    gc_blocking_enter(m);
    nanosleep(&wait, NULL);
    gc_blocking_leave(m);
    uint64_t cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    struct gc_stats s = stats_of();
    printf("idle: %.1f ms of CPU in a 500 ms sleep; %llu cycles ran, %llu blocks unswept at "
           "its end\n",
           (double)cpu / 1e6, (unsigned long long)s.concurrent_cycles,
           (unsigned long long)s.unswept_blocks);
    CHECK_MSG(s.unswept_blocks == 0, "the background left %llu blocks unswept",
              (unsigned long long)s.unswept_blocks);
    CHECK_MSG(cpu < 50000000u, "the process used %.1f ms of CPU while it slept", (double)cpu / 1e6);
}

int main(int argc, char **argv)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.concurrent_marking = 1;
    /* No major collection of heap sizing's own: the large allocation must not start one
     * (its pause would finish the sweep); the test runs its cycles itself. */
    cfg.major_threshold_bytes = (size_t)1 << 30;
    char err[256];
    heap = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "%s", err);
    if (!gc_heap_concurrent_marking(heap)) {
        printf("SKIP: no concurrent marking under %s\n", gc_barrier_name(cfg.barrier));
        return TEST_SKIP_CODE;
    }
    struct gc_mutator *m = attach_or_fail(heap);
    gc_register_kind(heap, KIND_NODE, trace_node);
    CHECK(gc_root_add(heap, (void **)&list) == 0);
    idle(m);
    blocked(m);
    gc_heap_destroy(heap);
    printf("ok\n");
    return 0;
}
