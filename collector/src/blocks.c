/* The heap region and its blocks: free runs, the nursery's blocks, and old-generation
 * cells (size classes) and large objects. */
#include <pthread.h>
#include <string.h>

#include <stdlib.h>

#include "gc_internal.h"
#include "gcvm/gc-debug.h"

/* Cell sizes, header included: 16-byte steps to 128, then four steps per doubling, so a
 * promoted object wastes at most a quarter of its cell. */
const uint32_t gc_size_class_bytes[SIZE_CLASS_COUNT] = {
    16,  32,  48,  64,   80,   96,   112,  128,  160,  192,  224,  256,  320,  384,  448,  512,
    640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
};

uint8_t gc_class_by_granule[SMALL_MAX / GC_GRANULE + 1];

static void build_class_table(void)
{
    unsigned cls = 0;
    for (size_t g = 0; g <= SMALL_MAX / GC_GRANULE; g++) {
        while (gc_size_class_bytes[cls] < g * GC_GRANULE)
            cls++;
        gc_class_by_granule[g] = (uint8_t)cls;
    }
}

void size_classes_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, build_class_table);
}

/* ---- Runs of free blocks ---- */

static bool run_is_free(const struct gc_heap *h, size_t first, size_t count)
{
    for (size_t i = first; i < first + count; i++)
        if (h->blocks[i].kind != BLOCK_FREE)
            return false;
    return true;
}

/* Of blocks [first, first + count): how many nobody has populated yet. */
static size_t count_cold(const struct gc_heap *h, size_t first, size_t count)
{
    size_t cold = 0;
    for (size_t i = first; i < first + count; i++)
        cold += __atomic_load_n(&h->resident[i], __ATOMIC_RELAXED) == 0;
    return cold;
}

uint64_t gc_debug_cold_blocks_taken_in_pauses(struct gc_heap *h)
{
    return h->cold_blocks_taken_in_pauses;
}

static long find_free_run(struct gc_heap *h, size_t count)
{
    if (count == 0 || count > h->free_blocks)
        return -1;
    for (size_t pass = 0; pass < 2; pass++) {
        size_t from = pass == 0 ? h->free_search_from : 0;
        for (size_t i = from; i + count <= h->nblocks; i++) {
            if (h->blocks[i].kind != BLOCK_FREE)
                continue;
            if (!run_is_free(h, i, count))
                continue;
            h->free_blocks -= count;
            if (count == 1)
                h->free_search_from = i + 1;
            if (i + count > h->blocks_end)
                h->blocks_end = i + count;
            if (h->collecting)
                h->cold_blocks_taken_in_pauses += count_cold(h, i, count);
            blocks_note_resident(h, i, count);
            return (long)i;
        }
    }
    return -1;
}

/* Outside pauses, a block taken while a sweep is pending sweeps a batch first, and the
 * rest when no run is free (docs/collector.md, "Lazy sweeping"). In a pause (promotion,
 * maybe on several workers) it takes what is free. */
long blocks_take_run(struct gc_heap *h, size_t count)
{
    if (h->sweep_pending && !h->collecting)
        sweep_step(h);
    long at = find_free_run(h, count);
    if (at < 0 && h->sweep_pending && !h->collecting) {
        sweep_finish(h);
        at = find_free_run(h, count);
    }
    return at;
}

/* Sets every unit of block bi in the dirty map, and its summary byte under cards, to
 * value. */
static void dirty_fill_block(struct gc_heap *h, size_t bi, uint8_t value)
{
    size_t units = BLOCK_BYTES >> h->dirty_shift;
    memset(h->dirty + bi * units, value, units);
    if (h->card_blocks)
        h->card_blocks[bi] = value;
}

/* Invariant: a free block's units in the dirty map are clear, so a block starts its
 * old life with no stale marks. */
void dirty_clear_block(struct gc_heap *h, size_t bi)
{
    dirty_fill_block(h, bi, 0);
}

/* Under cards only the blocks whose summary byte is set can have a dirty card: clearing
 * those costs what was written, not the old generation's size. */
