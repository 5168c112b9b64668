/* Configuration and environment: clear errors for bad settings, names that round-trip,
 * barriers this machine lacks refused with their reason, auto saying what it chose, the
 * number of collector threads resolved. */
#include <string.h>
#include <unistd.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

static struct gc_heap *create(enum gc_barrier_kind kind, size_t heap, size_t nursery, char *err,
                              size_t err_len)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = heap;
    cfg.nursery_bytes = nursery;
    return gc_heap_create(&cfg, err, err_len);
}

int main(void)
{
    char err[256];
    for (int k = GC_BARRIER_NONE; k < GC_BARRIER_KIND_COUNT; k++) {
        enum gc_barrier_kind parsed;
        CHECK(gc_barrier_parse(gc_barrier_name((enum gc_barrier_kind)k), &parsed) == 0);
        CHECK(parsed == (enum gc_barrier_kind)k);
    }
    enum gc_barrier_kind parsed;
    CHECK(gc_barrier_parse("cards", &parsed) == -1);
    CHECK(gc_barrier_name((enum gc_barrier_kind)99) == NULL);

    CHECK(create(GC_BARRIER_CARD, (size_t)1 << 20, (size_t)4 << 20, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "too small") != NULL, "%s", err);

    for (int k = GC_BARRIER_NONE; k < GC_BARRIER_AUTO; k++) {
        char why[256];
        struct gc_heap *h = create((enum gc_barrier_kind)k, 0, 0, err, sizeof err);
        if (gc_barrier_available((enum gc_barrier_kind)k, why, sizeof why)) {
            CHECK_MSG(h != NULL, "%s", err);
            CHECK(gc_heap_barrier(h) == (enum gc_barrier_kind)k);
            gc_heap_destroy(h);
        } else {
            CHECK(h == NULL);
            CHECK_MSG(strstr(err, "not available") && strstr(err, why), "%s", err);
            printf("%s: refused as expected: %s\n", gc_barrier_name((enum gc_barrier_kind)k), err);
        }
    }

    setenv("GCVM_BARRIER", "bogus", 1);
    CHECK(create(GC_BARRIER_DEFAULT, 0, 0, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "GCVM_BARRIER=bogus") != NULL, "%s", err);
    setenv("GCVM_BARRIER", "card", 1);
    struct gc_heap *h = create(GC_BARRIER_DEFAULT, 0, 0, err, sizeof err);
    CHECK(h && gc_heap_barrier(h) == GC_BARRIER_CARD);
    gc_heap_destroy(h);
    unsetenv("GCVM_BARRIER");

    /* A debug aid's bad value is the creation's error, not an exit of the program. */
    static const char *const debug_vars[] = {"GCVM_GC_STRESS",     "GCVM_GC_VERIFY",
                                             "GCVM_GC_TRACE",      "GCVM_GC_THREADS",
                                             "GCVM_GC_CONCURRENT", "GCVM_GC_HEADROOM_PERCENT"};
    for (size_t i = 0; i < sizeof debug_vars / sizeof debug_vars[0]; i++) {
        setenv(debug_vars[i], "12x", 1);
        CHECK(create(GC_BARRIER_CARD, 0, 0, err, sizeof err) == NULL);
        CHECK_MSG(strstr(err, debug_vars[i]) && strstr(err, "12x"), "%s", err);
        unsetenv(debug_vars[i]);
    }

    /* Concurrent marking: the configuration's, else GCVM_GC_CONCURRENT, else on; never
     * with barrier none, which records no writes; a value out of range is refused. */
    struct gc_config marking_cfg;
    gc_config_init(&marking_cfg);
    marking_cfg.barrier = GC_BARRIER_CARD;
    h = gc_heap_create(&marking_cfg, err, sizeof err);
    CHECK(h && gc_heap_concurrent_marking(h) == 1);
    gc_heap_destroy(h);
    setenv("GCVM_GC_CONCURRENT", "0", 1);
    h = gc_heap_create(&marking_cfg, err, sizeof err);
    CHECK(h && gc_heap_concurrent_marking(h) == 0);
    gc_heap_destroy(h);
    marking_cfg.concurrent_marking = 1; /* the configuration wins over the environment */
    h = gc_heap_create(&marking_cfg, err, sizeof err);
    CHECK(h && gc_heap_concurrent_marking(h) == 1);
    gc_heap_destroy(h);
    unsetenv("GCVM_GC_CONCURRENT");
    marking_cfg.concurrent_marking = -1;
    h = gc_heap_create(&marking_cfg, err, sizeof err);
    CHECK(h && gc_heap_concurrent_marking(h) == 0);
    gc_heap_destroy(h);
    marking_cfg.concurrent_marking = 1;
    marking_cfg.barrier = GC_BARRIER_NONE;
    h = gc_heap_create(&marking_cfg, err, sizeof err);
    CHECK(h && gc_heap_concurrent_marking(h) == 0);
    gc_heap_destroy(h);
    marking_cfg.concurrent_marking = 2;
    CHECK(gc_heap_create(&marking_cfg, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "concurrent_marking") != NULL, "%s", err);

    /* The headroom's cap: 1 to 1000 percent, from the configuration or the environment. */
    struct gc_config headroom_cfg;
    gc_config_init(&headroom_cfg);
    headroom_cfg.barrier = GC_BARRIER_CARD;
    headroom_cfg.headroom_percent = 1001;
    CHECK(gc_heap_create(&headroom_cfg, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "headroom_percent") && strstr(err, "1001"), "%s", err);
    headroom_cfg.headroom_percent = 0;
    setenv("GCVM_GC_HEADROOM_PERCENT", "5000", 1);
    CHECK(gc_heap_create(&headroom_cfg, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "GCVM_GC_HEADROOM_PERCENT") && strstr(err, "5000"), "%s", err);
    setenv("GCVM_GC_HEADROOM_PERCENT", "100", 1);
    h = gc_heap_create(&headroom_cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    gc_heap_destroy(h);
    unsetenv("GCVM_GC_HEADROOM_PERCENT");

    /* Collector threads: the configuration's, else GCVM_GC_THREADS, else the CPU count. */
    struct gc_config threads_cfg;
    gc_config_init(&threads_cfg);
    threads_cfg.barrier = GC_BARRIER_CARD;
    threads_cfg.parallelism = 3;
    h = gc_heap_create(&threads_cfg, err, sizeof err);
    CHECK(h && gc_heap_parallelism(h) == 3);
    gc_heap_destroy(h);
    threads_cfg.parallelism = 0;
    setenv("GCVM_GC_THREADS", "5", 1);
    h = gc_heap_create(&threads_cfg, err, sizeof err);
    CHECK(h && gc_heap_parallelism(h) == 5);
    gc_heap_destroy(h);
    setenv("GCVM_GC_THREADS", "100000", 1); /* more than GC_MAX_PARALLELISM: refused */
    CHECK(gc_heap_create(&threads_cfg, err, sizeof err) == NULL);
    CHECK_MSG(strstr(err, "100000") && strstr(err, "GCVM_GC_THREADS"), "%s", err);
    unsetenv("GCVM_GC_THREADS");
    h = gc_heap_create(&threads_cfg, err, sizeof err);
    CHECK(h && gc_heap_parallelism(h) == (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
    gc_heap_destroy(h);

    h = create(GC_BARRIER_AUTO, 0, 0, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    const char *why = gc_heap_barrier_reason(h);
    CHECK_MSG(strncmp(why, "auto:", 5) == 0 && strstr(why, gc_barrier_name(gc_heap_barrier(h))),
              "%s", why);
    printf("auto: %s -> %s\n", why, gc_barrier_name(gc_heap_barrier(h)));
    CHECK(gc_heap_barrier(h) != GC_BARRIER_NONE && gc_heap_barrier(h) != GC_BARRIER_AUTO);

    /* Statistics move as they should. */
    struct gc_mutator *m = attach_or_fail(h);
    struct gc_stats s;
    for (int i = 0; i < 200000; i++)
        CHECK(gc_alloc_pointerfree(m, 3, 40) != NULL);
    gc_collect(m, GC_COLLECT_MAJOR);
    gc_get_stats(h, &s);
    CHECK(s.bytes_allocated >= 200000ull * 48);
    CHECK(s.minor_collections >= 1 && s.major_collections >= 1);
    CHECK(s.pause_max_ms >= s.pause_p95_ms && s.pause_p95_ms >= s.pause_p50_ms);
    CHECK(s.pause_p50_ms > 0);
    gc_heap_destroy(h);
    puts("PASS");
    return 0;
}
