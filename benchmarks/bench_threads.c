/* gcvm-threads-bench: the classic GC workloads on 1, 2 and 4 mutator threads at once and
 * on 1 and 2 collector threads.
 *
 * gcbench/C/threads:T/gc-threads:G and binary-trees/C/threads:T/gc-threads:G: each of T
 * threads runs the whole program (GCBench of Ellis, Kovac and Boehm, or the Computer
 * Language Benchmarks Game's binary-trees, workloads_impl.h) with roots of its own, all
 * of them on one heap of collector C:
 *   gcvm-card, gcvm-uffd  one gcvm heap with that write barrier, whose minor collections
 *                         run on G collector threads (gc_config.parallelism); its major
 *                         ones mark on one background thread (concurrent marking)
 *   boehm                 Boehm GC with the T threads registered and G marker threads
 *                         (GC_set_markers_count; 2: parallel marking). A process runs
 *                         Boehm with one marker count: run the other in a process of its
 *                         own (--benchmark_filter). The run fails when Boehm did not start
 *                         the markers asked for (GC_MARKERS set, or a libgc built without
 *                         parallel marking).
 *   malloc                malloc/free (jemalloc, linked in), every dead tree freed; no
 *                         collector, so only gc-threads:1.
 * Reported beside the wall time: cpu_ms (user + sys, all threads), mnodes_per_s (tree
 * nodes allocated per second, all threads: the throughput), max_pause_ms (the longest
 * stop-the-world pause; 0 for malloc), collections and gc_threads (the collector threads
 * the heap really has); for gcvm also pause_total_ms, stop_wait_ms (collecting threads
 * waiting for the other mutators to park) and resume_wait_ms (parked mutators waking up
 * after the collections), summed.
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
 * is 16 MiB (1 MiB with a --depth under 12, the quick check ctest runs).
 *
 *   gcvm-threads-bench [--depth=N] [--gcbench-shrink=N] [Google Benchmark flags]
 * --depth: binary-trees' depth (default 16); --gcbench-shrink: levels taken off every
 * GCBench tree (default 0). benchmarks/run_threads_table.sh runs each configuration in a
 * process of its own and prints the table. */
#include <pthread.h>
#include <stdint.h>

#define GC_THREADS
#define GC_NO_THREAD_REDIRECTS /* Boehm's mutator threads register themselves */
#include <gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boehm_pauses.h"
#include "gbench_shim.h"
#include "gcvm/gc-embedder.h"
#include "workloads.h"

int wl_gcbench_shrink; /* --gcbench-shrink=N (workloads.h) */
static int depth = 16; /* --depth=N: binary-trees' */

enum { MAX_MUTATORS = 4, MAX_GC_THREADS = 2 };

enum workload { GCBENCH, BINARYTREES, WORKLOAD_COUNT };
static const char *const workload_names[] = {"gcbench", "binary-trees"};

enum collector { GCVM_CARD, GCVM_UFFD, BOEHM, MALLOC, COLLECTOR_COUNT };
static const char *const collector_names[] = {"gcvm-card", "gcvm-uffd", "boehm", "malloc"};

/* The mutator threads' root stacks: static data, which Boehm GC scans. */
static struct wl_roots thread_roots[MAX_MUTATORS];

struct worker {
    struct gc_heap *heap; /* gcvm */
    struct wl_roots *roots;
    enum collector collector;
    int depth; /* 0: GCBench, else binary-trees' */
    int rc;    /* the workload's: 0 when its checks held */
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    switch (w->collector) {
    case GCVM_CARD: w->rc = bench_gcvm_card_run(w->heap, w->depth, w->roots); break;
    case GCVM_UFFD: w->rc = bench_gcvm_page_run(w->heap, w->depth, w->roots); break;
    case BOEHM: {
        struct GC_stack_base base;
        if (GC_get_stack_base(&base) != GC_SUCCESS || GC_register_my_thread(&base) != GC_SUCCESS) {
            fputs("gcvm-threads-bench: a thread could not register with Boehm GC\n", stderr);
            w->rc = -1;
            break;
        }
        w->rc = bench_boehm_run(w->depth, w->roots);
        GC_unregister_my_thread();
        break;
    }
    default: w->rc = bench_malloc_run(w->depth, w->roots); break;
    }
    return NULL;
}

