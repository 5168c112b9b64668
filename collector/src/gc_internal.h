/* Internal structure of a heap. Read docs/collector.md first: it explains the layout,
 * the invariants and why they were chosen. */
#ifndef GCVM_GC_INTERNAL_H
#define GCVM_GC_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "gcvm/gc-weak.h"

#define BLOCK_SHIFT 15u
#define BLOCK_BYTES ((size_t)1 << BLOCK_SHIFT) /* 32 KiB */
#define HUGE_PAGE_BYTES ((size_t)2 << 20)      /* x86-64's transparent huge page */
#define BLOCKS_PER_HUGE_PAGE (HUGE_PAGE_BYTES / BLOCK_BYTES)
_Static_assert(GC_CARD_BLOCK_SHIFT == BLOCK_SHIFT, "the card summary has a byte per block");
#define PAGE_SHIFT 12u
#define PAGE_BYTES ((size_t)1 << PAGE_SHIFT)
#define SMALL_MAX GC_NURSERY_MAX_OBJECT /* largest size-class cell, header included */
#define SIZE_CLASS_COUNT 32u
#define KIND_COUNT 256u
/* Default of GCVM_GC_PARALLEL_MIN_KB (docs/collector.md, "Small collections stay on the
 * collecting thread"). */
#define PARALLEL_MIN_KB 1024u
/* The headroom's cap, in percent of the live size (gc_config.headroom_percent). */
#define DEFAULT_HEADROOM_PERCENT 100u
#define MAX_HEADROOM_PERCENT 1000u

/* Object header, one word before the payload.
 *   bit 0 LIVE: set in every allocated object. Clear with a nonzero word: the object was
 *         evacuated and the word is the address of its copy's payload. Zero: a free cell.
 *   bit 1 POINTERFREE: never traced.   bit 2 FILLER: dead object kept in a pinned block.
 *   bit 3 HASHED, bit 4 HASH_STORED: identity hash (docs/collector.md, "Weak objects").
 *   bits 8..15 kind, bits 16..63 total size in bytes (header included). */
#define HDR_FILLER 4u
#define HDR_HASHED 8u       /* young object whose identity hash was taken (identity_hash.c) */
#define HDR_HASH_STORED 16u /* the hash is in one granule appended to the object */
typedef uint64_t gc_header;

/* Copies an object's bytes (a multiple of 8) when it moves: most objects are a few words,
 * for which a constant-size copy is a few moves where a memcpy of a variable size is a
 * call or a `rep movs` with a start-up cost larger than the copy. */
static inline void copy_object_words(void *to, const void *from, size_t bytes)
{
    switch (bytes >> 3) {
    case 1: memcpy(to, from, 8); return;
    case 2: memcpy(to, from, 16); return;
    case 3: memcpy(to, from, 24); return;
    case 4: memcpy(to, from, 32); return;
    case 5: memcpy(to, from, 40); return;
    case 6: memcpy(to, from, 48); return;
    case 7: memcpy(to, from, 56); return;
    case 8: memcpy(to, from, 64); return;
    default: memcpy(to, from, bytes); return;
    }
}

static inline gc_header *header_of(const void *obj)
{
    return (gc_header *)obj - 1;
}
static inline size_t header_size(gc_header h)
{
    return (size_t)(h >> 16);
}
static inline unsigned header_kind(gc_header h)
{
    return (unsigned)(h >> 8) & 0xffu;
}
static inline gc_header make_header(size_t total, unsigned kind, uint64_t flags)
{
    return ((uint64_t)total << 16) | ((uint64_t)(kind & 0xffu) << 8) | flags | GC_HDR_LIVE;
}

enum block_kind {
    BLOCK_FREE = 0,
    BLOCK_NURSERY,    /* bump allocation since the last collection: young */
    BLOCK_SMALL,      /* old: cells of one size class */
    BLOCK_LARGE,      /* old: first block of a multi-block object */
    BLOCK_LARGE_TAIL, /* old: a later block of it; `run` counts back to the head */
    BLOCK_PINNED,     /* old: a former nursery block kept in place, objects walkable */
};

struct block {
    uint8_t kind;         /* enum block_kind */
    uint8_t size_class;   /* BLOCK_SMALL */
    bool fresh;           /* BLOCK_LARGE allocated by the mutator since the last
                             collection: scanned whole at the next minor one */
    bool write_protected; /* page-protecting barriers: protected at the last re-arm and
                             not made writable since; kept while the block is free */
    bool unswept;         /* SMALL: not swept since the last major collection (sweep.c) */
    bool worker_filled;   /* SMALL: handed to a promotion worker since the last major
                             collection (old_take_small_block): never to a second one */
    bool marks_clean;     /* SMALL: no mark bit set since it was swept or taken free, so a
                             cycle's start need not clear them (major_clear_stale_marks) */
    bool nursery_handed;  /* NURSERY: given to a mutator since the last collection */
    uint32_t run;         /* LARGE: blocks in the object; LARGE_TAIL: offset to head */
    uint32_t cursor;      /* SMALL: next cell to try when allocating */
    char *fill;           /* NURSERY/PINNED: end of the allocated objects */
    char *unzeroed_end;   /* NURSERY: what it held is cleared up to here when a mutator
                             takes it (nursery_take_zeroing), outside any pause */
};

struct gc_barrier_ops;
struct weak_state;
struct worker_pool;
struct minor_parallel;
struct marker;

struct ptr_stack {
    void **items;
    size_t count, capacity;
};

struct pause_log {
    double *ms;
    size_t count, capacity;
};

/* Inputs of the heap-sizing rule (heap_sizing.c). */
struct heap_sizing {
    uint64_t major_start_ns, last_major_end_ns;
    size_t live_after_major; /* bytes of old generation the last major collection left */
    double growth_rate;      /* bytes per second the old generation grows, smoothed */
    double collection_rate;  /* bytes per second a major collection processes, smoothed */
    uint64_t marking_end_ns; /* a concurrent cycle's final pause, when its sweep is lazy */
    /* The budget: bytes that may become old (promoted or allocated large) from the end
     * of the last major collection's marking before the next one starts (trigger) or a
     * running cycle is ended at once (limit). */
    uint64_t added_base, trigger_budget, limit_budget;
    uint64_t goal_budget;     /* the headroom: the budget at which a cycle should have ended */
    uint64_t added_at_start;  /* old_bytes_added() when the collection began */
    size_t old_at_start;      /* old-generation bytes then */
    uint64_t added_at_pause;  /* old_bytes_added() at the running cycle's last pause */
    uint64_t traced_at_pause; /* the cycle's traced bytes then */
    double floating;          /* the cycle's floating garbage, estimated (while it runs:
                                 weighted by the bytes traced) */
    double cycle_growth;      /* bytes the old generation grew during a cycle, smoothed */
    uint64_t large_bytes;     /* bytes of large objects the mutators allocated, ever */
    uint64_t marked_bytes;    /* bytes the last marking kept, counted by its sweep */
    size_t live_estimate;     /* bytes: the last major collection's live estimate */
    double headroom_fraction; /* the headroom's cap, of the live size */
    bool cycle_past_limit;    /* the running cycle passed its limit budget (counted once) */
};

