/* Many mutator threads on one heap, against a model.
 *
 * Usage: test_threads BARRIER THREADS [STEPS [STRESS_INTERVAL [OPTION...]]]
 * options: conservative (scan the threads' stacks); concurrent (major collections mark
 * concurrently, and at least one cycle must end while the workers run) or stw (they stop
 * the world; neither: the heap's default); gc-threads=N (N collector threads)
 *
 * THREADS workers each own a private structure (old nodes whose slots get young nodes:
 * old-to-young stores from every thread) reached through their own root tracer, and
 * share another one (heap roots) under a mutex, taken inside a blocking region. Each
 * worker checks its model whenever its root tracer saw a collection, and the shared model
 * under the mutex. Alongside: threads that attach, allocate, collect and detach while the
 * others run; a thread blocked in read(2) on a pipe inside a blocking region, released
 * only after collections ran without it; a thread that only spins on gc_safepoint (the
 * collections would wait forever if it did not stop there). The heap verifier runs
 * around every collection, and stress mode collects every STRESS_INTERVAL allocations of
 * each thread.
 *
 * gc-threads=N: the collections run on N collector threads (gc_config.parallelism), minor
 * collections must have run in parallel, and stopped mutators must have helped in their
 * phases, visiting their own roots on their own thread. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_NODE = 1, KIND_BLOB = 2 };
#define SLOTS 16
#define PRIVATE_ROOTS 8
#define SHARED_ROOTS 8
#define BLOB_KEY 0x5a5a5a5a5a5a5a5aull
#define MAX_WORKERS 8

struct node {
    uint64_t id, value, nslots;
    void *slots[];
};

struct blob {
    uint64_t check;
};

struct expect {
    uint64_t id, value; /* id 0: the slot holds NULL */
};

static struct gc_heap *heap;
static _Atomic uint64_t next_id = 1;
static _Atomic int stop_helpers;

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct node *n = obj;
    for (uint64_t i = 0; i < n->nslots; i++)
        visit(&n->slots[i], ctx);
}

/* ---- One thread's view: its mutator, roots, model and random numbers ---- */

struct thread_state {
    struct gc_mutator *m;
    uint64_t rng;
    void *roots[PRIVATE_ROOTS];
    void *tmp; /* a fresh object kept across a call that may collect */
    struct expect model[PRIVATE_ROOTS][SLOTS];
    _Atomic uint64_t collections_seen; /* counted by the root tracer */
    uint64_t collections_checked;
    long steps;
};

