/* Heap sizing: when the next major collection runs, from the live size and the rates of
 * allocation and collection (docs/collector.md, "Heap sizing").
 *
 * The budget. After a major collection that left L bytes live, E more bytes may become
 * old (promoted, or allocated large) before the next one. Counting bytes that become old,
 * not the old generation's blocks, matters because the old generation is not compacted:
 * a block keeps its place while one of its cells lives, so after a collection the blocks
 * hold L plus free cells, which promotion fills before it takes a new block. A rule on
 * the blocks would start from L plus those cells and, where no block ever empties (random
 * lifetimes), raise the goal at every collection.
 *
 * The headroom. With g the rate at which bytes become old (per second of the program's
 * time) and s the rate at which a major collection processes the live heap, majors take
 * the fraction f = (g / E) * (L / s) of the time. Minimising memory + lambda * f over E
 * gives E = sqrt(lambda * L * g / s), the square-root rule of MemBalancer (Kirisame et
 * al., OOPSLA 2022): a small heap gets relatively more room (its collections are cheap),
 * a program that stops allocating gets its heap shrunk. lambda (HEAP_SIZING_LAMBDA) is
 * how many bytes of memory one unit of time fraction is worth. Alone, the rule gives a
 * fast allocator more headroom than its live size (at 1 GiB live, 1 GB/s promoted and
 * marked at 2 GB/s: E = 1.5 GiB), so E is capped at a fraction of L (headroom_fraction,
 * gc_config.headroom_percent: by default the live size itself).
 *
 * The live size. L is the bytes the marking kept (counted by the sweep, cell by cell),
 * less an estimate of the floating garbage of a concurrent cycle: the old objects the
 * program unlinked after the marker had reached them. A program that replaces its data
 * at a steady rate unlinks about as much as it adds, and an object it unlinks was
 * reached already with the odds of the part of the trace done by then; so each pause of
 * the cycle adds to the estimate what became old since the last one times the part of
 * the cycle's whole trace done at the middle of the interval. A program that only grows is
 * underestimated by as much, and measured again by the next cycle. Without this, each
 * cycle's floating garbage would raise the next goal.
 *
 * The trigger. The mutators keep promoting while the marker runs, so a cycle that starts
 * when the budget is spent ends above it. Like a pacer, the next cycle starts early by
 * what became old during the last one (smoothed, plus a quarter), so that it ends near
 * the goal; never before a nursery's worth was promoted. A cycle whose marker falls
 * behind anyway is helped by every minor pause for as long as an assist may take once
 * the budget and a quarter more are spent (limit_budget), and ended at once (its
 * remaining marking in a pause) at twice that (heap_sizing_cycle_overdue). */
#include <math.h>

#include "gc_internal.h"
#include "gcvm/gc-debug.h"

#define HEAP_SIZING_LAMBDA 4294967296.0 /* bytes: see above */
#define RUNWAY_MARGIN 1.25              /* the trigger's margin over the last cycle's growth */
#define RATE_SMOOTHING 0.5              /* weight of the newest measurement */
/* What a byte that becomes old during a cycle costs of the goal: itself and, as floating
 * garbage, about half a byte (what it replaced, marked already if the marker had passed
 * it: half the time for a marker that keeps to its schedule; see "The live size"). */
#define FLOATING_FACTOR 1.5
/* A cycle past its limit budget is ended in a pause only past this many times it; until
 * then each minor pause marks what it can in its assist's time (see "The trigger"). */
#define OVERDUE_FACTOR 2

static double smooth(double old, double now)
{
    return old > 0 ? (1 - RATE_SMOOTHING) * old + RATE_SMOOTHING * now : now;
}

/* Bytes that became old since the heap was created: promoted or allocated large. */
static uint64_t old_bytes_added(const struct gc_heap *h)
{
    return h->stats.bytes_promoted + h->sizing.large_bytes;
}

bool heap_sizing_major_due(const struct gc_heap *h, size_t extra)
{
    const struct heap_sizing *z = &h->sizing;
    size_t ceiling = h->nblocks - h->nursery_target_blocks;
    return old_bytes_added(h) + extra - z->added_base >= z->trigger_budget ||
           h->old_blocks + (extra >> BLOCK_SHIFT) >= ceiling;
}

/* Whether what became old since the last marking reached `times` the limit budget, or
 * the heap is a nursery from full. */
static bool cycle_past_limit(const struct gc_heap *h, uint64_t times)
{
    const struct heap_sizing *z = &h->sizing;
    return old_bytes_added(h) - z->added_base >= times * z->limit_budget ||
           h->old_blocks >= h->nblocks - h->nursery_target_blocks;
}

bool heap_sizing_cycle_outgrown(const struct gc_heap *h)
{
    return cycle_past_limit(h, 1);
}

