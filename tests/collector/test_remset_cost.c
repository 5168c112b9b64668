/* The remembered set costs what the program wrote, counted in fields visited
 * (gc_stats.remembered_fields), not in time:
 *   - a large pointer array with a range tracer is scanned over its written cards or
 *     pages only: the same writes cost the same whether the array is 4 or 64 MiB, and
 *     whether or not 128 MiB of other old objects sit beside it;
 *   - a word array (gc_register_kind_words) visits the same fields as a ranged array,
 *     in the collector's own loop, and its words before the first field are not fields:
 *     a young object's address kept there is left as it was;
 *   - a large array without one is traced once per minor collection, not once for each
 *     of its blocks that was written;
 *   - a fresh large array (allocated since the last collection, scanned whole at the
 *     next) costs the fields of its stretches that are not all zero: 64 stores into a
 *     64 MiB array filled without the barrier visit at most 64 stretches of 64 fields;
 *   - under cards, finding the written cards reads the card bytes of the written blocks
 *     only (gc_stats.remembered_blocks_read; the card summary): the same with 128 MiB
 *     of other old objects as without (a page barrier's map, 8 bytes a block, is read
 *     for every old block);
 * and every young object stored is promoted and reachable afterwards.
 * Usage: test_remset_cost BARRIER (card, mprotect, uffd, soft-dirty). */
#include <stdbool.h>
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum {
    KIND_RANGED_ARRAY = 1,
    KIND_PLAIN_ARRAY = 2,
    KIND_LEAF = 3,
    KIND_WORD_ARRAY = 4,
    KIND_TAGGED_ARRAY = 5
};

enum { WRITES = 64, EXTRA_OLD_ARRAYS = 128 };

/* An array object: every word is a field. */
static void trace_array(void *obj, gc_visit_fn visit, void *ctx)
{
    void **w = obj;
    size_t n = gc_object_size(obj) / sizeof(void *);
    for (size_t i = 0; i < n; i++)
        visit(&w[i], ctx);
}

static void trace_array_range(void *obj, size_t from, size_t to, gc_visit_fn visit, void *ctx)
{
    void **w = obj;
    for (size_t i = from / sizeof(void *); i < (to + sizeof(void *) - 1) / sizeof(void *); i++)
        visit(&w[i], ctx);
}

/* A word array whose first word is not a field (a tag, say): gc_register_kind_words with
 * first_field 8. */
static void trace_tagged(void *obj, gc_visit_fn visit, void *ctx)
{
    void **w = obj;
    size_t n = gc_object_size(obj) / sizeof(void *);
    for (size_t i = 1; i < n; i++)
        visit(&w[i], ctx);
}

static unsigned tagged_range_calls;

static void trace_tagged_range(void *obj, size_t from, size_t to, gc_visit_fn visit, void *ctx)
{
    tagged_range_calls++;
    void **w = obj;
    size_t first = from / sizeof(void *) > 1 ? from / sizeof(void *) : 1;
    for (size_t i = first; i < (to + sizeof(void *) - 1) / sizeof(void *); i++)
        visit(&w[i], ctx);
}

static uint64_t rng_state;
static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void *array_root;
static void *extra_roots[EXTRA_OLD_ARRAYS];

struct run {
    enum gc_barrier_kind barrier;
    unsigned kind;          /* KIND_RANGED_ARRAY or KIND_PLAIN_ARRAY */
    size_t array_bytes;     /* the written array */
    size_t extra_old_bytes; /* old arrays beside it that are never written */
    uint64_t fields;        /* out: remembered_fields of the minor collection */
    uint64_t blocks_read;   /* out: remembered_blocks_read of the minor collection */
    uint64_t dirty_units;   /* out: dirty_units of the minor collection */
    uint64_t cards_written; /* out: the distinct cards the stores fell in */
    uint64_t unit_bytes;    /* out: card or page size */
};

