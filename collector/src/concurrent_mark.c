/* Mostly-concurrent marking of the old generation (docs/collector.md, "Concurrent
 * marking"): a cycle starts in a pause after a minor collection (marks cleared, roots
 * shaded), a background thread marks while the mutators run, the remembered-set scan of
 * every pause of the cycle shades what the marked objects on the written units point at
 * (minor.c), and a final pause re-shades the roots, marks what is left, resolves the weak
 * objects and starts a lazy sweep, which this thread carries on between cycles (sweep.c).
 *
 * The marker thread only reads the heap (and sets mark bits): it never moves an object,
 * never writes a field, never takes the heap's lock. Pauses park it first (pause_begin),
 * so a minor collection and the marker never run at once; their hand-over is through
 * the marker's own lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gc_internal.h"
#include "gcvm/gc-debug.h"
#include "parallel_evac.h"

/* Marking steps between looks at a pause request; a chunk of a large object (up to 8,192
 * fields) is a step of its own, with a look before each (mark_work). */
#define PAUSE_CHECK_EVERY 64u
#define MAX_ROUNDS_BEHIND 2u /* see concurrent_rounds_exhausted */
#define ASSIST_STEPS 32u     /* marking steps between looks at an assist's progress */
/* The background sweep's sleeps while the heap's lock is taken: from 50 us, doubling up to
 * 5 ms (wait_after_blocked_sweep). */
#define SWEEP_WAIT_MIN_NS 50000u
#define SWEEP_WAIT_MAX_NS 5000000u
/* An assist's longest marking in one pause: under a third of the 10 ms pause goal,
 * beside the minor collection's own work (4 ms, and 8 ms below, gave churn.scm a p99
 * pause of 7.7-8.1 ms; 3 and 6 ms, 6.1 ms, for the same CPU time and 3% more peak RSS). */
#define ASSIST_MAX_NS 3000000u
/* Nor past this much of its pause: a minor collection whose own work took 5.8 ms and an
 * assist of 4 ms made a 10.4 ms pause on churn.scm. */
#define ASSIST_PAUSE_MAX_NS 6000000u
/* A large object with a range tracer is traced this much per step, so that a pause never
 * waits for the marker to finish a 100 MiB array. */
#define CHUNK_BYTES ((size_t)64 << 10)

struct marker {
    struct gc_heap *heap;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int pause_requested; /* atomic: a pause (or a debug step) wants the marker parked */
    bool busy;           /* the thread is marking; under lock */
    bool has_work;       /* set when a pause of the cycle ends; under lock */
    bool held;           /* gc_debug_marker_hold; under lock */
    bool quit;
    int final_due;          /* atomic: the marker has nothing left: the cycle can end */
    int drained;            /* atomic: the grey stack was empty once: the first trace is done */
    unsigned rounds_behind; /* pauses since then that found the marker still marking */

    struct ptr_stack grey;  /* marked objects whose fields are not traced yet */
    struct ptr_stack large; /* marked large objects traced a chunk per step, later */
    void *partial;          /* the one being traced, from partial_at */
    size_t partial_at;
    struct ptr_stack weak;  /* ephemerons and guardians met: resolved in the final pause */
    uint8_t *old_at;        /* per block: holds old objects the marker may mark (as of the
                               last pause: SMALL, LARGE head, PINNED) */
    uint8_t *large_waiting; /* per block: heads a large object on a large stack, not begun */
    size_t scan_end;        /* blocks_end at the last pause */
    uint64_t rescanned;     /* units the pauses' remembered-set scans re-scanned in this cycle */
    uint64_t last_pause_rescanned; /* of them, in the last pause */
    uint64_t dirty_units_before;   /* stats.dirty_units as the last pause's minor began */
    uint64_t busy_ns;              /* the thread's marking time, all cycles */
    uint64_t marked;               /* objects this marker (or lane) marked, since it was reset */
    uint64_t traced_bytes;         /* bytes of the objects this cycle's trace marked (not the
                                      promoted ones a pause shaded) */
    /* The thread: the most large-object chunks it traced between two looks at a pause
     * request, all cycles (gc_debug_marker_chunks_unlooked). */
    size_t most_chunks_unlooked;
    /* The final pause's marking on the workers: a lane per worker, a marker of its own
     * whose stacks are private and whose tables are this one's (final_mark_parallel). */
    struct marker *lanes;
    unsigned lane_count;
    size_t grey_shared; /* a lane: grey.items below this went to its deque */
};

enum mark_result { MARK_DONE, MARK_PAUSED, MARK_LIMIT };

/* ---- Marking ---- */

/* Sets obj's mark bit with an atomic OR (docs/collector.md, "Concurrent marking": the
 * marker, a pause's promotion and a large allocation may mark at once). Returns whether
 * it was set already. */