static double clock_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    return clock_ms(CLOCK_PROCESS_CPUTIME_ID);
}

struct config {
    enum workload workload;
    enum collector collector;
    int threads;
    unsigned gc_threads;
};

/* Ends a run that cannot happen: "skipped: why" where this machine lacks what it needs,
 * else why as a failure. */
static void not_run(gbench_state *st, const char *why, int skipped)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s%s", skipped ? "skipped: " : "", why);
    gbench_fail(st, msg);
    while (gbench_keep_running(st)) {
    }
}

/* Boehm GC is set up once per process, by its first run, with that run's marker count.
 * Returns NULL when it runs with markers marker threads, else why not. */
static const char *boehm_start(unsigned markers)
{
    static unsigned started_with;
    if (!started_with) {
        GC_set_markers_count(markers);
        GC_INIT();
        GC_allow_register_threads(); /* starts the marker threads too */
        boehm_pauses_record();
        started_with = markers;
    }
    if (started_with != markers)
        return "Boehm runs with 1 and 2 marker threads need separate processes "
               "(use --benchmark_filter)";
    if ((unsigned)GC_get_parallel() + 1 != markers) {
        static char why[200];
        snprintf(why, sizeof why,
                 "Boehm GC runs %d marker thread(s), not %u: unset GC_MARKERS (Boehm marks on "
                 "one thread on a single CPU, or with a libgc built without parallel marking)",
                 GC_get_parallel() + 1, markers);
        return why;
    }
    return NULL;
}

static struct gc_heap *gcvm_heap(const struct config *c, char *err, size_t err_len)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = c->collector == GCVM_CARD ? GC_BARRIER_CARD : GC_BARRIER_UFFD;
    cfg.parallelism = c->gc_threads;
    return gc_heap_create(&cfg, err, err_len);
}

static void run(gbench_state *st, void *arg)
{
    const struct config *c = arg;
    struct gc_heap *heap = NULL;
    if (c->collector == GCVM_CARD || c->collector == GCVM_UFFD) {
        char err[256];
        heap = gcvm_heap(c, err, sizeof err);
        if (!heap) {
            not_run(st, err, 1);
            return;
        }
    } else if (c->collector == BOEHM) {
        const char *why = boehm_start(c->gc_threads);
        if (why) {
            not_run(st, why, 0);
            return;
        }
        boehm_pauses_reset();
    }
    int workload_depth = c->workload == GCBENCH ? 0 : depth;
    GC_word boehm_gc_before = c->collector == BOEHM ? GC_get_gc_no() : 0;
    struct worker workers[MAX_MUTATORS];
    pthread_t threads[MAX_MUTATORS];
    double cpu0 = cpu_ms(), wall0 = clock_ms(CLOCK_MONOTONIC);
    double nodes = 0;
    int wrong = 0;
    while (gbench_keep_running(st)) {
        memset(thread_roots, 0, sizeof thread_roots); /* no stale pointers for Boehm */
        for (int i = 0; i < c->threads; i++) {
            workers[i] = (struct worker){heap, &thread_roots[i], c->collector, workload_depth, 0};
            if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0) {
                fputs("gcvm-threads-bench: pthread_create failed\n", stderr);
                exit(1);
            }
        }
        for (int i = 0; i < c->threads; i++) {
            pthread_join(threads[i], NULL);
            wrong |= workers[i].rc != 0;
        }
        nodes +=
            (double)c->threads *
            (double)(c->workload == GCBENCH ? wl_gcbench_nodes() : wl_binarytrees_nodes(depth));
    }
    double wall_ms = clock_ms(CLOCK_MONOTONIC) - wall0, cpu = cpu_ms() - cpu0;
    double max_pause_ms = 0, collections = 0, gc_threads = 0, pause_total_ms = 0;
    double stop_wait_ms = 0, resume_wait_ms = 0;
    bool gcvm = heap != NULL;
    if (heap) {
        struct gc_stats s;
        gc_get_stats(heap, &s);
        max_pause_ms = s.pause_max_ms;
        pause_total_ms = s.pause_total_ms;
        stop_wait_ms = s.stop_wait_ms;
        resume_wait_ms = s.resume_wait_ms;
        collections = (double)(s.minor_collections + s.major_collections);
        gc_threads = gc_heap_parallelism(heap);
        gc_heap_destroy(heap);
    } else if (c->collector == BOEHM) {
        max_pause_ms = boehm_pauses_figures().max_ms;
        collections = (double)(GC_get_gc_no() - boehm_gc_before);
        gc_threads = GC_get_parallel() + 1;
    }
    if (wrong) {
        gbench_fail(st, "wrong result");
        return;
    }
    gbench_counter(st, "cpu_ms", cpu);
    gbench_counter(st, "mnodes_per_s", nodes / wall_ms / 1e3);
    gbench_counter(st, "max_pause_ms", max_pause_ms);
    gbench_counter(st, "collections", collections);
    gbench_counter(st, "gc_threads", gc_threads);
    if (gcvm) {
        gbench_counter(st, "pause_total_ms", pause_total_ms);
        gbench_counter(st, "stop_wait_ms", stop_wait_ms);
        gbench_counter(st, "resume_wait_ms", resume_wait_ms);
    }
}