static struct gc_heap *make_heap(enum gc_barrier_kind barrier)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier;
    cfg.heap_max_bytes = (size_t)512 << 20;
    cfg.major_threshold_bytes = (size_t)448 << 20; /* every collection here is minor */
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    gc_register_kind_ranged(h, KIND_RANGED_ARRAY, trace_array, trace_array_range);
    gc_register_kind(h, KIND_PLAIN_ARRAY, trace_array);
    CHECK(gc_register_kind_words(h, KIND_WORD_ARRAY, trace_array, trace_array_range, 0) == 0);
    CHECK(gc_register_kind_words(h, KIND_TAGGED_ARRAY, trace_tagged, trace_tagged_range, 8) == 0);
    CHECK_MSG(gc_register_kind_words(h, KIND_TAGGED_ARRAY, trace_tagged, trace_tagged_range, 12) ==
                  -1,
              "a word array's first field 12 bytes in was accepted");
    return h;
}

/* Makes the array old and tracked, stores WRITES fresh leaves at random places of its
 * first 4 MiB (the same places in every run), collects, and checks the leaves. */
static void run_once(struct run *r)
{
    struct gc_heap *h = make_heap(r->barrier);
    struct gc_mutator *m = attach_or_fail(h);
    size_t extra = r->extra_old_bytes / EXTRA_OLD_ARRAYS;
    for (size_t i = 0; extra && i < EXTRA_OLD_ARRAYS; i++) {
        extra_roots[i] = gc_alloc(m, KIND_RANGED_ARRAY, extra);
        CHECK(extra_roots[i] != NULL);
        memset(extra_roots[i], 0x5a, extra); /* touched, holding no heap pointer */
        CHECK(gc_root_add(h, &extra_roots[i]) == 0);
    }
    void **array = gc_alloc(m, r->kind, r->array_bytes);
    CHECK(array != NULL);
    array_root = array;
    CHECK(gc_root_add(h, &array_root) == 0);
    gc_collect(m, GC_COLLECT_MINOR); /* large objects are scanned whole once, then tracked */

    struct gc_stats s;
    gc_get_stats(h, &s);
    uint64_t fields_before = s.remembered_fields, blocks_before = s.remembered_blocks_read;
    uint64_t units_before = s.dirty_units;
    size_t span = ((size_t)4 << 20) / sizeof(void *);
    size_t index[WRITES] = {0};
    rng_state = 0x9E3779B97F4A7C15ull;
    for (size_t k = 0; k < WRITES; k++) {
        size_t i = next_random() % span;
        for (size_t j = 0; j < k; j++)
            if (index[j] == i)
                i = (i + 1) % span; /* distinct places, so each keeps its own leaf */
        index[k] = i;
        uintptr_t card = (uintptr_t)&array[i] >> GC_CARD_SHIFT;
        bool seen = false;
        for (size_t j = 0; j < k; j++)
            seen = seen || (uintptr_t)&array[index[j]] >> GC_CARD_SHIFT == card;
        r->cards_written += !seen;
        uint64_t *leaf = gc_alloc_pointerfree(m, KIND_LEAF, sizeof(uint64_t));
        CHECK(leaf != NULL);
        *leaf = i + 1;
        array[i] = leaf;
        gc_write_barrier(m, &array[i]);
    }
    gc_get_stats(h, &s);
    uint64_t majors = s.major_collections;
    gc_collect(m, GC_COLLECT_MINOR);
    gc_get_stats(h, &s);
    r->fields = s.remembered_fields - fields_before;
    r->blocks_read = s.remembered_blocks_read - blocks_before;
    r->dirty_units = s.dirty_units - units_before;
    CHECK_MSG(s.major_collections == majors, "the measured collection was a major one");
    r->unit_bytes = s.dirty_unit_bytes;

    /* Every leaf was promoted (a leaf left behind would be overwritten by the next
     * nursery's allocations) and the array points to it. */
    for (size_t k = 0; k < 4096; k++)
        CHECK(gc_alloc_pointerfree(m, KIND_LEAF, 64) != NULL);
    gc_collect(m, GC_COLLECT_MINOR);
    for (size_t k = 0; k < WRITES; k++) {
        const uint64_t *leaf = array[index[k]];
        CHECK_MSG(leaf && *leaf == index[k] + 1, "write %zu at %zu was lost", k, index[k]);
    }
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    array_root = NULL;
    memset(extra_roots, 0, sizeof extra_roots);
}

