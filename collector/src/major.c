/* Major collection: trace everything reachable from the roots, promoting young objects
 * on the way and marking old ones, then free the blocks with nothing marked and make
 * the marks the new allocation bits (sweep.c). This is the stop-the-world one; the
 * concurrent cycle (concurrent_mark.c) shares its mark-clearing. */
#include <string.h>

#include "gc_internal.h"

static void mark_conservative_referent(struct gc_heap *h, void *obj)
{
    pin_block(h, block_index(h, obj));
    void *field = obj;
    visit_for_major(&field, h);
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

/* One old run's blocks but those swept since the swap: at 1 GiB old, clearing every
 * block's bits took 8 MiB of memset in the pause that starts a cycle (3.5 ms on
 * churn.scm at 280 MiB); the background sweep clears them block by block instead. With
 * the verifier on, a block said clean is checked. */
static void clear_stale_marks(struct gc_heap *h, size_t first, size_t count)
{
    for (size_t bi = first; bi < first + count; bi++) {
        const struct block *b = &h->blocks[bi];
        if (b->kind != BLOCK_SMALL || !b->marks_clean)
            clear_old_marks(h, bi, 1);
        else if (h->verify && block_bits_set(h->mark_bits, bi) != 0)
            gc_fatal("block %zu is said to have clear marks, but %zu are set", bi,
                     block_bits_set(h->mark_bits, bi));
    }
}

void major_clear_stale_marks(struct gc_heap *h)
{
    for_each_old_run(h, clear_stale_marks);
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
    sweep_eager(h);
    h->phase_ns[1] = gc_now_ns() - t1;
    h->marking = false;
    heap_sizing_major_ends(h);
}