static bool mark_atomic(struct gc_heap *h, const void *obj)
{
    return mark_claim(h, obj);
}

/* Marks an old object and queues it for tracing unless it has no pointers. Returns
 * whether this call marked it. */
static bool shade(struct marker *cm, void *obj)
{
    if (mark_atomic(cm->heap, obj))
        return false;
    cm->marked++;
    if (!(*header_of(obj) & (GC_HDR_POINTERFREE | HDR_FILLER)))
        ptr_stack_push(&cm->grey, obj);
    return true;
}

void concurrent_shade(struct gc_heap *h, void *obj)
{
    shade(h->marker, obj);
}

void concurrent_mark_allocated(struct gc_heap *h, void *obj)
{
    mark_atomic(h, obj);
}

bool concurrent_claim(struct gc_heap *h, const void *obj)
{
    if (!h->marker->old_at[block_index(h, obj)] || mark_atomic(h, obj))
        return false;
    return !(*header_of(obj) & (GC_HDR_POINTERFREE | HDR_FILLER));
}

void concurrent_queue_marked(struct gc_heap *h, void *obj)
{
    struct marker *cm = h->marker;
    cm->marked++;
    ptr_stack_push(&cm->grey, obj);
}

/* The marker's visitor. The field may be stored into by a mutator at this moment: either
 * value is fine (a store after the scan makes its unit dirty, which the next pause's
 * remembered-set scan shades from),
 * so the race is the design's, not a bug. The read is one aligned word (a volatile load,
 * which is what a relaxed atomic load compiles to here), hidden from ThreadSanitizer, as
 * the mutators' stores are plain ones. Young and new large objects are left alone: a
 * pause shades them when they become old. */
__attribute__((no_sanitize_thread)) static void marker_visit(void **field, void *ctx)
{
    struct marker *cm = ctx;
    struct gc_heap *h = cm->heap;
    void *v = *(void *volatile *)field;
    if (((uintptr_t)v & 7u) || !in_region(h, v) || !cm->old_at[block_index(h, v)])
        return;
    if (shade(cm, v)) /* reached through the trace: part of the cycle's marking work */
        cm->traced_bytes += header_size(*header_of(v));
}

/* Weak objects are resolved in the final pause, where the whole strong trace is known. */
static void marker_trace(struct marker *cm, void *obj)
{
    gc_header hdr = *header_of(obj);
    unsigned kind = header_kind(hdr);
    if (cm->heap->trace_range[kind] && header_size(hdr) > CHUNK_BYTES &&
        kind != GC_KIND_EPHEMERON && kind != GC_KIND_GUARDIAN) {
        ptr_stack_push(&cm->large, obj);
        cm->large_waiting[block_index(cm->heap, obj)] = 1;
        return;
    }
    if (kind == GC_KIND_EPHEMERON || kind == GC_KIND_GUARDIAN) {
        ptr_stack_push(&cm->weak, obj);
        return;
    }
    trace_object(cm->heap, obj, marker_visit, cm);
}

/* The next chunk of the large object being traced. */
static void trace_partial_chunk(struct marker *cm)
{
    void *obj = cm->partial;
    size_t bytes = header_size(*header_of(obj)) - GC_HEADER_BYTES;
    size_t from = cm->partial_at, to = from + CHUNK_BYTES < bytes ? from + CHUNK_BYTES : bytes;
    cm->partial_at = to;
    if (to == bytes)
        cm->partial = NULL;
    trace_range_nonzero(cm->heap->trace_range[header_kind(*header_of(obj))], obj, from, to,
                        marker_visit, cm);
}

/* Marks until the grey and large stacks are empty (DONE), a pause asks for the marker
 * (PAUSED, only when `yield`), `limit` steps were done or the clock passed deadline_ns
 * (LIMIT; 0: no deadline). A step traces one object or one chunk of a large one. */