bool heap_sizing_cycle_overdue(const struct gc_heap *h)
{
    return cycle_past_limit(h, OVERDUE_FACTOR);
}

/* The live size the running cycle's trace has to cover: the last estimate. */
static double cycle_work(const struct heap_sizing *z)
{
    return (double)(z->live_estimate ? z->live_estimate : z->old_at_start) + 1;
}

/* The schedule: the cycle should end before what became old during it, with the
 * floating garbage it leaves (about half as much again), spends the
 * budget left to the goal when it began; so of that budget's two thirds, the part spent
 * since should have seen as large a part of the live size traced. */
uint64_t heap_sizing_assist_bytes(const struct gc_heap *h, uint64_t traced)
{
    const struct heap_sizing *z = &h->sizing;
    uint64_t before = z->added_at_start - z->added_base;
    uint64_t runway = z->goal_budget > before
                          ? (uint64_t)((double)(z->goal_budget - before) / FLOATING_FACTOR)
                          : 0;
    uint64_t nursery = (uint64_t)h->nursery_target_blocks << BLOCK_SHIFT;
    if (runway < nursery)
        runway = nursery;
    uint64_t spent = old_bytes_added(h) - z->added_at_start;
    double work = cycle_work(z);
    double due = spent >= runway ? work : work * (double)spent / (double)runway;
    return due > (double)traced ? (uint64_t)(due - (double)traced) : 0;
}

void heap_sizing_cycle_progress(struct gc_heap *h, uint64_t traced)
{
    struct heap_sizing *z = &h->sizing;
    uint64_t added = old_bytes_added(h);
    /* Weighted by the bytes traced at the middle of the interval; divided by the whole
     * trace's bytes when the marking ends (heap_sizing_marking_ends). */
    z->floating += (double)(added - z->added_at_pause) * (double)(traced + z->traced_at_pause) / 2;
    z->added_at_pause = added;
    z->traced_at_pause = traced;
}

void heap_sizing_major_begins(struct gc_heap *h)
{
    struct heap_sizing *z = &h->sizing;
    z->major_start_ns = gc_now_ns();
    uint64_t added = old_bytes_added(h);
    if (z->last_major_end_ns && z->major_start_ns > z->last_major_end_ns) {
        double seconds = (double)(z->major_start_ns - z->last_major_end_ns) / 1e9;
        z->growth_rate = smooth(z->growth_rate, (double)(added - z->added_base) / seconds);
    }
    z->old_at_start = h->old_blocks << BLOCK_SHIFT;
    z->added_at_start = z->added_at_pause = added;
    z->traced_at_pause = 0;
    z->floating = 0;
    z->cycle_past_limit = false;
}

/* The object is counted in the base the budgets are measured from, as if it had become
 * old before the last marking ended: a cycle that its own allocation took past twice
 * its limit was overdue at once (array-churn's 114 MiB array at 1 GiB live, with the
 * first budgets a few MiB), and its next pause traced the whole array for it. */
void heap_sizing_cycle_starts_with(struct gc_heap *h, uint64_t bytes)
{
    h->sizing.added_base += bytes;
    h->sizing.added_at_start += bytes;
    h->sizing.added_at_pause += bytes;
}

void heap_sizing_marking_ends(struct gc_heap *h)
{
    struct heap_sizing *z = &h->sizing;
    z->marking_end_ns = gc_now_ns();
    z->floating = z->traced_at_pause ? z->floating / (double)z->traced_at_pause : 0;
    uint64_t added = old_bytes_added(h);
    z->cycle_growth = smooth(z->cycle_growth, (double)(added - z->added_at_start));
    z->added_base = added; /* the next budget counts from here */
}

/* With a lazy sweep this runs when the sweep is done, and the collection's time ends at
 * its final pause (the sweep costs the mutators no pause; the live size needs it). */
