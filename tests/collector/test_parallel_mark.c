/* A stop-the-world major collection on several collector threads marks each live old
 * object exactly once, and shares the marking out.
 *
 * Usage: GCVM_GC_WORKERS_TOGETHER=1 test_parallel_mark BARRIER GC_THREADS
 *
 * (every worker takes part and has its share of the roots whatever the scheduling)
 *
 * A minor collection makes old a graph of ROOTS trees that all point into SHARED nodes
 * (so the workers race to mark them), plus two ephemerons (one whose key lives and whose
 * value only it reaches, one whose key dies). Then half of the trees are dropped (each
 * worker keeps a share of the live ones among its roots), and
 * young nodes are hung under the others, and a major collection runs. After it: the old
 * objects the workers marked add up to exactly the live old objects that a strong trace
 * reaches (a mark is claimed once; the ephemeron's value is marked by the
 * single-threaded end), the young ones they copied to exactly the live young ones; with
 * more than one thread every worker marked some; the kept trees are whole, the live
 * ephemeron kept its value and the other one broke; the heap verifier agrees. */
#include <inttypes.h>
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "gcvm/gc-weak.h"
#include "test_nodes.h"
#include "test_util.h"

enum { ROOTS = 64, FANOUT = 4, DEPTH = 5, SHARED = 512, YOUNG_PER_ROOT = 8 };

static struct gc_mutator *mut;
static void *roots[ROOTS];
static void *shared[SHARED];
static void *live_ephemeron, *dead_ephemeron;
static uint64_t next_id = 1;

static struct node *new_node(uint64_t nslots)
{
    return node_alloc(mut, &next_id, nslots);
}

/* A tree: each inner node has FANOUT children and one shared node; a leaf has room for
 * one young node. Returns the tree; *count grows by its nodes. */
static struct node *build(int depth, uint64_t *k, uint64_t *count)
{
    struct node *n = new_node(depth > 0 ? FANOUT + 1 : 2);
    (*count)++;
    n->slots[n->nslots - 1] = shared[(*k)++ % SHARED];
    for (uint64_t i = 0; depth > 0 && i < FANOUT; i++) {
        struct node *child = build(depth - 1, k, count);
        n->slots[i] = child;
        gc_write_barrier(mut, &n->slots[i]);
    }
    return n;
}

/* Checks a tree built by build(); returns its node count. */
static uint64_t check_tree(const struct node *n, int depth)
{
    CHECK(n != NULL);
    CHECK_MSG(n->nslots == (uint64_t)(depth > 0 ? FANOUT + 1 : 2), "node %" PRIu64, n->id);
    uint64_t count = 1;
    for (uint64_t i = 0; depth > 0 && i < FANOUT; i++)
        count += check_tree(n->slots[i], depth - 1);
    return count;
}

/* The first leaf of a tree. */
static struct node *first_leaf(struct node *n)
{
    while (n->nslots == FANOUT + 1)
        n = n->slots[0];
    return n;
}

int main(int argc, char **argv)
{
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    unsigned threads = gc_threads_from_args(argc, argv);

    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)128 << 20;
    cfg.nursery_bytes = (size_t)16 << 20; /* the graph fits: no collection while building */
    cfg.major_threshold_bytes = (size_t)96 << 20;
    cfg.concurrent_marking = -1;
    cfg.verify = 1;
    cfg.parallelism = threads;
    struct gc_heap *heap = node_heap_create(&cfg, &mut);

    for (int s = 0; s < SHARED; s++) {
        CHECK(gc_root_add(heap, &shared[s]) == 0);
        shared[s] = new_node(0);
    }
    uint64_t k = 0, tree_nodes[ROOTS];
    for (int r = 0; r < ROOTS; r++) {
        CHECK(gc_root_add(heap, &roots[r]) == 0);
        tree_nodes[r] = 0;
        roots[r] = build(DEPTH, &k, &tree_nodes[r]);
    }
    CHECK(gc_root_add(heap, &live_ephemeron) == 0);
    CHECK(gc_root_add(heap, &dead_ephemeron) == 0);
    live_ephemeron = gc_alloc_ephemeron(mut, 0, roots[0], new_node(0));
    dead_ephemeron = gc_alloc_ephemeron(mut, 0, new_node(0), NULL);
    CHECK(live_ephemeron && dead_ephemeron);
    struct gc_stats st;
    gc_get_stats(heap, &st);
    CHECK_MSG(st.minor_collections + st.major_collections == 0,
              "the nursery filled up while building");
    gc_collect(mut, GC_COLLECT_MINOR); /* everything is old now */

    /* Half of the trees die; the others get a young node under their first leaf. */
    uint64_t live_old = SHARED + 2, live_young = 0;
    for (int r = 0; r < ROOTS; r++) {
        if (r % 4 >= 2) {
            roots[r] = NULL;
            continue;
        }
        live_old += tree_nodes[r];
        struct node *leaf = first_leaf(roots[r]);
        leaf->slots[0] = new_node(0);
        gc_write_barrier(mut, &leaf->slots[0]);
        live_young++;
    }
    struct gc_stats before, after;
    gc_get_stats(heap, &before);
    gc_collect(mut, GC_COLLECT_MAJOR);
    gc_get_stats(heap, &after);
    CHECK(after.major_collections == before.major_collections + 1);

    uint64_t marked = 0, copied = 0;
    printf("%u collector threads: marked", threads);
    for (unsigned w = 0; w < GC_STATS_WORKERS; w++) {
        uint64_t m = after.objects_marked_by_worker[w] - before.objects_marked_by_worker[w];
        marked += m;
        copied += after.objects_copied_by_worker[w] - before.objects_copied_by_worker[w];
        if (w < threads)
            printf(" %" PRIu64, m);
    }
    printf(" of %" PRIu64 " live old objects; copied %" PRIu64 " of %" PRIu64 " young\n", live_old,
           copied, live_young);
    if (threads > 1) {
        CHECK(after.parallel_marks == before.parallel_marks + 1);
        CHECK_MSG(marked == live_old, "workers marked %" PRIu64 " objects, not %" PRIu64, marked,
                  live_old);
        CHECK_MSG(copied == live_young, "workers copied %" PRIu64 " objects, not %" PRIu64, copied,
                  live_young);
        for (unsigned w = 0; w < threads; w++) {
            uint64_t m = after.objects_marked_by_worker[w] - before.objects_marked_by_worker[w];
            CHECK_MSG(m > 0, "worker %u marked nothing", w);
            CHECK_MSG(after.mark_cpu_ns_by_worker[w] > before.mark_cpu_ns_by_worker[w],
                      "worker %u took no CPU time", w);
        }
    } else {
        CHECK(after.parallel_marks == 0 && marked == 0);
    }

    for (int r = 0; r < ROOTS; r++) {
        if (!roots[r])
            continue;
        CHECK(check_tree(roots[r], DEPTH) == tree_nodes[r]);
        const struct node *young = first_leaf(roots[r])->slots[0];
        CHECK(young != NULL && young->nslots == 0);
    }
    CHECK(gc_ephemeron_key(live_ephemeron) == roots[0]);
    const struct node *value = gc_ephemeron_value(live_ephemeron);
    CHECK(value != NULL && value->nslots == 0);
    CHECK(gc_ephemeron_broken(dead_ephemeron));
    CHECK(gc_verify(mut) == 0);
    gc_mutator_detach(mut);
    gc_heap_destroy(heap);
    puts("PASS");
    return 0;
}