/* A mutator thread's state, read and written under the heap's lock. */
enum mutator_state {
    MUTATOR_RUNNING,    /* between safepoints */
    MUTATOR_STOPPED,    /* parked at a safepoint while another thread collects */
    MUTATOR_BLOCKING,   /* between gc_blocking_enter and gc_blocking_leave */
    MUTATOR_COLLECTING, /* the thread that stopped the others */
};

#define BLOCKING_SPILL_WORDS 64

struct gc_mutator {
    struct gc_mutator_fast fast; /* must stay first: the inline paths cast to it */
    struct gc_heap *heap;
    struct gc_mutator *next; /* the heap's list of attached mutators */
    pthread_t thread;
    enum mutator_state state;
    long block; /* the nursery block bumped into, or -1 */
    /* What the thread must clear of the block it just took before it allocates there,
     * once it has left the heap's lock (nursery_take_zeroing). */
    char *zero_from, *zero_to;
    /* Conservative scanning: the stack from stack_low (recorded where the thread stopped
     * or entered a blocking region) to stack_top; for a blocking region also the words
     * of gc_blocking_enter's frames, copied there (the thread reuses that stack). */
    char *stack_top, *stack_low;
    void *blocking_spill[BLOCKING_SPILL_WORDS];
    gc_root_trace_fn root_tracer;
    void *root_tracer_user;
    unsigned stress_countdown;
    /* The gcvm barriers (guest_mode.c): the thread's stay in guest mode when it last
     * started running heap code, and whether attaching holds it in guest mode. */
    uint64_t guest_stay;
    bool guest_held;
    /* The nursery blocks the thread took since the last collection (mine), and those it
     * took before it (last), which it takes again first: what it wrote there is likely
     * still in its core's cache (blocks.c, docs/collector.md "Each thread its own nursery
     * blocks"). Each holds up to the heap's nursery_max_blocks. */
    uint32_t *nursery_mine, *nursery_last;
    size_t nursery_mine_count, nursery_last_count, nursery_last_next;
    /* The parallel phase (struct minor_parallel's roots_phase) whose worker visited its
     * roots: each mutator's roots once per phase, by its own thread where it helps. */
    _Atomic uint64_t roots_phase;
};

struct gc_heap {
    /* Threads (mutator.c, docs/collector.md "Threads"). The lock guards the block tables,
     * the nursery list, the old generation's allocation, the roots and the mutator list;
     * a collection holds it from start to end. */
    pthread_mutex_t lock;
    pthread_cond_t stopped_cond; /* a mutator stopped or left: the collector looks again */
    pthread_cond_t resume_cond;  /* the collection is over: stopped mutators go on */
    struct gc_mutator *mutators;
    size_t mutator_count;
    size_t running;      /* mutators in MUTATOR_RUNNING */
    bool stop_requested; /* a thread is stopping the others or collecting */
    uint64_t stops;      /* the stops of the world so far: the current one's number */
    struct gc_mutator *collector;
    uint64_t collections;             /* started so far, minor and major */
    bool mutator_left_guest;          /* gcvm barriers: since the last collection */
    bool guest_warned;                /* ... and that was said once (guest_mode.c) */
    unsigned parallelism;             /* gc_config.parallelism resolved */
    struct worker_pool *workers;      /* parallelism - 1 threads, or NULL (minor.c) */
    struct minor_parallel *minor_par; /* the workers' state in a minor collection */
    uint8_t *card_table_biased;       /* for gc_mutator_fast, NULL unless the barrier is card */
    uint8_t *card_blocks_biased;      /* for gc_mutator_fast: card_blocks, biased */

    /* The reserved region: nblocks blocks of BLOCK_BYTES from base. */
    char *base, *end;
    size_t nblocks;
    size_t blocks_end; /* one past the highest block that may be in use: what every walk
                          over the blocks visits, so that a large reservation costs
                          nothing until it is used (raised by blocks_take_run, lowered
                          after a major collection's sweep) */
    struct block *blocks;
    /* Per block: 1 while blocks[i].kind is BLOCK_NURSERY (block_set_kind keeps the two
     * together). One byte a block, so the remembered-set scan's test "does this field
     * point at a young object" reads a table that stays in the cache where the 32-byte
     * block entries of a large heap do not (docs/collector.md, "The remembered set"). */
    uint8_t *young_blocks;
    uint8_t *resident;          /* per block: its pages are (or are being) faulted in; atomic */
    size_t resident_end;        /* one past the highest block ever resident; atomic */
    struct prefault *prefault;  /* the thread that populates blocks ahead, or NULL */
    char prefault_state[192];   /* "on", or why not */
    char huge_pages_state[192]; /* "on" (huge_pages.c), or why not */
    bool huge_pages;            /* the region is madvise'd MADV_HUGEPAGE (huge_pages.c) */
    /* Blocks collections took that nobody had populated (gc-debug.h). */
    uint64_t cold_blocks_taken_in_pauses;
    size_t free_blocks;
    size_t free_search_from; /* next block index to look at for a free one */

    /* Nursery: the blocks bump allocation uses. A mutator that needs a block takes one it
     * took in the last cycle (struct gc_mutator) or else nursery[nursery_next] onwards,
     * skipping those handed out already; nursery_handed counts the blocks handed out since
     * the last collection. */
    uint32_t *nursery;
    size_t nursery_count, nursery_next, nursery_handed;
    size_t nursery_target_blocks;
    /* The nursery's size bounds (heap_sizing.c): equal, a fixed size, when the
     * configuration gave one; max is the nursery array's capacity. */
    size_t nursery_min_blocks, nursery_max_blocks;
    /* Under cards, for a nursery the heap sizes: the cards the mutators marked since the
     * last minor collection (added at their allocation slow paths), the number at which
     * one starts before the nursery is full, and the CPU time a card took in the minor
     * pauses so far, smoothed (heap_sizing_cards_due). */
    uint64_t cards_marked, card_budget;
    double card_cost_ns;
    bool minor_by_cards;  /* the next minor collection is theirs (for statistics, trace) */
    bool card_cost_fixed; /* by gc_debug_card_budget: no pause changes the cost */