void heap_sizing_major_ends(struct gc_heap *h)
{
    struct heap_sizing *z = &h->sizing;
    bool concurrent = z->marking_end_ns != 0;
    uint64_t end = concurrent ? z->marking_end_ns : gc_now_ns();
    z->marking_end_ns = 0;
    if (!concurrent)
        z->added_base = old_bytes_added(h);
    uint64_t kept = z->marked_bytes;
    uint64_t floating = concurrent ? (uint64_t)z->floating : 0;
    size_t live = (size_t)(floating < kept / 2 ? kept - floating : kept - kept / 2);
    double seconds = (double)(end - z->major_start_ns) / 1e9;
    if (seconds > 0 && live > 0)
        z->collection_rate = smooth(z->collection_rate, (double)live / seconds);
    z->live_after_major = h->old_blocks << BLOCK_SHIFT;
    z->live_estimate = live;
    z->last_major_end_ns = end;

    double headroom = (double)live * z->headroom_fraction; /* also before rates exist */
    if (z->growth_rate > 0 && z->collection_rate > 0) {
        double rule = sqrt(HEAP_SIZING_LAMBDA * (double)live * z->growth_rate / z->collection_rate);
        if (rule < headroom)
            headroom = rule;
    }
    size_t nursery = h->nursery_target_blocks << BLOCK_SHIFT;
    size_t least = h->min_major_threshold_blocks << BLOCK_SHIFT; /* a small heap's goal */
    if (live + (size_t)headroom < least)
        headroom = (double)(least - live);
    if (headroom < (double)nursery)
        headroom = (double)nursery;
    double runway = concurrent ? z->cycle_growth * FLOATING_FACTOR * RUNWAY_MARGIN : 0;
    double trigger = headroom - runway;
    if (trigger < (double)nursery) /* at least one minor collection's survivors */
        trigger = (double)nursery;
    z->goal_budget = (uint64_t)headroom;
    z->trigger_budget = (uint64_t)trigger;
    z->limit_budget = (uint64_t)(headroom * 1.25) + nursery;
    if (z->limit_budget < z->trigger_budget + nursery)
        z->limit_budget = z->trigger_budget + nursery;
    /* Reported: the old generation's size at the trigger, were no free cell reused. */
    uint64_t spent = old_bytes_added(h) - z->added_base;
    size_t left = z->trigger_budget > spent ? (size_t)(z->trigger_budget - spent) : 0;
    size_t threshold = h->old_blocks + (left >> BLOCK_SHIFT);
    size_t ceiling = h->nblocks - h->nursery_target_blocks;
    h->major_threshold_blocks = threshold < ceiling ? threshold : ceiling;
}

/* ---- The nursery (docs/collector.md, "Nursery size") ----
 * A minor collection costs a part that grows with the nursery (copying its survivors) and
 * a part that grows with the old generation (reading the remembered set's map of every old
 * block, re-arming the barrier) or saturates (the cards a random writer dirties). A small
 * nursery keeps the first part short but pays the others once per nursery: at 1 GiB old,
 * a 2 MiB nursery collects 500 times per GiB allocated. So the nursery may grow with the
 * old generation (at most 1/16 of it, or NURSERY_PER_MUTATOR_BYTES per attached mutator if
 * that is more; at most NURSERY_MAX_BYTES), and shrink to NURSERY_FLOOR_BYTES, as long as
 * the minor pauses stay under NURSERY_PAUSE_TARGET_NS of CPU: it grows by a quarter after
 * a pause under half the target, and after one over it shrinks in proportion, but not so
 * far that the part of the pause that grows with the nursery would take less than a
 * quarter of the target (heap_sizing_nursery_scale): the barrier's
 * harvest and re-arm, and under a page barrier the remembered-set scan, are taken as
 * fixed, since a random writer's dirty pages saturate, and shrinking the nursery there
 * only adds collections (churn.scm under uffd sat at the floor, each pause 90%
 * remembered set). CPU time,
 * not wall time, so that a loaded machine's descheduling does not shrink it; the busiest
 * collector thread's, less an assist's marking (collect_stopped in heap.c), so that the
 * target is the pause when each worker has a core. */
#define NURSERY_PAUSE_TARGET_NS 4000000u     /* 4 ms: under half the 10 ms pause goal */
#define NURSERY_MAX_BYTES ((size_t)64 << 20) /* 2048 blocks */
#define NURSERY_OLD_FRACTION 16u
#define NURSERY_PER_MUTATOR_BYTES ((size_t)8 << 20) /* the cap's floor, per thread */
#define NURSERY_FLOOR_BYTES ((size_t)512 << 10)     /* 16 blocks */

/* Written cards start a minor collection (docs/collector.md): a card's CPU time in a
 * pause before any was measured, about what one took on one collector thread where a
 * random writer's cards missed the cache (table at 1 GiB live), so that a program that
 * writes at random from its start does not wait for a measurement. A pause that scanned
 * fewer cards than CARD_COST_MIN_CARDS says too little about them to count. */
#define CARD_COST_START_NS 200.0
#define CARD_COST_MIN_CARDS 1024u

/* A card's cost in a pause, and with it the budget: the cards whose scan takes the pause
 * target. */
static void card_cost_set(struct gc_heap *h, double cost_ns)
{
    h->card_cost_ns = cost_ns;
    h->card_budget = (uint64_t)(NURSERY_PAUSE_TARGET_NS / cost_ns);
}

