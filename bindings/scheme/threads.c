/* SRFI-18: threads, mutexes and condition variables, on the collector's mutator API.
 *
 * Every Scheme thread is a POSIX thread that attaches to the heap as a mutator of its own
 * and has its own interpreter state (value stack, handlers, dynamic-wind list,
 * parameterize bindings: the thread-local variables of memory.c and eval.c). They run in
 * parallel, with no interpreter lock; the global environment and the heap are shared.
 *
 * Objects (heap, traced word by word):
 *   thread    [hdr | name | specific | thunk | state | result | inherited roots]
 *   mutex     [hdr | name | specific | owner]  owner: #f unlocked, a thread, #t not owned
 *   condition [hdr | name | specific | waiters | wakeups]
 * The fields that say who owns or waits (thread state and result, mutex owner, condition
 * counts) change only under sync_lock, which is never held across an allocation or a
 * wait. A thread that must wait records sync_generation, leaves the lock and sleeps on
 * sync_cond in a blocking region (it touches no heap object there) until the generation
 * changes: every unlock, signal and thread end bumps it and wakes all waiters, who look
 * again. One lock and one condition for everything is simple and fair enough for a few
 * threads; the waiters of unrelated objects wake for nothing. */
#define GC_THREADS             /* GC_register_my_thread */
#define GC_NO_THREAD_REDIRECTS /* pthread_create stays the plain one */
#include <errno.h>
#include <gc/gc.h>
#include <gcvm/gc-embedder.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheme.h"

enum thread_field { TH_NAME = 1, TH_SPECIFIC, TH_THUNK, TH_STATE, TH_RESULT, TH_INHERITED };
enum thread_state { TS_NEW, TS_RUNNING, TS_DONE, TS_FAILED };
enum mutex_field { MX_NAME = 1, MX_SPECIFIC, MX_OWNER };
enum condvar_field { CV_NAME = 1, CV_SPECIFIC, CV_WAITERS, CV_WAKEUPS };

static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cond;
static uint64_t sync_generation;
static int running_threads;
static size_t thread_stack_bytes = (size_t)8 << 20;
static value sym_uncaught, sym_join_timeout, sym_primordial;

#define THREAD_VALUE_STACK_ENTRIES ((size_t)8 << 20) /* 64 MiB reserved, touched as used */

#define THREAD_STACK_MAX ((size_t)64 << 20)

void threads_configure(size_t stack_bytes)
{
    thread_stack_bytes = stack_bytes < THREAD_STACK_MAX ? stack_bytes : THREAD_STACK_MAX;
}

int threads_running(void)
{
    return __atomic_load_n(&running_threads, __ATOMIC_ACQUIRE);
}

/* Wakes every waiter: something they may wait for changed. With sync_lock held. */
static void changed(void)
{
    sync_generation++;
    pthread_cond_broadcast(&sync_cond);
}

/* ---- Waiting ---- */

struct deadline {
    int set;
    struct timespec at; /* CLOCK_MONOTONIC */
};

/* A SRFI-18 timeout: #f or absent for none, else a number of seconds from now. */
static struct deadline deadline_from(const char *who, int argc, value *argv, int i)
{
    struct deadline d = {0, {0, 0}};
    if (argc <= i || argv[i] == FALSE_V || argv[i] == DEFAULT_V)
        return d;
    double s = arg_number_double(who, argv[i]);
    if (s != s)
        type_error(who, "a timeout in seconds", argv[i]);
    if (s < 0)
        s = 0;
    if (s > 1e9)
        s = 1e9;
    clock_gettime(CLOCK_MONOTONIC, &d.at);
    time_t whole = (time_t)s;
    long nsec = d.at.tv_nsec + (long)((s - (double)whole) * 1e9);
    d.at.tv_sec += whole + nsec / 1000000000L;
    d.at.tv_nsec = nsec % 1000000000L;
    d.set = 1;
    return d;
}

static int deadline_passed(const struct deadline *d)
{
    if (!d->set)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d->at.tv_sec ||
           (now.tv_sec == d->at.tv_sec && now.tv_nsec >= d->at.tv_nsec);
}

struct change_wait {
    uint64_t generation;
    const struct deadline *deadline;
};