void dirty_clear_in_use(struct gc_heap *h)
{
    for (size_t bi = 0; bi < h->blocks_end; bi++)
        if (h->card_blocks ? h->card_blocks[bi] != 0 : h->blocks[bi].kind != BLOCK_FREE)
            dirty_clear_block(h, bi);
}

/* Block bi free (its young_blocks entry too), its metadata cleared but write_protected:
 * whether its pages are protected does not change when the block is freed or taken
 * again, only when a barrier protects or lifts them (make_writable, rearm). */
static void reset_block_metadata(struct gc_heap *h, size_t bi)
{
    struct block *b = &h->blocks[bi];
    bool still_protected = b->write_protected;
    memset(b, 0, sizeof *b);
    b->write_protected = still_protected;
    block_set_kind(h, bi, BLOCK_FREE);
}

void blocks_release_run(struct gc_heap *h, size_t first, size_t count)
{
    for (size_t i = first; i < first + count; i++) {
        dirty_clear_block(h, i);
        hot_pages_clear_block(h, i);
        memset(block_bitmap(h->alloc_bits, i), 0, BITMAP_WORDS_PER_BLOCK * sizeof(uint64_t));
        memset(block_bitmap(h->mark_bits, i), 0, BITMAP_WORDS_PER_BLOCK * sizeof(uint64_t));
        struct block *b = &h->blocks[i];
        if (block_is_old(b->kind))
            h->old_blocks--;
        reset_block_metadata(h, i);
    }
    h->free_blocks += count;
    if (first < h->free_search_from)
        h->free_search_from = first;
}

/* One free block, now of the given kind with fresh metadata, writable without a fault
 * (a page barrier may have protected it while it was old); or -1. */
static long take_block(struct gc_heap *h, enum block_kind kind)
{
    long bi = blocks_take_run(h, 1);
    if (bi >= 0) {
        reset_block_metadata(h, (size_t)bi);
        block_set_kind(h, (size_t)bi, (uint8_t)kind);
        h->blocks[bi].marks_clean = kind == BLOCK_SMALL; /* freed with its bits cleared */
        if (h->barrier->make_writable)
            h->barrier->make_writable(h, (size_t)bi, 1);
    }
    return bi;
}

/* ---- Old generation ---- */

/* The next free cell of SMALL block bi, of class cls, at or after *cursor (which it
 * advances), now allocated; or NULL. */
static void *take_cell_at(struct gc_heap *h, size_t bi, unsigned cls, uint32_t *cursor)
{
    size_t cell = gc_size_class_bytes[cls];
    size_t cells = cells_per_block(cls);
    char *start = block_start(h, bi);
    while (*cursor < cells) {
        char *at = start + (size_t)(*cursor)++ * cell;
        size_t bit = object_bit(h, at);
        if (!bit_is_set(h->alloc_bits, bit)) {
            bit_set(h->alloc_bits, bit);
            return at;
        }
    }
    return NULL;
}

/* The next free cell of SMALL block bi at or after its cursor, now allocated; or NULL. */
static void *take_cell(struct gc_heap *h, size_t bi)
{
    struct block *b = &h->blocks[bi];
    return take_cell_at(h, bi, b->size_class, &b->cursor);
}

/* Under a barrier that protects old pages, promotion reuses a partly free block only
 * when at least this share of its cells is free (a quarter), while free blocks are left.
 * Each page promotion writes into costs a lift or a fault in the pause (2-6 us a page
 * lifted, about 13 us a fault, on these machines), whatever the page receives: a free
 * block gets 4 KiB a page for it, a block with 2% of its cells free 80 bytes. After a
 * concurrent cycle of churn.scm most blocks were that full, and the lift of the 1,300
 * blocks one collection's promotion wanted took 65 ms of its pause (docs/barriers.md,
 * "Nearly full blocks"). */
#define REUSE_MIN_FREE_SHIFT 2

/* Whether partly free SMALL block bi of class cls has room enough for promotion to reuse
 * it while free blocks are left (sparse: any room will do). */
