/* Written cards start a minor collection (docs/collector.md, "Written cards start a
 * collection"): under cards, with a nursery the heap sizes, the cards written into old
 * objects since the last minor collection are counted, and once scanning them would take
 * the pause target the next allocation slow path collects, nursery full or not.
 *
 * The card's cost is fixed through gc_debug_card_budget, so that the budget is a number
 * of cards the test knows. Three phases:
 *  1. young only: stores into young objects alone, many more cards' worth per nursery
 *     than a small budget; none may start a collection (a nursery block's cards are
 *     marked when a thread takes it: without that, each would count);
 *  2. a random writer: a young leaf stored into a random one of a million old records,
 *     about 60,000 distinct cards per 2 MiB nursery; every minor collection must find at
 *     most the budget plus what one nursery block's stores can add, and most must have
 *     started before their nursery was full;
 *  3. the records' leaves checked against a copy kept outside the heap: a store whose
 *     card was lost would leave its leaf unpromoted, freed and overwritten.
 * Usage: test_card_budget card */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_RECORD = 1, KIND_LEAF = 2, KIND_ARRAY = 3, KIND_PAIR = 4 };
enum { RECORDS = 1 << 20, STORES = 3 << 20 };

struct record {
    struct leaf *leaf;
    uintptr_t id;
};
struct leaf {
    uintptr_t value;
};
struct pair { /* phase 1's young lists */
    struct pair *next;
    uintptr_t value;
};

static void *array_root;

static void trace_record(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct record *)obj)->leaf, ctx);
}

static void trace_pair(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct pair *)obj)->next, ctx);
}

static void trace_array(void *obj, gc_visit_fn visit, void *ctx)
{
    void **w = obj;
    size_t n = gc_object_size(obj) / sizeof(void *);
    for (size_t i = 0; i < n; i++)
        visit(&w[i], ctx);
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static struct gc_stats stats_of(struct gc_heap *h)
{
    struct gc_stats s;
    gc_get_stats(h, &s);
    return s;
}

/* Builds young lists of 64 pairs, each store into a young pair; 256 MiB in all. */
static void young_stores_only(struct gc_mutator *m)
{
    for (size_t built = 0; built < ((size_t)256 << 20) / 32 / 64; built++) {
        struct pair *head = NULL;
        for (unsigned k = 0; k < 64; k++) {
            struct pair *p = gc_alloc(m, KIND_PAIR, sizeof *p);
            CHECK(p != NULL);
            p->next = head;
            gc_write_barrier(m, &p->next);
            p->value = k;
            head = p;
        }
    }
}

int main(int argc, char **argv)
{
    struct gc_config cfg;
    gc_config_init(&cfg); /* nursery_bytes 0: sized by the heap */
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.heap_max_bytes = (size_t)512 << 20;
    cfg.verify = getenv("TEST_VERIFY") != NULL;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    CHECK(gc_root_add(h, &array_root) == 0);
    CHECK(gc_register_kind(h, KIND_RECORD, trace_record) == 0);
    CHECK(gc_register_kind(h, KIND_PAIR, trace_pair) == 0);
    CHECK(gc_register_kind(h, KIND_ARRAY, trace_array) == 0);
    CHECK_MSG(gc_debug_card_budget(h, 0) != UINT64_MAX,
              "written cards start no collection under card with a sized nursery");

    /* 1. Young stores only: 2,000 cards of budget against 16,000 young cards per 2 MiB. */
    uint64_t small_budget = gc_debug_card_budget(h, 2000.0);
    young_stores_only(m);
    struct gc_stats s = stats_of(h);
    printf("young stores only: budget %llu cards, %llu minor collections, %llu by written "
           "cards\n",
           (unsigned long long)small_budget, (unsigned long long)s.minor_collections,
           (unsigned long long)s.minors_by_cards);
    CHECK_MSG(s.minor_collections >= 20, "only %llu minor collections",
              (unsigned long long)s.minor_collections);
    CHECK_MSG(s.minors_by_cards == 0,
              "%llu minor collections were started by stores into young objects",
              (unsigned long long)s.minors_by_cards);

    /* The old records, in a large array. */
    struct record **records = gc_alloc(m, KIND_ARRAY, RECORDS * sizeof(void *));
    CHECK(records != NULL);
    array_root = records;
    for (size_t i = 0; i < RECORDS; i++) {
        struct record *r = gc_alloc(m, KIND_RECORD, sizeof *r);
        CHECK(r != NULL);
        r->id = i;
        records = array_root;
        records[i] = r;
        gc_write_barrier(m, &records[i]);
    }
    gc_collect(m, GC_COLLECT_MINOR);

    /* 2. The random writer. */
    uint64_t budget = gc_debug_card_budget(h, 200.0);
    uintptr_t *expected = calloc(RECORDS, sizeof *expected);
    CHECK(expected != NULL);
    s = stats_of(h);
    uint64_t minors = s.minor_collections + s.major_collections;
    uint64_t by_cards = s.minors_by_cards;
    uint64_t dirty = s.dirty_units, most = 0, checked = 0;
    uint64_t random_state = 88172645463325252ull;
    for (uintptr_t step = 1; step <= STORES; step++) {
        struct leaf *leaf = gc_alloc_pointerfree(m, KIND_LEAF, sizeof *leaf);
        CHECK(leaf != NULL);
        leaf->value = step;
        size_t at = next_random(&random_state) % RECORDS;
        struct record *r = ((struct record **)array_root)[at];
        r->leaf = leaf;
        gc_write_barrier(m, &r->leaf);
        expected[at] = step;
        if (step % 64 == 0) { /* at most one collection per 2,048 leaves (a block) */
            s = stats_of(h);
            if (s.minor_collections + s.major_collections != minors) {
                uint64_t found = s.dirty_units - dirty;
                most = found > most ? found : most;
                checked++;
                minors = s.minor_collections + s.major_collections;
                dirty = s.dirty_units;
            }
        }
    }
    s = stats_of(h);
    by_cards = s.minors_by_cards - by_cards;
    printf("random writer: budget %llu cards, %llu collections checked, at most %llu dirty "
           "cards found, %llu started by written cards\n",
           (unsigned long long)budget, (unsigned long long)checked, (unsigned long long)most,
           (unsigned long long)by_cards);
    /* A block's worth of stores (2,048 leaves of 16 bytes) is added at its slow path. */
    CHECK_MSG(most <= budget + 2048, "a collection found %llu dirty cards, budget %llu",
              (unsigned long long)most, (unsigned long long)budget);
    CHECK_MSG(checked >= 20, "only %llu collections", (unsigned long long)checked);
    CHECK_MSG(by_cards * 2 >= checked, "only %llu of %llu collections started by written cards",
              (unsigned long long)by_cards, (unsigned long long)checked);

    /* 3. Every leaf is the one last stored. */
    gc_collect(m, GC_COLLECT_MINOR);
    struct record **final = array_root;
    for (size_t i = 0; i < RECORDS; i++) {
        uintptr_t got = final[i]->leaf ? final[i]->leaf->value : 0;
        CHECK_MSG(final[i]->id == i && got == expected[i],
                  "record %zu: id %llu, leaf %llu, expected %llu", i,
                  (unsigned long long) final[i]->id, (unsigned long long)got,
                  (unsigned long long)expected[i]);
    }
    free(expected);
    gc_mutator_detach(m);
    gc_heap_destroy(h);
    return 0;
}
