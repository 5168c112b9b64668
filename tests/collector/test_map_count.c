/* The mprotect barrier under vm.max_map_count: unprotecting every other page of a large
 * old generation splits more mappings than the kernel allows. The barrier must fall
 * back (whole heap writable, next minor collection scans everything) and lose nothing. */
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { SLOTS_PER_OBJECT = 8190 }; /* 64 KiB objects: two blocks each */

struct big {
    uint64_t nslots;
    void *slots[SLOTS_PER_OBJECT];
};

struct small {
    uint64_t value;
};

static void trace_big(void *obj, gc_visit_fn visit, void *ctx)
{
    struct big *b = obj;
    for (uint64_t i = 0; i < b->nslots; i++)
        visit(&b->slots[i], ctx);
}

static long read_max_map_count(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long n = -1;
    if (f) {
        if (fscanf(f, "%ld", &n) != 1)
            n = -1;
        fclose(f);
    }
    return n;
}

int main(void)
{
    skip_unless_available(GC_BARRIER_MPROTECT);
    long limit = read_max_map_count();
    if (limit < 0 || limit > 300000) {
        printf("SKIP: vm.max_map_count is %ld; the test needs at most 300000 to reach it\n", limit);
        return TEST_SKIP_CODE;
    }
    /* Pages written: one in two, enough to need more mappings than allowed. */
    size_t pages_written = (size_t)limit / 2 + 4096;
    size_t objects = pages_written * 2 * 4096 / sizeof(struct big) + 1;

    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = GC_BARRIER_MPROTECT;
    cfg.heap_max_bytes = objects * 2 * 32768 + ((size_t)64 << 20);
    cfg.nursery_bytes = (size_t)8 << 20;
    cfg.major_threshold_bytes = cfg.heap_max_bytes; /* no major collection in between */
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    gc_register_kind(h, 1, trace_big);
    void **table = calloc(objects, sizeof *table);
    CHECK(table != NULL);
    for (size_t i = 0; i < objects; i++) {
        CHECK(gc_root_add(h, &table[i]) == 0);
        struct big *b = gc_alloc(m, 1, sizeof(struct big));
        CHECK(b != NULL);
        b->nslots = SLOTS_PER_OBJECT;
        table[i] = b;
    }
    gc_collect(m, GC_COLLECT_MINOR); /* all old and write-protected now */

    /* One young object stored into every other page of the old generation. */
    size_t stored = 0;
    for (size_t i = 0; i < objects && stored < pages_written; i++) {
        for (size_t s = 0; s < SLOTS_PER_OBJECT && stored < pages_written; s += 1024) {
            struct small *y = gc_alloc_pointerfree(m, 2, sizeof *y);
            CHECK(y != NULL);
            y->value = i * SLOTS_PER_OBJECT + s;
            struct big *b = table[i];
            b->slots[s] = y;
            gc_write_barrier(m, &b->slots[s]);
            stored++;
        }
    }
    gc_collect(m, GC_COLLECT_MINOR);
    struct gc_stats st;
    gc_get_stats(h, &st);
    size_t found = 0;
    for (size_t i = 0; i < objects; i++) {
        struct big *b = table[i];
        for (size_t s = 0; s < SLOTS_PER_OBJECT; s += 1024) {
            struct small *y = b->slots[s];
            if (!y)
                continue;
            CHECK_MSG(y->value == i * SLOTS_PER_OBJECT + s, "young object lost at %zu/%zu", i, s);
            found++;
        }
    }
    CHECK_MSG(found == stored, "%zu of %zu stored young objects survived", found, stored);
    printf("%zu old pages written with vm.max_map_count %ld: %llu traps, all %zu young "
           "objects kept\n",
           stored, limit, (unsigned long long)st.barrier_traps, found);
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    free(table);
    puts("PASS");
    return 0;
}