static bool worth_reusing(struct gc_heap *h, size_t bi, unsigned cls, bool sparse)
{
    h->reuse_blocks_weighed++;
    size_t cells = cells_per_block(cls), used = block_bits_set(h->alloc_bits, bi);
    if (used >= cells)
        return false;
    return sparse || !h->barrier->protects_old_pages ||
           cells - used >= cells >> REUSE_MIN_FREE_SHIFT;
}

/* The first SMALL block of the class at or after `from` with a free cell at or after its
 * cursor and room enough (worth_reusing), or (sparse) with any free cell; an unswept one
 * met on the way is swept first (lazy sweeping: its cursor reset; kept when empty, for
 * the cells wanted now). A block passed over for want of room gets its cursor at its end,
 * so that the next search does not weigh it again before it is swept (without that, each
 * block filled on one collector thread searched all of them again: the search starts after
 * the block just filled, and fresh blocks lie anywhere). */
static long usable_block_of_class(struct gc_heap *h, unsigned cls, size_t from, bool sparse)
{
    uint32_t cells = (uint32_t)cells_per_block(cls);
    for (size_t i = from; i < h->blocks_end; i++) {
        struct block *b = &h->blocks[i];
        if (b->kind != BLOCK_SMALL || b->size_class != cls)
            continue;
        if (b->unswept)
            sweep_small_block(h, i, true);
        if (!sparse && b->cursor >= cells)
            continue;
        if (worth_reusing(h, i, cls, sparse))
            return (long)i;
        if (!sparse)
            b->cursor = cells;
    }
    return -1;
}

/* Whether SMALL block i can take promoted objects of class cls: a free cell (sparse:
 * any; otherwise, under a barrier that protects old pages, a quarter of its cells), no
 * dirty unit (the remembered-set scan of this collection may read a dirty block's cells
 * while its worker fills it), not handed to a worker yet; swept first if unswept. */
static bool reusable_block(struct gc_heap *h, size_t i, unsigned cls, bool sparse)
{
    struct block *b = &h->blocks[i];
    if (b->kind != BLOCK_SMALL || b->size_class != cls || b->worker_filled || block_dirty(h, i))
        return false;
    if (b->unswept)
        sweep_small_block(h, i, true);
    return worth_reusing(h, i, cls, sparse);
}

/* The next reusable block of the class from *from on, which it advances; or -1. */
static long reusable_block_of_class(struct gc_heap *h, unsigned cls, size_t *from, bool sparse)
{
    for (size_t i = *from; i < h->blocks_end && !h->all_dirty; i++) {
        if (reusable_block(h, i, cls, sparse)) {
            *from = i + 1;
            return (long)i;
        }
    }
    *from = h->blocks_end;
    return -1;
}

/* How many of reusable block bi's pages hold a free cell of class cls: the pages that
 * promotion into it would write. */
static unsigned pages_with_free_cells(const struct gc_heap *h, size_t bi, unsigned cls)
{
    uint32_t pages = 0;
    size_t cell = gc_size_class_bytes[cls], cells = cells_per_block(cls);
    const uint64_t *bits = block_bitmap(h->alloc_bits, bi);
    for (size_t c = 0; c < cells; c++) {
        size_t bit = c * cell / GC_GRANULE;
        if (bits[bit / 64] & ((uint64_t)1 << (bit % 64)))
            continue;
        for (size_t p = (c * cell) >> PAGE_SHIFT; p <= ((c + 1) * cell - 1) >> PAGE_SHIFT; p++)
            pages |= (uint32_t)1 << p;
    }
    return (unsigned)__builtin_popcount(pages);
}