    /* Old generation. */
    int32_t small_current[SIZE_CLASS_COUNT]; /* block index cells come from, or -1 */
    size_t old_blocks;
    size_t major_threshold_blocks, min_major_threshold_blocks;
    struct heap_sizing sizing;
    struct ptr_stack fresh_large; /* payloads of mutator-allocated large objects */
    /* Lazy sweeping (sweep.c): SMALL blocks flagged unswept, all below sweep_cursor's
     * next visit; sizing_pending: the threshold waits for the sweep to finish. */
    size_t sweep_pending, sweep_cursor;
    bool sizing_pending;
    /* Per class: where the search for a partly free block to hand a promotion worker
     * goes on (blocks.c); back to 0 at each bitmap swap. */
    size_t reuse_from[SIZE_CLASS_COUNT];
    /* The same for the fallback that also takes nearly full blocks, when no free block
     * is left (a page barrier's promotion skips them otherwise). */
    size_t sparse_reuse_from[SIZE_CLASS_COUNT];
    uint64_t reuse_blocks_weighed; /* gc_debug_reuse_blocks_weighed: worth_reusing's calls */
    /* Per class: free cells in the blocks handed to promotion workers since the last
     * old_prepare_reuse, which expects the next parallel minor collection to want as many. */
    uint64_t promotion_cells_taken[SIZE_CLASS_COUNT];
    uint64_t promotion_cells_expected[SIZE_CLASS_COUNT]; /* what the last call lifted for */
    uint8_t *lift_wanted; /* per block, old_prepare_reuse's scratch (clear between calls) */

    /* One bit per granule of the region, for the granule an object's header is in.
     * alloc_bits: which cells of SMALL blocks hold objects (a cell is free iff its bit is
     * clear). mark_bits: set by a major collection for every object it reaches; at its
     * end the two are swapped, so marking *is* sweeping (docs/collector.md). Both are
     * clear for every free block. */
    uint64_t *alloc_bits;
    uint64_t *mark_bits;

    /* Remembered set: one byte per unit (card or page) of the region, written by the
     * barrier; dirty_shift is log2 of the unit. */
    uint8_t *dirty;
    unsigned dirty_shift;
    /* Card barrier only (else NULL): a byte per block, set by gc_write_barrier with the
     * card, so that finding and clearing the written cards costs a byte per block, not
     * the 256 card bytes of every old block (docs/collector.md, "The card summary").
     * Invariant: a block whose byte is clear has no dirty card. */
    uint8_t *card_blocks;
    bool all_dirty; /* the barrier lost track: scan every old object at the next minor */
    /* For a barrier that keeps hot pages writable (hot_pages.c): a byte per page, the
     * collections in a row at which it was written; NULL for the others. */
    uint8_t *write_streak;

    /* The barrier. */
    enum gc_barrier_kind barrier_kind;
    const struct gc_barrier_ops *barrier;
    void *barrier_state;
    char barrier_reason[512];

    /* Embedder. */
    gc_trace_fn trace[KIND_COUNT];
    gc_trace_range_fn trace_range[KIND_COUNT]; /* or NULL: the kind is traced whole */
    /* gc_register_kind_words: the payload offset of a word array's first field, or
     * NOT_WORD_ARRAY for a kind of another layout. */
    uint32_t word_array_from[KIND_COUNT];
    void ***roots;
    size_t root_count, root_capacity;
    gc_root_trace_fn root_tracer;
    void *root_tracer_user;
    gc_oom_fn on_oom;
    void *on_oom_arg;

    /* Conservative scanning of every mutator's stack. */
    bool conservative_stack;

    /* Debug aids. */
    unsigned stress_interval;
    unsigned stress_collections;
    bool verify;
    bool trace_log;        /* GCVM_GC_TRACE: one line per collection on stderr */
    bool workers_together; /* GCVM_GC_WORKERS_TOGETHER: every worker in every collection */
    /* gc_debug_assist_bytes: each minor pause of a cycle marks this much (0: as the
     * cycle's schedule says). */
    uint64_t debug_assist_bytes;
    /* A minor collection runs on the workers only when the last one did at least this
     * much work (bytes copied + 8 per remembered-set field; GCVM_GC_PARALLEL_MIN_KB). */
    uint64_t parallel_min_work;
    uint64_t last_minor_work;         /* that work, as the last minor collection did it */
    size_t last_minor_nursery_blocks; /* the nursery blocks it collected (nursery_handed) */
    uint64_t last_minor_remset_work;  /* its part scanning the remembered set */
    uint64_t last_minor_dirty_units;  /* the dirty units (cards, pages) that scan found */
    bool collecting;
    bool marking;   /* inside a major collection */
    bool major_due; /* the old generation crossed its threshold at the last minor one */

    /* Work list shared by evacuation and marking; blocks pinned in this collection. */
    struct ptr_stack grey;
    struct ptr_stack pinned_now;

    /* Concurrent marking (concurrent_mark.c, docs/collector.md "Concurrent marking"):
     * whether major collections mark beside the mutators, and why (or why not); the
     * marker thread's state (NULL when they do not); a cycle runs from its starting pause
     * to its final one. */
    bool concurrent;
    char concurrent_state[160];
    struct marker *marker;
    bool cycle_active;
    uint64_t cycle_start_ns;

    /* Ephemerons found in this collection, guardians (weak.c). NULL until first used. */
    struct weak_state *weak;

    /* Statistics. */
    struct gc_stats stats;
    struct pause_log pauses;
    uint64_t last_stop_wait_ns; /* the last world_stop's wait for the others to park */
    uint64_t resumed_at_ns;     /* when world_start last let the parked mutators go */
    uint64_t barrier_ns;
    /* Last collection: roots+evacuation/marking, sweep, barrier, waiting for the marker
     * thread to park, marking for a late cycle (an assist). */
    uint64_t phase_ns[5];
    /* The most CPU time one of the collector's helper threads (every worker but the
     * collecting thread) spent in this pause, for the nursery's sizing. */
    uint64_t pause_busiest_helper_cpu_ns;
};

