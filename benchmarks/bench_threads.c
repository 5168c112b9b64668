/* gcvm-threads-bench: binary-trees on 1, 2 and 4 mutator threads at once, each thread
 * with its own long-lived tree and its own short-lived trees (the Computer Language
 * Benchmarks Game program, run per thread), on one gcvm heap (card and uffd barriers),
 * on Boehm GC with its threads registered (its marker threads are its own), and on
 * malloc/free (jemalloc, linked in). Reported beside the wall time: CPU time (user + sys,
 * all threads), trees per second and the longest pause. gcvm's minor collections run on
 * gc_config.parallelism collector workers, its major ones on the thread that triggers
 * them.
 *
 * minor-pause/gcvm-card/gc-threads:N: the pause of a minor collection whose nursery is
 * all survivors (a forest of binary trees filling it, every tree rooted), on 1 and on 2
 * collector threads (gc_config.parallelism); one mutator. Each iteration's time is the
 * collection's pause as the collector timed it; cpu_ms is the process's CPU time per
 * collection (all collector threads), objects the survivors per collection, and
 * busiest_worker_cpu_ms the CPU time of the busiest worker in the parallel part (what
 * the pause would be, that part, with a core per worker). Between two
 * timed collections a major one (not timed) frees the last round's trees, so the copies
 * go to memory touched before. The nursery
 * is 16 MiB (1 MiB with a --depth under 12, the quick check ctest runs). */
#include <pthread.h>
#include <stdint.h>

#define GC_THREADS /* Boehm registers every thread pthread_create starts (its wrapper) */
#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gbench_shim.h"
#include "gcvm/gc-embedder.h"

static int depth = 16; /* --depth=N */

struct node {
    struct node *left, *right;
};

enum collector { GCVM_CARD, GCVM_UFFD, BOEHM, MALLOC, COLLECTOR_COUNT };
static const char *const collector_names[] = {"gcvm-card", "gcvm-uffd", "boehm", "malloc"};

/* One thread's allocator and roots. gcvm needs the nodes under construction on a root
 * stack it can see; Boehm finds them on the thread's stack; malloc needs nothing. */
struct worker {
    struct gc_heap *heap;
    struct gc_mutator *mut;
    struct node *stack[64];
    size_t sp;
    long trees;
    long check;
    enum collector collector;
    int failed;
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct node *n = obj;
    visit((void **)&n->left, ctx);
    visit((void **)&n->right, ctx);
}

static void trace_worker_roots(gc_visit_fn visit, void *ctx, void *user)
{
    struct worker *w = user;
    for (size_t i = 0; i < w->sp; i++)
        visit((void **)&w->stack[i], ctx);
}

static struct node *new_node(struct worker *w)
{
    struct node *n;
    switch (w->collector) {
    case BOEHM: n = GC_MALLOC(sizeof *n); break;
    case MALLOC: n = calloc(1, sizeof *n); break;
    default: n = gc_alloc(w->mut, 1, sizeof *n); break;
    }
    if (!n) {
        fprintf(stderr, "gcvm-threads-bench: %s ran out of memory\n",
                collector_names[w->collector]);
        exit(1);
    }
    return n;
}

/* Bottom-up: both children wait on the root stack while their parent is allocated. */
static struct node *make_tree(struct worker *w, int d)
{
    if (d > 0) {
        w->stack[w->sp++] = make_tree(w, d - 1);
        w->stack[w->sp++] = make_tree(w, d - 1);
    }
    struct node *n = new_node(w);
    if (d > 0) {
        n->right = w->stack[--w->sp];
        n->left = w->stack[--w->sp];
        if (w->mut) { /* stores into the newest object: young, no barrier work, but asked */
            gc_write_barrier(w->mut, &n->right);
            gc_write_barrier(w->mut, &n->left);
        }
    }
    return n;
}

static long check_tree(const struct node *n)
{
    return n->left ? 1 + check_tree(n->left) + check_tree(n->right) : 1;
}

static void free_tree(struct worker *w, struct node *n)
{
    if (w->collector != MALLOC)
        return;
    if (n->left) {
        free_tree(w, n->left);
        free_tree(w, n->right);
    }
    free(n);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    if (w->collector != BOEHM && w->collector != MALLOC) {
        char err[256];
        w->mut = gc_mutator_attach(w->heap, err, sizeof err);
        if (!w->mut) {
            fprintf(stderr, "gcvm-threads-bench: %s\n", err);
            w->failed = 1;
            return NULL;
        }
        gc_mutator_set_root_tracer(w->mut, trace_worker_roots, w);
    }
    w->stack[w->sp++] = make_tree(w, depth); /* long-lived */
    for (int d = 4; d <= depth; d += 2) {
        long iterations = 1L << (depth - d + 4);
        for (long i = 0; i < iterations; i++) {
            struct node *t = make_tree(w, d);
            w->check += check_tree(t);
            free_tree(w, t);
            w->trees++;
        }
    }
    w->check += check_tree(w->stack[0]);
    free_tree(w, w->stack[0]);
    w->sp = 0;
    if (w->mut)
        gc_mutator_detach(w->mut);
    return NULL;
}

