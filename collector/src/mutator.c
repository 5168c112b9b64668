/* Mutator threads: attaching and detaching, the stop-the-world handshake at safepoints,
 * and blocking regions (docs/collector.md, "Threads").
 *
 * Everything here runs under the heap's lock. A collecting thread sets stop_requested
 * and every mutator's safepoint flag, then waits until no mutator is running; each one
 * parks at its next safepoint (recording where its stack ends, with its registers
 * spilled above that point) or is found in a blocking region. The collection runs with
 * the lock held; a parked thread helps in the phases it shares out, without the lock.
 * world_start() clears the flags and wakes the parked threads. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gc_internal.h"
#include "guest_mode.h"
#include "workers.h"

static void set_flags(struct gc_heap *h, int value)
{
    for (struct gc_mutator *m = h->mutators; m; m = m->next)
        __atomic_store_n(&m->fast.safepoint_requested, value, __ATOMIC_RELAXED);
}

/* The stopped mutator whose thread this is while it helps a collection (workers_help). */
static __thread struct gc_mutator *helping;

struct gc_mutator *mutator_helping(void)
{
    return helping;
}

/* With the heap's lock held, released meanwhile: works in the phases of stop number
 * `stop`, for which it offered help, until that stop ends. */
static void help_collection(struct gc_mutator *m, uint64_t stop)
{
    struct gc_heap *h = m->heap;
    pthread_mutex_unlock(&h->lock);
    helping = m;
    unsigned phases = workers_help(h->workers, stop);
    helping = NULL;
    pthread_mutex_lock(&h->lock);
    h->stats.phases_helped += phases;
}

/* The frame below the one that spilled the registers: everything from here up is the
 * thread's stack as it stops. Waits until no collection runs, helping those that share
 * their work (docs/collector.md, "Stopped mutators help"); the helper's own frames lie
 * below this one, outside what a conservative scan of the thread covers. */
__attribute__((noinline)) static void park_below_spill(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    m->stack_low = __builtin_frame_address(0);
    if (m->guest_held)
        guest_mode_mutator_stops(m);
    m->state = MUTATOR_STOPPED;
    /* Offered before the collection can go on without it, so that its first phase
     * leaves a place to this thread and wakes no pool thread for it. */
    uint64_t offered = 0; /* the stop it offered help in last */
    if (h->workers && h->stop_requested) {
        offered = h->stops;
        workers_offer_help(h->workers, offered);
    }
    h->running--;
    pthread_cond_broadcast(&h->stopped_cond);
    uint64_t helped = 0;
    while (h->stop_requested) {
        if (offered != helped) {
            helped = offered;
            help_collection(m, helped);
        } else if (h->workers && h->stops != helped) { /* a later stop, found on waking */
            offered = h->stops;
            workers_offer_help(h->workers, offered);
        } else {
            pthread_cond_wait(&h->resume_cond, &h->lock);
        }
    }
    h->stats.resume_wait_ms += (double)(gc_now_ns() - h->resumed_at_ns) / 1e6;
    m->state = MUTATOR_RUNNING;
    h->running++;
    if (m->guest_held)
        guest_mode_mutator_resumes(m);
}

__attribute__((noinline)) void mutator_park(struct gc_mutator *m)
{
    if (m->state != MUTATOR_RUNNING)
        gc_fatal("a mutator reached a safepoint while %s",
                 m->state == MUTATOR_BLOCKING ? "in a blocking region (gc_blocking_leave first)"
                                              : "collecting (from a trace or root callback?)");
    /* Callee-saved registers go into this frame, which the scan covers. */
    __builtin_unwind_init();
    park_below_spill(m);
}

/* How long world_stop polls for the other mutators to park before it sleeps. A running
 * mutator parks at its next allocation slow path, within microseconds; a sleep on the
 * condition variable adds a futex wake-up, about 100 us on a paravirtual guest. On the
 * AMD EPYC guest, binary-trees on 2 mutator threads waited a median 14.1 ms for its ~117
 * stops without polling, 6.6 ms with it (five runs each). */
#define STOP_POLL_NS 50000u

/* With the lock held: returns once no other mutator runs. Polls first, dropping the lock
 * so that the others can take it to park; then waits on stopped_cond. */