/* ---- Region and blocks (blocks.c) ---- */
static inline size_t block_index(const struct gc_heap *h, const void *p)
{
    return (size_t)((const char *)p - h->base) >> BLOCK_SHIFT;
}
static inline char *block_start(const struct gc_heap *h, size_t i)
{
    return h->base + (i << BLOCK_SHIFT);
}
static inline bool in_region(const struct gc_heap *h, const void *p)
{
    return (const char *)p >= h->base && (const char *)p < h->end;
}
#define NOT_WORD_ARRAY UINT32_MAX

/* Sets block bi's kind, and its entry in young_blocks. */
static inline void block_set_kind(struct gc_heap *h, size_t bi, uint8_t kind)
{
    h->blocks[bi].kind = kind;
    h->young_blocks[bi] = kind == BLOCK_NURSERY;
}
static inline bool block_is_old(uint8_t kind)
{
    return kind == BLOCK_SMALL || kind == BLOCK_LARGE || kind == BLOCK_LARGE_TAIL ||
           kind == BLOCK_PINNED;
}

extern const uint32_t gc_size_class_bytes[SIZE_CLASS_COUNT];
extern uint8_t gc_class_by_granule[SMALL_MAX / GC_GRANULE + 1];
void size_classes_init(void); /* once per process, before any heap exists */
static inline unsigned size_class_of(size_t total)
{
    return gc_class_by_granule[total / GC_GRANULE];
}

static inline size_t cells_per_block(unsigned size_class)
{
    return BLOCK_BYTES / gc_size_class_bytes[size_class];
}

static inline size_t object_bit(const struct gc_heap *h, const void *cell)
{
    return (size_t)((const char *)cell - h->base) / GC_GRANULE;
}
static inline bool bit_is_set(const uint64_t *bits, size_t i)
{
    return (bits[i / 64] >> (i % 64)) & 1u;
}
static inline void bit_set(uint64_t *bits, size_t i)
{
    bits[i / 64] |= (uint64_t)1 << (i % 64);
}
#define BITMAP_WORDS_PER_BLOCK (BLOCK_BYTES / GC_GRANULE / 64)
static inline uint64_t *block_bitmap(uint64_t *bits, size_t bi)
{
    return bits + bi * BITMAP_WORDS_PER_BLOCK;
}
/* Bits set in block bi's part of a bitmap (a popcount of 32 words). */
static inline size_t block_bits_set(uint64_t *bits, size_t bi)
{
    const uint64_t *words = block_bitmap(bits, bi);
    size_t n = 0;
    for (size_t w = 0; w < BITMAP_WORDS_PER_BLOCK; w++)
        n += (size_t)__builtin_popcountll(words[w]);
    return n;
}
/* What the heap's dirty units are called in statistics and traces. */
static inline const char *dirty_unit_name(const struct gc_heap *h)
{
    return h->dirty_shift == GC_CARD_SHIFT ? "cards" : "pages";
}
/* Whether any of count units of the dirty map (a multiple of 8) is set. */
static inline bool any_dirty(const uint8_t *units, size_t count)
{
    for (size_t k = 0; k < count; k += 8) {
        uint64_t w;
        memcpy(&w, units + k, 8);
        if (w)
            return true;
    }
    return false;
}
/* How many of count units of the dirty map (a multiple of 8) are set, 8 at a time: a
 * byte is set iff the high bit of (its low 7 bits + 0x7f) or of itself is; those bits,
 * moved to the bytes' low bits, are summed into the top byte by one multiply. Counted a
 * byte at a time, the 256 cards of each written block were 6% of a random writer's CPU
 * time (table at 1 GiB live); with a popcount, which this build (no -mpopcnt, for the
 * emulated CPU models) makes a library call, 0.3%. */
static inline size_t count_dirty(const uint8_t *units, size_t count)
{
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7full, high = 0x8080808080808080ull,
                   ones = 0x0101010101010101ull;
    size_t n = 0;
    for (size_t k = 0; k < count; k += 8) {
        uint64_t w;
        memcpy(&w, units + k, 8);
        if (w)
            n += (size_t)((((((w & low7) + low7) | w) & high) >> 7) * ones >> 56);
    }
    return n;
}
/* Whether block bi has a dirty unit. Under cards a clear summary byte answers without
 * reading the block's 256 card bytes. */
static inline bool block_dirty(const struct gc_heap *h, size_t bi)
{
    if (h->card_blocks && !h->card_blocks[bi])
        return false;
    size_t units = BLOCK_BYTES >> h->dirty_shift;
    return any_dirty(h->dirty + bi * units, units);
}
/* Whether a cell of a SMALL block holds an object. */
static inline bool cell_allocated(const struct gc_heap *h, const char *cell)
{
    return bit_is_set(h->alloc_bits, object_bit(h, cell));
}

long blocks_take_run(struct gc_heap *h, size_t count); /* index of `count` free blocks */
void blocks_release_run(struct gc_heap *h, size_t first, size_t count);
void dirty_clear_block(struct gc_heap *h, size_t bi);
void dirty_clear_in_use(struct gc_heap *h); /* every block that is not free */
/* A cell for a promoted object on one collector thread (the same choice of blocks as
 * old_take_small_block); NULL when no block has room. */
void *old_alloc_small(struct gc_heap *h, size_t total);
void *old_alloc_large(struct gc_heap *h, size_t total); /* NULL if no run is free */
/* A SMALL block of size class cls with free cells, writable, that no other worker fills:
 * one the last major collection left partly free (never the same twice between two
 * major collections, never one the remembered-set scan will read; under a barrier that
 * protects old pages, one with a quarter of its cells free), else a fresh one, else (at
 * the heap's limit) one with any free cell; or -1. For the workers of a parallel minor collection,
 * which fill blocks of their own, under their allocation lock. */
long old_take_small_block(struct gc_heap *h, unsigned cls);
/* Before the workers of a parallel minor collection start: the partly free blocks of each
 * class that old_take_small_block will hand them, with free cells for what the workers of
 * the last parallel minor collection took in that class plus a quarter, made writable a run at a
 * time (a page barrier's faults on the pages promotion fills, or a protection lifted per block from
 * a worker while the others run, cost more; docs/barriers.md, "Promotion into partly free blocks").
 */
