/* One recorded mutation trace, replayed under the card barrier and under a page barrier:
 * the old pages the page barrier finds written (for gcvm-dirty: the dirty bits of the
 * guest's page tables) must be exactly the pages holding the cards the card barrier
 * marks. A page missing is an old-to-young pointer lost; a page too many is a barrier
 * that scans more than it should. Each round ends with a minor collection, after which
 * every stored young object must still be reachable with its value, and the next round
 * starts from a re-armed barrier.
 *
 * usage: test_barrier_trace BARRIER [SEED]. Exits 77 when the barrier is not available. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "gcvm/gcvm.h"
#include "test_util.h"

enum { KIND_NODE = 1, OLD_OBJECTS = 3000, ROUNDS = 4, STORES = 60, MAX_SLOTS = 60 };

struct node {
    uint64_t value;
    uint64_t nslots;
    void *slots[];
};

struct store {
    uint32_t object, slot;
};

struct trace {
    uint32_t nslots[OLD_OBJECTS];
    struct store stores[ROUNDS][STORES];
};

struct pages {
    size_t count[ROUNDS];
    size_t index[ROUNDS][OLD_OBJECTS];
};

static struct node *old_objects[OLD_OBJECTS];

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct node *n = obj;
    for (uint64_t i = 0; i < n->nslots; i++)
        visit(&n->slots[i], ctx);
}

static void trace_old_objects(gc_visit_fn visit, void *ctx, void *user)
{
    (void)user;
    for (size_t i = 0; i < OLD_OBJECTS; i++)
        visit((void **)&old_objects[i], ctx);
}

static uint64_t rng;
static uint64_t below(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

static void record_trace(struct trace *t, uint64_t seed)
{
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < OLD_OBJECTS; i++)
        t->nslots[i] = 1 + (uint32_t)below(MAX_SLOTS);
    for (size_t r = 0; r < ROUNDS; r++) {
        for (size_t k = 0; k < STORES; k++) {
            uint32_t object = (uint32_t)below(OLD_OBJECTS);
            t->stores[r][k] = (struct store){object, (uint32_t)below(t->nslots[object])};
        }
    }
}

static struct node *new_node(struct gc_mutator *m, size_t nslots, uint64_t value)
{
    struct node *n = gc_alloc(m, KIND_NODE, sizeof *n + nslots * sizeof(void *));
    CHECK(n != NULL);
    n->nslots = nslots;
    n->value = value;
    return n;
}

/* Replays the trace under `kind`; fills the pages found written in each round. */
static void replay(enum gc_barrier_kind kind, const struct trace *t, struct pages *out)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)16 << 20;
    cfg.nursery_bytes = (size_t)1 << 20;
    cfg.major_threshold_bytes = (size_t)8 << 20;
    cfg.verify = 1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "gc_heap_create(%s): %s", gc_barrier_name(kind), err);
    struct gc_mutator *m = attach_or_fail(h);
    CHECK(gc_register_kind(h, KIND_NODE, trace_node) == 0);
    gc_set_root_tracer(h, trace_old_objects, NULL);
    for (size_t i = 0; i < OLD_OBJECTS; i++)
        old_objects[i] = new_node(m, t->nslots[i], i);
    gc_collect(m, GC_COLLECT_MINOR); /* every object is old now, and the barrier armed */
    for (size_t r = 0; r < ROUNDS; r++) {
        for (size_t k = 0; k < STORES; k++) {
            const struct store *s = &t->stores[r][k];
            struct node *young = new_node(m, 0, 1000000 * (r + 1) + k);
            old_objects[s->object]->slots[s->slot] = young;
            gc_write_barrier(m, &old_objects[s->object]->slots[s->slot]);
        }
        out->count[r] = gc_debug_written_pages(m, out->index[r], OLD_OBJECTS);
        CHECK(out->count[r] <= OLD_OBJECTS);
        gc_collect(m, GC_COLLECT_MINOR);
        for (size_t k = 0; k < STORES; k++) {
            const struct store *s = &t->stores[r][k];
            const struct node *young = old_objects[s->object]->slots[s->slot];
            CHECK(young != NULL && young->value >= 1000000 * (r + 1) &&
                  young->value < 1000000 * (r + 1) + STORES && young->nslots == 0);
        }
    }
    gc_heap_destroy(h);
}

static void print_pages(const char *name, const size_t *index, size_t n)
{
    fprintf(stderr, "  %s (%zu):", name, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %zu", index[i]);
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    CHECK_MSG(kind != GC_BARRIER_CARD && kind != GC_BARRIER_NONE && kind != GC_BARRIER_AUTO,
              "compare a page barrier with the card barrier");
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    static struct trace trace;
    static struct pages by_card, by_pages;
    record_trace(&trace, seed);
    replay(GC_BARRIER_CARD, &trace, &by_card);
    replay(kind, &trace, &by_pages);
    CHECK_MSG(!gcvm_in_guest(), "the thread is still in guest mode after the heap went");
    for (size_t r = 0; r < ROUNDS; r++) {
        bool same =
            by_card.count[r] == by_pages.count[r] &&
            memcmp(by_card.index[r], by_pages.index[r], by_card.count[r] * sizeof(size_t)) == 0;
        if (!same) {
            fprintf(stderr, "round %zu: the pages differ\n", r);
            print_pages("card", by_card.index[r], by_card.count[r]);
            print_pages(argv[1], by_pages.index[r], by_pages.count[r]);
        }
        CHECK_MSG(same, "%s found other pages than the card barrier's", argv[1]);
        /* The trace must tell pages apart: some written, most not. */
        CHECK(by_card.count[r] > 10 && by_card.count[r] < STORES + 1);
        printf("round %zu: %zu pages written, the same under card and %s\n", r, by_card.count[r],
               argv[1]);
    }
    puts("PASS");
    return 0;
}
