/* The collector's worker pool and shared work list (workers.h; docs/collector.md,
 * "Parallel minor collections"). */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gc_internal.h"

struct pool_thread {
    struct worker_pool *pool;
    pthread_t thread;
};

struct worker_pool {
    unsigned count;
    struct pool_thread *threads; /* count - 1 of them */
    pthread_mutex_t lock;
    pthread_cond_t start_cond; /* a phase began, or the pool is going */
    pthread_cond_t done_cond;  /* the last thread finished its part of the phase */
    unsigned long long phase;  /* phases started so far; written under lock, atomically */
    unsigned long long warmed; /* workers_warm calls so far; under lock */
    bool open;                 /* the caller still runs its part: a thread may join */
    bool together;             /* every thread joins every phase, all start at once */
    bool started;              /* the phase's workers may start */
    unsigned joined;           /* threads that joined the current phase: its workers 1.. */
    unsigned unfinished;       /* threads that joined the phase and run it still */
    /* Helpers (workers_help): threads outside the pool, stopped mutators, that take the
     * places of pool threads in the phases of one stop of the world. */
    pthread_cond_t help_cond; /* a phase began, or a stop ended */
    unsigned helpers;         /* helpers offered for stop number helpers_stop */
    uint64_t helpers_stop;
    bool wait_for_helpers; /* workers_wait_for_helpers; under lock */
    unsigned pool_places;  /* places of the current phase left to the pool's threads */
    unsigned pool_joined;  /* pool threads that joined the current phase */
    uint64_t stop_ended;   /* the last stop of the world that ended (workers_end_stop) */
    bool stopping;
    worker_fn fn;
    void *ctx;
};

/* How long a thread that workers_warm woke polls for the phase before it sleeps again:
 * about two futex wake-ups on a paravirtual guest, enough for a collection to stop the
 * other mutators and prepare its work list. */
#define WARM_POLL_NS 200000u
/* How long the caller of a phase polls for its workers to finish before it sleeps
 * (wait_for_unfinished). */
#define END_POLL_NS 500000u

/* With the lock held, and released while polling: waits (without sleeping) for up to
 * WARM_POLL_NS for a phase after `seen` to start, or for stop number `stop` to end
 * (UINT64_MAX: no stop). */
static void poll_for_phase(struct worker_pool *p, unsigned long long seen, uint64_t stop)
{
    pthread_mutex_unlock(&p->lock);
    uint64_t start = gc_now_ns();
    while (__atomic_load_n(&p->phase, __ATOMIC_ACQUIRE) == seen &&
           __atomic_load_n(&p->stop_ended, __ATOMIC_ACQUIRE) < stop &&
           gc_now_ns() - start < WARM_POLL_NS)
        for (int i = 0; i < 32; i++)
            cpu_relax();
    pthread_mutex_lock(&p->lock);
}

/* With the lock held, and released meanwhile: runs the current phase's function as
 * worker `index`, which joined it (counted in unfinished). */
static void take_part(struct worker_pool *p, unsigned index)
{
    worker_fn fn = p->fn;
    void *ctx = p->ctx;
    pthread_mutex_unlock(&p->lock);
    fn(ctx, index);
    pthread_mutex_lock(&p->lock);
    /* Atomic: the phase's caller looks at it without the lock (wait_for_unfinished). */
    if (__atomic_sub_fetch(&p->unfinished, 1, __ATOMIC_RELEASE) == 0)
        pthread_cond_signal(&p->done_cond);
}

/* With the lock held, and released meanwhile: waits until no thread that joined the
 * phase runs it still. It polls for up to END_POLL_NS before it sleeps: the threads of a
 * phase end within microseconds of each other, and a caller that slept on the condition
 * woke up to 2.4 ms after the last worker signalled it (an assist of array-churn at 1 GiB
 * live whose two lanes stopped together at 2.5 ms returned at 4.9 ms): its virtual CPU,
 * idle meanwhile, had gone back to the host. */
