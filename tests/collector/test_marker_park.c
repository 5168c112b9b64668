/* The background marker looks for a pause request before each 64 KiB chunk of a large
 * object (mark_work in concurrent_mark.c; "Concurrent marking" in docs/collector.md), so
 * that a pause never waits for it to trace more than one chunk. An old 16 MiB array of
 * pointers (256 chunks) is marked by the marker thread in a concurrent cycle; the most
 * chunks it traced between two looks must be 1. When it looked only every 64 steps it
 * traced up to 64 chunks between looks, and minor pauses waited 8-25 ms for it.
 * Usage: test_marker_park BARRIER. */
#define _GNU_SOURCE
#include <string.h>
#include <time.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "test_arrays.h"
#include "test_util.h"

enum { KIND_ARRAY = 1, KIND_CELL = 2 };

static const size_t slots = (size_t)2 << 20; /* 16 MiB of pointers */

static struct array *array;

int main(int argc, char **argv)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.concurrent_marking = 1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    CHECK_MSG(gc_heap_concurrent_marking(h), "%s", "the heap does not mark concurrently");
    CHECK(gc_register_kind_ranged(h, KIND_ARRAY, trace_array, trace_array_range) == 0);
    CHECK(gc_root_add(h, (void **)&array) == 0);

    array = gc_alloc(m, KIND_ARRAY, sizeof *array + slots * sizeof(void *));
    CHECK(array != NULL);
    array->count = slots;
    for (size_t i = 0; i < slots; i++) {
        void *cell = gc_alloc_pointerfree(m, KIND_CELL, 16);
        CHECK(cell != NULL);
        array->slots[i] = cell;
        gc_write_barrier(m, &array->slots[i]);
    }
    gc_collect(m, GC_COLLECT_MINOR); /* the cells become old */

    if (gc_debug_cycle_start(m) != 0) { /* one runs already: a fresh one, from the start */
        CHECK(gc_debug_cycle_finish(m) == 0);
        CHECK_MSG(gc_debug_cycle_start(m) == 0, "%s", "no concurrent cycle started");
    }
    /* Let the marker thread trace the array: a step of our own each 5 ms only says
     * whether it has anything left. */
    struct timespec nap = {0, 5000000};
    for (int i = 0; i < 2000 && gc_debug_mark_step(m, 1) > 0; i++)
        nanosleep(&nap, NULL);
    long most = gc_debug_marker_chunks_unlooked(m);
    CHECK(gc_debug_cycle_finish(m) == 0);
    printf("most chunks traced between two looks at a pause request: %ld\n", most);
    CHECK_MSG(most >= 1, "the marker thread traced no chunk of the %zu MiB array",
              (slots * sizeof(void *)) >> 20);
    CHECK_MSG(most == 1, "the marker traced %ld chunks without looking for a pause request", most);
    gc_heap_destroy(h);
    return 0;
}
