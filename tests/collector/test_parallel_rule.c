/* Which minor collections go to the workers (docs/collector.md, "Small collections stay
 * on the collecting thread"): the work the last one did, scaled by the nursery blocks each
 * collects, or this one's fresh large objects, must reach GCVM_GC_PARALLEL_MIN_KB.
 *
 * Usage: test_parallel_rule BARRIER
 *
 * On 2 collector threads with a fixed 8 MiB nursery (no collection but the test's own):
 *   garbage:  a nursery of garbage after one that kept little stays on one thread;
 *   scaled:   a collection that kept 24 KiB of one nursery block is followed by one that
 *             keeps 3 MiB of 96 blocks: predicted from the first, scaled by 96, it goes to
 *             the workers (unscaled, 24 KiB would have kept it on one thread);
 *   again:    garbage after that goes to the workers once (its prediction is the big
 *             one), then stays on one thread;
 *   fresh:    a 2 MiB pointer array allocated old, and nothing else, sends the collection
 *             after a small one to the workers, whose scan of it is the work. */
#include <inttypes.h>
#include <stdlib.h>

#include "gcvm/gc-embedder.h"
#include "test_nodes.h"
#include "test_util.h"

enum { SLOTS = 6 }; /* a node of 64 bytes, its header apart */

static struct gc_mutator *mut;
static struct gc_heap *heap;
static void *kept; /* a chain of the nodes that survive */
static uint64_t next_id = 1;

/* Nodes of about `bytes` in all, chained to `kept` when keep is set. */
static void allocate(size_t bytes, int keep)
{
    size_t each = sizeof(struct node) + SLOTS * sizeof(void *);
    for (size_t done = 0; done < bytes; done += each) {
        struct node *n = node_alloc(mut, &next_id, SLOTS);
        if (keep) {
            n->slots[0] = kept;
            gc_write_barrier(mut, &n->slots[0]);
            kept = n;
        }
    }
}

static uint64_t parallel_minors(void)
{
    struct gc_stats s;
    gc_get_stats(heap, &s);
    return s.parallel_minor_collections;
}

/* One minor collection; whether it ran on the workers. */
static int collect_is_parallel(void)
{
    uint64_t before = parallel_minors();
    gc_collect(mut, GC_COLLECT_MINOR);
    return parallel_minors() > before;
}

int main(int argc, char **argv)
{
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    CHECK_MSG(kind != GC_BARRIER_NONE, "the none barrier makes every collection major");
    /* The rule's defaults, whatever the environment says. */
    setenv("GCVM_GC_PARALLEL_MIN_KB", "1024", 1);
    unsetenv("GCVM_GC_WORKERS_TOGETHER");

    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)256 << 20;
    cfg.nursery_bytes = (size_t)8 << 20;
    cfg.parallelism = 2;
    cfg.concurrent_marking = -1;
    heap = node_heap_create(&cfg, &mut);
    CHECK(gc_root_add(heap, &kept) == 0);

    gc_collect(mut, GC_COLLECT_MINOR); /* the heap's first: on the workers, keeps nothing */
    allocate((size_t)4 << 20, 0);
    CHECK_MSG(!collect_is_parallel(), "%s",
              "garbage: a collection that keeps nothing went to "
              "the workers after one that kept nothing");

    allocate((size_t)24 << 10, 1);
    CHECK_MSG(!collect_is_parallel(), "%s", "a collection of 24 KiB went to the workers");
    allocate((size_t)3 << 20, 1);
    CHECK_MSG(collect_is_parallel(), "%s",
              "scaled: 3 MiB kept of 96 nursery blocks, after 24 KiB of one, stayed on one "
              "thread");

    allocate((size_t)4 << 20, 0);
    CHECK_MSG(collect_is_parallel(), "%s",
              "again: the collection after 3 MiB kept stayed on "
              "one thread");
    allocate((size_t)4 << 20, 0);
    CHECK_MSG(!collect_is_parallel(), "%s",
              "again: garbage after a collection that kept nothing went to the workers");

    /* 2 MiB of slots, old at once (a large object), pointing at nothing young. */
    struct node *big = node_alloc(mut, &next_id, ((size_t)2 << 20) / sizeof(void *));
    CHECK(big != NULL);
    big->slots[0] = kept;
    gc_write_barrier(mut, &big->slots[0]);
    kept = big;
    CHECK_MSG(collect_is_parallel(), "%s",
              "fresh: a collection with a fresh 2 MiB array to scan stayed on one thread");

    struct gc_stats s;
    gc_get_stats(heap, &s);
    printf("%s: %" PRIu64 " minor collections, %" PRIu64 " on the workers\n", argv[1],
           s.minor_collections, s.parallel_minor_collections);
    CHECK(gc_verify(mut) == 0);
    gc_mutator_detach(mut);
    gc_heap_destroy(heap);
    printf("PASS\n");
    return 0;
}