void old_prepare_reuse(struct gc_heap *h);
/* The next free cell of SMALL block bi (of class cls) at or after *cursor, now
 * allocated, or NULL; and the undoing of the last such allocation in its block (a worker
 * that lost the race to copy an object). The cursor is the caller's: a promotion worker
 * keeps its block's in its own memory while it fills the block, since two workers'
 * blocks' entries in h->blocks share cache lines (parallel_evac.h). */
void *old_take_cell(struct gc_heap *h, size_t bi, unsigned cls, uint32_t *cursor);
void old_untake_cell(struct gc_heap *h, char *cell, unsigned cls, uint32_t *cursor);
/* Gives m a fresh nursery block to bump into; false when the nursery is full. */
bool nursery_refill(struct gc_heap *h, struct gc_mutator *m);
void nursery_reset(struct gc_heap *h); /* after a collection: no mutator has a block */
/* Clears what the block m just took (nursery_refill) held before, if anything; called by
 * m's thread without the heap's lock, before it makes an object there. */
void nursery_take_zeroing(struct gc_mutator *m);
/* Records the end of m's objects in its current block, so the block can be walked. */
void nursery_retire_block(struct gc_heap *h, struct gc_mutator *m);
size_t nursery_bytes_in_use(const struct gc_heap *h); /* as of the blocks' last retire */

/* Size of the object at `at` in a nursery or pinned block, also when it was evacuated
 * (its header is then the address of the copy, which has the size, plus one granule when
 * the copy holds the identity hash: only a copy does, so that granule is not the young
 * object's). */
static inline size_t walked_object_size(const char *at)
{
    gc_header hdr = *(const gc_header *)at;
    if (hdr & GC_HDR_LIVE)
        return header_size(hdr);
    gc_header copy = *header_of((const void *)(uintptr_t)hdr);
    return header_size(copy) - ((copy & HDR_HASH_STORED) ? GC_GRANULE : 0);
}

/* Finds the object whose memory contains p, or NULL (free cell, free block, outside). */
void *object_containing(struct gc_heap *h, const void *p);

/* Calls fn on every object in old block i (for LARGE, the object; TAIL: nothing). */
void block_for_each_object(struct gc_heap *h, size_t i, gc_object_fn fn, void *arg);

/* ---- Heap growth outside pauses (prefault.c) ---- */
struct prefault;
void prefault_start(struct gc_heap *h);   /* at creation; sets prefault_state */
void prefault_stop(struct gc_heap *h);    /* at destruction */
void prefault_request(struct gc_heap *h); /* after a collection: populate what comes next */
/* Under the heap's lock, after a large object took blocks [first, first + count) outside
 * a collection: when the request wanted any of them, asks again for the blocks the next
 * collection will take now. */
void prefault_blocks_taken(struct gc_heap *h, size_t first, size_t count);
/* From a mutator's allocation slow path, outside the heap's lock: while the
 * thread has not yet populated the blocks the next collection takes, populates a few of
 * them itself, so that the collection does not fault them in (the thread gets no core
 * when the mutator and the marker keep both busy). */
void prefault_assist(struct gc_heap *h);
uint64_t prefault_assisted_bytes(const struct gc_heap *h); /* populated by prefault_assist */
/* Around a pause: the thread populates nothing while held (it would keep a core the
 * pause's workers want). */
void prefault_hold(struct gc_heap *h, bool held);
uint64_t prefault_populated_bytes(const struct gc_heap *h);
/* The prefault thread's CPU time and page faults so far (0 without the thread): its
 * faults as of the last block it populated, its CPU time as of the last request it
 * finished. */
uint64_t prefault_cpu_ns(const struct gc_heap *h);
uint64_t prefault_thread_faults(const struct gc_heap *h);
/* Huge pages (huge_pages.c). At creation, after prefault_start (whose measurement of a
 * first touch is per 4 KiB page): asks for transparent huge pages for the region where
 * the barrier allows them; setting is GCVM_GC_HUGE_PAGES (0, 1, or -1 unset). Sets
 * huge_pages_state. */
void huge_pages_advise(struct gc_heap *h, int setting);
void blocks_note_resident(struct gc_heap *h, size_t first, size_t count);
void retention_release(struct gc_heap *h); /* after a major collection's sweep */

/* Creates a heap with exactly cfg->barrier (not DEFAULT or AUTO), for the auto barrier's
 * calibration: gc_heap_create without choosing a barrier, so that choosing one never
 * creates a heap from inside gc_heap_create. */
struct gc_heap *heap_create_with_barrier(const struct gc_config *cfg, char *err, size_t err_len);

/* ---- Heap sizing (heap_sizing.c): sets major_threshold_blocks ---- */
void heap_sizing_major_begins(struct gc_heap *h);
/* A cycle that a large allocation of `bytes` started: the object counts as old before
 * the cycle's budgets, not as what became old during it (which sets when the cycle is
 * past its limit, and overdue). */
void heap_sizing_cycle_starts_with(struct gc_heap *h, uint64_t bytes);
void heap_sizing_major_ends(struct gc_heap *h); /* after the sweep */
/* Whether the next major collection is due now, or would be after `extra` more bytes
 * became old: the budget since the last one is spent, or the heap is nearly full. */
bool heap_sizing_major_due(const struct gc_heap *h, size_t extra);
/* In each pause of a running cycle, after its minor collection, with the bytes the
 * cycle's trace has marked so far: the floating garbage's estimate grows. */
void heap_sizing_cycle_progress(struct gc_heap *h, uint64_t traced);
/* In a pause of a running cycle that traced `traced` bytes so far: how many more bytes
 * the pause should mark to bring the cycle back on its schedule (0 when on it). */
uint64_t heap_sizing_assist_bytes(const struct gc_heap *h, uint64_t traced);
/* Whether a running cycle has outgrown its limit: its marker fell behind the mutators. */
bool heap_sizing_cycle_outgrown(const struct gc_heap *h);
/* The running cycle is so far past its limit budget (or the heap so full) that its
 * marking must end in this pause, however long it takes. */
bool heap_sizing_cycle_overdue(const struct gc_heap *h);
/* The sweep found `bytes` of a block kept (the marked cells, a kept large or pinned run). */
static inline void heap_sizing_count_kept(struct gc_heap *h, size_t bytes)
{
    h->sizing.marked_bytes += bytes;
}
/* A concurrent cycle's marking ended now; its sweep, and heap_sizing_major_ends, later. */
void heap_sizing_marking_ends(struct gc_heap *h);
/* At creation, for a nursery the heap sizes: its bounds (the configured size is its
 * least). After each minor collection that was not a cycle's final pause, with the CPU
 * time it took (the process's, in the pause): the next nursery's size. */
