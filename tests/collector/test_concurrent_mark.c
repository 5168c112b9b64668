/* Concurrent marking must not lose an object that the mutator hides behind an object the
 * marker has already traced (docs/collector.md, "Concurrent marking", invariant D).
 *
 * The marker is held and advanced one step at a time (gc-debug.h). Object A is traced
 * (black) while B is still white, reachable only through a chain of old objects; then
 * the test stores into A the only pointer to B and cuts the chain, and ends the cycle.
 * B must survive. The scenarios place the store's discovery differently:
 *   final:    the cycle ends right after the store: the final pause's harvest finds it,
 *             and its remembered-set scan shades B from A's field;
 *   minor:    a minor collection runs first: its harvest re-arms the barrier, so only its
 *             remembered-set scan sees that A was written, and it must shade B then (B
 *             must be marked when it ends);
 *   marker:   as minor, then the marker itself traces B before the end (B must be
 *             black before the final pause);
 *   promoted: the pointer to B goes into a young object held by a root, which a minor
 *             collection promotes during the cycle: promotion must shade it, because the
 *             final pause finds the root's target already marked (on 2 collector
 *             threads the copy is marked black and B is shaded from its field).
 * Then B's contents are checked after its cell would have been reused.
 *
 * With GCVM_GC_THREADS=2 and GCVM_GC_PARALLEL_MIN_KB=0 the final pause's marking (the
 * marking that finishes B, in the final and minor scenarios) runs on both collector
 * threads, which the test then requires; so do the pauses' minor collections, whose
 * workers shade.
 *
 * usage: test_concurrent_mark BARRIER final|minor|marker|promoted
 * Exits 77 when the barrier is not available here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_NODE = 1, CHAIN = 64 };
#define MAGIC 0x5ca1ab1e0ddba11ull

struct node {
    uint64_t magic;
    struct node *next;
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct node *)obj)->next, ctx);
}

static struct gc_mutator *mut;

static struct node *new_node_of(uint64_t magic, size_t bytes)
{
    struct node *n = gc_alloc(mut, KIND_NODE, bytes);
    CHECK(n != NULL);
    n->magic = magic;
    return n;
}

static struct node *new_node(uint64_t magic)
{
    return new_node_of(magic, sizeof(struct node));
}

static void store(struct node *holder, struct node *value)
{
    holder->next = value;
    gc_write_barrier(mut, &holder->next);
}

int main(int argc, char **argv)
{
    CHECK_MSG(argc == 3, "%s", "usage: test_concurrent_mark BARRIER final|minor|marker|promoted");
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    const char *scenario = argv[2];
    CHECK_MSG(!strcmp(scenario, "final") || !strcmp(scenario, "minor") ||
                  !strcmp(scenario, "marker") || !strcmp(scenario, "promoted"),
              "unknown scenario %s", scenario);

    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)64 << 20;
    cfg.nursery_bytes = (size_t)256 << 10;
    cfg.major_threshold_bytes = (size_t)48 << 20; /* cycles only when the test asks */
    cfg.concurrent_marking = 1;
    cfg.verify = 1;
    char err[256];
    struct gc_heap *heap = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "gc_heap_create: %s", err);
    CHECK_MSG(gc_heap_concurrent_marking(heap), "%s", "the heap does not mark concurrently");
    mut = attach_or_fail(heap);
    gc_register_kind(heap, KIND_NODE, trace_node);

    /* The chain's root first and A's last: the marker's stack is last in, first out, so
     * it traces A before it walks the chain down to B. */
    static struct node *chain_root, *a_root, *young_root;
    CHECK(gc_root_add(heap, (void **)&chain_root) == 0);
    CHECK(gc_root_add(heap, (void **)&a_root) == 0);
    CHECK(gc_root_add(heap, (void **)&young_root) == 0);
    chain_root = new_node(0);
    struct node *tail = chain_root;
    for (int i = 1; i < CHAIN; i++) {
        struct node *n = new_node((uint64_t)i);
        store(tail, n);
        tail = n;
    }
    store(tail, new_node(MAGIC)); /* B */
    a_root = new_node(1000);
    gc_collect(mut, GC_COLLECT_MINOR); /* all old now */
    for (tail = chain_root; tail->next->magic != MAGIC; tail = tail->next)
        ;
    struct node *a = a_root, *b = tail->next;

    gc_debug_marker_hold(heap, 1);
    CHECK_MSG(gc_debug_cycle_start(mut) == 0, "%s", "no concurrent cycle started");
    for (int i = 0; gc_debug_mark_color(mut, a) != 2; i++) {
        CHECK_MSG(i < 8, "%s", "A is not black after 8 marking steps");
        CHECK(gc_debug_mark_step(mut, 1) == 1);
    }
    CHECK_MSG(gc_debug_mark_color(mut, b) == 0, "%s", "B is marked already: no race to test");

    if (!strcmp(scenario, "promoted")) {
        /* Young, in the nursery; of another size class than the chain, so that its copy
         * shares no dirty unit with the cut (a re-scan of that unit would find B). */
        struct node *y = new_node_of(2000, 1000);
        y->next = b;
        young_root = y;
        store(tail, NULL);
        gc_collect(mut, GC_COLLECT_MINOR); /* promotes y during the cycle */
        CHECK_MSG(gc_debug_mark_color(mut, young_root) != 0, "%s",
                  "an object promoted during the cycle is white");
    } else {
        store(a, b);
        store(tail, NULL);
        if (strcmp(scenario, "final") != 0) {
            gc_collect(mut, GC_COLLECT_MINOR);
            CHECK_MSG(gc_debug_mark_color(mut, b) != 0, "%s",
                      "the minor collection's remembered-set scan did not shade B");
        }
        if (!strcmp(scenario, "marker")) {
            while (gc_debug_mark_step(mut, 1000) == 1000)
                ;
            CHECK_MSG(gc_debug_mark_color(mut, b) == 2, "%s",
                      "the marker did not trace B after the pause shaded it");
        }
    }
    CHECK(gc_debug_cycle_finish(mut) == 0);
    gc_debug_marker_hold(heap, 0);

    CHECK_MSG(gc_debug_is_allocated(mut, b), "%s",
              "B was freed: a store into a black object was lost");
    /* Fill the free cells of B's size class with promoted objects, then look at B again:
     * had it been freed, its cell would hold one of them. */
    static struct node *filler_root;
    CHECK(gc_root_add(heap, (void **)&filler_root) == 0);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 20000; i++) {
            struct node *n = new_node(0xdead);
            n->next = filler_root;
            filler_root = n;
        }
        gc_collect(mut, GC_COLLECT_MINOR);
    }
    struct node *holder = !strcmp(scenario, "promoted") ? young_root : a;
    CHECK_MSG(holder->next == b && b->magic == MAGIC, "%s", "B's cell was reused");
    CHECK(gc_verify(mut) == 0);

    struct gc_stats s;
    gc_get_stats(heap, &s);
    printf("%s %s: B survived; %llu concurrent cycle(s), %llu units re-scanned (%llu in the "
           "final pause)\n",
           argv[1], scenario, (unsigned long long)s.concurrent_cycles,
           (unsigned long long)s.mark_rescanned_units, (unsigned long long)s.final_rescanned_units);
    CHECK(s.concurrent_cycles == 1);
    /* On several collector threads with no threshold, the final pause marks on them. */
    const char *min_kb = getenv("GCVM_GC_PARALLEL_MIN_KB");
    if (gc_heap_parallelism(heap) > 1 && min_kb && !strcmp(min_kb, "0"))
        CHECK_MSG(s.parallel_marks == 1, "%llu markings on the workers, not 1",
                  (unsigned long long)s.parallel_marks);
    gc_mutator_detach(mut);
    gc_heap_destroy(heap);
    printf("PASS\n");
    return 0;
}
