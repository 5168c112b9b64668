/* A minor collection on several collector threads shares the work and copies every
 * survivor exactly once.
 *
 * Usage: GCVM_GC_WORKERS_TOGETHER=1 test_parallel_minor BARRIER GC_THREADS
 *
 * (every worker takes part and has its share of the roots whatever the scheduling; the
 * test runs without it too, but a worker the system does not schedule may copy nothing)
 *
 * The nursery holds only survivors: ROOTS registered roots, each the top of a tree, and
 * SHARED nodes that every tree points to (so the workers race for them), some with
 * their identity hash taken, and two ephemerons (one with a live key whose value only it
 * reaches, one with a dead key). After one minor collection: the objects the workers
 * copied add up to exactly the strongly reachable objects (a worker that lost a race
 * for an object gave its copy back); with more than one thread every worker copied some
 * (the roots are shared out among them, whatever the scheduling); every tree has its
 * contents, every reference to a shared node names the same copy, the hashes did not
 * change, the live ephemeron kept its value and the other one broke. */
#include <inttypes.h>
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "gcvm/gc-weak.h"
#include "test_nodes.h"
#include "test_util.h"

enum { ROOTS = 64, FANOUT = 4, DEPTH = 5, SHARED = 256, HASHED_EVERY = 7 };

static struct gc_mutator *mut;
static void *roots[ROOTS];
static void *shared[SHARED];
static void *live_ephemeron, *dead_ephemeron;
static uint64_t shared_hash[SHARED];
static uint64_t next_id = 1;
static uint64_t strong_objects; /* allocated and strongly reachable */

static struct node *new_node(uint64_t nslots)
{
    return node_alloc(mut, &next_id, nslots);
}

/* A tree under a root: each inner node has FANOUT children and one shared node. */
static struct node *build(int depth, uint64_t *k)
{
    struct node *n = new_node(depth > 0 ? FANOUT + 1 : 1);
    strong_objects++;
    n->slots[n->nslots - 1] = shared[(*k)++ % SHARED];
    for (uint64_t i = 0; depth > 0 && i < FANOUT; i++) {
        struct node *child = build(depth - 1, k);
        n->slots[i] = child;
        gc_write_barrier(mut, &n->slots[i]);
    }
    return n;
}

/* Checks a tree built by build() from the same k, returning its node count. */
static uint64_t check_tree(const struct node *n, int depth, uint64_t *k)
{
    CHECK(n != NULL);
    CHECK_MSG(n->nslots == (uint64_t)(depth > 0 ? FANOUT + 1 : 1), "node %" PRIu64, n->id);
    CHECK_MSG(n->slots[n->nslots - 1] == shared[(*k)++ % SHARED],
              "node %" PRIu64 " names another copy of a shared node", n->id);
    uint64_t count = 1;
    for (uint64_t i = 0; depth > 0 && i < FANOUT; i++)
        count += check_tree(n->slots[i], depth - 1, k);
    return count;
}

int main(int argc, char **argv)
{
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    unsigned threads = gc_threads_from_args(argc, argv);
    CHECK_MSG(kind != GC_BARRIER_NONE, "the none barrier makes every collection major");

    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)64 << 20;
    cfg.nursery_bytes = (size_t)8 << 20; /* everything below fits: one collection */
    cfg.verify = 1;
    cfg.parallelism = threads;
    struct gc_heap *heap = node_heap_create(&cfg, &mut);

    for (int s = 0; s < SHARED; s++) {
        CHECK(gc_root_add(heap, &shared[s]) == 0);
        shared[s] = new_node(0);
        strong_objects++;
        if (s % HASHED_EVERY == 0)
            shared_hash[s] = gc_object_hash(heap, shared[s]);
    }
    uint64_t k = 0;
    for (int r = 0; r < ROOTS; r++) {
        CHECK(gc_root_add(heap, &roots[r]) == 0);
        roots[r] = build(DEPTH, &k);
    }
    /* The live ephemeron's value is reached only through it: the single-threaded end of
     * the collection copies it. The dead one's key is reached by nothing. */
    CHECK(gc_root_add(heap, &live_ephemeron) == 0);
    CHECK(gc_root_add(heap, &dead_ephemeron) == 0);
    live_ephemeron = gc_alloc_ephemeron(mut, 0, roots[0], new_node(0));
    dead_ephemeron = gc_alloc_ephemeron(mut, 0, new_node(0), NULL);
    CHECK(live_ephemeron && dead_ephemeron);
    strong_objects += 2;

    struct gc_stats before, after;
    gc_get_stats(heap, &before);
    CHECK_MSG(before.minor_collections + before.major_collections == 0,
              "the nursery filled up while building");
    gc_collect(mut, GC_COLLECT_MINOR);
    gc_get_stats(heap, &after);
    CHECK(after.minor_collections == 1 && after.major_collections == 0);

    uint64_t copied = 0;
    printf("%u collector threads: copied", threads);
    for (unsigned w = 0; w < GC_STATS_WORKERS; w++) {
        copied += after.objects_copied_by_worker[w];
        if (w < threads)
            printf(" %" PRIu64, after.objects_copied_by_worker[w]);
    }
    printf(" of %" PRIu64 " strongly reachable objects; %" PRIu64 " steals\n", strong_objects,
           after.work_steals);
    if (threads > 1) {
        CHECK(after.parallel_minor_collections == 1);
        CHECK_MSG(copied == strong_objects, "workers copied %" PRIu64 " objects, not %" PRIu64,
                  copied, strong_objects);
        for (unsigned w = 0; w < threads; w++) {
            CHECK_MSG(after.objects_copied_by_worker[w] > 0, "worker %u copied nothing", w);
            CHECK_MSG(after.cpu_ns_by_worker[w] > 0, "worker %u took no CPU time", w);
        }
    } else {
        CHECK(after.parallel_minor_collections == 0 && copied == 0);
    }

    k = 0;
    uint64_t nodes = 0;
    for (int r = 0; r < ROOTS; r++)
        nodes += check_tree(roots[r], DEPTH, &k);
    CHECK(nodes + SHARED + 2 == strong_objects);
    for (int s = 0; s < SHARED; s++)
        if (s % HASHED_EVERY == 0)
            CHECK_MSG(gc_object_hash(heap, shared[s]) == shared_hash[s],
                      "shared node %d changed its hash", s);
    CHECK(gc_ephemeron_key(live_ephemeron) == roots[0]);
    const struct node *value = gc_ephemeron_value(live_ephemeron);
    CHECK(value != NULL && value->nslots == 0 && value->id == next_id - 2);
    CHECK(gc_ephemeron_broken(dead_ephemeron));
    CHECK(gc_verify(mut) == 0);
    gc_mutator_detach(mut);
    gc_heap_destroy(heap);
    puts("PASS");
    return 0;
}