static void wait_until_stopped(struct gc_heap *h)
{
    uint64_t start = gc_now_ns();
    while (h->running > 0) {
        if (gc_now_ns() - start > STOP_POLL_NS) {
            while (h->running > 0)
                pthread_cond_wait(&h->stopped_cond, &h->lock);
            return;
        }
        pthread_mutex_unlock(&h->lock);
        for (int i = 0; i < 64; i++)
            cpu_relax();
        pthread_mutex_lock(&h->lock);
    }
}

bool world_stop(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    if (m->state != MUTATOR_RUNNING)
        gc_fatal("a collection was requested while %s",
                 m->state == MUTATOR_BLOCKING ? "in a blocking region (gc_blocking_leave first)"
                                              : "collecting (from a trace or root callback?)");
    uint64_t seen = h->collections;
    while (h->stop_requested)
        mutator_park(m);
    if (m->guest_held)
        guest_mode_mutator_stops(m);
    h->stop_requested = true;
    h->stops++;
    h->collector = m;
    set_flags(h, 1);
    m->state = MUTATOR_COLLECTING;
    h->running--;
    uint64_t start = gc_now_ns();
    wait_until_stopped(h);
    h->last_stop_wait_ns = gc_now_ns() - start;
    for (struct gc_mutator *t = h->mutators; t; t = t->next)
        nursery_retire_block(h, t);
    return h->collections != seen;
}

void world_start(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    set_flags(h, 0);
    h->stop_requested = false;
    workers_end_stop(h->workers, h->stops);
    h->collector = NULL;
    m->state = MUTATOR_RUNNING;
    h->running++;
    if (m->guest_held)
        guest_mode_mutator_resumes(m);
    h->resumed_at_ns = gc_now_ns();
    pthread_cond_broadcast(&h->resume_cond);
}

void gc_safepoint_slow(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    pthread_mutex_lock(&h->lock);
    if (h->stop_requested)
        mutator_park(m);
    pthread_mutex_unlock(&h->lock);
}

/* ---- Blocking regions ---- */

/* Copies the words from its own frame up (gc_blocking_enter's frame, with the registers
 * it spilled) before the thread reuses that stack, and leaves the running mutators. */
__attribute__((noinline, no_sanitize_address, no_sanitize_thread)) static void
enter_below_spill(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    char *low = __builtin_frame_address(0);
    size_t words = 0;
    if (h->conservative_stack) {
        words = (size_t)(m->stack_top - low) / sizeof(void *);
        if (words > BLOCKING_SPILL_WORDS)
            words = BLOCKING_SPILL_WORDS;
        const void *const *from = (const void *const *)(void *)low;
        for (size_t i = 0; i < words; i++)
            m->blocking_spill[i] = (void *)from[i];
    }
    for (size_t i = words; i < BLOCKING_SPILL_WORDS; i++)
        m->blocking_spill[i] = NULL;
    pthread_mutex_lock(&h->lock);
    if (m->state != MUTATOR_RUNNING)
        gc_fatal("gc_blocking_enter: the thread is in a blocking region already");
    m->stack_low = low;
    if (m->guest_held)
        guest_mode_mutator_stops(m);
    m->state = MUTATOR_BLOCKING;
    h->running--;
    pthread_cond_broadcast(&h->stopped_cond);
    pthread_mutex_unlock(&h->lock);
}

__attribute__((noinline)) void gc_blocking_enter(struct gc_mutator *m)
{
    __builtin_unwind_init();
    enter_below_spill(m);
}

void gc_blocking_leave(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    pthread_mutex_lock(&h->lock);
    if (m->state != MUTATOR_BLOCKING)
        gc_fatal("gc_blocking_leave without gc_blocking_enter");
    while (h->stop_requested)
        pthread_cond_wait(&h->resume_cond, &h->lock);
    m->state = MUTATOR_RUNNING;
    h->running++;
    if (m->guest_held)
        guest_mode_mutator_resumes(m);
    pthread_mutex_unlock(&h->lock);
}

/* ---- Attach and detach ---- */