static enum mark_result mark_work(struct marker *cm, size_t limit, bool yield, uint64_t deadline_ns,
                                  size_t *steps)
{
    size_t n = 0, chunks_unlooked = 0;
    enum mark_result r = MARK_DONE;
    for (;; n++) {
        if (n >= limit) {
            r = MARK_LIMIT;
            break;
        }
        /* Before every chunk of a large object too: 64 chunks (half a million fields, most
         * missing the cache) kept a minor pause waiting 8-25 ms for the marker on
         * churn.scm's million-entry vector, and 32 made an assist overrun its time by
         * 4 ms. */
        if ((yield || deadline_ns) && (n % PAUSE_CHECK_EVERY == 0 || cm->partial)) {
            if (yield) {
                if (chunks_unlooked > cm->most_chunks_unlooked)
                    cm->most_chunks_unlooked = chunks_unlooked;
                chunks_unlooked = 0;
                if (__atomic_load_n(&cm->pause_requested, __ATOMIC_ACQUIRE)) {
                    r = MARK_PAUSED;
                    break;
                }
            }
            if (deadline_ns && gc_now_ns() >= deadline_ns) {
                r = MARK_LIMIT;
                break;
            }
        }
        if (cm->partial) {
            trace_partial_chunk(cm);
            chunks_unlooked++;
            continue;
        }
        if (cm->grey.count) {
            marker_trace(cm, ptr_stack_pop(&cm->grey));
            continue;
        }
        if (cm->large.count) {
            cm->partial = ptr_stack_pop(&cm->large);
            cm->large_waiting[block_index(cm->heap, cm->partial)] = 0;
            cm->partial_at = 0;
            continue;
        }
        __atomic_store_n(&cm->drained, 1, __ATOMIC_RELAXED);
        break;
    }
    if (yield && chunks_unlooked > cm->most_chunks_unlooked)
        cm->most_chunks_unlooked = chunks_unlooked;
    if (steps)
        *steps = n;
    return r;
}

/* ---- Marking on the workers: the final pause's, and an assist's (docs/collector.md,
 * "Parallel marking") ----
 * Each worker marks with a lane, a marker of its own: the same code as the marker
 * thread's, with private grey, large and weak stacks, and the marker's old_at and
 * large_waiting tables (each lane writes the entries of the large objects it takes).
 * Marks are claimed with the atomic OR, so each object is traced by the lane whose OR
 * set its bit. Lane 0 resumes the large object the marker was tracing; each lane claims
 * the marker's grey objects a chunk at a time and its large objects one at a time as it
 * runs out of work of its own, shares the oldest of its own over the deques of a parallel
 * minor collection and steals from the others' when nothing is left to claim.
 *
 * The final pause's marking runs until no work is left. An assist's stops when the lanes
 * have traced its bytes or its time is up: each lane then keeps what it holds (its deque
 * and what it can still steal go onto its grey stack), and the single-threaded end hands
 * that back to the marker with what no lane claimed. Both hand back the weak objects the
 * lanes met, for the final pause's single-threaded resolution. */

struct lanes_share {
    struct marker *cm;
    struct minor_parallel *par;
    _Atomic size_t grey_taken, large_taken; /* claimed from the marker's stacks' tops */
    /* An assist's bounds: the bytes to trace and the time to stop at; deadline_ns is 0
     * for the final pause's marking, which has none. */
    uint64_t budget_bytes, deadline_ns;
    _Atomic uint64_t traced; /* the bytes the lanes traced, as of their last looks */
    _Atomic bool stop;       /* a bound was reached: every lane stops at its next look */
};

#define LANE_GREY_CHUNK 64u /* grey objects of the marker a lane claims at once */

struct lane_progress {
    size_t steps;      /* objects and chunks of large ones traced */
    uint64_t reported; /* of the lane's traced_bytes, the part added to lanes_share.traced */
};

/* The lane's next object: from its grey stack, whose oldest item not given away yet goes
 * to the deque whenever the deque is empty (so others can steal it), else from its
 * deque. */
static void *lane_next(struct marker *lane, struct work_set *ws, unsigned self)
{
    struct ptr_stack *grey = &lane->grey;
    if (grey->count == lane->grey_shared) {
        grey->count = lane->grey_shared = 0;
        return work_deque_take(&ws->deques[self]);
    }
    if (grey->count - lane->grey_shared > 1 && !work_deque_looks_nonempty(&ws->deques[self]))
        work_set_push(ws, self, grey->items[lane->grey_shared++]);
    return ptr_stack_pop(grey);
}

/* Whether the lane is to stop: an assist's bound was reached, as this lane or another
 * saw. Adds what the lane traced since its last look to the lanes' count. */
static bool lane_stops(struct lanes_share *ls, const struct marker *lane, struct lane_progress *p)
{
    if (!ls->deadline_ns)
        return false;
    if (atomic_load_explicit(&ls->stop, memory_order_relaxed))
        return true;
    uint64_t mine = lane->traced_bytes - p->reported;
    p->reported = lane->traced_bytes;
    uint64_t all = atomic_fetch_add_explicit(&ls->traced, mine, memory_order_relaxed) + mine;
    if (all < ls->budget_bytes && gc_now_ns() < ls->deadline_ns)
        return false;
    atomic_store_explicit(&ls->stop, true, memory_order_relaxed);
    return true;
}

/* Claims the next `chunk` items from the top of a stack of `count` that the lanes share,
 * the order in which the marker would pop them: [*from, *to), or false when none is
 * left. *taken counts the items claimed, so that the stack keeps the rest by its count
 * alone (drop_claimed): an assist that moved the unclaimed items down spent milliseconds
 * on a grey stack of millions. */
