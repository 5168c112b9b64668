/* The collector's worker threads and the work list they share (docs/collector.md,
 * "Parallel minor collections"). */
#ifndef GCVM_WORKERS_H
#define GCVM_WORKERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "work_deque.h"

struct worker_pool;

/* Runs on every worker of a pool at once; `worker` is 0 for the calling thread, 1..n-1
 * for the pool's threads. */
typedef void (*worker_fn)(void *ctx, unsigned worker);

/* A pool of `count` workers: count - 1 threads, parked until workers_run; the caller of
 * workers_run is worker 0. together: every worker takes part in every workers_run and
 * they start at once (for tests that count each worker's share; it makes a phase wait
 * for the slowest thread to wake). NULL with a one-line message in err when a thread
 * cannot be created. The threads block every signal the process can take
 * asynchronously. */
struct worker_pool *workers_create(unsigned count, bool together, char *err, size_t err_len);
/* Ends the threads and frees the pool (NULL: nothing). Not during workers_run. */
void workers_destroy(struct worker_pool *pool);
/* The workers of a pool; 1 for NULL (a heap without collector threads). */
unsigned workers_count(const struct worker_pool *pool);
/* Calls fn(ctx, i) on the workers at once, the caller being worker 0, and returns when
 * all that ran it have returned: what they wrote is then visible to the caller. A
 * thread that wakes only after the caller's fn returned skips the phase, so the caller
 * never waits for a thread the system has not scheduled yet: fn must share its work out
 * dynamically (whoever comes takes the next part), never leave a part to worker i. One
 * workers_run at a time per pool. A NULL pool (h->workers of a heap with parallelism 1
 * or a gcvm barrier) runs fn(ctx, 0) on the caller: the entry point for any phase of a
 * collection that shares its work, e.g. workers_run(h->workers, mark_fn, state). */
void workers_run(struct worker_pool *pool, worker_fn fn, void *ctx);
/* Wakes the pool's threads ahead of a workers_run that is coming (a collection that must
 * stop the other mutators first): each polls for the phase, without sleeping, for up to
 * 200 us, so that its wake-up overlaps the caller's preparations instead of delaying the
 * phase. Then it sleeps again. Nothing for a NULL pool. */
void workers_warm(struct worker_pool *pool);

/* Helpers: a mutator stopped for a collection works in its phases on its own thread, in
 * the place of a pool thread. Its core holds what its thread allocated since the last
 * collection, which is most of what it copies; a pool thread would read those lines from
 * the other core's cache (docs/collector.md, "Stopped mutators help"). A helper offers
 * itself (workers_offer_help) before stop number `stop` can start its first phase,
 * then calls workers_help, which takes part in the phases that start while a place is
 * free (a pool thread wakes only for a place no helper offered to take) and returns, with
 * the number of phases it took part in, once workers_end_stop(pool, stop) was called.
 * Nothing for a NULL pool, one of a single worker, or one whose threads all take part
 * together. Offers come only while the world is stopped and are dropped when the stop
 * ends, so a phase outside a stop (a background thread's) gets no helper. A helper runs
 * the phase with its program's signal mask (pool threads block asynchronous signals), and
 * spins for up to 200 us at a time while it waits: on a machine with fewer cores than
 * stopped threads that spinning takes CPU from the collection's serial parts. */
void workers_offer_help(struct worker_pool *pool, uint64_t stop);
unsigned workers_help(struct worker_pool *pool, uint64_t stop);
void workers_end_stop(struct worker_pool *pool, uint64_t stop);
/* The helpers offered for the current stop (0 for a pool that takes none). */
unsigned workers_helpers(struct worker_pool *pool);
/* For tests (gc_debug_wait_for_helpers): whether workers_run waits, up to 100 ms, for the
 * helpers offered for the stop to join each phase before the caller starts its part. */
void workers_wait_for_helpers(struct worker_pool *pool, bool wait);

/* A work list shared by `count` workers: one deque each, stealing when one's own is
 * empty, and the detection of the end (every deque empty and every worker idle). */
struct work_set {
    unsigned count;
    struct work_deque *deques;
    _Alignas(64) _Atomic unsigned active; /* workers not idle */
    _Atomic unsigned long long steals;    /* items taken from another worker's deque */
};

bool work_set_init(struct work_set *s, unsigned count);
void work_set_destroy(struct work_set *s);
/* Before a phase that uses the set, with no worker running. */
void work_set_begin(struct work_set *s);
/* A worker enters the phase (before its first push or work_set_next). */
void work_set_join(struct work_set *s);
/* Worker `self`: adds p to its own deque. */
static inline void work_set_push(struct work_set *s, unsigned self, void *p)
{
    work_deque_push(&s->deques[self], p);
}
/* Worker `self`: the next item, from its own deque, else stolen from another's; NULL
 * once every worker is idle with its deque empty, which means the phase's work is done.
 * Each worker of the phase must call it until it returns NULL. */
void *work_set_next(struct work_set *s, unsigned self);
/* After the phase, with no worker running. */
void work_set_end(struct work_set *s);

#endif
