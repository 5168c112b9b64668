/* Major collection: trace everything reachable from the roots, promoting young objects
 * on the way and marking old ones, then sweep the old generation.
 *
 * Invariant kept here: mark bits are all clear outside a major collection (a swept
 * block clears its own; a block is freed only when none of its bits is set). */
#include <string.h>

#include "gc_internal.h"

static void mark_conservative_referent(struct gc_heap *h, void *obj)
{
    pin_block(h, block_index(h, obj));
    void *field = obj;
    visit_for_major(&field, h);
}

static void clear_block_marks(struct gc_heap *h, size_t bi)
{
    size_t words_per_block = BLOCK_BYTES / GC_GRANULE / 64;
    memset(h->mark_bits + bi * words_per_block, 0, words_per_block * sizeof(uint64_t));
}

static void free_cell(char *at, void **free_list)
{
    *(gc_header *)at = 0;
    *(void **)(at + GC_HEADER_BYTES) = *free_list;
    *free_list = at;
}

static void sweep_small(struct gc_heap *h, size_t bi)
{
    struct block *b = &h->blocks[bi];
    size_t cell = gc_size_class_bytes[b->size_class];
    void *free_list = NULL;
    uint32_t live = 0;
    /* Walk down so that the free list hands out cells in address order. */
    char *start = block_start(h, bi);
    size_t cells = (size_t)(b->fill - start) / cell;
    for (size_t k = cells; k-- > 0;) {
        char *at = start + k * cell;
        if (*(gc_header *)at != 0 && gc_is_marked(h, at + GC_HEADER_BYTES))
            live++;
        else
            free_cell(at, &free_list);
    }
    if (live == 0) {
        blocks_release_run(h, bi, 1);
        return;
    }
    b->free_list = free_list;
    b->live_cells = live;
    clear_block_marks(h, bi);
}

static void sweep_pinned(struct gc_heap *h, size_t bi)
{
    struct block *b = &h->blocks[bi];
    bool any_live = false;
    for (char *at = block_start(h, bi); at < b->fill;) {
        gc_header hdr = *(gc_header *)at;
        size_t size = header_size(hdr);
        if (!(hdr & HDR_FILLER)) {
            if (gc_is_marked(h, at + GC_HEADER_BYTES))
                any_live = true;
            else /* dead: its fields may point at freed memory, so it is never traced */
                *(gc_header *)at = make_header(size, 0, GC_HDR_POINTERFREE | HDR_FILLER);
        }
        at += size;
    }
    if (!any_live) {
        blocks_release_run(h, bi, 1);
        return;
    }
    clear_block_marks(h, bi);
}

static void sweep(struct gc_heap *h)
{
    for (size_t bi = 0; bi < h->nblocks; bi++) {
        struct block *b = &h->blocks[bi];
        switch (b->kind) {
        case BLOCK_SMALL:
            sweep_small(h, bi);
            break;
        case BLOCK_PINNED:
            sweep_pinned(h, bi);
            break;
        case BLOCK_LARGE: {
            size_t run = b->run;
            if (gc_is_marked(h, block_start(h, bi) + GC_HEADER_BYTES))
                clear_block_marks(h, bi);
            else
                blocks_release_run(h, bi, run);
            bi += run - 1;
            break;
        }
        default:
            break;
        }
    }
    /* Allocation restarts from the lowest block of each class that has room. */
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        h->small_current[c] = -1;
    for (size_t bi = h->nblocks; bi-- > 0;) {
        struct block *b = &h->blocks[bi];
        if (b->kind == BLOCK_SMALL && (b->free_list || b->fill + gc_size_class_bytes[b->size_class] <=
                                                           block_start(h, bi) + BLOCK_BYTES))
            h->small_current[b->size_class] = (int32_t)bi;
    }
}

static void make_old_run_writable(struct gc_heap *h, size_t first, size_t count)
{
    h->barrier->make_writable(h, first, count);
}

/* Heap growth: the next major collection comes when the old generation has doubled
 * since this one, but not before the configured minimum, and never later than the
 * point where the old generation and a full nursery would no longer fit. */
static void update_major_threshold(struct gc_heap *h)
{
    size_t next = 2 * h->old_blocks;
    if (next < h->min_major_threshold_blocks)
        next = h->min_major_threshold_blocks;
    size_t ceiling = h->nblocks - h->nursery_target_blocks;
    h->major_threshold_blocks = next < ceiling ? next : ceiling;
}

void major_collect(struct gc_heap *h)
{
    h->marking = true;
    if (h->barrier->make_writable)
        for_each_old_run(h, make_old_run_writable); /* the sweep writes free cells */
    if (h->conservative_stack)
        conservative_scan_stack(h, mark_conservative_referent);
    trace_roots(h, visit_for_major, h);
    drain_grey(h, visit_for_major);
    finish_evacuation(h);
    for (size_t i = 0; i < h->fresh_large.count; i++)
        h->blocks[block_index(h, h->fresh_large.items[i])].fresh = false;
    h->fresh_large.count = 0;
    sweep(h);
    h->marking = false;
    update_major_threshold(h);
}