static struct gc_mutator *refuse(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct gc_mutator *refuse(char *err, size_t err_len, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static char *find_stack_top(void)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return NULL;
    int rc = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    return rc == 0 ? (char *)addr + size : NULL;
}

static void mutator_free(struct gc_mutator *m)
{
    free(m->nursery_mine);
    free(m->nursery_last);
    free(m);
}

struct gc_mutator *gc_mutator_attach(struct gc_heap *h, char *err, size_t err_len)
{
    if (!h)
        return refuse(err, err_len, "gc_mutator_attach: no heap");
    struct gc_mutator *m = calloc(1, sizeof *m);
    if (!m)
        return refuse(err, err_len, "out of memory for the mutator");
    m->heap = h;
    m->thread = pthread_self();
    m->block = -1;
    m->state = MUTATOR_RUNNING;
    m->stress_countdown = h->stress_interval;
    m->nursery_mine = calloc(h->nursery_max_blocks, sizeof *m->nursery_mine);
    m->nursery_last = calloc(h->nursery_max_blocks, sizeof *m->nursery_last);
    if (!m->nursery_mine || !m->nursery_last) {
        mutator_free(m);
        return refuse(err, err_len, "out of memory for the mutator");
    }
    if (h->conservative_stack && !(m->stack_top = find_stack_top())) {
        mutator_free(m);
        return refuse(err, err_len,
                      "cannot find the calling thread's stack for conservative "
                      "scanning");
    }
    /* A gcvm barrier's mutator runs in guest mode, on a vCPU of its own. */
    if (gc_barrier_uses_guest_mode(h->barrier_kind)) {
        if (guest_mode_hold(err, err_len) != 0) {
            mutator_free(m);
            return NULL;
        }
        m->guest_held = true;
    }
    pthread_mutex_lock(&h->lock);
    for (struct gc_mutator *t = h->mutators; t; t = t->next) {
        if (pthread_equal(t->thread, m->thread)) {
            pthread_mutex_unlock(&h->lock);
            if (m->guest_held)
                guest_mode_release();
            mutator_free(m);
            return refuse(err, err_len, "the calling thread is a mutator of this heap already");
        }
    }
    while (h->stop_requested) /* not in the middle of a collection */
        pthread_cond_wait(&h->resume_cond, &h->lock);
    m->fast.card_table_biased = h->card_table_biased;
    m->fast.card_blocks_biased = h->card_blocks_biased;
    m->next = h->mutators;
    h->mutators = m;
    h->mutator_count++;
    h->running++;
    if (m->guest_held)
        guest_mode_mutator_resumes(m);
    pthread_mutex_unlock(&h->lock);
    return m;
}

void gc_mutator_detach(struct gc_mutator *m)
{
    if (!m)
        return;
    struct gc_heap *h = m->heap;
    pthread_mutex_lock(&h->lock);
    if (m->state != MUTATOR_RUNNING)
        gc_fatal("gc_mutator_detach: the thread is in a blocking region or collecting");
    if (h->stop_requested)
        mutator_park(m);
    if (m->guest_held)
        guest_mode_mutator_stops(m); /* its last writes count at the next collection */
    nursery_retire_block(h, m);
    for (struct gc_mutator **p = &h->mutators; *p; p = &(*p)->next) {
        if (*p == m) {
            *p = m->next;
            break;
        }
    }
    h->mutator_count--;
    h->running--;
    pthread_mutex_unlock(&h->lock);
    if (m->guest_held)
        guest_mode_release();
    mutator_free(m);
}

struct gc_heap *gc_mutator_heap(const struct gc_mutator *m)
{
    return m->heap;
}

void gc_mutator_set_root_tracer(struct gc_mutator *m, gc_root_trace_fn fn, void *user)
{
    pthread_mutex_lock(&m->heap->lock);
    m->root_tracer = fn;
    m->root_tracer_user = user;
    pthread_mutex_unlock(&m->heap->lock);
}

void trace_mutator_roots(struct gc_heap *h, gc_visit_fn visit, void *ctx)
{
    for (struct gc_mutator *m = h->mutators; m; m = m->next)
        if (m->root_tracer)
            m->root_tracer(visit, ctx, m->root_tracer_user);
}

void mutators_free_all(struct gc_heap *h)
{
    while (h->mutators) {
        struct gc_mutator *m = h->mutators;
        h->mutators = m->next;
        /* Another thread's hold stays: only that thread can take itself out. */
        if (m->guest_held && pthread_equal(m->thread, pthread_self()))
            guest_mode_release();
        mutator_free(m);
    }
    h->mutator_count = h->running = 0;
}