void heap_sizing_nursery_limits(struct gc_heap *h)
{
    size_t most = NURSERY_MAX_BYTES >> BLOCK_SHIFT;
    if (most > h->nblocks / 8)
        most = h->nblocks / 8;
    if (most > h->nursery_min_blocks)
        h->nursery_max_blocks = most;
    if (h->card_blocks && h->nursery_max_blocks > h->nursery_min_blocks)
        card_cost_set(h, CARD_COST_START_NS);
}

/* After a minor pause that scanned enough cards: a card's share of the pause's CPU time
 * (the remembered-set scan's share of the collection's work, over the cards it found),
 * smoothed so that a costlier card counts at once for half its difference and a cheaper
 * one for an eighth; then the cards whose scan would take the pause target. */
static void card_budget_update(struct gc_heap *h, uint64_t pause_cpu_ns)
{
    if (h->card_budget == UINT64_MAX || h->card_cost_fixed ||
        h->last_minor_dirty_units < CARD_COST_MIN_CARDS || !h->last_minor_work)
        return;
    double share = (double)h->last_minor_remset_work / (double)h->last_minor_work;
    double cost = (double)pause_cpu_ns * share / (double)h->last_minor_dirty_units;
    double smoothed =
        h->card_cost_ns + (cost - h->card_cost_ns) * (cost > h->card_cost_ns ? 0.5 : 0.125);
    card_cost_set(h, smoothed < 1.0 ? 1.0 : smoothed);
}

uint64_t gc_debug_card_budget(struct gc_heap *h, double cost_ns)
{
    pthread_mutex_lock(&h->lock);
    if (cost_ns > 0 && h->card_budget != UINT64_MAX) {
        card_cost_set(h, cost_ns);
        h->card_cost_fixed = true;
    }
    uint64_t budget = h->card_budget;
    pthread_mutex_unlock(&h->lock);
    return budget;
}

bool heap_sizing_cards_due(struct gc_heap *h, struct gc_mutator *m)
{
    h->cards_marked += m->fast.cards_marked;
    m->fast.cards_marked = 0;
    return h->cards_marked >= h->card_budget;
}

/* After a pause over the target: the factor for the nursery. In proportion to the pause,
 * unless the part that grows with the nursery (beyond fixed_ns) is so small that the
 * proportional shrink would take it under a quarter of the target: then the nursery is
 * sized so that this part takes a quarter of the target, at most a quarter more than
 * now. A smaller nursery would not make such a pause much shorter, only more frequent. */
double heap_sizing_nursery_scale(uint64_t pause_cpu_ns, uint64_t fixed_ns)
{
    double target = NURSERY_PAUSE_TARGET_NS, pause = (double)pause_cpu_ns;
    double proportional = target / pause;
    double grows = (double)fixed_ns < pause ? pause - (double)fixed_ns : 0;
    double scale = grows > 0 ? (target / 4) / grows : 1.25;
    if (scale < proportional)
        scale = proportional;
    return scale > 1.25 ? 1.25 : scale;
}

double gc_debug_nursery_scale(uint64_t pause_cpu_ns, uint64_t fixed_ns)
{
    return heap_sizing_nursery_scale(pause_cpu_ns, fixed_ns);
}

void heap_sizing_minor_ends(struct gc_heap *h, uint64_t pause_cpu_ns, uint64_t fixed_ns)
{
    card_budget_update(h, pause_cpu_ns);
    size_t lo = h->nursery_min_blocks, n = h->nursery_target_blocks;
    if (h->nursery_max_blocks == lo)
        return;                                  /* a fixed size (gc_config.nursery_bytes) */
    if (lo > NURSERY_FLOOR_BYTES >> BLOCK_SHIFT) /* the start is not the floor */
        lo = NURSERY_FLOOR_BYTES >> BLOCK_SHIFT;
    size_t hi = h->old_blocks / NURSERY_OLD_FRACTION;
    /* Every attached mutator fills nursery blocks of its own: with N threads a nursery of
     * the single-threaded size gives each thread's objects 1/N of the time to die. */
    size_t per_mutator =
        (NURSERY_PER_MUTATOR_BYTES >> BLOCK_SHIFT) * (h->mutator_count ? h->mutator_count : 1);
    if (hi < per_mutator)
        hi = per_mutator;
    if (hi > h->nursery_max_blocks)
        hi = h->nursery_max_blocks;
    if (pause_cpu_ns > NURSERY_PAUSE_TARGET_NS)
        n = (size_t)((double)n * heap_sizing_nursery_scale(pause_cpu_ns, fixed_ns));
    else if (pause_cpu_ns < NURSERY_PAUSE_TARGET_NS / 2 && h->nursery_handed >= n)
        n += n / 4 + 1; /* only after a full nursery: a forced collection says little */
    if (n > hi)
        n = hi;
    if (n < lo)
        n = lo;
    h->nursery_target_blocks = n;
}
