/* Hot pages (hot_pages.c; docs/barriers.md, "Hot pages"): an old page written between
 * every two collections stays writable, so a program that keeps writing the same pages
 * stops paying a fault per page per collection, and its stores are still found.
 *
 * An old array of PAGES pages gets one young object stored into each page, then a minor
 * collection, ROUNDS times. Without hot pages each round faults once per page (ROUNDS *
 * PAGES faults); with them only the first two rounds do, and after HOT_FOR collections
 * the pages are re-tested a few at a time (no round after the first two faults on more
 * than a quarter of them; all at once, one round would fault on every page). Faults: with uffd, the
 * minor page faults the storing loop takes (the collections are left out); with mprotect, the
 * barrier's traps. Each round checks that every young object stored survived with its value. Then
 * rounds without stores: the pages must turn cold (protected again) within 2 * HOT_FOR collections,
 * and a store after that must fault again. GCVM_GC_HOT_PAGES=0 turns the feature off: then every
 * round faults on every page, which this test checks as well when run with "off".
 * Usage: test_hot_pages BARRIER [off]. */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_ARRAY = 1, KIND_BOX = 2, PAGES = 64, ROUNDS = 40, SLOTS_PER_PAGE = 512 };
enum { HOT_FOR = 32 }; /* hot_pages.c's: a hot page is protected again from this streak */

struct array {
    uint64_t length;
    void *slots[];
};

struct box {
    uint64_t value;
};

static void trace_array(void *obj, gc_visit_fn visit, void *ctx)
{
    struct array *a = obj;
    for (uint64_t i = 0; i < a->length; i++)
        visit(&a->slots[i], ctx);
}

static struct array *array;

static long minor_faults(void)
{
    struct rusage u;
    CHECK(getrusage(RUSAGE_THREAD, &u) == 0);
    return u.ru_minflt;
}

static uint64_t traps(struct gc_heap *h)
{
    struct gc_stats s;
    gc_get_stats(h, &s);
    return s.barrier_traps;
}

static uint64_t hot_pages(struct gc_heap *h)
{
    struct gc_stats s;
    gc_get_stats(h, &s);
    return s.hot_pages;
}

/* One young box into one slot of each page (a different slot each round); returns the
 * faults the stores took. */
static long store_round(struct gc_heap *h, struct gc_mutator *m, bool uffd, unsigned round)
{
    struct box *boxes[PAGES];
    for (unsigned p = 0; p < PAGES; p++) {
        boxes[p] = gc_alloc_pointerfree(m, KIND_BOX, sizeof(struct box));
        CHECK(boxes[p] != NULL);
        boxes[p]->value = (uint64_t)round * PAGES + p;
    }
    uint64_t traps_before = traps(h);
    long faults_before = minor_faults();
    for (unsigned p = 0; p < PAGES; p++) {
        void **slot = &array->slots[p * SLOTS_PER_PAGE + round % SLOTS_PER_PAGE];
        *slot = boxes[p];
        gc_write_barrier(m, slot);
    }
    return uffd ? minor_faults() - faults_before : (long)(traps(h) - traps_before);
}

static void check_round(unsigned round)
{
    for (unsigned p = 0; p < PAGES; p++) {
        struct box *b = array->slots[p * SLOTS_PER_PAGE + round % SLOTS_PER_PAGE];
        CHECK_MSG(b && b->value == (uint64_t)round * PAGES + p,
                  "round %u, page %u: the stored object was lost", round, p);
    }
}

int main(int argc, char **argv)
{
    bool off = argc > 2 && strcmp(argv[2], "off") == 0;
    if (off)
        setenv("GCVM_GC_HOT_PAGES", "0", 1);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    bool uffd = cfg.barrier == GC_BARRIER_UFFD;
    cfg.nursery_bytes = (size_t)1 << 20;
    cfg.parallelism = 1;
    cfg.concurrent_marking = -1;
    cfg.verify = 1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    CHECK(gc_register_kind(h, KIND_ARRAY, trace_array) == 0);
    CHECK(gc_register_kind(h, KIND_BOX, NULL) == 0);
    CHECK(gc_root_add(h, (void **)&array) == 0);

    /* A large array: old from the start, page-aligned slots of its own. */
    size_t slots = (size_t)PAGES * SLOTS_PER_PAGE + SLOTS_PER_PAGE;
    array = gc_alloc(m, KIND_ARRAY, sizeof(struct array) + slots * sizeof(void *));
    CHECK(array != NULL);
    array->length = slots;
    gc_collect(m, GC_COLLECT_MINOR); /* protected from here on */

    long faults = 0, most_after_two = 0;
    for (unsigned r = 0; r < ROUNDS; r++) {
        long round_faults = store_round(h, m, uffd, r);
        faults += round_faults;
        if (r >= 2 && round_faults > most_after_two)
            most_after_two = round_faults;
        gc_collect(m, GC_COLLECT_MINOR);
        check_round(r);
    }
    uint64_t hot_after_stores = hot_pages(h);
    printf("%d rounds of %d stores into %d pages: %ld faults (%d without hot pages), at most "
           "%ld in a round after the first two, %llu hot pages at the end\n",
           ROUNDS, PAGES, PAGES, faults, ROUNDS * PAGES, most_after_two,
           (unsigned long long)hot_after_stores);
    if (off) {
        CHECK_MSG(faults >= ROUNDS * PAGES * 9 / 10 && hot_after_stores == 0,
                  "with GCVM_GC_HOT_PAGES=0: %ld faults, %llu hot pages", faults,
                  (unsigned long long)hot_after_stores);
        gc_heap_destroy(h);
        return 0;
    }
    /* 2 rounds, then at most 2 more per page re-tested: 4 of 40; allow some slack. */
    CHECK_MSG(faults <= 6L * PAGES, "%ld faults for %d rounds of %d pages: hot pages fault", faults,
              ROUNDS, PAGES);
    CHECK_MSG(most_after_two <= PAGES / 4,
              "%ld faults in one round of %d stores: the hot pages were re-tested together",
              most_after_two, PAGES);
    CHECK_MSG(hot_after_stores >= PAGES / 2, "only %llu of %d pages hot",
              (unsigned long long)hot_after_stores, PAGES);

    /* No more stores: every page turns cold within 2 * HOT_FOR collections... */
    unsigned collections = 0;
    while (hot_pages(h) > 0 && collections <= 2 * HOT_FOR + 2) {
        gc_collect(m, GC_COLLECT_MINOR);
        collections++;
    }
    CHECK_MSG(hot_pages(h) == 0, "%llu pages still hot after %u collections without a store",
              (unsigned long long)hot_pages(h), collections);
    /* ...and is protected again: a store faults. */
    long cold_faults = store_round(h, m, uffd, ROUNDS);
    gc_collect(m, GC_COLLECT_MINOR);
    check_round(ROUNDS);
    printf("cold after %u collections; then %ld faults for %d stores\n", collections, cold_faults,
           PAGES);
    CHECK_MSG(cold_faults >= PAGES * 9 / 10, "%ld faults for %d stores into cold pages",
              cold_faults, PAGES);
    gc_heap_destroy(h);
    return 0;
}