/* An old 1 MiB tagged word array: its word 0 (not a field) holds a young object's
 * address, its word 1 (a field, in the same card and page) another young object's, stored
 * with the barrier. After a minor collection word 1 names the second object's copy and
 * word 0 is what it was: the scan began at the first field. The scan is the collector's
 * own loop: the range tracer is not called. */
static void tagged_word_skipped(enum gc_barrier_kind barrier)
{
    struct gc_heap *h = make_heap(barrier);
    struct gc_mutator *m = attach_or_fail(h);
    void **array = gc_alloc(m, KIND_TAGGED_ARRAY, (size_t)1 << 20);
    CHECK(array != NULL);
    array_root = array;
    CHECK(gc_root_add(h, &array_root) == 0);
    gc_collect(m, GC_COLLECT_MINOR);
    uint64_t *not_a_field = gc_alloc_pointerfree(m, KIND_LEAF, sizeof(uint64_t));
    uint64_t *leaf = gc_alloc_pointerfree(m, KIND_LEAF, sizeof(uint64_t));
    CHECK(not_a_field != NULL && leaf != NULL);
    *not_a_field = 1;
    *leaf = 2;
    array[0] = not_a_field;
    gc_write_barrier(m, &array[0]);
    array[1] = leaf;
    gc_write_barrier(m, &array[1]);
    tagged_range_calls = 0;
    gc_collect(m, GC_COLLECT_MINOR);
    CHECK_MSG(tagged_range_calls == 0,
              "the scan of a written word array called its range tracer %u times, not its own "
              "loop",
              tagged_range_calls);
    CHECK_MSG(array[0] == (void *)not_a_field,
              "the word before a word array's first field was treated as a field");
    CHECK_MSG(array[1] != (void *)leaf && *(uint64_t *)array[1] == 2,
              "the first field of a word array was not updated to its object's copy");
    gc_heap_destroy(h);
    array_root = NULL;
}

/* A fresh 64 MiB ranged array, WRITES leaves stored into it without the barrier (as an
 * embedder fills what it just allocated), one minor collection: the fields visited, and
 * every leaf kept. */
static uint64_t fresh_sparse_fields(enum gc_barrier_kind barrier)
{
    struct gc_heap *h = make_heap(barrier);
    struct gc_mutator *m = attach_or_fail(h);
    gc_collect(m, GC_COLLECT_MINOR);
    size_t slots = ((size_t)64 << 20) / sizeof(void *);
    void **array = gc_alloc(m, KIND_RANGED_ARRAY, slots * sizeof(void *));
    CHECK(array != NULL);
    array_root = array;
    CHECK(gc_root_add(h, &array_root) == 0);
    size_t index[WRITES];
    rng_state = 0x2545F4914F6CDD1Dull;
    for (size_t k = 0; k < WRITES; k++) {
        index[k] = next_random() % slots;
        uint64_t *leaf = gc_alloc_pointerfree(m, KIND_LEAF, sizeof(uint64_t));
        CHECK(leaf != NULL);
        *leaf = index[k] + 1;
        array[index[k]] = leaf;
    }
    struct gc_stats s;
    gc_get_stats(h, &s);
    uint64_t before = s.remembered_fields;
    gc_collect(m, GC_COLLECT_MINOR);
    gc_get_stats(h, &s);
    for (size_t k = 0; k < WRITES; k++) {
        const uint64_t *leaf = array[index[k]];
        CHECK_MSG(leaf && *leaf == index[k] + 1, "a leaf stored into the fresh array was lost");
    }
    gc_heap_destroy(h);
    array_root = NULL;
    return s.remembered_fields - before;
}