static void wait_for_change_blocking(void *arg)
{
    struct change_wait *w = arg;
    pthread_mutex_lock(&sync_lock);
    while (sync_generation == w->generation) {
        if (!w->deadline->set) {
            pthread_cond_wait(&sync_cond, &sync_lock);
        } else if (pthread_cond_timedwait(&sync_cond, &sync_lock, &w->deadline->at) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&sync_lock);
}

/* Called with sync_lock held, after finding that what the thread waits for has not
 * happened: releases the lock and sleeps, in a blocking region, until something changes
 * or the deadline passes. Heap objects may have moved when it returns. */
static void wait_for_change(const struct deadline *d)
{
    struct change_wait w = {sync_generation, d};
    pthread_mutex_unlock(&sync_lock);
    scm_blocking(wait_for_change_blocking, &w);
}

/* ---- Checks ---- */

static value check_type(const char *who, value v, unsigned type, const char *what)
{
    if (!IS(v, type))
        type_error(who, what, v);
    return v;
}
#define THREAD_ARG(who, v) check_type(who, v, T_THREAD, "a thread")
#define MUTEX_ARG(who, v) check_type(who, v, T_MUTEX, "a mutex")
#define CONDVAR_ARG(who, v) check_type(who, v, T_CONDVAR, "a condition variable")

/* ---- Threads ---- */

static value new_thread_object(value thunk, value name, int state)
{
    vs_push(thunk);
    vs_push(name);
    value t = alloc_object(T_THREAD, 0, 6);
    SET(t, OBJ(t)[TH_NAME], vs[vsp - 1]);
    OBJ(t)[TH_SPECIFIC] = UNSPEC;
    SET(t, OBJ(t)[TH_THUNK], vs[vsp - 2]);
    OBJ(t)[TH_STATE] = MAKE_FIX(state);
    OBJ(t)[TH_RESULT] = UNSPEC;
    OBJ(t)[TH_INHERITED] = FALSE_V;
    vsp -= 2;
    return t;
}

/* The calling thread's object; the first thread's is made when first asked for. */
static value current_thread(void)
{
    if (runtime_roots[ROOT_THREAD] == FALSE_V) {
        value t = new_thread_object(FALSE_V, sym_primordial, TS_RUNNING);
        runtime_roots[ROOT_THREAD] = t;
    }
    return runtime_roots[ROOT_THREAD];
}

static value p_make_thread(int argc, value *argv)
{
    if (!procedure_p(argv[0]))
        type_error("make-thread", "a procedure", argv[0]);
    size_t base = (size_t)(argv - vs);
    value t = new_thread_object(argv[0], argc > 1 ? argv[1] : UNSPEC, TS_NEW);
    vs_push(t);
    /* The dynamic environment a new thread starts in: the maker's parameterize bindings
     * and current ports (SRFI-18); handlers and dynamic-winds are not inherited. */
    value inherited = make_vector(ROOT_COUNT, NIL);
    for (int i = 0; i < ROOT_COUNT; i++)
        if (i != ROOT_HANDLERS && i != ROOT_WINDS && i != ROOT_SCRATCH && i != ROOT_THREAD)
            SET(inherited, VREF(inherited, i), runtime_roots[i]);
    t = vs[--vsp];
    SET(t, OBJ(t)[TH_INHERITED], inherited);
    vsp = base + (size_t)argc;
    return t;
}

/* What a new POSIX thread gets: its thread object, a root until the thread has it on its
 * own value stack (on Boehm GC the record is uncollectable memory, which Boehm scans). */
struct thread_start {
    value thread;
};

static void run_thunk(void *arg)
{
    (void)arg;
    runtime_roots[ROOT_SCRATCH] = apply0(OBJ(vs[0])[TH_THUNK]);
}

/* Records how the thread ended (vs[0] its object, the result or condition on top) and
 * wakes the joiners. */
static void finish_thread(int state)
{
    value t = vs[0];
    value result = vs[vsp - 1];
    pthread_mutex_lock(&sync_lock);
    SET(t, OBJ(t)[TH_RESULT], result);
    SET(t, OBJ(t)[TH_THUNK], FALSE_V);
    OBJ(t)[TH_STATE] = MAKE_FIX(state);
    changed();
    pthread_mutex_unlock(&sync_lock);
}

/* A start record holding t, or NULL when out of memory. */
static struct thread_start *new_start(value t)
{
    struct thread_start *start;
    if (scm_use_boehm) {
        start = GC_MALLOC_UNCOLLECTABLE(sizeof *start);
    } else {
        start = malloc(sizeof *start);
        if (start && gc_root_add(scm_heap, (void **)&start->thread) != 0) {
            free(start);
            start = NULL;
        }
    }
    if (start)
        start->thread = t;
    return start;
}

static void release_start(struct thread_start *start)
{
    if (scm_use_boehm) {
        GC_FREE(start);
        return;
    }
    gc_root_remove(scm_heap, (void **)&start->thread);
    free(start);
}

static void *thread_main(void *arg)
{
    struct thread_start *start = arg;
    if (scm_use_boehm) {
        struct GC_stack_base sb;
        GC_get_stack_base(&sb);
        GC_register_my_thread(&sb);
    }
    eval_init(thread_stack_bytes);
    char err[300];
    if (memory_thread_attach(THREAD_VALUE_STACK_ENTRIES, err, sizeof err) != 0) {
        fprintf(stderr, "gcvm-scheme: a new thread cannot run: %s\n", err);
        exit(70);
    }
    vs_push(start->thread);
    release_start(start);
    value t = vs[0];
    value inherited = OBJ(t)[TH_INHERITED];
    for (int i = 0; i < ROOT_COUNT; i++)
        runtime_roots[i] = VREF(inherited, i);
    runtime_roots[ROOT_THREAD] = t;
    SET(t, OBJ(t)[TH_INHERITED], FALSE_V);
    int rc = run_protected_keep(run_thunk, NULL); /* 1: the condition on the value stack */
    if (rc == 0)
        vs_push(runtime_roots[ROOT_SCRATCH]);
    if (rc == 2) { /* (exit) in any thread ends the program */
        flush_standard_ports();
        exit(scm_exit_requested());
    }
    finish_thread(rc == 0 ? TS_DONE : TS_FAILED);
    for (int i = 0; i < ROOT_COUNT; i++)
        runtime_roots[i] = NIL;
    vsp = 0;
    eval_thread_finish();
    equal_thread_finish();
    read_thread_finish();
    memory_thread_detach();
    if (scm_use_boehm)
        GC_unregister_my_thread();
    __atomic_sub_fetch(&running_threads, 1, __ATOMIC_RELEASE);
    return NULL;
}

static value p_thread_start(int argc, value *argv)
{
    (void)argc;
    value t = THREAD_ARG("thread-start!", argv[0]);
    pthread_mutex_lock(&sync_lock);
    int fresh = OBJ(t)[TH_STATE] == MAKE_FIX(TS_NEW);
    if (fresh)
        OBJ(t)[TH_STATE] = MAKE_FIX(TS_RUNNING);
    pthread_mutex_unlock(&sync_lock);
    if (!fresh)
        scm_error1("thread-start!: the thread was started already", t);
    struct thread_start *start = new_start(t);
    if (!start)
        scm_error("thread-start!: out of memory", NIL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, thread_stack_bytes);
    __atomic_add_fetch(&running_threads, 1, __ATOMIC_ACQ_REL);
    pthread_t id;
    int rc = pthread_create(&id, &attr, thread_main, start);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        __atomic_sub_fetch(&running_threads, 1, __ATOMIC_ACQ_REL);
        t = start->thread;
        release_start(start);
        pthread_mutex_lock(&sync_lock);
        OBJ(t)[TH_STATE] = MAKE_FIX(TS_NEW);
        pthread_mutex_unlock(&sync_lock);
        char msg[160];
        snprintf(msg, sizeof msg, "thread-start!: cannot start a thread: %s", strerror(rc));
        scm_error(msg, NIL);
    }
    return argv[0];
}