static bool claim_from_top(_Atomic size_t *taken, size_t count, size_t chunk, size_t *from,
                           size_t *to)
{
    size_t first, last; /* counted from the top */
    if (!claim(taken, count, chunk, &first, &last))
        return false;
    *from = count - last;
    *to = count - first;
    return true;
}

/* Claims the next chunk of the marker's grey objects onto the lane's grey stack, else
 * the next of its large objects onto the lane's large stack; false when neither is left. */
static bool lane_claim(struct lanes_share *ls, struct marker *lane)
{
    const struct marker *cm = ls->cm;
    size_t from, to;
    if (claim_from_top(&ls->grey_taken, cm->grey.count, LANE_GREY_CHUNK, &from, &to)) {
        for (size_t i = from; i < to; i++)
            ptr_stack_push(&lane->grey, cm->grey.items[i]);
        return true;
    }
    if (claim_from_top(&ls->large_taken, cm->large.count, 1, &from, &to)) {
        ptr_stack_push(&lane->large, cm->large.items[from]);
        return true;
    }
    return false;
}

/* Traces the lane's own work (its large objects a chunk at a time) and what it claims of
 * the marker's, without stealing. False when the lane is to stop (lane_stops, looked at
 * every ASSIST_STEPS steps and before every chunk of a large object). */
static bool lane_drain_own(struct lanes_share *ls, struct marker *lane, struct work_set *ws,
                           unsigned self, struct lane_progress *p)
{
    for (;;) {
        if ((++p->steps % ASSIST_STEPS == 0 || lane->partial) && lane_stops(ls, lane, p))
            return false;
        void *obj = lane_next(lane, ws, self);
        if (obj) {
            marker_trace(lane, obj);
        } else if (lane->partial) {
            trace_partial_chunk(lane);
        } else if (lane->large.count) {
            lane->partial = ptr_stack_pop(&lane->large);
            lane->large_waiting[block_index(lane->heap, lane->partial)] = 0;
            lane->partial_at = 0;
        } else if (!lane_claim(ls, lane)) {
            return true;
        }
    }
}

/* A lane that stopped keeps the work it holds: the part of its grey stack not given to
 * its deque, then its deque's items and what it can still steal, until every lane has
 * stopped or run out of work (work_set_next's end). */
static void lane_keep_the_rest(struct marker *lane, struct work_set *ws, unsigned self)
{
    struct ptr_stack *grey = &lane->grey;
    size_t own = grey->count - lane->grey_shared;
    if (own && lane->grey_shared)
        memmove(grey->items, grey->items + lane->grey_shared, own * sizeof *grey->items);
    grey->count = own;
    lane->grey_shared = 0;
    void *obj;
    while ((obj = work_set_next(ws, self)))
        ptr_stack_push(grey, obj);
}

static void lane_worker(void *ctx, unsigned self)
{
    struct lanes_share *ls = ctx;
    struct marker *lane = &ls->cm->lanes[self];
    struct work_set *ws = &ls->par->work;
    struct evac_worker *w = &ls->par->workers[self];
    uint64_t cpu0 = thread_cpu_ns();
    struct lane_progress progress = {0, 0};
    work_set_join(ws);
    for (;;) {
        if (!lane_drain_own(ls, lane, ws, self, &progress)) {
            lane_keep_the_rest(lane, ws, self);
            break;
        }
        void *obj = work_set_next(ws, self);
        if (!obj)
            break;
        marker_trace(lane, obj);
    }
    if (!ls->deadline_ns) { /* the final pause's: counted as a parallel marking */
        w->objects_marked += lane->marked;
        w->mark_cpu_ns += thread_cpu_ns() - cpu0;
    }
}

/* Removes the items the lanes claimed from the top of s. */
static void drop_claimed(struct ptr_stack *s, _Atomic size_t *taken)
{
    size_t n = atomic_load_explicit(taken, memory_order_relaxed);
    s->count -= n < s->count ? n : s->count;
}

/* Single-threaded, after the lanes: the marker gets back what no lane claimed, what the
 * lanes hold (after an assist) and the weak objects they met, and counts their bytes. Of
 * the large objects the lanes had begun, it resumes one where its lane stopped; another
 * is queued whole again: traced again from its start, where the marks already set make
 * the first part cheap, and until then taken as not traced by the remembered-set scan
 * (concurrent_traced_extent), which then shades more, never less. */