static void wait_for_unfinished(struct worker_pool *p)
{
    if (!p->unfinished)
        return;
    pthread_mutex_unlock(&p->lock);
    uint64_t start = gc_now_ns();
    while (__atomic_load_n(&p->unfinished, __ATOMIC_ACQUIRE) &&
           gc_now_ns() - start < END_POLL_NS)
        for (int i = 0; i < 32; i++)
            cpu_relax();
    pthread_mutex_lock(&p->lock);
    while (p->unfinished)
        pthread_cond_wait(&p->done_cond, &p->lock);
}

static void *pool_thread_main(void *arg)
{
    struct pool_thread *t = arg;
    struct worker_pool *p = t->pool;
    unsigned long long seen = 0, warmed = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->phase == seen && !p->stopping) {
            if (p->warmed != warmed) {
                warmed = p->warmed;
                poll_for_phase(p, seen, UINT64_MAX);
                continue;
            }
            pthread_cond_wait(&p->start_cond, &p->lock);
        }
        if (p->stopping)
            break;
        seen = p->phase;
        /* Woke after the work was done, or a helper took the place: skip this phase. */
        if (!p->open || p->pool_joined >= p->pool_places || p->joined >= p->count - 1)
            continue;
        __atomic_add_fetch(&p->unfinished, 1, __ATOMIC_RELAXED);
        unsigned index = ++p->joined;
        p->pool_joined++;
        pthread_cond_signal(&p->done_cond);
        while (!p->started)
            pthread_cond_wait(&p->start_cond, &p->lock);
        take_part(p, index);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct worker_pool *workers_create(unsigned count, bool together, char *err, size_t err_len)
{
    struct worker_pool *p = calloc(1, sizeof *p);
    if (!p || (count > 1 && !(p->threads = calloc(count - 1, sizeof *p->threads)))) {
        free(p);
        gc_set_error(err, err_len, "out of memory for the collector's %u worker threads", count);
        return NULL;
    }
    p->count = 1;
    p->together = together;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->start_cond, NULL);
    pthread_cond_init(&p->done_cond, NULL);
    pthread_cond_init(&p->help_cond, NULL);
    /* The threads inherit this mask: signals meant for the program go to its threads.
     * Faults (the write barriers' SIGSEGV) are synchronous and still reach them. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 1; i < count; i++) {
        struct pool_thread *t = &p->threads[i - 1];
        t->pool = p;
        int rc = pthread_create(&t->thread, NULL, pool_thread_main, t);
        if (rc != 0) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            gc_set_error(err, err_len,
                         "cannot start collector worker thread %u of %u: %s (set "
                         "gc_config.parallelism or GCVM_GC_THREADS lower)",
                         i, count - 1, strerror(rc));
            workers_destroy(p);
            return NULL;
        }
        p->count = i + 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p;
}

void workers_destroy(struct worker_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->start_cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 1; i < p->count; i++)
        pthread_join(p->threads[i - 1].thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->start_cond);
    pthread_cond_destroy(&p->done_cond);
    pthread_cond_destroy(&p->help_cond);
    free(p->threads);
    free(p);
}

unsigned workers_count(const struct worker_pool *p)
{
    return p ? p->count : 1;
}

void workers_warm(struct worker_pool *p)
{
    if (!p || p->count < 2)
        return;
    pthread_mutex_lock(&p->lock);
    p->warmed++;
    pthread_cond_broadcast(&p->start_cond);
    pthread_mutex_unlock(&p->lock);
}

/* With the lock held: waits until `want` threads joined the phase, or for 100 ms. */
static void wait_for_joined(struct worker_pool *p, unsigned want)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 100000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (p->joined < want)
        if (pthread_cond_timedwait(&p->done_cond, &p->lock, &deadline) == ETIMEDOUT)
            return;
}