static value p_thread_join(int argc, value *argv)
{
    THREAD_ARG("thread-join!", argv[0]);
    struct deadline d = deadline_from("thread-join!", argc, argv, 1);
    size_t base = (size_t)(argv - vs);
    for (;;) {
        pthread_mutex_lock(&sync_lock);
        value t = vs[base];
        intptr_t state = FIX(OBJ(t)[TH_STATE]);
        if (state == TS_DONE || state == TS_FAILED) {
            value result = OBJ(t)[TH_RESULT];
            pthread_mutex_unlock(&sync_lock);
            if (state == TS_DONE)
                return result;
            value e = make_error("uncaught-exception",
                                 "thread-join!: the thread ended with an uncaught exception",
                                 cons(result, NIL));
            scm_raise(e);
        }
        if (deadline_passed(&d)) {
            pthread_mutex_unlock(&sync_lock);
            if (argc > 2)
                return vs[base + 2];
            scm_raise(make_error("join-timeout-exception", "thread-join!: timed out",
                                 cons(vs[base], NIL)));
        }
        wait_for_change(&d);
    }
}

static value p_thread_yield(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    if (!scm_use_boehm)
        gc_safepoint(scm_mut);
    sched_yield();
    return UNSPEC;
}

static void sleep_blocking(void *arg)
{
    struct timespec *left = arg;
    while (nanosleep(left, left) != 0 && errno == EINTR)
        ;
}

