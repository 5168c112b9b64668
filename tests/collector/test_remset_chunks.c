/* A large array written all over is scanned for the remembered set by every collector
 * thread, a 64 KiB chunk at a time (list_large_chunks in minor.c; docs/collector.md,
 * "Parallel minor collections"): on 2 workers, both visit part of its dirty ranges,
 * together each field of them once, and every young object stored into it survives,
 * those next to a chunk's edge too. With the
 * array as one item, one worker visited all of it and the other none.
 * With "fresh", each round allocates a new array (old from the start: a fresh large
 * object, scanned whole at the next minor collection, list_fresh_large) and fills it
 * without the write barrier, as an embedder may fill an object it just allocated: the
 * same checks hold, over every slot but its all-zero stretches.
 * Usage: test_remset_chunks BARRIER [fresh]. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "test_arrays.h"
#include "test_util.h"

enum { KIND_ARRAY = 1, KIND_BOX = 2, ROUNDS = 10 };

struct box {
    uint64_t value;
};

static struct array *array;
static const size_t slots = (size_t)2 << 20; /* 16 MiB: 256 chunks */
/* One store per card (and so per page): every unit dirty. */
static const size_t stride = ((size_t)1 << GC_CARD_SHIFT) / sizeof(void *);

/* Round r stores at slots first_slot(r) + k * stride. Round 0 stores into the first slot
 * of every 64 KiB chunk of the region that the array covers (the payload's slot 0 is 16
 * bytes into a card, past the object's header and the count). */
static size_t first_slot(unsigned r)
{
    return stride - 2 - (stride - 2) / ROUNDS * (size_t)r;
}

static struct array *new_array(struct gc_mutator *m)
{
    struct array *a = gc_alloc(m, KIND_ARRAY, sizeof(struct array) + slots * sizeof(void *));
    CHECK(a != NULL);
    memset(a->slots, 0, slots * sizeof(void *));
    a->count = slots;
    return a;
}

int main(int argc, char **argv)
{
    bool fresh = argc > 2 && strcmp(argv[2], "fresh") == 0;
    setenv("GCVM_GC_WORKERS_TOGETHER", "1", 1); /* both workers in every collection */
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.nursery_bytes = (size_t)16 << 20;
    cfg.parallelism = 2;
    cfg.concurrent_marking = -1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    CHECK(gc_register_kind_ranged(h, KIND_ARRAY, trace_array, trace_array_range) == 0);
    CHECK(gc_register_kind(h, KIND_BOX, NULL) == 0);
    CHECK(gc_root_add(h, (void **)&array) == 0);
    array = new_array(m);
    gc_collect(m, GC_COLLECT_MINOR); /* old, and no longer fresh */

    struct gc_stats before, last;
    gc_get_stats(h, &before);
    last = before;
    unsigned shared_rounds = 0; /* rounds in which both workers scanned part of the array */
    for (unsigned r = 0; r < ROUNDS; r++) {
        if (fresh)
            array = new_array(m);
        for (size_t i = first_slot(r); i < slots; i += stride) {
            struct box *b = gc_alloc_pointerfree(m, KIND_BOX, sizeof *b);
            CHECK(b != NULL);
            b->value = i;
            array->slots[i] = b;
            if (!fresh)
                gc_write_barrier(m, &array->slots[i]);
        }
        gc_collect(m, GC_COLLECT_MINOR);
        for (size_t i = first_slot(r); i < slots; i += stride)
            CHECK_MSG(((struct box *)array->slots[i])->value == i, "slot %zu lost its object", i);
        struct gc_stats now;
        gc_get_stats(h, &now);
        uint64_t w0 = now.remembered_fields_by_worker[0] - last.remembered_fields_by_worker[0];
        uint64_t w1 = now.remembered_fields_by_worker[1] - last.remembered_fields_by_worker[1];
        printf("round %u: remembered fields %llu + %llu\n", r, (unsigned long long)w0,
               (unsigned long long)w1);
        shared_rounds += w0 > 0 && w1 > 0;
        last = now;
    }
    uint64_t total = last.remembered_fields - before.remembered_fields;
    uint64_t by_workers = 0;
    for (int k = 0; k < 2; k++)
        by_workers += last.remembered_fields_by_worker[k] - before.remembered_fields_by_worker[k];
    CHECK_MSG(last.parallel_minor_collections - before.parallel_minor_collections == ROUNDS,
              "not every minor collection ran on the workers");
    CHECK_MSG(by_workers == total, "the workers' fields do not add up");
    /* Each round every unit but perhaps the array's last one is dirty. A fresh array is
     * scanned whole but for the parts of its aligned 512-byte stretches that are all
     * zero: with a store every 16 slots, the stretch the stores stop short of, and at
     * each 64 KiB chunk's start the one zero slot a stretch has there (a chunk starts 8
     * bytes before a multiple of 512 in the payload). */
    size_t chunks = slots * sizeof(void *) / (64 * 1024);
    /* At most a tenth more, not twice: a page barrier may report a page the prefault
     * thread populated as written (prefault.c), whose old objects are then scanned too
     * (uffd under ASan in CI: 3,300 fields more in one round). */
    size_t most = ROUNDS * (slots + slots / 10);
    CHECK_MSG(fresh ? total >= ROUNDS * (slots - chunks - 64) && total <= most
                    : total >= ROUNDS * (slots - stride) && total <= most,
              "%llu fields for %d rounds of %zu slots: the array was not scanned once a round",
              (unsigned long long)total, ROUNDS, slots);
    /* Together, the workers share the list out in turns (take_share in minor.c), however
     * the threads are scheduled. */
    CHECK_MSG(shared_rounds == ROUNDS, "both workers scanned the array in only %u of %d rounds",
              shared_rounds, ROUNDS);
    gc_heap_destroy(h);
    return 0;
}
