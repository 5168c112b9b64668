/* Sweeping (docs/collector.md, "Old generation" and "Lazy sweeping"): after marking,
 * the mark bits become the allocation bits (a swap), a block with nothing marked is
 * freed, and a kept SMALL block's cursor goes back to its first cell.
 *
 * A stop-the-world major collection sweeps every block in its pause (sweep_eager). The
 * final pause of a concurrent cycle only swaps the bitmaps and sweeps the PINNED and
 * LARGE blocks (sweep_begin_lazy); its SMALL blocks, nearly all of the old generation,
 * are left *unswept*. Their allocation bits are already right, so every reader of the
 * heap may treat them as swept; what is pending is the freeing of the empty ones and the
 * reset of the others' cursors. They are swept by promotion when it looks for a block of
 * their class, in batches by the mutators when they take a new block, by the marker
 * thread in the background, and at the latest before the next major collection starts. */
#include <string.h>

#include "gc_internal.h"

/* Blocks swept per batch: by a mutator taking a block, and by the background thread
 * between two looks at a pause request (about 50 ns a block). */
#define SWEEP_BATCH 64u

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

/* Before the swap: frees dead large objects and empty pinned blocks, fills the dead
 * objects of the others, and flags every SMALL block unswept. */
static void sweep_pinned_large_flag_small(struct gc_heap *h)
{
    h->sizing.marked_bytes = 0;
    for (size_t bi = 0; bi < h->blocks_end; bi++) {
        struct block *b = &h->blocks[bi];
        switch (b->kind) {
        case BLOCK_SMALL:
            b->unswept = true;
            b->worker_filled = false; /* the workers' blocks are dropped (minor.c) */
            b->marks_clean = false;   /* after the swap: its allocation bits of before */
            h->sweep_pending++;
            break;
        case BLOCK_PINNED:
            h->stats.swept_blocks_in_pauses++;
            if (block_bits_set(h->mark_bits, bi) == 0) {
                blocks_release_run(h, bi, 1);
            } else {
                fill_dead_pinned(h, bi);
                heap_sizing_count_kept(h, BLOCK_BYTES);
            }
            break;
        case BLOCK_LARGE: {
            size_t run = b->run;
            if (!is_marked(h, block_start(h, bi) + GC_HEADER_BYTES))
                blocks_release_run(h, bi, run);
            else
                heap_sizing_count_kept(h, run << BLOCK_SHIFT);
            bi += run - 1;
            break;
        }
        default: break;
        }
    }
}

/* The marks become the allocation bits; the new mark bits (stale allocation bits) are
 * cleared when the next marking starts. No block is anyone's allocation block now: the
 * next allocation of each class looks for one from the start of the heap. */
static void swap_bitmaps(struct gc_heap *h)
{
    uint64_t *marks = h->mark_bits;
    /* Stored atomically: the prefault thread reads both outside pauses (touch_side_tables). */
    __atomic_store_n(&h->mark_bits, h->alloc_bits, __ATOMIC_RELAXED);
    __atomic_store_n(&h->alloc_bits, marks, __ATOMIC_RELAXED);
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++) {
        h->small_current[c] = -1;
        h->reuse_from[c] = 0;
        h->sparse_reuse_from[c] = 0;
    }
    h->sweep_cursor = 0;
}

bool sweep_small_block(struct gc_heap *h, size_t bi, bool keep_empty)
{
    struct block *b = &h->blocks[bi];
    b->unswept = false;
    h->sweep_pending--;
    if (h->collecting)
        h->stats.swept_blocks_in_pauses++;
    else
        h->stats.swept_blocks_outside_pauses++;
    size_t cells = block_bits_set(h->alloc_bits, bi);
    heap_sizing_count_kept(h, cells * gc_size_class_bytes[b->size_class]);
    /* Its mark bits hold its allocation bits of before the swap: cleared now, in the
     * background sweep mostly, rather than when the next cycle starts. Not while a
     * marking runs (the sweep of the last cycle's remains, before its own swap). */
    if (!h->marking && !h->cycle_active) {
        memset(block_bitmap(h->mark_bits, bi), 0, BITMAP_WORDS_PER_BLOCK * sizeof(uint64_t));
        b->marks_clean = true;
    }
    if (!keep_empty && cells == 0) {
        blocks_release_run(h, bi, 1);
        return true;
    }
    b->cursor = 0;
    return false;
}

/* The sweep is complete: the old generation's size is known again, and with it the
 * next major collection's threshold. */
static void sweep_done(struct gc_heap *h)
{
    while (h->blocks_end > 0 && h->blocks[h->blocks_end - 1].kind == BLOCK_FREE)
        h->blocks_end--;
    if (h->sizing_pending) {
        h->sizing_pending = false;
        heap_sizing_major_ends(h);
    }
}

size_t sweep_some(struct gc_heap *h, size_t limit)
{
    size_t swept = 0;
    while (h->sweep_pending && swept < limit && h->sweep_cursor < h->blocks_end) {
        size_t bi = h->sweep_cursor++;
        if (h->blocks[bi].kind == BLOCK_SMALL && h->blocks[bi].unswept) {
            sweep_small_block(h, bi, false);
            swept++;
        }
    }
    if (h->sweep_pending && h->sweep_cursor >= h->blocks_end)
        gc_fatal("sweep: %zu unswept blocks not found below block %zu", h->sweep_pending,
                 h->blocks_end);
    if (h->sizing_pending && !h->sweep_pending)
        sweep_done(h);
    return swept;
}

void sweep_finish(struct gc_heap *h)
{
    sweep_some(h, SIZE_MAX);
}

void sweep_step(struct gc_heap *h)
{
    sweep_some(h, SWEEP_BATCH);
}

void sweep_eager(struct gc_heap *h)
{
    sweep_finish(h); /* what a concurrent cycle left, if the caller did not */
    sweep_pinned_large_flag_small(h);
    swap_bitmaps(h);
    sweep_finish(h);
    sweep_done(h);
}

void sweep_begin_lazy(struct gc_heap *h)
{
    sweep_finish(h);
    sweep_pinned_large_flag_small(h);
    swap_bitmaps(h);
    h->sizing_pending = true;
    heap_sizing_marking_ends(h);
    if (!h->sweep_pending)
        sweep_done(h);
}

enum sweep_result sweep_in_background(struct gc_heap *h, const int *stop)
{
    for (;;) {
        if (__atomic_load_n(stop, __ATOMIC_ACQUIRE))
            return SWEEP_STOPPED;
        /* Never wait for the heap's lock: a pause holds it while it waits for this thread
         * to park (docs/collector.md, "Threads"). The caller sleeps instead. */
        if (pthread_mutex_trylock(&h->lock) != 0)
            return SWEEP_BLOCKED;
        bool collecting = h->collecting;
        if (!collecting)
            sweep_some(h, SWEEP_BATCH);
        bool done = h->sweep_pending == 0;
        pthread_mutex_unlock(&h->lock);
        if (done)
            return SWEEP_DONE;
        if (collecting)
            return SWEEP_BLOCKED;
    }
}
