/* Under a barrier that protects old pages, promotion skips partly free blocks with less
 * than a quarter of their cells free while free blocks are left (reusable_block in
 * blocks.c; docs/barriers.md, "Promotion into partly free blocks"): each page it would
 * write there costs a lift or a fault inside the pause, for a few cells. The card barrier
 * has no such cost and fills them. With no free block left, every barrier fills them.
 *
 * An 8 MiB list is promoted; a major collection frees one link in sixteen, which leaves
 * its blocks 94% full (512 KiB free in all); a new list of 384 KiB is promoted. Uncapped,
 * the new list takes new blocks under a page barrier and the free cells under card.
 * "capped": the heap's limit leaves fewer free blocks than the new list needs, and the
 * promotion must still copy every link (no nursery block kept in place).
 * Usage: test_sparse_reuse BARRIER [parallel] [capped]. */
#include <stdbool.h>
#include <string.h>

#include "test_filled_list.h"

static struct link *list;

static bool has_arg(int argc, char **argv, const char *arg)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], arg) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    bool parallel = has_arg(argc, argv, "parallel");
    bool capped = has_arg(argc, argv, "capped");
    const size_t old_list = (size_t)8 << 20, new_list = (size_t)384 << 10;
    setenv("GCVM_GC_WORKERS_TOGETHER", parallel ? "1" : "0", 1);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.parallelism = parallel ? 2 : 1;
    cfg.concurrent_marking = -1;
    cfg.nursery_bytes = (size_t)512 << 10;
    /* Capped: room for the old list, the nursery and 8 blocks (256 KiB), fewer than the
     * new list's 12. */
    cfg.heap_max_bytes =
        capped ? old_list + cfg.nursery_bytes + ((size_t)256 << 10) : (size_t)256 << 20;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    filled_list_register(h, &list);

    filled_list_grow(m, &list, old_list);
    gc_collect(m, GC_COLLECT_MINOR);
    size_t i = 0;
    for (struct link *l = list; l && l->next; l = l->next, i++) {
        if (i % 16 == 0) {
            l->next = l->next->next;
            gc_write_barrier(m, (void **)&l->next);
        }
    }
    gc_collect(m, GC_COLLECT_MINOR);
    gc_collect(m, GC_COLLECT_MAJOR);
    struct gc_stats s;
    gc_get_stats(h, &s);
    uint64_t old_before = s.old_bytes, pinned_before = s.pinned_blocks;
    uint64_t promoted_before = s.bytes_promoted;

    filled_list_grow(m, &list, new_list);
    gc_collect(m, GC_COLLECT_MINOR);
    gc_get_stats(h, &s);
    uint64_t grew = s.old_bytes - old_before;
    printf("%s%s: promoting %zu KiB took %llu KiB of new blocks; %llu nursery blocks kept "
           "in place\n",
           argv[1], capped ? " capped" : "", new_list >> 10, (unsigned long long)grew >> 10,
           (unsigned long long)(s.pinned_blocks - pinned_before));
    CHECK_MSG(s.pinned_blocks == pinned_before,
              "%llu nursery blocks were kept in place: promotion found no cell for them",
              (unsigned long long)(s.pinned_blocks - pinned_before));
    CHECK_MSG(s.bytes_promoted - promoted_before >= new_list * 9 / 10,
              "promoted only %llu of the new list's %zu bytes",
              (unsigned long long)(s.bytes_promoted - promoted_before), new_list);
    bool page_barrier = cfg.barrier != GC_BARRIER_CARD;
    if (!capped && page_barrier)
        CHECK_MSG(grew >= new_list * 9 / 10,
                  "the new list took %llu bytes of new blocks: promotion filled blocks "
                  "94%% full",
                  (unsigned long long)grew);
    if (!capped && !page_barrier)
        CHECK_MSG(grew < new_list / 2,
                  "the new list took %llu bytes of new blocks, not the free cells of the "
                  "old ones",
                  (unsigned long long)grew);
    gc_heap_destroy(h);
    return 0;
}