static void lanes_hand_back(struct marker *cm, struct lanes_share *ls)
{
    drop_claimed(&cm->grey, &ls->grey_taken);
    drop_claimed(&cm->large, &ls->large_taken);
    for (unsigned k = 0; k < cm->lane_count; k++) {
        struct marker *lane = &cm->lanes[k];
        ptr_stack_move_all(&cm->grey, &lane->grey);
        ptr_stack_move_all(&cm->large, &lane->large);
        if (lane->partial && !cm->partial) {
            cm->partial = lane->partial;
            cm->partial_at = lane->partial_at;
        } else if (lane->partial) {
            ptr_stack_push(&cm->large, lane->partial);
            cm->large_waiting[block_index(cm->heap, lane->partial)] = 1;
        }
        lane->partial = NULL;
        ptr_stack_move_all(&cm->weak, &lane->weak);
        cm->traced_bytes += lane->traced_bytes;
    }
}

/* Marks on the workers, each with a lane; an assist's with its bounds (deadline_ns 0:
 * until no work is left). */
static void mark_on_workers(struct marker *cm, uint64_t budget_bytes, uint64_t deadline_ns)
{
    struct gc_heap *h = cm->heap;
    struct minor_parallel *par = h->minor_par;
    if (!cm->lanes) {
        cm->lanes = calloc(par->count, sizeof *cm->lanes);
        if (!cm->lanes)
            gc_fatal("out of memory for %u marking lanes", par->count);
        cm->lane_count = par->count;
    }
    for (unsigned k = 0; k < cm->lane_count; k++) {
        struct marker *lane = &cm->lanes[k];
        lane->heap = h;
        lane->old_at = cm->old_at;
        lane->large_waiting = cm->large_waiting;
        lane->grey.count = lane->large.count = lane->weak.count = lane->grey_shared = 0;
        lane->partial = NULL;
        lane->marked = lane->traced_bytes = 0;
    }
    cm->lanes[0].partial = cm->partial; /* the large object the marker was tracing */
    cm->lanes[0].partial_at = cm->partial_at;
    cm->partial = NULL;
    struct lanes_share ls = {
        .cm = cm, .par = par, .budget_bytes = budget_bytes, .deadline_ns = deadline_ns};
    atomic_init(&ls.grey_taken, 0);
    atomic_init(&ls.large_taken, 0);
    atomic_init(&ls.traced, 0);
    atomic_init(&ls.stop, false);
    work_set_begin(&par->work);
    workers_run(h->workers, lane_worker, &ls);
    work_set_end(&par->work);
    lanes_hand_back(cm, &ls);
}

/* The work queued for the marker, in bytes: 64 for an object, a chunk for each large
 * object. */
static uint64_t queued_work(const struct marker *cm)
{
    return 64 * (uint64_t)cm->grey.count + (uint64_t)cm->large.count * CHUNK_BYTES +
           (cm->partial ? CHUNK_BYTES : 0);
}

/* Whether the final pause's marking runs on the workers: as for a minor collection
 * (docs/collector.md, "Small collections stay on the collecting thread"), when what is
 * left is worth it. */
static bool final_mark_goes_parallel(const struct marker *cm)
{
    const struct gc_heap *h = cm->heap;
    if (!h->minor_par)
        return false;
    return h->workers_together || queued_work(cm) >= h->parallel_min_work;
}

static void final_mark_parallel(struct marker *cm)
{
    struct gc_heap *h = cm->heap;
    mark_on_workers(cm, 0, 0);
    gather_worker_results(h, h->minor_par, visit_for_major);
    h->stats.parallel_marks++;
}

/* Whether an assist of `bytes` marks on the workers: when that much marking is worth
 * waking them and the marker has work queued (what is queued leads to more: its size
 * says little of the trace behind it). */
static bool assist_goes_parallel(const struct marker *cm, uint64_t bytes)
{
    const struct gc_heap *h = cm->heap;
    if (!h->minor_par || queued_work(cm) == 0)
        return false;
    return h->workers_together || bytes >= h->parallel_min_work;
}

/* ---- The marker thread ---- */

/* The background sweep found the heap's lock taken (a mutator holds it: a large object's
 * clearing, a sweep for a block) or a collection starting: the thread sleeps until the
 * pause that may be coming wakes it (pause_begin's request, pause_end's broadcast) or,
 * for a mutator's lock, which signals nothing, until a timeout that doubles while the
 * lock stays taken. It used to yield the CPU in a loop, which kept a core busy. */
static void wait_after_blocked_sweep(struct marker *cm, uint64_t *backoff_ns)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    uint64_t ns = (uint64_t)until.tv_nsec + *backoff_ns;
    until.tv_sec += (time_t)(ns / 1000000000u);
    until.tv_nsec = (long)(ns % 1000000000u);
    if (!cm->quit && !cm->held && !__atomic_load_n(&cm->pause_requested, __ATOMIC_ACQUIRE))
        pthread_cond_timedwait(&cm->cond, &cm->lock, &until);
    *backoff_ns = *backoff_ns * 2 < SWEEP_WAIT_MAX_NS ? *backoff_ns * 2 : SWEEP_WAIT_MAX_NS;
}