void workers_run(struct worker_pool *p, worker_fn fn, void *ctx)
{
    if (!p) {
        fn(ctx, 0);
        return;
    }
    if (p->count > 1) {
        pthread_mutex_lock(&p->lock);
        p->fn = fn;
        p->ctx = ctx;
        p->open = true;
        p->started = !p->together;
        p->joined = p->pool_joined = 0;
        /* Helpers first: a pool thread wakes only for a place no helper will take. */
        unsigned places = p->count - 1;
        /* Together: every pool thread takes part (no helper offers itself then). */
        p->pool_places =
            p->together ? places : places - (p->helpers < places ? p->helpers : places);
        __atomic_store_n(&p->phase, p->phase + 1, __ATOMIC_RELEASE);
        if (p->pool_places > 0)
            pthread_cond_broadcast(&p->start_cond);
        if (p->helpers > 0)
            pthread_cond_broadcast(&p->help_cond);
        if (p->together) {
            while (p->joined < p->count - 1)
                pthread_cond_wait(&p->done_cond, &p->lock);
            p->started = true;
            pthread_cond_broadcast(&p->start_cond);
        } else if (p->wait_for_helpers) {
            wait_for_joined(p, p->helpers < places ? p->helpers : places);
        }
        pthread_mutex_unlock(&p->lock);
    }
    fn(ctx, 0);
    if (p->count > 1) {
        pthread_mutex_lock(&p->lock);
        p->open = false;
        wait_for_unfinished(p);
        pthread_mutex_unlock(&p->lock);
    }
}

void workers_offer_help(struct worker_pool *p, uint64_t stop)
{
    if (!p || p->count < 2 || p->together)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->helpers_stop != stop) {
        p->helpers_stop = stop;
        p->helpers = 0;
    }
    p->helpers++;
    pthread_mutex_unlock(&p->lock);
}

void workers_wait_for_helpers(struct worker_pool *p, bool wait)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->wait_for_helpers = wait;
    pthread_mutex_unlock(&p->lock);
}

unsigned workers_helpers(struct worker_pool *p)
{
    if (!p || p->count < 2)
        return 0;
    pthread_mutex_lock(&p->lock);
    unsigned n = p->helpers;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* A helper polls before it sleeps, at its arrival and after each phase: the stop's first
 * phase comes once the collection's serial start is done, and its end once the serial
 * end is; each is usually sooner than a futex wake-up (about 100 us on a paravirtual
 * guest), and the helper's core has nothing else of the program to run meanwhile. */
unsigned workers_help(struct worker_pool *p, uint64_t stop)
{
    if (!p || p->count < 2 || p->together)
        return 0;
    unsigned phases = 0;
    pthread_mutex_lock(&p->lock);
    unsigned long long done = 0;       /* the last phase it took part in */
    unsigned long long polled = ~0ull; /* the phase it last polled after */
    while (p->stop_ended < stop) {
        if (p->open && p->phase != done && p->joined < p->count - 1) {
            done = p->phase;
            phases++;
            __atomic_add_fetch(&p->unfinished, 1, __ATOMIC_RELAXED);
            unsigned index = ++p->joined;
            if (p->wait_for_helpers)
                pthread_cond_signal(&p->done_cond);
            take_part(p, index);
            continue;
        }
        if (polled != p->phase) {
            polled = p->phase;
            poll_for_phase(p, polled, stop);
            continue;
        }
        pthread_cond_wait(&p->help_cond, &p->lock);
    }
    /* No count to take back: workers_end_stop, which let it go, set helpers to 0. */
    pthread_mutex_unlock(&p->lock);
    return phases;
}

void workers_end_stop(struct worker_pool *p, uint64_t stop)
{
    if (!p || p->count < 2)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->stop_ended < stop)
        __atomic_store_n(&p->stop_ended, stop, __ATOMIC_RELEASE);
    if (p->helpers_stop <= stop)
        p->helpers = 0; /* they are all leaving */
    pthread_cond_broadcast(&p->help_cond);
    pthread_mutex_unlock(&p->lock);
}