static value p_thread_sleep(int argc, value *argv)
{
    (void)argc;
    double s = arg_number_double("thread-sleep!", argv[0]);
    if (s != s)
        type_error("thread-sleep!", "a number of seconds", argv[0]);
    if (s <= 0) /* a time already past: no wait */
        return UNSPEC;
    if (s > 1e9)
        s = 1e9;
    struct timespec left = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    scm_blocking(sleep_blocking, &left);
    return UNSPEC;
}

static value p_current_thread(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return current_thread();
}

static value p_thread_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_THREAD));
}

/* Name and specific: the same two fields in the three kinds of objects. */
static value field_ref(const char *who, unsigned type, const char *what, value v, int field)
{
    return OBJ(check_type(who, v, type, what))[field];
}

static value field_set(const char *who, unsigned type, const char *what, value *argv, int field)
{
    value v = check_type(who, argv[0], type, what);
    SET(v, OBJ(v)[field], argv[1]);
    return UNSPEC;
}

static value p_thread_name(int argc, value *argv)
{
    (void)argc;
    return field_ref("thread-name", T_THREAD, "a thread", argv[0], TH_NAME);
}

static value p_thread_specific(int argc, value *argv)
{
    (void)argc;
    return field_ref("thread-specific", T_THREAD, "a thread", argv[0], TH_SPECIFIC);
}

static value p_thread_specific_set(int argc, value *argv)
{
    (void)argc;
    return field_set("thread-specific-set!", T_THREAD, "a thread", argv, TH_SPECIFIC);
}

/* ---- Mutexes ---- */

static value new_sync_object(unsigned type, size_t words, value name)
{
    vs_push(name);
    value m = alloc_object(type, 0, words);
    SET(m, OBJ(m)[1], vs[--vsp]);
    OBJ(m)[2] = UNSPEC;
    for (size_t i = 3; i <= words; i++)
        OBJ(m)[i] = type == T_MUTEX ? FALSE_V : MAKE_FIX(0);
    return m;
}

static value p_make_mutex(int argc, value *argv)
{
    return new_sync_object(T_MUTEX, 3, argc > 0 ? argv[0] : UNSPEC);
}

static value p_mutex_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_MUTEX));
}

static value p_mutex_name(int argc, value *argv)
{
    (void)argc;
    return field_ref("mutex-name", T_MUTEX, "a mutex", argv[0], MX_NAME);
}

static value p_mutex_specific(int argc, value *argv)
{
    (void)argc;
    return field_ref("mutex-specific", T_MUTEX, "a mutex", argv[0], MX_SPECIFIC);
}

static value p_mutex_specific_set(int argc, value *argv)
{
    (void)argc;
    return field_set("mutex-specific-set!", T_MUTEX, "a mutex", argv, MX_SPECIFIC);
}

