/* Hot pages: the old pages a page-protection barrier leaves writable because the
 * program writes them at every collection (docs/barriers.md, "Hot pages").
 *
 * A page barrier (mprotect, uffd) pays a fault for the first write to each protected
 * page after every collection. A program that stores at random into a large old array
 * writes most of its pages between any two collections, so it pays a fault per page per
 * collection: 13-18 us each on a paravirtualized machine, against a microsecond to scan
 * the page. A page written at HOT_AFTER collections in a row is therefore not protected
 * again: it stays writable and counts as written at every harvest, so the remembered-set
 * scan reads it like a dirty card. A page hot for HOT_FOR collections is protected once
 * more, at the first collection whose number its page number matches modulo HOT_FOR (so
 * after HOT_FOR to 2 * HOT_FOR - 1 of them), and stays writable again only if the program
 * writes it again at the next two. Spread so, the hot pages of a large array are
 * re-tested a thirty-second at a time: all at once, the re-arm that protected them took
 * 7-18 ms of one pause in churn.scm, and the program then faulted on every page. A page
 * the program stopped writing costs at most 2 * HOT_FOR - 1 scans.
 *
 * The streak (h->write_streak, a byte per page) counts the collections in a row at which
 * a page was written, up to 255; it changes only in rearm(), with the world stopped, and
 * is clear for every block that is not old. */
#include <string.h>

#include "gc_internal.h"

enum {
    HOT_AFTER = 2, /* written at this many collections in a row: left writable */
    HOT_FOR = 32,  /* then protected again at a streak of 32 to 63, to see whether writes go
                      on */
};

static bool streak_is_hot(uint8_t streak)
{
    return streak >= HOT_AFTER;
}

static bool hot_page(const struct gc_heap *h, size_t page)
{
    return h->write_streak && streak_is_hot(h->write_streak[page]);
}

/* One block's pages: their streaks from this collection's dirty map. Returns how many
 * are hot now. */
static size_t update_block(struct gc_heap *h, size_t bi)
{
    size_t units = BLOCK_BYTES >> PAGE_SHIFT, first = bi * units, hot = 0;
    uint8_t *streak = h->write_streak + first;
    const uint8_t *dirty = h->dirty + first;
    for (size_t k = 0; k < units; k++) {
        if (!dirty[k]) {
            streak[k] = 0;
            continue;
        }
        bool retest = streak[k] >= HOT_FOR && (h->collections + first + k) % HOT_FOR == 0;
        streak[k] = retest ? 0 : streak[k] == UINT8_MAX ? UINT8_MAX : (uint8_t)(streak[k] + 1);
        hot += streak_is_hot(streak[k]);
    }
    return hot;
}

void hot_pages_update(struct gc_heap *h)
{
    /* A barrier that lost track marked every page: that says nothing of which pages the
     * program writes, so the streaks stay as they were. */
    if (!h->write_streak || h->all_dirty)
        return;
    size_t units = BLOCK_BYTES >> PAGE_SHIFT, hot = 0;
    for (size_t bi = 0; bi < h->blocks_end; bi++) {
        if (!block_is_old(h->blocks[bi].kind))
            continue;
        /* Most old blocks were neither written nor hot: skip them a word at a time. */
        if (!any_dirty(h->dirty + bi * units, units) &&
            !any_dirty(h->write_streak + bi * units, units))
            continue;
        hot += update_block(h, bi);
    }
    h->stats.hot_pages = hot;
}

void hot_pages_mark_dirty(struct gc_heap *h)
{
    if (!h->write_streak || !h->stats.hot_pages)
        return;
    size_t units = BLOCK_BYTES >> PAGE_SHIFT;
    for (size_t bi = 0; bi < h->blocks_end; bi++) {
        if (!block_is_old(h->blocks[bi].kind) || !any_dirty(h->write_streak + bi * units, units))
            continue;
        for (size_t k = bi * units; k < (bi + 1) * units; k++)
            if (streak_is_hot(h->write_streak[k]))
                h->dirty[k] = 1;
    }
}

void hot_pages_clear_block(struct gc_heap *h, size_t bi)
{
    if (h->write_streak)
        memset(h->write_streak + bi * (BLOCK_BYTES >> PAGE_SHIFT), 0, BLOCK_BYTES >> PAGE_SHIFT);
}

void for_each_cold_range(struct gc_heap *h, size_t first, size_t count,
                         void (*fn)(struct gc_heap *, char *lo, char *hi))
{
    size_t page = (first << BLOCK_SHIFT) >> PAGE_SHIFT;
    size_t end = ((first + count) << BLOCK_SHIFT) >> PAGE_SHIFT;
    if (!h->write_streak || !h->stats.hot_pages) {
        fn(h, h->base + (page << PAGE_SHIFT), h->base + (end << PAGE_SHIFT));
        return;
    }
    while (page < end) {
        while (page < end && hot_page(h, page))
            page++;
        size_t cold = page;
        while (page < end && !hot_page(h, page))
            page++;
        if (page > cold)
            fn(h, h->base + (cold << PAGE_SHIFT), h->base + (page << PAGE_SHIFT));
    }
}