int main(int argc, char **argv)
{
    enum gc_barrier_kind barrier = barrier_from_args(argc, argv);
    const size_t mib = (size_t)1 << 20;

    struct run small = {.barrier = barrier,
                        .kind = KIND_RANGED_ARRAY,
                        .array_bytes = 4 * mib,
                        .extra_old_bytes = 0};
    struct run big = {.barrier = barrier,
                      .kind = KIND_RANGED_ARRAY,
                      .array_bytes = 64 * mib,
                      .extra_old_bytes = 0};
    struct run crowded = {.barrier = barrier,
                          .kind = KIND_RANGED_ARRAY,
                          .array_bytes = 4 * mib,
                          .extra_old_bytes = 128 * mib};
    struct run words = {
        .barrier = barrier, .kind = KIND_WORD_ARRAY, .array_bytes = 4 * mib, .extra_old_bytes = 0};
    struct run plain = {.barrier = barrier,
                        .kind = KIND_PLAIN_ARRAY,
                        .array_bytes = 16 * mib,
                        .extra_old_bytes = 0};
    run_once(&small);
    run_once(&big);
    run_once(&crowded);
    run_once(&words);
    run_once(&plain);
    uint64_t unit_fields = small.unit_bytes / sizeof(void *);
    printf("%s: %d writes: ranged 4 MiB array %llu fields, 64 MiB %llu, 4 MiB beside 128 MiB "
           "old %llu; plain 16 MiB array %llu (%llu-byte units); blocks read %llu, beside "
           "128 MiB old %llu\n",
           gc_barrier_name(barrier), WRITES, (unsigned long long)small.fields,
           (unsigned long long)big.fields, (unsigned long long)crowded.fields,
           (unsigned long long)plain.fields, (unsigned long long)small.unit_bytes,
           (unsigned long long)small.blocks_read, (unsigned long long)crowded.blocks_read);

    CHECK_MSG(small.fields >= WRITES, "the written fields were not all visited");
    CHECK_MSG(small.fields <= WRITES * unit_fields,
              "%llu fields visited for %d writes: more than their units hold",
              (unsigned long long)small.fields, WRITES);
    CHECK_MSG(big.fields == small.fields, "the same writes cost more in a larger array");
    CHECK_MSG(crowded.fields == small.fields,
              "the same writes cost more beside a larger old generation");
    CHECK_MSG(words.fields == small.fields,
              "a word array visited %llu fields for the writes a ranged array visited %llu for",
              (unsigned long long)words.fields, (unsigned long long)small.fields);
    tagged_word_skipped(barrier);
    if (barrier == GC_BARRIER_CARD)
        CHECK_MSG(small.dirty_units == small.cards_written,
                  "%llu dirty cards counted for stores into %llu distinct cards",
                  (unsigned long long)small.dirty_units, (unsigned long long)small.cards_written);
    if (barrier == GC_BARRIER_CARD)
        CHECK_MSG(crowded.blocks_read == small.blocks_read && small.blocks_read <= WRITES,
                  "finding %d written cards read %llu blocks' cards, %llu beside 128 MiB of old "
                  "objects: the scan reads blocks nobody wrote",
                  WRITES, (unsigned long long)small.blocks_read,
                  (unsigned long long)crowded.blocks_read);
    else
        CHECK_MSG(crowded.blocks_read > small.blocks_read,
                  "a page barrier's scan read no more blocks beside 128 MiB of old objects");
    uint64_t fresh = fresh_sparse_fields(barrier);
    printf("a fresh 64 MiB array holding %d stores: %llu fields\n", WRITES,
           (unsigned long long)fresh);
    CHECK_MSG(fresh >= WRITES && fresh <= (uint64_t)WRITES * 64,
              "%llu fields visited in a fresh array of %d non-zero slots: its zero stretches "
              "were not skipped",
              (unsigned long long)fresh, WRITES);
    size_t plain_words = 16 * mib / sizeof(void *);
    CHECK_MSG(plain.fields >= plain_words, "an array without a range tracer was not traced whole");
    CHECK_MSG(plain.fields < 2 * plain_words,
              "an array without a range tracer was traced more than once in one collection");
    printf("ok\n");
    return 0;
}
