/* Heap sizing: when the next major collection runs, from the live size and the rates of
 * allocation and collection (docs/collector.md, "Heap sizing"), in the spirit of
 * MemBalancer (Kirisame et al., OOPSLA 2022).
 *
 * After a major collection that left L bytes live, the old generation may grow by E
 * before the next one. With g the rate at which the old generation grows (bytes per
 * second of the program's time) and s the rate at which a major collection processes
 * the live heap (bytes per second), majors take the fraction f = (g / E) * (L / s) of the
 * time. Minimising memory + lambda * f over E gives
 *     E = sqrt(lambda * L * g / s),
 * the square-root rule: the headroom grows with the square root of the live size, so a
 * small heap gets relatively more room (collections are cheap) and a large one relatively
 * less, and a program that stops allocating gets its heap shrunk at the next collection.
 * lambda (HEAP_SIZING_LAMBDA) is how many bytes of memory one unit of time fraction is
 * worth; at the optimum E = lambda * f, so with 4 GiB a heap spends 2.5% of its time in
 * major collections for every 100 MiB of headroom. */
#include <math.h>

#include "gc_internal.h"

#define HEAP_SIZING_LAMBDA 4294967296.0 /* bytes: see above */
#define RATE_SMOOTHING 0.5              /* weight of the newest measurement */

static double smooth(double old, double now)
{
    return old > 0 ? (1 - RATE_SMOOTHING) * old + RATE_SMOOTHING * now : now;
}

void heap_sizing_major_begins(struct gc_heap *h)
{
    struct heap_sizing *z = &h->sizing;
    z->major_start_ns = gc_now_ns();
    size_t old_bytes = h->old_blocks << BLOCK_SHIFT;
    if (z->last_major_end_ns && z->major_start_ns > z->last_major_end_ns &&
        old_bytes > z->live_after_major) {
        double seconds = (double)(z->major_start_ns - z->last_major_end_ns) / 1e9;
        z->growth_rate =
            smooth(z->growth_rate, (double)(old_bytes - z->live_after_major) / seconds);
    }
}

void heap_sizing_marking_ends(struct gc_heap *h)
{
    h->sizing.marking_end_ns = gc_now_ns();
}

/* With a lazy sweep this runs when the sweep is done, and the collection's time ends at
 * its final pause (the sweep costs the mutators no pause; the live size needs it). */
void heap_sizing_major_ends(struct gc_heap *h)
{
    struct heap_sizing *z = &h->sizing;
    uint64_t end = z->marking_end_ns ? z->marking_end_ns : gc_now_ns();
    z->marking_end_ns = 0;
    size_t live = h->old_blocks << BLOCK_SHIFT;
    double seconds = (double)(end - z->major_start_ns) / 1e9;
    if (seconds > 0 && live > 0)
        z->collection_rate = smooth(z->collection_rate, (double)live / seconds);
    z->live_after_major = live;
    z->last_major_end_ns = end;

    double headroom;
    if (z->growth_rate > 0 && z->collection_rate > 0)
        headroom = sqrt(HEAP_SIZING_LAMBDA * (double)live * z->growth_rate / z->collection_rate);
    else
        headroom = (double)live; /* no rates measured yet: double the heap */
    size_t next = (live + (size_t)headroom) >> BLOCK_SHIFT;
    if (next < h->old_blocks + h->nursery_target_blocks) /* room for one minor's survivors */
        next = h->old_blocks + h->nursery_target_blocks;
    if (next < h->min_major_threshold_blocks)
        next = h->min_major_threshold_blocks;
    size_t ceiling = h->nblocks - h->nursery_target_blocks;
    h->major_threshold_blocks = next < ceiling ? next : ceiling;
}

/* ---- The nursery (docs/collector.md, "Nursery size") ----
 * A minor collection costs a part that grows with the nursery (copying its survivors) and
 * a part that grows with the old generation (reading the remembered set's map of every old
 * block, re-arming the barrier) or saturates (the cards a random writer dirties). A small
 * nursery keeps the first part short but pays the others once per nursery: at 1 GiB old,
 * a 2 MiB nursery collects 500 times per GiB allocated. So the nursery may grow with the
 * old generation (at most 1/16 of it, at most NURSERY_MAX_BYTES), as long as the minor
 * pauses stay under NURSERY_PAUSE_TARGET_NS of CPU (all the workers' together): it grows
 * by a quarter after a pause under half the target, and shrinks in proportion after one
 * over it. CPU time, not wall time, so that a loaded machine's descheduling does not
 * shrink it; all the workers', so that the target holds when they share one core. */
#define NURSERY_PAUSE_TARGET_NS 4000000u     /* 4 ms: under half the 10 ms pause goal */
#define NURSERY_MAX_BYTES ((size_t)64 << 20) /* 2048 blocks */
#define NURSERY_OLD_FRACTION 16u

void heap_sizing_nursery_limits(struct gc_heap *h)
{
    size_t most = NURSERY_MAX_BYTES >> BLOCK_SHIFT;
    if (most > h->nblocks / 8)
        most = h->nblocks / 8;
    if (most > h->nursery_min_blocks)
        h->nursery_max_blocks = most;
}

void heap_sizing_minor_ends(struct gc_heap *h, uint64_t pause_cpu_ns)
{
    size_t lo = h->nursery_min_blocks, n = h->nursery_target_blocks;
    if (h->nursery_max_blocks == lo)
        return;
    size_t hi = h->old_blocks / NURSERY_OLD_FRACTION;
    if (hi > h->nursery_max_blocks)
        hi = h->nursery_max_blocks;
    if (pause_cpu_ns > NURSERY_PAUSE_TARGET_NS)
        n = (size_t)((double)n * NURSERY_PAUSE_TARGET_NS / (double)pause_cpu_ns);
    else if (pause_cpu_ns < NURSERY_PAUSE_TARGET_NS / 2 && h->nursery_next >= n)
        n += n / 4 + 1; /* only after a full nursery: a forced collection says little */
    if (n > hi)
        n = hi;
    if (n < lo)
        n = lo;
    h->nursery_target_blocks = n;
}
