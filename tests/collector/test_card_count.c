/* Under cards, the written cards of small-object blocks are counted where they are read:
 * the listing takes such a block on its summary byte and the worker that scans it counts
 * its dirty cards (docs/collector.md, "The remembered set"). gc_stats.dirty_units after a
 * minor collection is exactly the number of distinct cards written, on one collector
 * thread and on several, and each old object written holds the young one stored.
 * Usage: test_card_count GC_THREADS (run with GCVM_GC_PARALLEL_MIN_KB=0 and, for 2,
 * GCVM_GC_WORKERS_TOGETHER=1, so that every minor collection is parallel). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_TABLE = 1, KIND_PAIR = 2 };
enum { PAIRS = 100000, WRITES = 6000, ROUNDS = 4 };

struct pair {
    void *car, *cdr;
};

static void trace_table(void *obj, gc_visit_fn visit, void *ctx)
{
    void **w = obj;
    size_t n = gc_object_size(obj) / sizeof(void *);
    for (size_t i = 0; i < n; i++)
        visit(&w[i], ctx);
}

static void trace_pair(void *obj, gc_visit_fn visit, void *ctx)
{
    struct pair *p = obj;
    visit(&p->car, ctx);
    visit(&p->cdr, ctx);
}

static struct pair **table; /* a large array of PAIRS old pairs; a root */

static struct gc_stats stats_of(struct gc_heap *h)
{
    struct gc_stats s;
    gc_get_stats(h, &s);
    return s;
}

static int compare_addresses(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
    CHECK_MSG(threads >= 1 && threads <= 4, "GC_THREADS is 1 to 4, not %s", argv[1]);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = GC_BARRIER_CARD;
    cfg.parallelism = threads;
    cfg.concurrent_marking = -1;
    cfg.nursery_bytes = (size_t)4 << 20;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    CHECK(gc_register_kind(h, KIND_TABLE, trace_table) == 0);
    CHECK(gc_register_kind(h, KIND_PAIR, trace_pair) == 0);
    CHECK(gc_root_add(h, (void **)&table) == 0);

    table = gc_alloc(m, KIND_TABLE, PAIRS * sizeof(struct pair *));
    CHECK(table != NULL);
    for (size_t i = 0; i < PAIRS; i++) {
        struct pair *p = gc_alloc(m, KIND_PAIR, sizeof *p);
        CHECK(p != NULL);
        p->car = (void *)(uintptr_t)(i * 2 + 1); /* not a pointer: an odd number */
        table[i] = p;
        gc_write_barrier(m, &table[i]);
    }
    gc_collect(m, GC_COLLECT_MINOR); /* the pairs are old now */
    gc_collect(m, GC_COLLECT_MINOR); /* and no card is left from the filling */
    struct gc_stats s = stats_of(h);
    CHECK_MSG(s.dirty_unit_bytes == 128, "cards of %llu bytes, expected 128",
              (unsigned long long)s.dirty_unit_bytes);

    uintptr_t *cards = malloc(WRITES * sizeof *cards);
    CHECK(cards != NULL);
    srand(12345);
    for (int round = 0; round < ROUNDS; round++) {
        struct gc_stats before = stats_of(h);
        size_t chosen[WRITES];
        for (int k = 0; k < WRITES; k++) {
            size_t i = (size_t)rand() % PAIRS;
            struct pair *young = gc_alloc(m, KIND_PAIR, sizeof *young);
            CHECK(young != NULL);
            young->car = (void *)(uintptr_t)(i * 2 + 1);
            table[i]->cdr = young;
            gc_write_barrier(m, &table[i]->cdr);
            cards[k] = (uintptr_t)&table[i]->cdr / s.dirty_unit_bytes;
            chosen[k] = i;
        }
        qsort(cards, WRITES, sizeof *cards, compare_addresses);
        uint64_t distinct = 0;
        for (int k = 0; k < WRITES; k++)
            distinct += k == 0 || cards[k] != cards[k - 1];
        gc_collect(m, GC_COLLECT_MINOR);
        struct gc_stats after = stats_of(h);
        uint64_t counted = after.dirty_units - before.dirty_units;
        printf("round %d on %u collector thread(s): %d stores into old pairs, %llu distinct "
               "cards, %llu counted (%llu parallel minor collections so far)\n",
               round, threads, WRITES, (unsigned long long)distinct, (unsigned long long)counted,
               (unsigned long long)after.parallel_minor_collections);
        CHECK_MSG(counted == distinct, "%llu dirty cards counted, %llu written",
                  (unsigned long long)counted, (unsigned long long)distinct);
        if (threads > 1)
            CHECK_MSG(after.parallel_minor_collections > before.parallel_minor_collections, "%s",
                      "the minor collection did not run on the workers");
        for (int k = 0; k < WRITES; k++) {
            const struct pair *young = table[chosen[k]]->cdr;
            CHECK(young->car == (void *)(uintptr_t)(chosen[k] * 2 + 1));
        }
    }
    free(cards);
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    return 0;
}
