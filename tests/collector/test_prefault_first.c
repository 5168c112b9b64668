/* Populating ahead starts with the heap (docs/collector.md, "Growth outside pauses"): the
 * blocks the first collection promotes into are asked for when the prefault thread starts,
 * so that the first pause does not fault them in. Without that request the first minor
 * collection of tree-replace at 1 GiB live took 13.9 ms to promote 2 MiB, against 1.6-2.8
 * ms with it.
 * The thread is held (gc_debug_prefault_hold), as on a machine where it gets no core: the
 * mutator's share then populates the requested blocks at its allocation slow paths, and
 * with no request it populates nothing.
 * With `large`, a large object is allocated first and takes the blocks that the request
 * at the start wanted: its allocation asks again (prefault_blocks_taken), else the
 * collection promotes into blocks nobody asked for.
 * Usage: test_prefault_first BARRIER [large]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "test_data_list.h"

static struct link *list;
static void *large;

int main(int argc, char **argv)
{
    setenv("GCVM_GC_PREFAULT", "1", 1); /* the thread wherever a first touch is cheap */
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.heap_max_bytes = (size_t)256 << 20;
    cfg.concurrent_marking = -1;
    cfg.parallelism = 1;
    cfg.nursery_bytes = (size_t)2 << 20; /* fixed: the first collection promotes about this */
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    data_list_register(h, &list);
    gc_debug_prefault_hold(h, 1);
    if (argc > 2 && strcmp(argv[2], "large") == 0) {
        CHECK(gc_root_add(h, &large) == 0);
        large = gc_alloc_pointerfree(m, KIND_DATA, (size_t)8 << 20); /* 256 blocks */
        CHECK(large != NULL);
    }

    /* Every link survives, so the first minor collection promotes its whole nursery. */
    while (stats_of(h).minor_collections == 0)
        data_list_grow(m, &list, (size_t)64 << 10, 480);
    struct gc_stats s = stats_of(h);
    uint64_t cold = gc_debug_cold_blocks_taken_in_pauses(h);
    printf("%s: the first collection promoted %.2f MiB; blocks it took unpopulated: %llu; "
           "populated by the mutator before it: %.2f MiB\n",
           gc_barrier_name(cfg.barrier), (double)s.bytes_promoted / (1 << 20),
           (unsigned long long)cold, (double)s.prefaulted_by_mutators_bytes / (1 << 20));
    CHECK_MSG(s.bytes_promoted >= (1u << 20), "the first collection promoted only %llu bytes",
              (unsigned long long)s.bytes_promoted);
    CHECK_MSG(cold == 0, "the first collection took %llu blocks no one had populated",
              (unsigned long long)cold);
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    return 0;
}
