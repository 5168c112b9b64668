/* Major collection: trace everything reachable from the roots, promoting young objects
 * on the way and marking old ones, then free the blocks with nothing marked and make
 * the marks the new allocation bits. This is the stop-the-world one; the concurrent
 * cycle (concurrent_mark.c) shares its mark-clearing and its sweep. */
#include <string.h>

#include "gc_internal.h"

static void mark_conservative_referent(struct gc_heap *h, void *obj)
{
    pin_block(h, block_index(h, obj));
    void *field = obj;
    visit_for_major(&field, h);
}

static size_t marked_in_block(const struct gc_heap *h, size_t bi)
{
    const uint64_t *words = block_bitmap(h->mark_bits, bi);
    size_t n = 0;
    for (size_t w = 0; w < BITMAP_WORDS_PER_BLOCK; w++)
        n += (size_t)__builtin_popcountll(words[w]);
    return n;
}

/* Dead objects in a pinned block stay where they are, as fillers: their fields may
 * point at freed memory, so they must never be traced again. */
static void fill_dead_pinned(struct gc_heap *h, size_t bi)
{
    struct block *b = &h->blocks[bi];
    for (char *at = block_start(h, bi); at < b->fill;) {
        gc_header hdr = *(gc_header *)at;
        size_t size = header_size(hdr);
        if (!(hdr & HDR_FILLER) && !is_marked(h, at + GC_HEADER_BYTES))
            *(gc_header *)at = make_header(size, 0, GC_HDR_POINTERFREE | HDR_FILLER);
        at += size;
    }
}

/* After marking, the mark bits say which objects live. A block none of whose objects
 * is marked is freed; a SMALL block keeps its marks as its allocation bits (the swap
 * in major_collect), so its dead cells are free without being touched. */
static void sweep(struct gc_heap *h)
{
    for (size_t bi = 0; bi < h->blocks_end; bi++) {
        struct block *b = &h->blocks[bi];
        switch (b->kind) {
        case BLOCK_SMALL:
            if (marked_in_block(h, bi) == 0)
                blocks_release_run(h, bi, 1);
            else
                b->cursor = 0;
            break;
        case BLOCK_PINNED:
            if (marked_in_block(h, bi) == 0)
                blocks_release_run(h, bi, 1);
            else
                fill_dead_pinned(h, bi);
            break;
        case BLOCK_LARGE: {
            size_t run = b->run;
            if (!is_marked(h, block_start(h, bi) + GC_HEADER_BYTES))
                blocks_release_run(h, bi, run);
            bi += run - 1;
            break;
        }
        default: break;
        }
    }
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        h->small_current[c] = -1;
    for (size_t bi = h->blocks_end; bi-- > 0;)
        if (h->blocks[bi].kind == BLOCK_SMALL)
            h->small_current[h->blocks[bi].size_class] = (int32_t)bi;
    while (h->blocks_end > 0 && h->blocks[h->blocks_end - 1].kind == BLOCK_FREE)
        h->blocks_end--;
}

/* Since the last swap, an old block's mark bits hold its allocation bits of before. */
static void clear_old_marks(struct gc_heap *h, size_t first, size_t count)
{
    memset(block_bitmap(h->mark_bits, first), 0, count * BITMAP_WORDS_PER_BLOCK * sizeof(uint64_t));
}

static void make_old_run_writable(struct gc_heap *h, size_t first, size_t count)
{
    h->barrier->make_writable(h, first, count);
}

void major_clear_old_marks(struct gc_heap *h)
{
    for_each_old_run(h, clear_old_marks);
}

void major_sweep(struct gc_heap *h)
{
    sweep(h);
    uint64_t *marks = h->mark_bits;
    h->mark_bits = h->alloc_bits;
    h->alloc_bits = marks;
}

void major_collect(struct gc_heap *h)
{
    uint64_t t0 = gc_now_ns();
    heap_sizing_major_begins(h);
    h->marking = true;
    h->major_due = false;
    if (h->barrier->make_writable)
        for_each_old_run(h, make_old_run_writable); /* promotion fills free cells */
    major_clear_old_marks(h);
    weak_collection_begin(h);
    if (h->conservative_stack)
        conservative_scan_stacks(h, mark_conservative_referent);
    if (major_mark_goes_parallel(h))
        major_mark_parallel(h);
    else
        trace_roots(h, visit_for_major, h);
    drain_grey(h, visit_for_major);
    weak_collection_end(h, visit_for_major);
    fill_evacuated_remains(h);
    for (size_t i = 0; i < h->fresh_large.count; i++)
        h->blocks[block_index(h, h->fresh_large.items[i])].fresh = false;
    h->fresh_large.count = 0;
    uint64_t t1 = gc_now_ns();
    h->phase_ns[0] = t1 - t0;
    major_sweep(h);
    h->phase_ns[1] = gc_now_ns() - t1;
    h->marking = false;
    heap_sizing_major_ends(h);
}