/* What binary-trees checks: every node counted, the long-lived tree included. */
static long expected_check(void)
{
    long sum = (1L << (depth + 1)) - 1;
    for (int d = 4; d <= depth; d += 2)
        sum += (1L << (depth - d + 4)) * ((1L << (d + 1)) - 1);
    return sum;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct config {
    enum collector collector;
    int threads;
};

static void run(gbench_state *st, void *arg)
{
    const struct config *c = arg;
    struct gc_heap *heap = NULL;
    if (c->collector == GCVM_CARD || c->collector == GCVM_UFFD) {
        char err[256];
        struct gc_config cfg;
        gc_config_init(&cfg);
        cfg.barrier = c->collector == GCVM_CARD ? GC_BARRIER_CARD : GC_BARRIER_UFFD;
        heap = gc_heap_create(&cfg, err, sizeof err);
        if (!heap) {
            char msg[300];
            snprintf(msg, sizeof msg, "skipped: %s", err);
            gbench_fail(st, msg);
            while (gbench_keep_running(st)) {
            }
            return;
        }
        gc_register_kind(heap, 1, trace_node);
    }
    struct worker workers[4];
    pthread_t threads[4];
    double cpu0 = cpu_ms();
    long trees = 0;
    int wrong = 0;
    while (gbench_keep_running(st)) {
        memset(workers, 0, sizeof workers);
        for (int i = 0; i < c->threads; i++) {
            workers[i].collector = c->collector;
            workers[i].heap = heap;
            pthread_create(&threads[i], NULL, worker_main, &workers[i]);
        }
        for (int i = 0; i < c->threads; i++) {
            pthread_join(threads[i], NULL);
            wrong |= workers[i].failed || workers[i].check != expected_check();
            trees += workers[i].trees;
        }
    }
    double cpu = cpu_ms() - cpu0;
    struct gc_stats s = {0};
    if (heap) {
        gc_get_stats(heap, &s);
        gc_heap_destroy(heap);
    }
    if (wrong) {
        gbench_fail(st, "wrong result");
        return;
    }
    gbench_counter(st, "cpu_ms", cpu);
    gbench_counter(st, "trees", (double)trees);
    if (heap) {
        gbench_counter(st, "max_pause_ms", s.pause_max_ms);
        gbench_counter(st, "gc_ms", s.pause_total_ms);
        gbench_counter(st, "collections", (double)(s.minor_collections + s.major_collections));
    }
}

/* ---- Minor pause with every young object surviving ---- */

enum { PAUSE_ROOTS = 64, PAUSE_TREE_DEPTH = 12 };
static size_t pause_nursery_mb = 16; /* 1 with a --depth under 12: a quick check */

/* A tree built top-down under an already-rooted parent, so nothing is lost meanwhile. */
static void fill_tree(struct gc_mutator *m, struct node *parent, int d)
{
    if (d == 0)
        return;
    parent->left = gc_alloc(m, 1, sizeof *parent);
    parent->right = gc_alloc(m, 1, sizeof *parent);
    if (!parent->left || !parent->right) {
        fprintf(stderr, "gcvm-threads-bench: the minor-pause heap ran out of memory\n");
        exit(1);
    }
    gc_write_barrier(m, (void **)&parent->left);
    gc_write_barrier(m, (void **)&parent->right);
    fill_tree(m, parent->left, d - 1);
    fill_tree(m, parent->right, d - 1);
}

static void minor_pause(gbench_state *st, void *arg)
{
    unsigned gc_threads = (unsigned)(uintptr_t)arg;
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = GC_BARRIER_CARD;
    cfg.parallelism = gc_threads;
    cfg.nursery_bytes = (size_t)pause_nursery_mb << 20;
    cfg.heap_max_bytes = (size_t)2048 << 20;
    cfg.major_threshold_bytes = (size_t)1536 << 20; /* no major collection in the run */
    char err[256];
    struct gc_heap *heap = gc_heap_create(&cfg, err, sizeof err);
    struct gc_mutator *m = heap ? gc_mutator_attach(heap, err, sizeof err) : NULL;
    if (!m) {
        char msg[300];
        snprintf(msg, sizeof msg, "skipped: %s", err);
        gbench_fail(st, msg);
        while (gbench_keep_running(st)) {
        }
        gc_heap_destroy(heap);
        return;
    }
    gc_register_kind(heap, 1, trace_node);
    static struct node *roots[PAUSE_ROOTS];
    for (int r = 0; r < PAUSE_ROOTS; r++)
        gc_root_add(heap, (void **)&roots[r]);
    /* Trees that fill 7/8 of the nursery: a node is one 32-byte cell. */
    size_t tree_bytes = ((size_t)2 << PAUSE_TREE_DEPTH) * 32;
    size_t trees = ((size_t)pause_nursery_mb << 20) / 8 * 7 / tree_bytes;
    if (trees > PAUSE_ROOTS)
        trees = PAUSE_ROOTS;
    double cpu_total = 0, objects = 0, critical_ms = 0;
    long rounds = 0;
    int wrong = 0;
    gc_collect(m, GC_COLLECT_MINOR);
    while (gbench_keep_running(st)) {
        /* The last round's trees die and a major collection (not timed) frees their
         * blocks, which stay resident: the timed copy writes memory touched before, as
         * in a program's steady state, not pages faulted in for the first time. */
        for (size_t r = 0; r < trees; r++)
            roots[r] = NULL;
        gc_collect(m, GC_COLLECT_MAJOR);
        for (size_t r = 0; r < trees; r++) {
            roots[r] = gc_alloc(m, 1, sizeof *roots[r]);
            if (!roots[r]) {
                fprintf(stderr, "gcvm-threads-bench: the minor-pause heap ran out of memory\n");
                exit(1);
            }
            fill_tree(m, roots[r], PAUSE_TREE_DEPTH);
        }
        struct gc_stats before, after;
        gc_get_stats(heap, &before);
        double cpu0 = cpu_ms();
        gc_collect(m, GC_COLLECT_MINOR);
        cpu_total += cpu_ms() - cpu0;
        gc_get_stats(heap, &after);
        wrong |= after.minor_collections != before.minor_collections + 1 ||
                 after.major_collections != before.major_collections;
        objects += (double)(after.bytes_promoted - before.bytes_promoted) / 32.0;
        uint64_t busiest = 0; /* the workers' CPU time in the parallel part: the largest */
        for (unsigned k = 0; k < GC_STATS_WORKERS; k++) {
            uint64_t ns = after.cpu_ns_by_worker[k] - before.cpu_ns_by_worker[k];
            busiest = ns > busiest ? ns : busiest;
        }
        critical_ms += (double)busiest / 1e6;
        gbench_set_iteration_time(st, (after.pause_total_ms - before.pause_total_ms) / 1e3);
        rounds++;
    }
    for (size_t r = 0; r < trees; r++)
        wrong |= check_tree(roots[r]) != (2L << PAUSE_TREE_DEPTH) - 1;
    gc_mutator_detach(m);
    gc_heap_destroy(heap);
    if (wrong) {
        gbench_fail(st, "wrong result");
        return;
    }
    gbench_counter(st, "cpu_ms", cpu_total / (double)rounds);
    gbench_counter(st, "objects", objects / (double)rounds);
    if (gc_threads > 1) /* the pause's CPU critical path, were each worker on its own core */
        gbench_counter(st, "busiest_worker_cpu_ms", critical_ms / (double)rounds);
}

static struct config configs[COLLECTOR_COUNT][3];
static char names[COLLECTOR_COUNT][3][64];

int main(int argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--depth=", 8) == 0) {
            depth = atoi(argv[i] + 8);
            if (depth < 4 || depth > 24) {
                fprintf(stderr, "gcvm-threads-bench: --depth takes 4 to 24, not '%s'\n",
                        argv[i] + 8);
                return 2;
            }
        } else {
            argv[out++] = argv[i];
        }
    }
    argc = out;
    if (depth < 12)
        pause_nursery_mb = 1;
    GC_INIT();
    static const int thread_counts[] = {1, 2, 4};
    for (int c = 0; c < COLLECTOR_COUNT; c++) {
        for (int t = 0; t < 3; t++) {
            configs[c][t] = (struct config){(enum collector)c, thread_counts[t]};
            snprintf(names[c][t], sizeof names[c][t], "binary-trees/%s/threads:%d",
                     collector_names[c], thread_counts[t]);
            gbench_register(names[c][t], run, &configs[c][t]);
        }
    }
    gbench_register_manual("minor-pause/gcvm-card/gc-threads:1", minor_pause, (void *)1, 20);
    gbench_register_manual("minor-pause/gcvm-card/gc-threads:2", minor_pause, (void *)2, 20);
    return gbench_main(argc, argv);
}
