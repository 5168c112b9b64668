/* The collector's workers in a collection (docs/collector.md, "Parallel minor
 * collections" and "Parallel marking"): each worker's state, the state they share, and
 * the parts of a parallel phase that evacuation (minor.c) and marking (parallel_mark.c)
 * have in common. */
#ifndef GCVM_PARALLEL_EVAC_H
#define GCVM_PARALLEL_EVAC_H

#include <pthread.h>
#include <stdatomic.h>

#include "gc_internal.h"
#include "workers.h"

/* Fields of the remembered set a worker has in flight (struct evac_worker's ahead). */
#define REMSET_AHEAD 16u

struct evac_worker {
    _Alignas(64) struct gc_heap *h; /* a cache line of its own: counters change often */
    struct minor_parallel *par;
    unsigned index;
    int32_t current[SIZE_CLASS_COUNT]; /* its promotion block per class, or -1 */
    /* current[c]'s allocation cursor while the workers run: loaded by
     * prepare_promotion_blocks, stored back by gather_worker_results. Writing it in the
     * block's entry instead made two workers write one cache line per cell they took
     * (their blocks' entries are neighbours): 2 workers copied slower than 1. */
    uint32_t cursor[SIZE_CLASS_COUNT];
    uint64_t majors_seen; /* current[] is valid while no major ran since */
    uint64_t objects_copied, bytes_promoted, remembered_fields, cpu_ns;
    /* Dirty cards and blocks of them it counted (counted_by_worker in minor.c) */
    uint64_t dirty_units, remembered_blocks_read;
    uint64_t objects_marked, mark_cpu_ns; /* in parallel marking */
    uint64_t own_roots_traced;            /* as a helper: its own mutator's root tracer */
    struct ptr_stack deferred;            /* fields left for the end, single-threaded */
    struct ptr_stack local;               /* copies to trace that no other worker can see */
    size_t local_shared;                  /* local.items below this went to the deque */
    /* During a concurrent cycle: the old objects it marked for the marker (they were
     * unmarked, and a copy or a marked object on a written unit points at them) and its
     * weak copies, marked: queued for the marker at the end (gather_worker_results). */
    struct ptr_stack to_shade;
    unsigned share_countdown; /* objects traced until it next looks at its deque */
    /* The remembered set's fields in flight (minor.c, remset_ahead_push): each is visited
     * REMSET_AHEAD fields after the block entry and the mark word of what it points at
     * were fetched. */
    void **ahead[REMSET_AHEAD];
    bool ahead_shading[REMSET_AHEAD];
    unsigned ahead_count, ahead_oldest;
};

struct minor_parallel {
    unsigned count;
    pthread_mutex_t alloc_lock;  /* the block allocator */
    pthread_mutex_t weak_lock;   /* the ephemerons put aside */
    struct ptr_stack remembered; /* blocks the remembered-set scan visits */
    struct ptr_stack fresh;      /* the fresh large objects, whole or in chunks */
    /* The next item of each shared list a worker claims. */
    _Atomic size_t next_root, next_pinned, next_remembered, next_fresh_large;
    uint64_t roots_phase; /* the phase's number, for the mutators' roots (share_roots) */
    struct evac_worker *workers;
    struct work_set work;
};

/* Items a worker claims at once: few enough to share a short list evenly. */
#define REMEMBERED_CHUNK 4u
#define ROOT_CHUNK 16u

static inline bool may_be_object(const struct gc_heap *h, const void *v)
{
    return ((uintptr_t)v & 7u) == 0 && in_region(h, v);
}

/* Worker w: where the young object obj moves (copied by w, or by the worker that won the
 * race for it), or NULL when w cannot copy it: field is then left for the
 * single-threaded end. In a major collection the copy is marked by the worker that made
 * it, and queued by it. */
void *parallel_promote(struct evac_worker *w, void *obj, void **field);
/* Claims the next `chunk` items of a list of `count` that the workers share: [*from,
 * *to), or false when none is left. */
bool claim(_Atomic size_t *next, size_t count, size_t chunk, size_t *from, size_t *to);
/* Worker w visits its share of the roots with visit (worker 0: the heap's root tracer
 * and the collecting mutator's roots; a stopped mutator helping: its own roots; all: the
 * registered roots, claimed in chunks) and queues its share of h->grey (objects the
 * conservative scan found). Before the phase: next_root and next_pinned 0, and
 * roots_phase new (roots_phase_begin). */
void share_roots(struct evac_worker *w, gc_visit_fn visit);
/* Worker w visits the roots of every mutator whose roots no worker of the phase has
 * visited yet. Each worker calls it after share_roots and before trace_until_done, so
 * that none is left when the phase's work runs out; in between, a worker traces what its
 * own mutator's roots reach, while the other mutators' threads wake to do theirs. */
void share_other_mutator_roots(struct evac_worker *w, gc_visit_fn visit);
/* Before a phase that calls share_roots: resets the shared claims on the roots. */
void roots_phase_begin(struct minor_parallel *par);
/* Worker w traces with visit its own work, then what it can steal, until every worker
 * of the phase is idle with nothing left. */
void trace_until_done(struct evac_worker *w, gc_visit_fn visit);
/* Before the workers copy: which of each worker's promotion blocks it may keep filling. */
void prepare_promotion_blocks(struct gc_heap *h, struct minor_parallel *par);
/* After the phase, single-threaded: adds each worker's counters to h->stats, shades
 * what they promoted during a concurrent cycle, visits with visit (context h) the fields
 * they could not, and empties h->grey (the workers traced it). */
void gather_worker_results(struct gc_heap *h, struct minor_parallel *par, gc_visit_fn visit);

#endif