void old_prepare_reuse(struct gc_heap *h)
{
    void (*lift)(struct gc_heap *, size_t, size_t) = h->barrier->make_reused_writable
                                                         ? h->barrier->make_reused_writable
                                                         : h->barrier->make_writable;
    if (lift && !h->lift_wanted)
        h->lift_wanted = calloc(h->nblocks, 1); /* without it, nothing is lifted ahead */
    size_t lo = SIZE_MAX, hi = 0;
    for (unsigned cls = 0; cls < SIZE_CLASS_COUNT; cls++) {
        /* What the last one took, or half what was expected of it: a collection that
         * promoted nothing (a forced one) does not make the next one start blind. */
        uint64_t taken = h->promotion_cells_taken[cls], half = h->promotion_cells_expected[cls] / 2;
        uint64_t expected = taken > half ? taken : half;
        h->promotion_cells_taken[cls] = 0;
        h->promotion_cells_expected[cls] = expected;
        if (!lift || !h->lift_wanted || h->all_dirty || expected == 0)
            continue;
        uint64_t want = expected + expected / 4, free_cells = 0;
        for (size_t i = h->reuse_from[cls]; free_cells < want && i < h->blocks_end; i++) {
            if (!reusable_block(h, i, cls, false))
                continue;
            free_cells += cells_per_block(cls) - block_bits_set(h->alloc_bits, i);
            /* uffd lifts about 2 us a page here, against 12.8 us for a fault: a block
             * whose free cells lie on few of its pages is left to fault on those. */
            if (h->barrier->make_reused_writable &&
                (size_t)2 * pages_with_free_cells(h, i, cls) < (BLOCK_BYTES >> PAGE_SHIFT))
                continue;
            h->lift_wanted[i] = 1;
            lo = i < lo ? i : lo;
            hi = i + 1 > hi ? i + 1 : hi;
        }
    }
    if (lo >= hi)
        return;
    size_t run = lo, end = lo; /* the run being gathered: [run, end) */
    for (size_t i = lo; i < hi; i++) {
        if (!h->lift_wanted[i])
            continue;
        h->lift_wanted[i] = 0;
        if (i > end) {
            lift(h, run, end - run);
            run = i;
        }
        end = i + 1;
    }
    lift(h, run, end - run);
}

/* A partly free block of the class with room enough; else a free block; else, when none
 * is left, any partly free block of the class. */
long old_take_small_block(struct gc_heap *h, unsigned cls)
{
    long reused = reusable_block_of_class(h, cls, &h->reuse_from[cls], false);
    long bi = reused < 0 ? take_block(h, BLOCK_SMALL) : -1;
    if (reused < 0 && bi < 0 && h->barrier->protects_old_pages)
        reused = reusable_block_of_class(h, cls, &h->sparse_reuse_from[cls], true);
    if (reused >= 0) {
        h->promotion_cells_taken[cls] +=
            cells_per_block(cls) - block_bits_set(h->alloc_bits, (size_t)reused);
        h->blocks[reused].cursor = 0;
        h->blocks[reused].worker_filled = true;
        if (h->barrier->make_writable)
            h->barrier->make_writable(h, (size_t)reused, 1);
        return reused;
    }
    if (bi < 0)
        return -1;
    h->promotion_cells_taken[cls] += cells_per_block(cls);
    h->blocks[bi].size_class = (uint8_t)cls;
    h->blocks[bi].worker_filled = true;
    h->old_blocks++;
    return bi;
}

void *old_take_cell(struct gc_heap *h, size_t bi, unsigned cls, uint32_t *cursor)
{
    return take_cell_at(h, bi, cls, cursor);
}

void old_untake_cell(struct gc_heap *h, char *cell, unsigned cls, uint32_t *cursor)
{
    size_t bi = block_index(h, cell);
    size_t bit = object_bit(h, cell);
    h->alloc_bits[bit / 64] &= ~((uint64_t)1 << (bit % 64));
    *cursor = (uint32_t)((size_t)(cell - block_start(h, bi)) / gc_size_class_bytes[cls]);
}

/* A cell of class cls from block `first` or the usable blocks after it (sparse: those
 * with little room too), each made the class's current block in turn; or NULL. */