/* (mutex-state m): the owning thread, not-owned, or not-abandoned (unlocked). */
static value p_mutex_state(int argc, value *argv)
{
    (void)argc;
    value m = MUTEX_ARG("mutex-state", argv[0]);
    pthread_mutex_lock(&sync_lock);
    value owner = OBJ(m)[MX_OWNER];
    pthread_mutex_unlock(&sync_lock);
    if (owner == FALSE_V)
        return intern_c("not-abandoned");
    return owner == TRUE_V ? intern_c("not-owned") : owner;
}

/* (mutex-lock! m [timeout [thread]]): #t when locked, #f when the timeout passed. */
static value p_mutex_lock(int argc, value *argv)
{
    MUTEX_ARG("mutex-lock!", argv[0]);
    struct deadline d = deadline_from("mutex-lock!", argc, argv, 1);
    size_t base = (size_t)(argv - vs);
    value owner;
    if (argc > 2 && argv[2] != DEFAULT_V)
        owner = argv[2] == FALSE_V ? TRUE_V : THREAD_ARG("mutex-lock!", argv[2]);
    else
        owner = current_thread();
    vs_push(owner);
    for (;;) {
        pthread_mutex_lock(&sync_lock);
        value m = vs[base];
        if (OBJ(m)[MX_OWNER] == FALSE_V) {
            SET(m, OBJ(m)[MX_OWNER], vs[vsp - 1]);
            pthread_mutex_unlock(&sync_lock);
            vsp--;
            return TRUE_V;
        }
        if (deadline_passed(&d)) {
            pthread_mutex_unlock(&sync_lock);
            vsp--;
            return FALSE_V;
        }
        wait_for_change(&d);
    }
}

/* (mutex-unlock! m [condition [timeout]]): unlocks; with a condition variable, also waits
 * on it (both at once, so no signal is lost in between) and returns #f if the timeout
 * passed first. The mutex is not locked again. */
static value p_mutex_unlock(int argc, value *argv)
{
    MUTEX_ARG("mutex-unlock!", argv[0]);
    int with_cv = argc > 1 && argv[1] != DEFAULT_V && argv[1] != FALSE_V;
    if (with_cv)
        CONDVAR_ARG("mutex-unlock!", argv[1]);
    struct deadline d = deadline_from("mutex-unlock!", argc, argv, 2);
    size_t base = (size_t)(argv - vs);
    pthread_mutex_lock(&sync_lock);
    OBJ(argv[0])[MX_OWNER] = FALSE_V;
    if (with_cv)
        OBJ(argv[1])[CV_WAITERS] = MAKE_FIX(FIX(OBJ(argv[1])[CV_WAITERS]) + 1);
    changed();
    if (!with_cv) {
        pthread_mutex_unlock(&sync_lock);
        return TRUE_V;
    }
    for (;;) {
        value cv = vs[base + 1];
        intptr_t wakeups = FIX(OBJ(cv)[CV_WAKEUPS]);
        int woken = wakeups > 0, timed_out = !woken && deadline_passed(&d);
        if (woken || timed_out) {
            if (woken)
                OBJ(cv)[CV_WAKEUPS] = MAKE_FIX(wakeups - 1);
            OBJ(cv)[CV_WAITERS] = MAKE_FIX(FIX(OBJ(cv)[CV_WAITERS]) - 1);
            pthread_mutex_unlock(&sync_lock);
            return BOOL(woken);
        }
        wait_for_change(&d);
        pthread_mutex_lock(&sync_lock);
    }
}

/* ---- Condition variables ---- */

static value p_make_condvar(int argc, value *argv)
{
    return new_sync_object(T_CONDVAR, 4, argc > 0 ? argv[0] : UNSPEC);
}

static value p_condvar_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_CONDVAR));
}

static value p_condvar_name(int argc, value *argv)
{
    (void)argc;
    return field_ref("condition-variable-name", T_CONDVAR, "a condition variable", argv[0],
                     CV_NAME);
}

static value p_condvar_specific(int argc, value *argv)
{
    (void)argc;
    return field_ref("condition-variable-specific", T_CONDVAR, "a condition variable", argv[0],
                     CV_SPECIFIC);
}

static value p_condvar_specific_set(int argc, value *argv)
{
    (void)argc;
    return field_set("condition-variable-specific-set!", T_CONDVAR, "a condition variable", argv,
                     CV_SPECIFIC);
}