/* ---- Minor pause with every young object surviving ---- */

struct node {
    struct node *left, *right;
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct node *n = obj;
    visit((void **)&n->left, ctx);
    visit((void **)&n->right, ctx);
}

static long check_tree(const struct node *n)
{
    return n->left ? 1 + check_tree(n->left) + check_tree(n->right) : 1;
}

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

/* If arg is "<flag>=N", parses N (from min to max, or exits with a message) into *out. */
static int number_flag(const char *arg, const char *flag, long min, long max, long *out)
{
    size_t n = strlen(flag);
    if (strncmp(arg, flag, n) != 0 || arg[n] != '=')
        return 0;
    char *end;
    *out = strtol(arg + n + 1, &end, 10);
    if (*end || end == arg + n + 1 || *out < min || *out > max) {
        fprintf(stderr, "gcvm-threads-bench: %s takes a number from %ld to %ld, not '%s'\n", flag,
                min, max, arg + n + 1);
        exit(2);
    }
    return 1;
}

static struct config configs[WORKLOAD_COUNT][COLLECTOR_COUNT][3][MAX_GC_THREADS];
static char names[WORKLOAD_COUNT][COLLECTOR_COUNT][3][MAX_GC_THREADS][80];

int main(int argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        long v;
        if (number_flag(argv[i], "--depth", 4, 22, &v))
            depth = (int)v;
        else if (number_flag(argv[i], "--gcbench-shrink", 0, 10, &v))
            wl_gcbench_shrink = (int)v;
        else
            argv[out++] = argv[i];
    }
    argc = out;
    if (depth < 12)
        pause_nursery_mb = 1;
    static const int thread_counts[] = {1, 2, MAX_MUTATORS};
    for (int w = 0; w < WORKLOAD_COUNT; w++)
        for (int c = 0; c < COLLECTOR_COUNT; c++)
            for (int t = 0; t < 3; t++)
                for (unsigned g = 1; g <= (c == MALLOC ? 1u : MAX_GC_THREADS); g++) {
                    configs[w][c][t][g - 1] =
                        (struct config){(enum workload)w, (enum collector)c, thread_counts[t], g};
                    char *name = names[w][c][t][g - 1];
                    snprintf(name, sizeof names[w][c][t][g - 1], "%s/%s/threads:%d/gc-threads:%u",
                             workload_names[w], collector_names[c], thread_counts[t], g);
                    gbench_register(name, run, &configs[w][c][t][g - 1]);
                }
    gbench_register_manual("minor-pause/gcvm-card/gc-threads:1", minor_pause, (void *)1, 20);
    gbench_register_manual("minor-pause/gcvm-card/gc-threads:2", minor_pause, (void *)2, 20);
    return gbench_main(argc, argv);
}