static void *alloc_from_usable(struct gc_heap *h, unsigned cls, long first, bool sparse)
{
    for (long bi = first; bi >= 0; bi = usable_block_of_class(h, cls, (size_t)bi + 1, sparse)) {
        if (bi != h->small_current[cls]) {
            h->small_current[cls] = (int32_t)bi;
            if (sparse)
                h->blocks[bi].cursor = 0; /* perhaps passed over before */
            if (h->barrier->make_writable)
                h->barrier->make_writable(h, (size_t)bi, 1);
        }
        void *cell = take_cell(h, (size_t)bi);
        if (cell)
            return cell;
        if (sparse)
            h->sparse_reuse_from[cls] = (size_t)bi + 1;
    }
    return NULL;
}

/* Cells come from the class's current block; when it is full, from the next block of
 * the class with free cells (left by the last major collection; with none current since
 * then, the first one) and room enough (worth_reusing), else a fresh block, else, at the
 * heap's limit, any block of the class with a free cell. */
void *old_alloc_small(struct gc_heap *h, size_t total)
{
    unsigned cls = size_class_of(total);
    long first = h->small_current[cls];
    if (first < 0)
        first = usable_block_of_class(h, cls, 0, false);
    void *cell = alloc_from_usable(h, cls, first, false);
    if (cell)
        return cell;
    long bi = old_take_small_block(h, cls);
    if (bi >= 0) {
        h->small_current[cls] = (int32_t)bi;
        return take_cell(h, (size_t)bi);
    }
    if (!h->barrier->protects_old_pages)
        return NULL;
    first = usable_block_of_class(h, cls, h->sparse_reuse_from[cls], true);
    return alloc_from_usable(h, cls, first, true);
}

void *old_alloc_large(struct gc_heap *h, size_t total)
{
    size_t count = (total + BLOCK_BYTES - 1) >> BLOCK_SHIFT;
    long first = blocks_take_run(h, count);
    if (first < 0)
        return NULL;
    for (size_t k = 0; k < count; k++) {
        struct block *b = &h->blocks[(size_t)first + k];
        reset_block_metadata(h, (size_t)first + k);
        block_set_kind(h, (size_t)first + k, k == 0 ? BLOCK_LARGE : BLOCK_LARGE_TAIL);
        b->run = k == 0 ? (uint32_t)count : (uint32_t)k;
    }
    h->old_blocks += count;
    if (h->barrier->make_writable)
        h->barrier->make_writable(h, (size_t)first, count);
    return block_start(h, (size_t)first);
}

/* ---- Nursery ---- */

static void nursery_enter_block(struct gc_heap *h, struct gc_mutator *m, size_t bi)
{
    struct block *b = &h->blocks[bi];
    if (b->unzeroed_end > b->fill) {
        m->zero_from = b->fill;
        m->zero_to = b->unzeroed_end;
    }
    b->unzeroed_end = NULL;
    m->block = (long)bi;
    m->fast.alloc_cursor = h->blocks[bi].fill;
    m->fast.alloc_limit = block_start(h, bi) + BLOCK_BYTES;
    if (h->stress_interval) /* every allocation takes the slow path, which counts */
        m->fast.alloc_limit = m->fast.alloc_cursor;
}

void nursery_retire_block(struct gc_heap *h, struct gc_mutator *m)
{
    if (m->block >= 0)
        h->blocks[m->block].fill = m->fast.alloc_cursor;
}

/* A block stays the mutator's until the next collection even when it moves on: the
 * rest of it is not handed to another thread. */
/* Gives block bi to m for the rest of this cycle, and notes it as one of m's. */
static void nursery_hand(struct gc_heap *h, struct gc_mutator *m, size_t bi)
{
    /* Under cards, its cards marked already (the summary byte too, so that the re-arm
     * clears them): stores into young objects find them marked and are not counted among
     * the cards written into old ones (heap_sizing_cards_due). */
    if (h->card_blocks)
        dirty_fill_block(h, bi, 1);
    h->blocks[bi].nursery_handed = true;
    h->nursery_handed++;
    if (m->nursery_mine_count < h->nursery_max_blocks)
        m->nursery_mine[m->nursery_mine_count++] = (uint32_t)bi;
    nursery_enter_block(h, m, bi);
}