void heap_sizing_nursery_limits(struct gc_heap *h);
/* After a minor pause: its CPU time, and the part of it taken as fixed, which does not
 * shrink with the nursery (fixed_part_of_minor in heap.c: the barrier's steps and, under
 * a page barrier, the remembered-set scan). */
void heap_sizing_minor_ends(struct gc_heap *h, uint64_t pause_cpu_ns, uint64_t fixed_ns);
/* The factor the nursery's size takes after a minor pause over the target (exported for
 * tests as gc_debug_nursery_scale). */
double heap_sizing_nursery_scale(uint64_t pause_cpu_ns, uint64_t fixed_ns);
/* At a mutator's allocation slow path, under the heap's lock: adds the cards m marked
 * since its last call to the heap's count, and says whether they are enough to start a
 * minor collection before the nursery is full (docs/collector.md, "Written cards start a
 * collection"): under cards, for a nursery the heap sizes, once they would take the
 * pause target's CPU time to scan. */
bool heap_sizing_cards_due(struct gc_heap *h, struct gc_mutator *m);

/* ---- Collections (minor.c, major.c) ---- */
void minor_collect(struct gc_heap *h);
/* Whether the next minor collection will share its work with the collector's workers
 * (the last one did enough work to pay for waking them). */
bool minor_goes_parallel(const struct gc_heap *h);
/* Starts the collector's worker threads when h->parallelism > 1 and the barrier lets
 * other threads collect (not the gcvm barriers, whose thread is in guest mode); 0, or
 * -1 with a one-line message. minor_parallel_destroy ends them. */
int minor_parallel_create(struct gc_heap *h, char *err, size_t err_len);
void minor_parallel_destroy(struct gc_heap *h);
void major_collect(struct gc_heap *h);
/* Whether a major collection's marking runs on the workers (parallel_mark.c). */
bool major_mark_goes_parallel(const struct gc_heap *h);
/* In a stop-the-world major collection, after weak_collection_begin and the conservative
 * scan: marks (and promotes) everything the roots reach, on every worker. What a worker
 * could not copy is left on h->grey for drain_grey with visit_for_major. */
void major_mark_parallel(struct gc_heap *h);
void major_clear_old_marks(struct gc_heap *h); /* before marking: stale bits of the swap */
/* The same, but for the SMALL blocks whose bits the sweep already cleared: a concurrent
 * cycle's start, after the last one's sweep has finished. */
void major_clear_stale_marks(struct gc_heap *h);

/* ---- Sweeping (sweep.c; docs/collector.md, "Lazy sweeping"); all with h->lock held ----
 * sweep_eager: after a stop-the-world marking, every block swept in the pause.
 * sweep_begin_lazy: in a concurrent cycle's final pause: the bitmaps swapped, PINNED and
 * LARGE blocks swept, SMALL blocks flagged unswept (their allocation bits are right; the
 * empty ones are not freed yet, the others' cursors not reset). sweep_small_block sweeps
 * one and returns whether it was freed (never with keep_empty: the caller allocates in
 * it); sweep_step sweeps a batch, sweep_finish the rest
 * (then heap sizing sets the next threshold). sweep_in_background runs on the marker
 * thread without the lock held: it takes it per batch and never waits for it; it returns
 * SWEEP_STOPPED as soon as *stop is set, SWEEP_BLOCKED when the lock is taken or a
 * collection runs (the caller waits, then calls again), SWEEP_DONE when nothing is left. */
enum sweep_result { SWEEP_DONE, SWEEP_STOPPED, SWEEP_BLOCKED };
void sweep_eager(struct gc_heap *h);
void sweep_begin_lazy(struct gc_heap *h);
bool sweep_small_block(struct gc_heap *h, size_t bi, bool keep_empty);
size_t sweep_some(struct gc_heap *h, size_t limit); /* blocks swept */
void sweep_step(struct gc_heap *h);
void sweep_finish(struct gc_heap *h);
enum sweep_result sweep_in_background(struct gc_heap *h, const int *stop);

/* ---- Concurrent marking (concurrent_mark.c); all in pauses unless said ----
 * A cycle: concurrent_cycle_start right after a minor collection (nothing young); then
 * pauses of minor collections, each with concurrent_before_minor and
 * concurrent_after_minor around minor_collect (whose remembered-set scan shades); then
 * concurrent_cycle_finish after the last one. Every pause is bracketed by
 * concurrent_pause_begin (parks the marker) and concurrent_pause_end (lets it go on). */
int concurrent_init(struct gc_heap *h, char *err, size_t err_len); /* at creation */
void concurrent_destroy(struct gc_heap *h);
void concurrent_pause_begin(struct gc_heap *h);
void concurrent_pause_end(struct gc_heap *h);
void concurrent_cycle_start(struct gc_heap *h);
void concurrent_cycle_finish(struct gc_heap *h);
void concurrent_cycle_abandon(struct gc_heap *h); /* a full collection replaces it */
void concurrent_before_minor(struct gc_heap *h);
void concurrent_after_minor(struct gc_heap *h);
/* Marks an object that became old during the cycle and queues it for the marker. */
void concurrent_shade(struct gc_heap *h, void *obj);
/* Marks an object allocated old during the cycle (any thread, under the heap's lock). */
void concurrent_mark_allocated(struct gc_heap *h, void *obj);
/* During a cycle, in a pause: marks obj (not young) if it is in a block the marker marks
 * and unmarked, with the atomic OR (any worker). True when this call marked it and it has
 * fields: the caller then owes it to concurrent_queue_marked, single-threaded. */
bool concurrent_claim(struct gc_heap *h, const void *obj);
void concurrent_queue_marked(struct gc_heap *h, void *obj);
/* For a marked object of `bytes` of payload: how much of it, from its start, the marker
 * has traced already (in a pause; the rest it reads later, as the mutators left it). */
size_t concurrent_traced_extent(const struct gc_heap *h, const void *obj, size_t bytes);
/* The marker has nothing left: the next nursery block boundary ends the cycle. Any
 * thread. */
bool concurrent_final_due(const struct gc_heap *h);
/* The marker's rounds do not converge (each pause finds it still re-scanning): the next
 * minor collection ends the cycle. */