static void *marker_main(void *arg)
{
    struct marker *cm = arg;
    uint64_t backoff_ns = SWEEP_WAIT_MIN_NS;
    pthread_mutex_lock(&cm->lock);
    for (;;) {
        while (!cm->quit && (cm->held || !cm->has_work ||
                             __atomic_load_n(&cm->pause_requested, __ATOMIC_ACQUIRE)))
            pthread_cond_wait(&cm->cond, &cm->lock);
        if (cm->quit)
            break;
        cm->busy = true;
        pthread_mutex_unlock(&cm->lock);
        uint64_t t0 = gc_now_ns();
        /* Between cycles the thread sweeps what the last one left (sweep.c). */
        bool marking = cm->heap->cycle_active;
        enum mark_result r;
        enum sweep_result swept = SWEEP_DONE;
        if (marking) {
            r = mark_work(cm, SIZE_MAX, true, 0, NULL);
        } else {
            swept = sweep_in_background(cm->heap, &cm->pause_requested);
            r = swept == SWEEP_DONE ? MARK_DONE : MARK_PAUSED;
        }
        uint64_t ns = gc_now_ns() - t0;
        pthread_mutex_lock(&cm->lock);
        cm->busy_ns += marking ? ns : 0;
        cm->busy = false;
        if (r == MARK_DONE) {
            cm->has_work = false;
            if (marking)
                __atomic_store_n(&cm->final_due, 1, __ATOMIC_RELAXED);
        }
        pthread_cond_broadcast(&cm->cond);
        if (swept == SWEEP_BLOCKED)
            wait_after_blocked_sweep(cm, &backoff_ns);
        else
            backoff_ns = SWEEP_WAIT_MIN_NS;
    }
    pthread_mutex_unlock(&cm->lock);
    return NULL;
}

int concurrent_init(struct gc_heap *h, char *err, size_t err_len)
{
    struct marker *cm = calloc(1, sizeof *cm);
    if (cm) {
        cm->old_at = calloc(h->nblocks, 1);
        cm->large_waiting = calloc(h->nblocks, 1);
    }
    if (!cm || !cm->old_at || !cm->large_waiting) {
        if (cm) {
            free(cm->old_at);
            free(cm->large_waiting);
        }
        free(cm);
        gc_set_error(err, err_len, "out of memory for the concurrent marker's tables");
        return -1;
    }
    cm->heap = h;
    pthread_mutex_init(&cm->lock, NULL);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC); /* wait_after_blocked_sweep */
    pthread_cond_init(&cm->cond, &monotonic);
    pthread_condattr_destroy(&monotonic);
    h->marker = cm;
    return 0;
}

void concurrent_destroy(struct gc_heap *h)
{
    struct marker *cm = h->marker;
    if (!cm)
        return;
    if (cm->thread_started) {
        pthread_mutex_lock(&cm->lock);
        cm->quit = true;
        __atomic_store_n(&cm->pause_requested, 1, __ATOMIC_RELEASE); /* stop marking now */
        pthread_cond_broadcast(&cm->cond);
        pthread_mutex_unlock(&cm->lock);
        pthread_join(cm->thread, NULL);
    }
    pthread_mutex_destroy(&cm->lock);
    pthread_cond_destroy(&cm->cond);
    free(cm->grey.items);
    free(cm->large.items);
    free(cm->weak.items);
    for (unsigned k = 0; k < cm->lane_count; k++) {
        free(cm->lanes[k].grey.items);
        free(cm->lanes[k].large.items);
        free(cm->lanes[k].weak.items);
    }
    free(cm->lanes);
    free(cm->old_at);
    free(cm->large_waiting);
    free(cm);
    h->marker = NULL;
}

void concurrent_pause_begin(struct gc_heap *h)
{
    struct marker *cm = h->marker;
    if (!cm || !cm->thread_started)
        return;
    pthread_mutex_lock(&cm->lock);
    __atomic_store_n(&cm->pause_requested, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&cm->cond); /* a sleeping sweep parks now */
    while (cm->busy)
        pthread_cond_wait(&cm->cond, &cm->lock);
    pthread_mutex_unlock(&cm->lock);
}

void concurrent_pause_end(struct gc_heap *h)
{
    struct marker *cm = h->marker;
    if (!cm)
        return;
    if (!cm->thread_started && h->cycle_active) {
        /* The first cycle starts the thread; failing that, the final pause marks all. */
        cm->thread_started = pthread_create(&cm->thread, NULL, marker_main, cm) == 0;
    }
    if (!cm->thread_started)
        return;
    pthread_mutex_lock(&cm->lock);
    __atomic_store_n(&cm->pause_requested, 0, __ATOMIC_RELEASE);
    cm->has_work = h->cycle_active || h->sweep_pending;
    pthread_cond_broadcast(&cm->cond);
    pthread_mutex_unlock(&cm->lock);
}