/* A thread takes the blocks it filled in the last cycle first, in the order it took
 * them then, so that its objects and their clearing stay in its own core's cache; then
 * any block nobody took yet; then, while the nursery may grow, a new one. With two
 * threads taking from one list the blocks had alternated between the cores, and the
 * mutators' own code ran 2.6-3 times as many cycles for twice the work
 * (docs/collector.md, "Each thread its own nursery blocks"). */
bool nursery_refill(struct gc_heap *h, struct gc_mutator *m)
{
    nursery_retire_block(h, m);
    m->block = -1;
    m->fast.alloc_cursor = m->fast.alloc_limit = NULL;
    while (m->nursery_last_next < m->nursery_last_count) {
        size_t bi = m->nursery_last[m->nursery_last_next++];
        const struct block *b = &h->blocks[bi];
        if (b->kind == BLOCK_NURSERY && !b->nursery_handed) { /* not pinned, freed, or taken */
            nursery_hand(h, m, bi);
            return true;
        }
    }
    while (h->nursery_next < h->nursery_count) {
        size_t bi = h->nursery[h->nursery_next++];
        if (!h->blocks[bi].nursery_handed) {
            nursery_hand(h, m, bi);
            return true;
        }
    }
    if (h->nursery_count >= h->nursery_target_blocks)
        return false;
    long bi = take_block(h, BLOCK_NURSERY);
    if (bi < 0)
        return false;
    struct block *b = &h->blocks[bi];
    b->fill = block_start(h, (size_t)bi);
    b->unzeroed_end = b->fill + BLOCK_BYTES; /* a reused block holds old data */
    h->nursery[h->nursery_count++] = (uint32_t)bi;
    h->nursery_next = h->nursery_count;
    nursery_hand(h, m, (size_t)bi);
    return true;
}

size_t nursery_bytes_in_use(const struct gc_heap *h)
{
    size_t used = 0;
    for (size_t k = 0; k < h->nursery_count; k++) {
        size_t bi = h->nursery[k];
        used += (size_t)(h->blocks[bi].fill - block_start(h, bi));
    }
    return used;
}

void nursery_take_zeroing(struct gc_mutator *m)
{
    if (m->zero_to) {
        memset(m->zero_from, 0, (size_t)(m->zero_to - m->zero_from));
        m->zero_from = m->zero_to = NULL;
    }
}

/* After a collection every object left the nursery (or its block was pinned and left
 * the nursery list): each block is empty again, and what it held is cleared by the next
 * mutator that takes it, not here: clearing in the pause cost about 0.1 ms per MiB of
 * nursery with every mutator stopped (docs/collector.md, "Nursery size"). */
void nursery_reset(struct gc_heap *h)
{
    size_t kept = 0;
    for (size_t k = 0; k < h->nursery_count; k++) {
        size_t bi = h->nursery[k];
        struct block *b = &h->blocks[bi];
        if (b->kind != BLOCK_NURSERY)
            continue; /* pinned during the collection: now old */
        if (b->fill > b->unzeroed_end)
            b->unzeroed_end = b->fill;
        b->fill = block_start(h, bi);
        b->nursery_handed = false;
        h->nursery[kept++] = (uint32_t)bi;
    }
    /* A nursery that heap sizing made smaller gives its last blocks back. */
    while (kept > h->nursery_target_blocks)
        blocks_release_run(h, h->nursery[--kept], 1);
    h->nursery_count = kept;
    h->nursery_next = h->nursery_handed = 0;
    h->cards_marked = 0;
    for (struct gc_mutator *m = h->mutators; m; m = m->next) {
        m->fast.cards_marked = 0;
        if (m->zero_to) /* a taken block is cleared before its thread can stop */
            gc_fatal("nursery_reset: a mutator's new block was never cleared");
        m->block = -1;
        m->fast.alloc_cursor = m->fast.alloc_limit = NULL;
        uint32_t *last = m->nursery_last; /* this cycle's blocks are the next one's first */
        m->nursery_last = m->nursery_mine;
        m->nursery_last_count = m->nursery_mine_count;
        m->nursery_last_next = 0;
        m->nursery_mine = last;
        m->nursery_mine_count = 0;
    }
}