bool concurrent_rounds_exhausted(const struct gc_heap *h);
/* In a pause of a running cycle that began at pause_start_ns: marks `bytes` more of what
 * the cycle's trace has left, on the calling thread; less when the trace runs out, 4 ms
 * have passed, or the pause has lasted 8 ms (nothing when it has already). */
void concurrent_assist(struct gc_heap *h, uint64_t bytes, uint64_t pause_start_ns);
/* Bytes the running cycle's trace has marked so far (0 when none runs). */
uint64_t concurrent_traced_bytes(const struct gc_heap *h);
void trace_roots(struct gc_heap *h, gc_visit_fn visit, void *ctx);
void trace_object(struct gc_heap *h, void *obj, gc_visit_fn visit, void *ctx);
/* Calls trace_range for the payload bytes [from, to) of obj, less each aligned 512-byte
 * stretch that is all zero: a zero word holds no pointer, and a range tracer visits
 * exactly the fields of the bytes it is given. For the scans of a large object that a
 * program may not have filled yet: the fresh object's whole scan at the next minor
 * collection, and the concurrent marker's chunks. A 114 MiB array zeroed at allocation
 * and little filled (array-churn at 1 GiB live) took 42 ms of a pause, its 15 million
 * fields visited one at a time. */
void trace_range_nonzero(gc_trace_range_fn trace_range, void *obj, size_t from, size_t to,
                         gc_visit_fn visit, void *ctx);
void pin_block(struct gc_heap *h, size_t i);
void visit_for_minor(void **field, void *heap);
void visit_for_major(void **field, void *heap);
void drain_grey(struct gc_heap *h, gc_visit_fn visit);
void fill_evacuated_remains(struct gc_heap *h);
static inline bool is_marked(const struct gc_heap *h, const void *obj)
{
    return bit_is_set(h->mark_bits, object_bit(h, header_of(obj)));
}
static inline void set_marked(struct gc_heap *h, const void *obj)
{
    bit_set(h->mark_bits, object_bit(h, header_of(obj)));
}
/* Whether obj is marked, while other threads may be setting marks (mark_claim). */
static inline bool is_marked_atomic(const struct gc_heap *h, const void *obj)
{
    size_t i = object_bit(h, header_of(obj));
    return (__atomic_load_n(&h->mark_bits[i / 64], __ATOMIC_RELAXED) >> (i % 64)) & 1u;
}
/* Sets obj's mark bit with an atomic OR, for when several threads mark at once (the
 * workers of a parallel mark, the concurrent marker and a pause): returns whether it was
 * set already, so that of several threads marking an object exactly one gets false. */
static inline bool mark_claim(struct gc_heap *h, const void *obj)
{
    size_t i = object_bit(h, header_of(obj));
    uint64_t bit = (uint64_t)1 << (i % 64), *word = &h->mark_bits[i / 64];
    if (__atomic_load_n(word, __ATOMIC_RELAXED) & bit)
        return true;
    return (__atomic_fetch_or(word, bit, __ATOMIC_RELAXED) & bit) != 0;
}
/* Scans every mutator's stack and registers: the collecting thread's own from here, the
 * others as they stopped. */
void conservative_scan_stacks(struct gc_heap *h, void (*found)(struct gc_heap *, void *));

/* ---- Threads (mutator.c); all with h->lock held ---- */
/* Stops every other mutator (m runs on, collecting): first waits out another thread's
 * collection if one runs, stopped like the others. Returns true when a collection ran
 * while m waited. On return every mutator's block is retired. */
bool world_stop(struct gc_mutator *m);
void world_start(struct gc_mutator *m);
/* Parks a running m while another thread collects; returns when it is over. */
void mutator_park(struct gc_mutator *m);
/* The mutator whose thread calls this while it helps a collection in a parallel phase
 * (workers_help), else NULL. */
struct gc_mutator *mutator_helping(void);
void trace_mutator_roots(struct gc_heap *h, gc_visit_fn visit, void *ctx);
void mutators_free_all(struct gc_heap *h); /* the heap is going */

/* ---- Collection driver (heap.c) ---- */
/* Runs a collection with h->lock held, stopping the world around it. With
 * unless_another, returns without collecting when another thread collected while m
 * waited for it. */
enum collection_request {
    COLLECT_MINOR,
    COLLECT_MAJOR_STEP, /* the threshold's major collection: concurrent, starts or ends a
                           cycle; else stop-the-world */
    COLLECT_MAJOR_FULL, /* everything unreachable now is freed before it returns */
};
void run_collection(struct gc_mutator *m, enum collection_request what, bool unless_another);

/* ---- Weak objects (weak.c) and identity hashes (identity_hash.c) ----
 * A collection calls weak_collection_begin before it traces anything: from then until
 * weak_collection_end, a traced ephemeron is put aside instead of visited. After the
 * strong trace is drained, weak_collection_end resolves the ephemerons to a fixpoint,
 * queues the dead objects of live guardians (tracing them), and breaks the ephemerons
 * whose keys died, with `visit` the collection's visitor. */
void weak_collection_begin(struct gc_heap *h);
void weak_collection_end(struct gc_heap *h, gc_visit_fn visit);
void weak_trace(struct gc_heap *h, void *obj, unsigned kind, gc_visit_fn visit, void *ctx);
/* While several workers trace (lock not NULL): weak_trace puts ephemerons aside under
 * the lock, to be resolved with `visit` and the heap as context by the one thread that
 * calls weak_collection_end. NULL ends it. */
void weak_share_pending(struct gc_heap *h, pthread_mutex_t *lock, gc_visit_fn visit);
void weak_destroy(struct gc_heap *h);
/* Whether objects of the kind can be traced: the embedder registered a trace function,
 * or the kind is one of the collector's own. */
static inline bool kind_is_traceable(const struct gc_heap *h, unsigned kind)
{
    return h->trace[kind] != NULL || kind == GC_KIND_EPHEMERON || kind == GC_KIND_GUARDIAN;
}
/* Bytes the copy of a young object with header hdr needs beyond its size (0 or one
 * granule), and the write of the hash into that copy (header and appended word). */
static inline size_t identity_hash_extra(gc_header hdr)
{
    return (hdr & HDR_HASHED) ? GC_GRANULE : 0;
}
void identity_hash_store(char *copy_header, size_t old_total, const void *old_payload);
size_t identity_hash_payload_extra(gc_header hdr);

/* ---- Verifier (verify.c) ---- */
void verify_remembered_set(struct gc_heap *h);
int verify_reachable(struct gc_heap *h); /* gc_verify with the world stopped */