bool concurrent_final_due(const struct gc_heap *h)
{
    return h->cycle_active && h->marker &&
           __atomic_load_n(&h->marker->final_due, __ATOMIC_RELAXED) != 0;
}

/* ---- The cycle, in pauses ---- */

/* Which blocks hold old objects the marker may mark, as of now (a pause). */
static void note_old_blocks(struct marker *cm)
{
    struct gc_heap *h = cm->heap;
    size_t end = h->blocks_end > cm->scan_end ? h->blocks_end : cm->scan_end;
    for (size_t bi = 0; bi < end; bi++) {
        uint8_t k = h->blocks[bi].kind;
        cm->old_at[bi] = k == BLOCK_SMALL || k == BLOCK_LARGE || k == BLOCK_PINNED;
    }
    cm->scan_end = h->blocks_end;
}

static void shade_conservative(struct gc_heap *h, void *obj)
{
    if (h->marker->old_at[block_index(h, obj)])
        shade(h->marker, obj);
}

static void shade_roots(struct marker *cm)
{
    struct gc_heap *h = cm->heap;
    if (h->conservative_stack)
        conservative_scan_stacks(h, shade_conservative);
    trace_roots(h, marker_visit, cm);
}

void concurrent_assist(struct gc_heap *h, uint64_t bytes, uint64_t pause_start_ns)
{
    struct marker *cm = h->marker;
    uint64_t before = cm->traced_bytes, give_up = gc_now_ns() + ASSIST_MAX_NS;
    if (give_up > pause_start_ns + ASSIST_PAUSE_MAX_NS)
        give_up = pause_start_ns + ASSIST_PAUSE_MAX_NS;
    if (h->debug_assist_bytes) /* its bytes whatever the time, for the tests' sake */
        give_up = UINT64_MAX;
    if (gc_now_ns() >= give_up) /* the minor collection took all the time there was */
        return;
    h->stats.assists++;
    if (assist_goes_parallel(cm, bytes)) {
        mark_on_workers(cm, bytes, give_up);
        h->stats.assists_on_workers++;
        if (queued_work(cm) == 0) /* as mark_work says when it ran out of work */
            __atomic_store_n(&cm->drained, 1, __ATOMIC_RELAXED);
    } else {
        while (cm->traced_bytes < before + bytes && gc_now_ns() < give_up)
            if (mark_work(cm, ASSIST_STEPS, false, give_up, NULL) == MARK_DONE)
                break;
    }
    h->stats.assist_marked_bytes += cm->traced_bytes - before;
}

uint64_t concurrent_traced_bytes(const struct gc_heap *h)
{
    return h->cycle_active ? h->marker->traced_bytes : 0;
}

bool concurrent_rounds_exhausted(const struct gc_heap *h)
{
    /* Each pause shades what the mutators wrote since the last one; a marker that cannot
     * trace it before the next pause will not catch up: the final pause marks the rest. */
    return h->cycle_active && h->marker->rounds_behind >= MAX_ROUNDS_BEHIND;
}

void concurrent_before_minor(struct gc_heap *h)
{
    struct marker *cm = h->marker;
    if (!h->cycle_active)
        return;
    if (__atomic_load_n(&cm->drained, __ATOMIC_RELAXED) &&
        !__atomic_load_n(&cm->final_due, __ATOMIC_RELAXED))
        cm->rounds_behind++;
    __atomic_store_n(&cm->final_due, 0, __ATOMIC_RELAXED); /* this pause gives it more */
    cm->dirty_units_before = h->stats.dirty_units;
    /* Large objects allocated in the cycle were allocated marked, but their fields were
     * written untracked: trace them once now that they are old. */
    for (size_t i = 0; i < h->fresh_large.count; i++) {
        void *obj = h->fresh_large.items[i];
        mark_atomic(h, obj);
        if (!(*header_of(obj) & GC_HDR_POINTERFREE))
            ptr_stack_push(&h->marker->grey, obj);
    }
}

/* A large object the marker traces in chunks has been traced below partial_at while it
 * is the one being traced, not at all while it waits on the large stack; any other
 * marked object counts as traced whole. */
size_t concurrent_traced_extent(const struct gc_heap *h, const void *obj, size_t bytes)
{
    const struct marker *cm = h->marker;
    if (obj == cm->partial)
        return cm->partial_at;
    return cm->large_waiting[block_index(h, obj)] ? 0 : bytes;
}

void concurrent_after_minor(struct gc_heap *h)
{
    struct marker *cm = h->marker;
    if (!h->cycle_active)
        return;
    note_old_blocks(cm);
    /* The written units the remembered-set scan just re-scanned for the marker. */
    cm->last_pause_rescanned = h->stats.dirty_units - cm->dirty_units_before;
    cm->rescanned += cm->last_pause_rescanned;
}

