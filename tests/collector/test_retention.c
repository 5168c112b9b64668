/* Retention and prefaulting agree: in a steady state (a constant live size, major
 * collections one after another) no free block is given back to the system only to be
 * populated again by the prefault thread (docs/collector.md, "Retention policy"). Before
 * they agreed, every major collection gave back the blocks beyond four nurseries, which
 * the thread, working four nurseries and a slack ahead, populated again at once.
 * Usage: test_retention BARRIER. */
#include <stdlib.h>
#include <time.h>

#include "test_data_list.h"

static struct link *list;

/* A major collection, then time for the prefault thread to do what it was asked. */
static void major_and_wait(struct gc_mutator *m)
{
    gc_collect(m, GC_COLLECT_MAJOR);
    struct timespec pause = {0, 30000000L};
    gc_blocking_enter(m);
    nanosleep(&pause, NULL);
    gc_blocking_leave(m);
}

int main(int argc, char **argv)
{
    /* The thread starts only where a first touch is dear; this test wants it anyway. */
    setenv("GCVM_GC_PREFAULT", "1", 1);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.heap_max_bytes = (size_t)256 << 20;
    cfg.concurrent_marking = -1;         /* whole major collections: each one ends its cycle */
    cfg.nursery_bytes = (size_t)2 << 20; /* fixed: the blocks ahead do not change */
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    data_list_register(h, &list);

    data_list_grow(m, &list, (size_t)16 << 20, 480); /* live for the whole run */
    /* Warm-up: the nursery settles, the thread fills the blocks ahead. */
    for (int round = 0; round < 8; round++)
        major_and_wait(m);
    struct gc_stats before = stats_of(h);
    /* Steady state: garbage that dies in the nursery, and a major collection per round. */
    const int rounds = 16;
    for (int round = 0; round < rounds; round++) {
        for (int k = 0; k < 8000; k++)
            CHECK(gc_alloc_pointerfree(m, KIND_DATA, 480) != NULL);
        major_and_wait(m);
    }
    struct gc_stats after = stats_of(h);
    uint64_t released = after.released_bytes - before.released_bytes;
    /* Populated ahead by the thread or, where they got there first, by the mutator. */
    uint64_t populated = after.prefaulted_bytes - before.prefaulted_bytes +
                         after.prefaulted_by_mutators_bytes - before.prefaulted_by_mutators_bytes;
    printf("%s: %d major collections in a steady state at %.1f MiB old: %llu KiB given back, "
           "%llu KiB populated ahead\n",
           gc_barrier_name(cfg.barrier), rounds, (double)after.old_bytes / (1 << 20),
           (unsigned long long)(released >> 10), (unsigned long long)(populated >> 10));
    CHECK_MSG(after.prefaulted_bytes + after.prefaulted_by_mutators_bytes > 0, "%s",
              "nothing was populated ahead");
    CHECK_MSG(after.prefaulted_bytes == 0 || after.prefault_cpu_ms > 0,
              "%.1f MiB populated in no CPU time", (double)after.prefaulted_bytes / (1 << 20));
    CHECK_MSG(released == 0 || populated == 0,
              "blocks were given back and populated again: %llu KiB and %llu KiB",
              (unsigned long long)(released >> 10), (unsigned long long)(populated >> 10));
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    return 0;
}
