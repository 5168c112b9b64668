/* The mutators' share of populating ahead (docs/collector.md, "Growth outside pauses"):
 * while the prefault thread gets no core (gc_debug_prefault_hold stands for that), each
 * mutator that takes a nursery block populates a few of the blocks the next collection
 * promotes into, so that collections still take blocks whose pages are in. Without that
 * share every block promotion took here was a first touch inside a pause.
 * With `default`, the heap decides whether the thread runs: under uffd it always does.
 * Usage: test_prefault_assist BARRIER [default]. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "test_data_list.h"

static struct link *list;

int main(int argc, char **argv)
{
    /* The thread starts only where a first touch is dear (or under huge pages or uffd);
     * this test wants it anyway, unless it is the heap's choice that is tested. */
    bool by_default = argc > 2 && strcmp(argv[2], "default") == 0;
    if (by_default)
        unsetenv("GCVM_GC_PREFAULT");
    else
        setenv("GCVM_GC_PREFAULT", "1", 1);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.heap_max_bytes = (size_t)512 << 20;
    cfg.concurrent_marking = -1; /* no marker thread: only the mutator runs */
    cfg.parallelism = 1;
    cfg.nursery_bytes = (size_t)2 << 20; /* fixed: each collection promotes about this */
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    data_list_register(h, &list);
    gc_debug_prefault_hold(h, 1);

    /* Every link survives: each minor collection promotes its whole nursery into blocks
     * no one has touched (the heap only grows). The first collections come before any
     * request for blocks ahead. */
    data_list_grow(m, &list, (size_t)8 << 20, 480);
    struct gc_stats before = stats_of(h);
    uint64_t cold_before = gc_debug_cold_blocks_taken_in_pauses(h);
    data_list_grow(m, &list, (size_t)64 << 20, 480);
    struct gc_stats after = stats_of(h);
    uint64_t cold = gc_debug_cold_blocks_taken_in_pauses(h) - cold_before;

    uint64_t promoted_blocks = (after.bytes_promoted - before.bytes_promoted) / (32u << 10);
    uint64_t by_mutators = after.prefaulted_by_mutators_bytes - before.prefaulted_by_mutators_bytes;
    printf("%s: %llu minor collections promoted %.1f MiB (about %llu blocks); blocks taken "
           "unpopulated in pauses: %llu; populated by the mutator: %.1f MiB, by the held "
           "thread: %.1f MiB\n",
           gc_barrier_name(cfg.barrier),
           (unsigned long long)(after.minor_collections - before.minor_collections),
           (double)(after.bytes_promoted - before.bytes_promoted) / (1 << 20),
           (unsigned long long)promoted_blocks, (unsigned long long)cold,
           (double)by_mutators / (1 << 20),
           (double)(after.prefaulted_bytes - before.prefaulted_bytes) / (1 << 20));
    CHECK_MSG(promoted_blocks >= 1000, "only %llu blocks promoted: the test grew too little",
              (unsigned long long)promoted_blocks);
    CHECK_MSG(by_mutators >= (uint64_t)promoted_blocks * (32u << 10) / 2,
              "the mutator populated %.1f MiB of the %llu blocks promoted into",
              (double)by_mutators / (1 << 20), (unsigned long long)promoted_blocks);
    /* Not none: the last collection's request may lag one collection behind. */
    CHECK_MSG(cold * 20 < promoted_blocks, "%llu of %llu blocks were first touched inside a pause",
              (unsigned long long)cold, (unsigned long long)promoted_blocks);
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    return 0;
}