/* Wakes one waiter (signal) or all of them (broadcast): each wakeup lets one waiter
 * return from mutex-unlock!. */
static value wake(const char *who, value cv, int all)
{
    CONDVAR_ARG(who, cv);
    pthread_mutex_lock(&sync_lock);
    intptr_t waiters = FIX(OBJ(cv)[CV_WAITERS]), wakeups = FIX(OBJ(cv)[CV_WAKEUPS]);
    if (wakeups < waiters) {
        OBJ(cv)[CV_WAKEUPS] = MAKE_FIX(all ? waiters : wakeups + 1);
        changed();
    }
    pthread_mutex_unlock(&sync_lock);
    return UNSPEC;
}

static value p_condvar_signal(int argc, value *argv)
{
    (void)argc;
    return wake("condition-variable-signal!", argv[0], 0);
}

static value p_condvar_broadcast(int argc, value *argv)
{
    (void)argc;
    return wake("condition-variable-broadcast!", argv[0], 1);
}

/* ---- Conditions that thread-join! raises ---- */

static int error_of_kind(value v, value kind)
{
    return IS(v, T_ERROR) && ERR_KIND(v) == kind;
}

static value p_uncaught_exception_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(error_of_kind(argv[0], sym_uncaught));
}

static value p_uncaught_exception_reason(int argc, value *argv)
{
    (void)argc;
    if (!error_of_kind(argv[0], sym_uncaught))
        type_error("uncaught-exception-reason", "an uncaught-exception condition", argv[0]);
    return CAR(ERR_IRRITANTS(argv[0]));
}

static value p_join_timeout_exception_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(error_of_kind(argv[0], sym_join_timeout));
}

void prims_threads_init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&sync_cond, &attr);
    pthread_condattr_destroy(&attr);
    sym_uncaught = intern_c("uncaught-exception");
    sym_join_timeout = intern_c("join-timeout-exception");
    sym_primordial = intern_c("primordial");
    define_primitive("make-thread", p_make_thread, 1, 2);
    define_primitive("thread-start!", p_thread_start, 1, 1);
    define_primitive("thread-join!", p_thread_join, 1, 3);
    define_primitive("thread-yield!", p_thread_yield, 0, 0);
    define_primitive("thread-sleep!", p_thread_sleep, 1, 1);
    define_primitive("current-thread", p_current_thread, 0, 0);
    define_primitive("thread?", p_thread_p, 1, 1);
    define_primitive("thread-name", p_thread_name, 1, 1);
    define_primitive("thread-specific", p_thread_specific, 1, 1);
    define_primitive("thread-specific-set!", p_thread_specific_set, 2, 2);
    define_primitive("make-mutex", p_make_mutex, 0, 1);
    define_primitive("mutex?", p_mutex_p, 1, 1);
    define_primitive("mutex-name", p_mutex_name, 1, 1);
    define_primitive("mutex-specific", p_mutex_specific, 1, 1);
    define_primitive("mutex-specific-set!", p_mutex_specific_set, 2, 2);
    define_primitive("mutex-state", p_mutex_state, 1, 1);
    define_primitive("mutex-lock!", p_mutex_lock, 1, 3);
    define_primitive("mutex-unlock!", p_mutex_unlock, 1, 3);
    define_primitive("make-condition-variable", p_make_condvar, 0, 1);
    define_primitive("condition-variable?", p_condvar_p, 1, 1);
    define_primitive("condition-variable-name", p_condvar_name, 1, 1);
    define_primitive("condition-variable-specific", p_condvar_specific, 1, 1);
    define_primitive("condition-variable-specific-set!", p_condvar_specific_set, 2, 2);
    define_primitive("condition-variable-signal!", p_condvar_signal, 1, 1);
    define_primitive("condition-variable-broadcast!", p_condvar_broadcast, 1, 1);
    define_primitive("uncaught-exception?", p_uncaught_exception_p, 1, 1);
    define_primitive("uncaught-exception-reason", p_uncaught_exception_reason, 1, 1);
    define_primitive("join-timeout-exception?", p_join_timeout_exception_p, 1, 1);
}
