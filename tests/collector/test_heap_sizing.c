/* Heap sizing: the next major collection's threshold follows the live size up and down
 * (heap_sizing.c), never under the live size plus a nursery nor over the limit, and free
 * blocks beyond the retention limit are returned to the system after a drop.
 * Usage: test_heap_sizing BARRIER. */
#include "test_data_list.h"

static struct link *list;

static void check_threshold(const struct gc_stats *s, size_t limit, const char *when)
{
    const uint64_t nursery = (uint64_t)2 << 20;
    CHECK_MSG(s->major_threshold_bytes >= s->old_bytes + nursery,
              "%s: threshold %llu under the old generation %llu plus a nursery", when,
              (unsigned long long)s->major_threshold_bytes, (unsigned long long)s->old_bytes);
    CHECK_MSG(s->major_threshold_bytes <= limit, "%s: threshold %llu over the limit", when,
              (unsigned long long)s->major_threshold_bytes);
}

int main(int argc, char **argv)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    const size_t limit = (size_t)512 << 20, mib = (size_t)1 << 20;
    cfg.heap_max_bytes = limit;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    data_list_register(h, &list);

    /* Up: 160 MiB live, with majors along the way; then a steady state. */
    data_list_grow(m, &list, 160 * mib, 480);
    gc_collect(m, GC_COLLECT_MAJOR);
    struct gc_stats big = stats_of(h);
    check_threshold(&big, limit, "at 160 MiB live");
    CHECK_MSG(big.old_bytes >= 150 * mib, "the list was not kept: %llu bytes old",
              (unsigned long long)big.old_bytes);

    /* Down: drop the list, keep 4 MiB, allocate garbage through several majors. */
    list = NULL;
    data_list_grow(m, &list, 4 * mib, 480);
    for (int round = 0; round < 6; round++) {
        for (int k = 0; k < 20000; k++)
            CHECK(gc_alloc_pointerfree(m, KIND_DATA, 480) != NULL);
        gc_collect(m, GC_COLLECT_MAJOR);
    }
    struct gc_stats small = stats_of(h);
    check_threshold(&small, limit, "at 4 MiB live");
    printf("%s: at 160 MiB live the next major comes at %.1f MiB; at 4 MiB live, at %.1f MiB; "
           "%.1f MiB returned to the system\n",
           gc_barrier_name(cfg.barrier), (double)big.major_threshold_bytes / (double)mib,
           (double)small.major_threshold_bytes / (double)mib,
           (double)small.released_bytes / (double)mib);
    CHECK_MSG(small.old_bytes < 16 * mib, "the dropped list is still old: %llu bytes",
              (unsigned long long)small.old_bytes);
    CHECK_MSG(small.major_threshold_bytes < big.major_threshold_bytes / 4,
              "the threshold did not follow the live size down");
    CHECK_MSG(small.released_bytes >= (uint64_t)12 * mib,
              "free blocks beyond the retention limit were not returned (%llu bytes)",
              (unsigned long long)small.released_bytes);
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    printf("ok\n");
    return 0;
}