/* ---- Work list ---- */

bool work_set_init(struct work_set *s, unsigned count)
{
    s->count = count;
    /* Aligned as their type says: each deque's two ends on cache lines of their own. */
    s->deques = aligned_alloc(_Alignof(struct work_deque), count * sizeof *s->deques);
    if (!s->deques)
        return false;
    memset(s->deques, 0, count * sizeof *s->deques);
    for (unsigned i = 0; i < count; i++) {
        if (!work_deque_init(&s->deques[i], 10)) {
            s->count = i;
            work_set_destroy(s);
            return false;
        }
    }
    atomic_init(&s->active, 0);
    atomic_init(&s->steals, 0);
    return true;
}

void work_set_destroy(struct work_set *s)
{
    for (unsigned i = 0; i < s->count; i++)
        work_deque_destroy(&s->deques[i]);
    free(s->deques);
    s->deques = NULL;
}

void work_set_begin(struct work_set *s)
{
    atomic_store_explicit(&s->active, 0, memory_order_relaxed);
}

void work_set_join(struct work_set *s)
{
    atomic_fetch_add_explicit(&s->active, 1, memory_order_seq_cst);
}

void work_set_end(struct work_set *s)
{
    for (unsigned i = 0; i < s->count; i++)
        work_deque_reset(&s->deques[i]);
}

/* One pass over the other workers' deques, from the one after self; an item, or NULL
 * when every deque looked empty. A lost race makes the pass start again at that deque. */
static void *steal_round(struct work_set *s, unsigned self)
{
    for (unsigned k = 1; k < s->count; k++) {
        struct work_deque *victim = &s->deques[(self + k) % s->count];
        void *p;
        while ((p = work_deque_steal(victim)) == WORK_DEQUE_ABORT)
            ;
        if (p) {
            atomic_fetch_add_explicit(&s->steals, 1, memory_order_relaxed);
            return p;
        }
    }
    return NULL;
}

/* An idle worker's wait between two looks: spinning first (work comes back within
 * microseconds when another worker pushes), then yielding the core, then sleeping, so a
 * long stretch of work only one worker can do (a long list) does not cost a second
 * core. A yield returns at once on an idle core, so the end of a short collection is
 * seen at once; only a worker idle for a while sleeps, 20 microseconds at a time. */
static void idle_wait(unsigned spins)
{
    if (spins < 16)
        return;
    if (spins < 256) {
        sched_yield();
        return;
    }
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
}

static bool others_look_nonempty(struct work_set *s, unsigned self)
{
    for (unsigned k = 1; k < s->count; k++)
        if (work_deque_looks_nonempty(&s->deques[(self + k) % s->count]))
            return true;
    return false;
}

/* Termination: a worker goes idle (active - 1) only with its own deque empty, and an
 * idle worker pushes nothing; it becomes active again (active + 1) before it steals.
 * So when active reaches 0 every deque is empty and nobody can add to one: the work is
 * done, and every worker that joined sees it. A worker that joins later (its thread woke
 * late) finds every deque empty; what it adds to its own it takes back itself. */
void *work_set_next(struct work_set *s, unsigned self)
{
    void *p = work_deque_take(&s->deques[self]);
    if (p || s->count == 1)
        return p;
    for (;;) {
        if ((p = steal_round(s, self)))
            return p;
        atomic_fetch_sub_explicit(&s->active, 1, memory_order_seq_cst);
        for (unsigned spins = 0;; spins++) {
            if (atomic_load_explicit(&s->active, memory_order_seq_cst) == 0)
                return NULL;
            if (others_look_nonempty(s, self)) {
                atomic_fetch_add_explicit(&s->active, 1, memory_order_seq_cst);
                break;
            }
            idle_wait(spins);
        }
    }
}