/* ---- Work stack (util.c) ---- */
void ptr_stack_grow(struct ptr_stack *s);
static inline void ptr_stack_push(struct ptr_stack *s, void *p)
{
    if (s->count == s->capacity)
        ptr_stack_grow(s);
    s->items[s->count++] = p;
}
static inline void *ptr_stack_pop(struct ptr_stack *s)
{
    return s->items[--s->count];
}
/* Moves every item of from onto to (from's top first), leaving from empty. */
static inline void ptr_stack_move_all(struct ptr_stack *to, struct ptr_stack *from)
{
    while (from->count)
        ptr_stack_push(to, ptr_stack_pop(from));
}

/* ---- Utilities (util.c) ---- */
/* One pause of a polling loop: tells the CPU the thread is spinning (x86's PAUSE), so
 * that a sibling hyperthread runs and the loop's exit is not mispredicted. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
/* Writes a one-line message to err (nothing when err is NULL or err_len 0). */
void gc_set_error(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t gc_now_ns(void);
/* The calling thread's CPU time, in nanoseconds. */
uint64_t thread_cpu_ns(void);
/* Page faults (minor and major) taken so far by the whole process, or by the calling
 * thread; 0 when getrusage fails. */
uint64_t process_page_faults(void);
uint64_t thread_page_faults(void);
/* The calling thread's context switches so far: those where it waited (blocked or
 * yielded) and those where the kernel gave its core to another thread; zeros when
 * getrusage fails. */
struct thread_switches {
    uint64_t waited, preempted;
};
struct thread_switches thread_context_switches(void);
void gc_fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void gc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- Barrier backends (barrier_*.c) ----
 * A backend fills h->dirty for old blocks between collections. Protocol, per collection:
 *   harvest()  at the start: every unit of an old block written since the last re-arm
 *              is marked in h->dirty (a backend may mark more, never fewer; or set
 *              h->all_dirty);
 *   the collection may write to old blocks (after make_writable() for those blocks);
 *   rearm()    at the end: clears h->dirty and starts tracking every old block afresh.
 * Nursery and free blocks need no tracking: after a collection no young object exists,
 * so only writes into old blocks made after rearm() can create old-to-young pointers. */
struct gc_barrier_ops {
    enum gc_barrier_kind kind;
    unsigned dirty_shift;
    int (*available)(char *why, size_t why_len);
    int (*attach)(struct gc_heap *h, char *err, size_t err_len);
    void (*detach)(struct gc_heap *h);
    void (*harvest)(struct gc_heap *h);
    void (*rearm)(struct gc_heap *h);
    void (*make_writable)(struct gc_heap *h, size_t first_block, size_t count); /* or NULL */
    /* As make_writable, for blocks that hold objects and that promotion is expected to
     * fill: a barrier whose make_writable keeps such blocks protected lifts them here
     * (re-armed in the same pause, so nothing the mutators write is missed); or NULL:
     * make_writable does. */
    void (*make_reused_writable)(struct gc_heap *h, size_t first_block, size_t count);
    /* Faults taken and nanoseconds spent handling them, for a trapping barrier; or NULL. */
    void (*trap_counts)(const struct gc_heap *h, uint64_t *traps, uint64_t *ns);
    /* Whether rearm() leaves hot pages writable (hot_pages.c); the heap then keeps
     * h->write_streak, unless GCVM_GC_HOT_PAGES=0. */
    bool keeps_hot_pages;
    /* Whether old pages are write-protected between collections, so that promotion's
     * first write to one costs a fault or a lift: promotion then reuses only partly free
     * blocks with room enough to be worth it (blocks.c, worth_reusing). */
    bool protects_old_pages;
};

extern const struct gc_barrier_ops gc_barrier_none_ops, gc_barrier_card_ops,
    gc_barrier_mprotect_ops, gc_barrier_uffd_ops, gc_barrier_soft_dirty_ops,
    gc_barrier_gcvm_dirty_ops, gc_barrier_gcvm_protect_ops;
const struct gc_barrier_ops *barrier_ops_for(enum gc_barrier_kind kind);

/* The barrier a heap with this configuration gets (GCVM_BARRIER for DEFAULT, calibration
 * for AUTO), with the reason; 0, or -1 with the error in err (barrier_registry.c). */
int barrier_resolve(const struct gc_config *cfg, enum gc_barrier_kind *kind, char *reason,
                    size_t reason_len, char *err, size_t err_len);

/* Adds one collection's pause to the heap's log and totals (stats.c). */
void stats_record_pause(struct gc_heap *h, double ms);

/* Chooses a barrier for `auto` by calibration; writes the reason. */
enum gc_barrier_kind barrier_auto_choose(char *reason, size_t reason_len);

/* For the barriers that write-protect old pages (mprotect, gcvm-protect), which keep
 * block.write_protected: whether a run must be protected again at rearm() (a block of it
 * is not protected yet, or one of its pages was unprotected by a fault since, or the
 * barrier lost track); marking a run writable (returns whether any block of it was
 * protected, so that the backend knows whether to lift anything) or protected. */
bool protected_run_needs_rearm(const struct gc_heap *h, size_t first, size_t count);
bool protected_run_mark_writable(struct gc_heap *h, size_t first, size_t count);
void protected_run_mark_protected(struct gc_heap *h, size_t first, size_t count);

/* Hot pages (hot_pages.c, docs/barriers.md "Hot pages"), for the page barriers that
 * protect old pages again at every rearm() (ops.keeps_hot_pages). With the world
 * stopped: hot_pages_update, at the start of rearm(), counts this collection's writes
 * into the streaks and decides which pages stay writable; for_each_cold_range calls fn
 * for each maximal range of the old blocks [first, first + count) that is not hot, the
 * ranges rearm() protects; hot_pages_mark_dirty, in harvest(), marks the hot pages
 * written (the program may have written them without a fault); hot_pages_clear_block
 * forgets a block's streaks when it is freed. */
void hot_pages_update(struct gc_heap *h);
void hot_pages_mark_dirty(struct gc_heap *h);
void hot_pages_clear_block(struct gc_heap *h, size_t bi);
void for_each_cold_range(struct gc_heap *h, size_t first, size_t count,
                         void (*fn)(struct gc_heap *, char *lo, char *hi));

/* Calls fn(first_block, count) for each maximal run of old blocks. */
void for_each_old_run(struct gc_heap *h, void (*fn)(struct gc_heap *, size_t, size_t));

#endif
