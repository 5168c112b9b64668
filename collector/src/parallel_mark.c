/* Marking on the collector's workers (docs/collector.md, "Parallel marking"): a
 * stop-the-world major collection's trace, shared out as a parallel minor collection's
 * is (the roots and the objects of pinned blocks claimed in chunks, then work-stealing
 * over the workers' deques). An old object's mark bit is set with an atomic OR, and the
 * worker whose OR set it traces it: each live object is traced once, by one worker.
 * Young objects met on the way are promoted as a parallel minor collection does, and
 * marked by the worker whose copy won. The ephemerons the workers meet are put aside and
 * resolved single-threaded after the strong trace, as before. */
#include "parallel_evac.h"

/* The workers' visitor. No block changes kind while they run (blocks are pinned before,
 * by the conservative scan, or after, by the single-threaded end), so young is exactly
 * "in a nursery block". */
static void parallel_mark_visit(void **field, void *ctx)
{
    struct evac_worker *w = ctx;
    struct gc_heap *h = w->h;
    void *v = __atomic_load_n(field, __ATOMIC_ACQUIRE);
    if (!may_be_object(h, v))
        return;
    uint8_t kind = h->blocks[block_index(h, v)].kind;
    if (kind == BLOCK_NURSERY) {
        void *moved = parallel_promote(w, v, field);
        if (moved)
            __atomic_store_n(field, moved, __ATOMIC_RELEASE);
        return;
    }
    if (kind == BLOCK_FREE || mark_claim(h, v))
        return;
    w->objects_marked++;
    if (!(*header_of(v) & (GC_HDR_POINTERFREE | HDR_FILLER)))
        ptr_stack_push(&w->local, v);
}

static void major_mark_worker(void *ctx, unsigned self)
{
    struct minor_parallel *par = ctx;
    struct evac_worker *w = &par->workers[self];
    uint64_t cpu0 = thread_cpu_ns();
    work_set_join(&par->work);
    share_roots(w, parallel_mark_visit);
    share_other_mutator_roots(w, parallel_mark_visit);
    trace_until_done(w, parallel_mark_visit);
    w->mark_cpu_ns += thread_cpu_ns() - cpu0;
}

bool major_mark_goes_parallel(const struct gc_heap *h)
{
    /* As for a minor collection (minor_goes_parallel): only when the work pays for the
     * workers' wake-up; a major collection's marking is bounded by the old generation. */
    return h->minor_par &&
           (h->workers_together || (uint64_t)h->old_blocks * BLOCK_BYTES >= h->parallel_min_work);
}

void major_mark_parallel(struct gc_heap *h)
{
    struct minor_parallel *par = h->minor_par;
    prepare_promotion_blocks(h, par);
    weak_share_pending(h, &par->weak_lock, visit_for_major);
    roots_phase_begin(par);
    work_set_begin(&par->work);
    workers_run(h->workers, major_mark_worker, par);
    work_set_end(&par->work);
    weak_share_pending(h, NULL, NULL);
    gather_worker_results(h, par, visit_for_major);
    h->stats.parallel_marks++;
}
