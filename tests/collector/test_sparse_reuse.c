/* Under a barrier that protects old pages, promotion skips partly free blocks with less
 * than a quarter of their cells free while free blocks are left (reusable_block in
 * blocks.c; docs/barriers.md, "Nearly full blocks"): each page it would write there
 * costs a lift or a fault inside the pause, for a few cells. The card barrier has no such
 * cost and fills them. With no free block left, every barrier fills them.
 *
 * An 8 MiB list is promoted; a major collection frees one link in sixteen, which leaves
 * its blocks 94% full (512 KiB free in all); a new list of 384 KiB is promoted. Uncapped,
 * the new list takes new blocks under a page barrier and the free cells under card.
 * "capped": the heap's limit leaves fewer free blocks than the new list needs, and the
 * promotion must still copy every link (no nursery block kept in place).
 *
 * "interleaved" (one collector thread): the old list's links come in runs of four blocks,
 * every other run freed whole, so that free blocks lie between the nearly full ones, and
 * a 2 MiB list is promoted into them. One collector thread looks for the next usable
 * block after the one it filled; a nearly full block it passed over must not be weighed
 * again at each block filled (gc_debug_reuse_blocks_weighed counts it): the count must
 * grow with the blocks filled, not with blocks filled times the old generation's blocks.
 * Usage: test_sparse_reuse BARRIER [parallel] [capped] | BARRIER interleaved. */
#include <stdbool.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "test_filled_list.h"

static struct link *list;

static bool has_arg(int argc, char **argv, const char *arg)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], arg) == 0)
            return true;
    return false;
}

enum { RUN_LINKS = 4 * 512, FILL_KEPT = 0x11, FILL_FREED = 0x22 };

/* Unlinks the links filled with FILL_FREED and one in sixteen of the others; then a
 * minor collection (the barrier re-armed after those stores) and a major one free them. */
static void free_links(struct gc_mutator *m)
{
    size_t i = 0;
    for (struct link *l = list; l; l = l->next) {
        while (l->next && (l->next->payload[0] & 0xff) == FILL_FREED)
            l->next = l->next->next;
        if (l->next && ++i % 16 == 0)
            l->next = l->next->next;
        gc_write_barrier(m, (void **)&l->next);
    }
    gc_collect(m, GC_COLLECT_MINOR);
    gc_collect(m, GC_COLLECT_MAJOR);
}

/* The interleaved case; returns the test's status. */
static int interleaved(struct gc_heap *h, struct gc_mutator *m)
{
    const size_t old_list = (size_t)16 << 20, new_list = (size_t)2 << 20;
    size_t links = old_list / (sizeof(struct link) + 16);
    for (size_t i = 0; i < links; i++)
        filled_list_push(m, &list, (i / RUN_LINKS) % 2 ? FILL_FREED : FILL_KEPT);
    gc_collect(m, GC_COLLECT_MINOR);
    free_links(m);
    struct gc_stats s;
    gc_get_stats(h, &s);
    uint64_t old_blocks = s.old_bytes >> 15, weighed = gc_debug_reuse_blocks_weighed(h);
    filled_list_grow(m, &list, new_list);
    gc_collect(m, GC_COLLECT_MINOR);
    weighed = gc_debug_reuse_blocks_weighed(h) - weighed;
    uint64_t filled = new_list >> 15;
    printf("promoting %zu KiB among %llu nearly full blocks: %llu blocks weighed\n", new_list >> 10,
           (unsigned long long)old_blocks, (unsigned long long)weighed);
    CHECK_MSG(weighed <= 2 * (old_blocks + filled),
              "%llu blocks weighed for %llu filled among %llu old blocks: the search weighs "
              "blocks it passed over again",
              (unsigned long long)weighed, (unsigned long long)filled,
              (unsigned long long)old_blocks);
    gc_heap_destroy(h);
    return 0;
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
    if (has_arg(argc, argv, "interleaved"))
        return interleaved(h, m);

    filled_list_grow(m, &list, old_list);
    gc_collect(m, GC_COLLECT_MINOR);
    free_links(m);
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