void concurrent_cycle_start(struct gc_heap *h)
{
    struct marker *cm = h->marker;
    heap_sizing_major_begins(h);
    major_clear_stale_marks(h);
    cm->grey.count = 0;
    cm->weak.count = 0;
    cm->rescanned = 0;
    cm->partial = NULL;
    cm->large.count = 0;
    memset(cm->large_waiting, 0, h->blocks_end); /* what a last, abandoned, cycle left */
    cm->rounds_behind = 0;
    cm->traced_bytes = 0;
    __atomic_store_n(&cm->drained, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&cm->final_due, 0, __ATOMIC_RELAXED);
    h->cycle_active = true;
    h->cycle_start_ns = gc_now_ns();
    note_old_blocks(cm);
    shade_roots(cm);
}

void concurrent_cycle_abandon(struct gc_heap *h)
{
    struct marker *cm = h->marker;
    cm->grey.count = 0;
    cm->weak.count = 0;
    cm->partial = NULL;
    cm->large.count = 0;
    h->cycle_active = false;
    __atomic_store_n(&cm->final_due, 0, __ATOMIC_RELAXED);
}

void concurrent_cycle_finish(struct gc_heap *h)
{
    struct marker *cm = h->marker;
    uint64_t t0 = gc_now_ns();
    note_old_blocks(cm);
    shade_roots(cm);
    if (final_mark_goes_parallel(cm))
        final_mark_parallel(cm);
    else
        mark_work(cm, SIZE_MAX, false, 0, NULL);
    h->stats.final_rescanned_units += cm->last_pause_rescanned;
    h->stats.mark_rescanned_units += cm->rescanned;
    h->stats.last_cycle_rescanned_units = cm->rescanned;
    /* Weak objects: the strong trace is complete; resolve as a stop-the-world major
     * collection does, from every weak object the cycle met. */
    h->marking = true;
    weak_collection_begin(h);
    while (cm->weak.count) {
        void *obj = ptr_stack_pop(&cm->weak);
        weak_trace(h, obj, header_kind(*header_of(obj)), visit_for_major, h);
    }
    drain_grey(h, visit_for_major);
    weak_collection_end(h, visit_for_major);
    uint64_t t1 = gc_now_ns();
    h->phase_ns[0] += t1 - t0;
    sweep_begin_lazy(h); /* heap sizing follows when the sweep is done */
    h->phase_ns[1] = gc_now_ns() - t1;
    h->marking = false;
    h->cycle_active = false;
    __atomic_store_n(&cm->final_due, 0, __ATOMIC_RELAXED);
    h->stats.concurrent_cycles++;
    h->stats.concurrent_mark_ms = (double)cm->busy_ns / 1e6;
}

/* ---- Debug hooks (gc-debug.h) ---- */

void gc_debug_marker_hold(struct gc_heap *h, int hold)
{
    struct marker *cm = h->marker;
    if (!cm)
        return;
    pthread_mutex_lock(&cm->lock);
    cm->held = hold != 0;
    while (cm->held && cm->busy)
        pthread_cond_wait(&cm->cond, &cm->lock);
    pthread_cond_broadcast(&cm->cond);
    pthread_mutex_unlock(&cm->lock);
}

long gc_debug_mark_step(struct gc_mutator *m, size_t steps)
{
    struct gc_heap *h = m->heap;
    long done = -1;
    pthread_mutex_lock(&h->lock);
    if (h->cycle_active) {
        concurrent_pause_begin(h);
        size_t n;
        mark_work(h->marker, steps, false, 0, &n);
        done = (long)n;
        concurrent_pause_end(h);
    }
    pthread_mutex_unlock(&h->lock);
    return done;
}

long gc_debug_marker_chunks_unlooked(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    long most = -1;
    pthread_mutex_lock(&h->lock);
    if (h->marker) {
        concurrent_pause_begin(h); /* the thread is parked: its count is settled */
        most = (long)h->marker->most_chunks_unlooked;
        concurrent_pause_end(h);
    }
    pthread_mutex_unlock(&h->lock);
    return most;
}

int gc_debug_mark_color(struct gc_mutator *m, const void *obj)
{
    struct gc_heap *h = m->heap;
    int color = -1;
    pthread_mutex_lock(&h->lock);
    if (h->cycle_active) {
        concurrent_pause_begin(h);
        color = 0;
        if (is_marked(h, obj)) {
            color = 2;
            for (size_t i = 0; i < h->marker->grey.count; i++)
                if (h->marker->grey.items[i] == obj || h->marker->partial == obj)
                    color = 1;
        }
        concurrent_pause_end(h);
    }
    pthread_mutex_unlock(&h->lock);
    return color;
}