/* ---- Finding objects ---- */

void *object_containing(struct gc_heap *h, const void *p)
{
    if (!in_region(h, p))
        return NULL;
    size_t bi = block_index(h, p);
    const struct block *b = &h->blocks[bi];
    char *start = block_start(h, bi);
    const char *q = p;
    switch (b->kind) {
    case BLOCK_NURSERY:
    case BLOCK_PINNED: {
        for (char *at = start; at < b->fill;) {
            size_t size = walked_object_size(at);
            if (size == 0)
                return NULL; /* not an object boundary: corrupt or unused */
            if (q < at + size)
                return at + GC_HEADER_BYTES;
            at += size;
        }
        return NULL;
    }
    case BLOCK_SMALL: {
        size_t cell = gc_size_class_bytes[b->size_class];
        size_t k = (size_t)(q - start) / cell;
        char *at = start + k * cell;
        if (k >= cells_per_block(b->size_class) || !cell_allocated(h, at))
            return NULL;
        return at + GC_HEADER_BYTES;
    }
    case BLOCK_LARGE:
    case BLOCK_LARGE_TAIL: {
        size_t head = b->kind == BLOCK_LARGE ? bi : bi - b->run;
        char *at = block_start(h, head);
        if (q >= at + header_size(*(gc_header *)at))
            return NULL;
        return at + GC_HEADER_BYTES;
    }
    default: return NULL;
    }
}

void block_for_each_object(struct gc_heap *h, size_t bi, gc_object_fn fn, void *arg)
{
    const struct block *b = &h->blocks[bi];
    char *start = block_start(h, bi);
    switch (b->kind) {
    case BLOCK_SMALL: {
        size_t cell = gc_size_class_bytes[b->size_class];
        size_t cells = cells_per_block(b->size_class);
        for (size_t k = 0; k < cells; k++)
            if (cell_allocated(h, start + k * cell))
                fn(start + k * cell + GC_HEADER_BYTES, arg);
        break;
    }
    case BLOCK_LARGE: fn(start + GC_HEADER_BYTES, arg); break;
    case BLOCK_PINNED:
    case BLOCK_NURSERY: {
        for (char *at = start; at < b->fill;) {
            size_t size = walked_object_size(at);
            if ((*(gc_header *)at & GC_HDR_LIVE) && !(*(gc_header *)at & HDR_FILLER))
                fn(at + GC_HEADER_BYTES, arg);
            at += size;
        }
        break;
    }
    default: break;
    }
}

void for_each_old_run(struct gc_heap *h, void (*fn)(struct gc_heap *, size_t, size_t))
{
    size_t i = 0;
    while (i < h->blocks_end) {
        if (!block_is_old(h->blocks[i].kind)) {
            i++;
            continue;
        }
        size_t first = i;
        while (i < h->blocks_end && block_is_old(h->blocks[i].kind))
            i++;
        fn(h, first, i - first);
    }
}

bool protected_run_needs_rearm(const struct gc_heap *h, size_t first, size_t count)
{
    if (h->all_dirty)
        return true;
    size_t units = BLOCK_BYTES >> h->dirty_shift;
    for (size_t bi = first; bi < first + count; bi++) {
        if (!h->blocks[bi].write_protected)
            return true;
        const uint8_t *d = h->dirty + bi * units;
        for (size_t k = 0; k < units; k++)
            if (d[k])
                return true;
    }
    return false;
}

bool protected_run_mark_writable(struct gc_heap *h, size_t first, size_t count)
{
    bool any = false;
    for (size_t bi = first; bi < first + count; bi++) {
        any |= h->blocks[bi].write_protected;
        h->blocks[bi].write_protected = false;
    }
    return any;
}

void protected_run_mark_protected(struct gc_heap *h, size_t first, size_t count)
{
    for (size_t bi = first; bi < first + count; bi++)
        h->blocks[bi].write_protected = true;
}