static uint64_t next_random(struct thread_state *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

static void trace_thread_roots(gc_visit_fn visit, void *ctx, void *user)
{
    struct thread_state *t = user;
    for (int i = 0; i < PRIVATE_ROOTS; i++)
        visit(&t->roots[i], ctx);
    visit(&t->tmp, ctx);
    atomic_fetch_add_explicit(&t->collections_seen, 1, memory_order_relaxed);
}

static void attach_thread(struct thread_state *t)
{
    t->m = attach_or_fail(heap);
    gc_mutator_set_root_tracer(t->m, trace_thread_roots, t);
}

static struct node *must_alloc_node(struct thread_state *t, size_t nslots)
{
    struct node *n = gc_alloc(t->m, KIND_NODE, sizeof *n + nslots * sizeof(void *));
    CHECK_MSG(n != NULL, "out of memory for a node of %zu slots", nslots);
    n->nslots = nslots;
    n->id = atomic_fetch_add(&next_id, 1);
    return n;
}

/* A node (large with some probability) with a blob child; left in t->tmp. */
static struct node *make_young(struct thread_state *t, uint64_t value)
{
    size_t nslots = next_random(t) % 64 == 0 ? 1100 : 1 + next_random(t) % 3;
    struct node *n = must_alloc_node(t, nslots);
    n->value = value;
    t->tmp = n;
    struct blob *b = gc_alloc_pointerfree(t->m, KIND_BLOB, sizeof *b);
    CHECK(b != NULL);
    b->check = value ^ BLOB_KEY;
    n = t->tmp; /* the blob's allocation may have collected and moved it */
    n->slots[0] = b;
    gc_write_barrier(t->m, &n->slots[0]);
    return n;
}

static void check_slot(const struct node *holder, int slot, const struct expect *e,
                       const char *what)
{
    const struct node *p = holder->slots[slot];
    if (e->id == 0) {
        CHECK_MSG(p == NULL, "%s slot %d: expected NULL, found %p", what, slot, (void *)p);
        return;
    }
    CHECK_MSG(p != NULL, "%s slot %d: object %" PRIu64 " is missing", what, slot, e->id);
    CHECK_MSG(p->id == e->id && p->value == e->value,
              "%s slot %d: expected object %" PRIu64 " value %" PRIu64 ", found %" PRIu64
              " value %" PRIu64,
              what, slot, e->id, e->value, p->id, p->value);
    const struct blob *b = p->slots[0];
    CHECK_MSG(b != NULL && b->check == (e->value ^ BLOB_KEY),
              "%s slot %d: object %" PRIu64 " lost its child", what, slot, e->id);
}

static void check_private(const struct thread_state *t)
{
    for (int i = 0; i < PRIVATE_ROOTS; i++)
        for (int j = 0; j < SLOTS; j++)
            check_slot(t->roots[i], j, &t->model[i][j], "private");
}

static void new_private_root(struct thread_state *t, int i)
{
    struct node *n = must_alloc_node(t, SLOTS);
    t->roots[i] = n;
    memset(t->model[i], 0, sizeof t->model[i]);
}

/* ---- The shared structure: heap roots, changed and checked under a mutex ---- */

static void *shared[SHARED_ROOTS];
static struct expect shared_model[SHARED_ROOTS][SLOTS];
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* Waiting for the mutex may block: others must be able to collect meanwhile. */
static void lock_shared(struct gc_mutator *m)
{
    gc_blocking_enter(m);
    pthread_mutex_lock(&shared_lock);
    gc_blocking_leave(m);
}

static void check_shared_locked(void)
{
    for (int i = 0; i < SHARED_ROOTS; i++)
        for (int j = 0; j < SLOTS; j++)
            check_slot(shared[i], j, &shared_model[i][j], "shared");
}

static void store_shared(struct thread_state *t)
{
    uint64_t value = next_random(t);
    make_young(t, value); /* kept in t->tmp */
    lock_shared(t->m);
    struct node *young = t->tmp; /* may have moved while this thread waited */
    int i = (int)(next_random(t) % SHARED_ROOTS), j = (int)(next_random(t) % SLOTS);
    struct node *holder = shared[i];
    holder->slots[j] = young;
    gc_write_barrier(t->m, &holder->slots[j]);
    shared_model[i][j] = (struct expect){young->id, value};
    pthread_mutex_unlock(&shared_lock);
    t->tmp = NULL;
}

static void check_shared(struct gc_mutator *m)
{
    lock_shared(m);
    check_shared_locked();
    pthread_mutex_unlock(&shared_lock);
}

/* ---- Workers ---- */

static void check_if_collected(struct thread_state *t)
{
    uint64_t seen = atomic_load_explicit(&t->collections_seen, memory_order_relaxed);
    if (seen == t->collections_checked)
        return;
    t->collections_checked = seen;
    check_private(t);
}

static void step(struct thread_state *t)
{
    uint64_t r = next_random(t) % 64;
    if (r < 32) { /* old-to-young store into the private structure */
        uint64_t value = next_random(t);
        struct node *young = make_young(t, value);
        int i = (int)(next_random(t) % PRIVATE_ROOTS), j = (int)(next_random(t) % SLOTS);
        struct node *holder = t->roots[i];
        holder->slots[j] = young;
        gc_write_barrier(t->m, &holder->slots[j]);
        t->model[i][j] = (struct expect){young->id, value};
        t->tmp = NULL;
    } else if (r < 52) { /* garbage */
        CHECK(gc_alloc_pointerfree(t->m, KIND_BLOB, 16 + next_random(t) % 300) != NULL);
    } else if (r < 56) { /* a slot cleared */
        int i = (int)(next_random(t) % PRIVATE_ROOTS), j = (int)(next_random(t) % SLOTS);
        struct node *holder = t->roots[i];
        holder->slots[j] = NULL;
        t->model[i][j] = (struct expect){0, 0};
    } else if (r < 59) {
        store_shared(t);
    } else if (r == 59) {
        new_private_root(t, (int)(next_random(t) % PRIVATE_ROOTS));
    } else if (r == 60 && next_random(t) % 16 == 0) {
        gc_collect(t->m, next_random(t) % 4 == 0 ? GC_COLLECT_MAJOR : GC_COLLECT_MINOR);
    } else if (r == 61 && next_random(t) % 8 == 0) {
        check_shared(t->m);
    } else {
        gc_safepoint(t->m);
    }
    check_if_collected(t);
}

static void *worker(void *arg)
{
    struct thread_state *t = arg;
    attach_thread(t);
    /* A heap root added and removed from a worker: registration is heap-wide, any
     * thread's. */
    static _Thread_local void *extra_root;
    CHECK(gc_root_add(heap, &extra_root) == 0);
    for (int i = 0; i < PRIVATE_ROOTS; i++)
        new_private_root(t, i);
    for (long s = 0; s < t->steps; s++)
        step(t);
    gc_collect(t->m, GC_COLLECT_MINOR);
    check_private(t);
    check_shared(t->m);
    CHECK(gc_root_remove(heap, &extra_root) == 0);
    gc_mutator_detach(t->m);
    return NULL;
}

/* ---- Threads that come and go ---- */

static void *transient(void *arg)
{
    struct thread_state *t = arg;
    attach_thread(t);
    for (int i = 0; i < PRIVATE_ROOTS; i++)
        new_private_root(t, i);
    for (int s = 0; s < 300; s++)
        step(t);
    gc_collect(t->m, GC_COLLECT_MINOR);
    check_private(t);
    gc_mutator_detach(t->m);
    return NULL;
}

static void *spawner(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    int spawned = 0;
    do { /* at least one, however the threads are scheduled */
        static struct thread_state t;
        memset(&t, 0, sizeof t);
        t.rng = seed * 7919 + (uint64_t)++spawned;
        pthread_t th;
        CHECK(pthread_create(&th, NULL, transient, &t) == 0);
        CHECK(pthread_join(th, NULL) == 0);
    } while (!atomic_load(&stop_helpers));
    return (void *)(uintptr_t)spawned;
}

/* ---- A thread blocked in read(2), and one that only polls ---- */

static int pipe_fds[2];
static struct thread_state blocked_state;
static _Atomic uint64_t blocked_since; /* its collections_seen when it blocked, plus one */

static void *blocked_reader(void *arg)
{
    (void)arg;
    struct thread_state *t = &blocked_state;
    attach_thread(t);
    for (int i = 0; i < PRIVATE_ROOTS; i++)
        new_private_root(t, i);
    for (int s = 0; s < 200; s++)
        step(t); /* young objects in its structure, held only by its roots */
    gc_blocking_enter(t->m);
    atomic_store(&blocked_since,
                 atomic_load_explicit(&t->collections_seen, memory_order_relaxed) + 1);
    char byte;
    CHECK(read(pipe_fds[0], &byte, 1) == 1);
    gc_blocking_leave(t->m);
    check_private(t);
    gc_mutator_detach(t->m);
    return NULL;
}

static struct thread_state spinner_state;
static _Atomic int spinner_spinning; /* set once it holds its object and polls */

static void *spinner(void *arg)
{
    (void)arg;
    struct thread_state *t = &spinner_state;
    attach_thread(t);
    struct node *n = must_alloc_node(t, 1);
    n->value = 4242;
    t->tmp = n;
    atomic_store(&spinner_spinning, 1);
    long polls = 0;
    while (!atomic_load(&stop_helpers)) {
        gc_safepoint(t->m);
        n = t->tmp;
        CHECK_MSG(n->value == 4242, "the spinner's object changed across a safepoint");
        polls++;
        if (polls % 64 == 0)
            sched_yield();
    }
    CHECK_MSG(atomic_load(&t->collections_seen) > 0, "no collection ran while the spinner spun");
    gc_mutator_detach(t->m);
    return NULL;
}

static uint64_t collections_so_far(void)
{
    struct gc_stats s;
    gc_get_stats(heap, &s);
    return s.minor_collections + s.major_collections;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(
            stderr,
            "usage: %s BARRIER THREADS [STEPS [STRESS_INTERVAL [conservative] [gc-threads=N]]]\n",
            argv[0]);
        return 2;
    }
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    int nworkers = atoi(argv[2]);
    CHECK_MSG(nworkers >= 1 && nworkers <= MAX_WORKERS, "THREADS must be 1 to %d", MAX_WORKERS);
    long steps = argc > 3 ? atol(argv[3]) : 20000;
    unsigned stress = argc > 4 ? (unsigned)atoi(argv[4]) : 0;
    bool conservative = false;
    unsigned gc_threads = 0;
    int concurrent_marking = 0;
    for (int a = 5; a < argc; a++) {
        if (strcmp(argv[a], "conservative") == 0)
            conservative = true;
        else if (strcmp(argv[a], "concurrent") == 0)
            concurrent_marking = 1;
        else if (strcmp(argv[a], "stw") == 0)
            concurrent_marking = -1;
        else
            CHECK_MSG(sscanf(argv[a], "gc-threads=%u", &gc_threads) == 1 && gc_threads >= 1,
                      "unknown option %s", argv[a]);
    }

    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)64 << 20;
    cfg.nursery_bytes = (size_t)512 << 10;
    cfg.stress_interval = stress;
    cfg.verify = 1;
    cfg.conservative_stack = conservative;
    cfg.parallelism = gc_threads;
    cfg.concurrent_marking = concurrent_marking;
    char err[256];
    heap = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "gc_heap_create: %s", err);
    CHECK(gc_register_kind(heap, KIND_NODE, trace_node) == 0);
    /* Stopped mutators that offer help are waited for: their part below is then checked
     * whatever the scheduling (without it, CI's loaded runner had 0 helped phases). */
    gc_debug_wait_for_helpers(heap, 1);

    /* The main thread builds the shared structure, then only waits: in a blocking region,
     * so that it never holds a collection up. */
    struct gc_mutator *main_m = attach_or_fail(heap);
    for (int i = 0; i < SHARED_ROOTS; i++) {
        CHECK(gc_root_add(heap, &shared[i]) == 0);
        struct node *n = gc_alloc(main_m, KIND_NODE, sizeof *n + SLOTS * sizeof(void *));
        CHECK(n != NULL);
        n->nslots = SLOTS;
        n->id = atomic_fetch_add(&next_id, 1);
        shared[i] = n;
    }
    gc_collect(main_m, GC_COLLECT_MINOR);
    CHECK(pipe(pipe_fds) == 0);
    gc_blocking_enter(main_m);

    static struct thread_state workers[MAX_WORKERS];
    pthread_t worker_threads[MAX_WORKERS], blocked_thread, spinner_thread, spawner_thread;
    for (int w = 0; w < nworkers; w++) {
        workers[w].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(w + 1);
        workers[w].steps = steps;
        CHECK(pthread_create(&worker_threads[w], NULL, worker, &workers[w]) == 0);
    }
    blocked_state.rng = 12345;
    spinner_state.rng = 777;
    CHECK(pthread_create(&blocked_thread, NULL, blocked_reader, NULL) == 0);
    CHECK(pthread_create(&spinner_thread, NULL, spinner, NULL) == 0);
    CHECK(pthread_create(&spawner_thread, NULL, spawner, (void *)(uintptr_t)nworkers) == 0);

    /* Release the reader only after three collections ran while it was blocked. */
    double deadline = now_s() + 60;
    while (atomic_load(&blocked_since) == 0 ||
           atomic_load_explicit(&blocked_state.collections_seen, memory_order_relaxed) <
               atomic_load(&blocked_since) + 2) {
        CHECK_MSG(now_s() < deadline,
                  "collections did not go on while a thread was blocked "
                  "(%" PRIu64 " so far)",
                  collections_so_far());
        usleep(1000);
    }
    CHECK(write(pipe_fds[1], "x", 1) == 1);
    CHECK(pthread_join(blocked_thread, NULL) == 0);
    for (int w = 0; w < nworkers; w++)
        CHECK(pthread_join(worker_threads[w], NULL) == 0);
    /* The workers may all be done before the spinner first ran (CI's loaded runner started
     * it after them): then collect until one has run while it spins. */
    deadline = now_s() + 60;
    while (!atomic_load(&spinner_spinning)) {
        CHECK_MSG(now_s() < deadline, "%s", "the spinner never started");
        usleep(1000);
    }
    gc_blocking_leave(main_m);
    while (atomic_load_explicit(&spinner_state.collections_seen, memory_order_relaxed) == 0) {
        CHECK_MSG(now_s() < deadline, "%s", "no collection ran while the spinner spun");
        gc_collect(main_m, GC_COLLECT_MINOR);
    }
    gc_blocking_enter(main_m);
    atomic_store(&stop_helpers, 1);
    void *spawned;
    CHECK(pthread_join(spawner_thread, &spawned) == 0);
    CHECK(pthread_join(spinner_thread, NULL) == 0);
    CHECK_MSG((uintptr_t)spawned >= 1, "no thread attached and detached during the run");

    gc_blocking_leave(main_m);
    struct gc_stats stats;
    gc_get_stats(heap, &stats);
    if (cfg.concurrent_marking == 1)
        CHECK_MSG(stats.concurrent_cycles > 0, "%s", "no concurrent cycle ended during the run");
    gc_collect(main_m, GC_COLLECT_MAJOR);
    check_shared_locked();
    CHECK(gc_verify(main_m) == 0);
    if (gc_threads > 1 && kind != GC_BARRIER_NONE) {
        struct gc_stats st;
        gc_get_stats(heap, &st);
        CHECK_MSG(
            st.minor_collections > 0 && st.parallel_minor_collections >= st.minor_collections &&
                st.parallel_minor_collections <=
                    st.minor_collections + 2 * st.concurrent_cycles + 2,
            "%" PRIu64 " parallel minor collections for %" PRIu64 " minor ones and %" PRIu64
            " concurrent cycles on %u collector threads (a cycle's first and final pauses "
            "run one each)",
            st.parallel_minor_collections, st.minor_collections, st.concurrent_cycles, gc_threads);
        /* Stopped mutators helped, and visited their own roots on their own thread: over
         * a few phases at least once (the collecting thread waits for the helpers to join,
         * gc_debug_wait_for_helpers above; still, a helper that joins late finds its roots
         * claimed by a worker that came first, and a stop in which every other mutator
         * was blocked has no helper). */
        uint64_t phases = st.parallel_minor_collections + st.parallel_marks;
        CHECK_MSG((phases < 20 || st.phases_helped > 0) &&
                      (st.phases_helped < 20 || st.own_roots_traced_by_helpers > 0),
                  "%" PRIu64 " parallel phases helped by stopped mutators, %" PRIu64
                  " root tracer calls by a helper for its own mutator",
                  st.phases_helped, st.own_roots_traced_by_helpers);
        printf("%" PRIu64 " of %" PRIu64 " parallel phases helped by stopped mutators, %" PRIu64
               " of them on their own roots first\n",
               st.phases_helped, phases, st.own_roots_traced_by_helpers);
    }
    printf("%d workers x %ld steps, %" PRIuPTR " transient threads, %" PRIu64
           " collections (%" PRIu64 " concurrent cycles): PASS\n",
           nworkers, steps, (uintptr_t)spawned, collections_so_far(), stats.concurrent_cycles);
    gc_mutator_detach(main_m);
    gc_heap_destroy(heap);
    return 0;
}
