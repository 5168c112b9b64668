/* The concurrent marker traces every large object it queues, not only the one it is
 * tracing a chunk at a time (docs/collector.md, "Concurrent marking").
 *
 * ARRAYS arrays of more than one 64 KiB chunk, with a range tracer, each the only path
 * to a small node; a cycle starts and ends with the marker held, so that the final
 * pause does all the marking: it queues every array as a large object and traces them
 * chunk by chunk. Every node must survive. With GCVM_GC_THREADS=2 and
 * GCVM_GC_PARALLEL_MIN_KB=0 the final pause marks on both collector threads.
 *
 * usage: test_mark_large BARRIER
 * Exits 77 when the barrier is not available here. */
#include <stdint.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "test_arrays.h"
#include "test_util.h"

enum { KIND_ARRAY = 1, KIND_NODE = 2, ARRAYS = 4, SLOTS = 40000 }; /* 320 KiB each */
#define MAGIC 0x0b1ec7ull

int main(int argc, char **argv)
{
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)64 << 20;
    cfg.nursery_bytes = (size_t)1 << 20;
    cfg.major_threshold_bytes = (size_t)48 << 20; /* cycles only when the test asks */
    cfg.concurrent_marking = 1;
    cfg.verify = 1;
    char err[256];
    struct gc_heap *heap = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "gc_heap_create: %s", err);
    CHECK_MSG(gc_heap_concurrent_marking(heap), "%s", "the heap does not mark concurrently");
    struct gc_mutator *mut = attach_or_fail(heap);
    CHECK(gc_register_kind_ranged(heap, KIND_ARRAY, trace_array, trace_array_range) == 0);

    static struct array *arrays[ARRAYS];
    static uint64_t *nodes[ARRAYS];
    for (int i = 0; i < ARRAYS; i++) {
        CHECK(gc_root_add(heap, (void **)&arrays[i]) == 0);
        arrays[i] = gc_alloc(mut, KIND_ARRAY, sizeof(struct array) + SLOTS * sizeof(void *));
        CHECK(arrays[i] != NULL);
        memset(arrays[i]->slots, 0, SLOTS * sizeof(void *));
        arrays[i]->count = SLOTS;
        uint64_t *node = gc_alloc_pointerfree(mut, KIND_NODE, sizeof(uint64_t));
        CHECK(node != NULL);
        *node = MAGIC + (uint64_t)i;
        arrays[i]->slots[SLOTS - 1] = node; /* in the array's last chunk */
        gc_write_barrier(mut, &arrays[i]->slots[SLOTS - 1]);
    }
    gc_collect(mut, GC_COLLECT_MINOR); /* the nodes are old now */
    for (int i = 0; i < ARRAYS; i++)
        nodes[i] = arrays[i]->slots[SLOTS - 1];

    gc_debug_marker_hold(heap, 1);
    CHECK_MSG(gc_debug_cycle_start(mut) == 0, "%s", "no concurrent cycle started");
    CHECK(gc_debug_cycle_finish(mut) == 0);
    gc_debug_marker_hold(heap, 0);
    for (int i = 0; i < ARRAYS; i++) {
        CHECK_MSG(gc_debug_is_allocated(mut, nodes[i]), "the node of array %d was freed", i);
        CHECK(arrays[i]->slots[SLOTS - 1] == nodes[i] && *nodes[i] == MAGIC + (uint64_t)i);
    }
    CHECK(gc_verify(mut) == 0);
    gc_mutator_detach(mut);
    gc_heap_destroy(heap);
    puts("PASS");
    return 0;
}
