/* gcvm-mark-bench: the pause of a stop-the-world major collection on a big old heap, on
 * each number of collector workers asked (docs/collector.md, "Parallel marking").
 *
 * usage: gcvm-mark-bench [--live-mb=N] [--collections=N] [--workers=A,B,...]
 *
 * For each worker count, in one process each after the other: a heap whose old generation
 * holds about N MiB of live binary trees (each made old by a minor collection),
 * then the given number of explicit major collections. Per configuration it prints the
 * median over the collections of the pause (wall), of the process's CPU time in the
 * pause (all threads), and of the busiest worker's CPU time in the marking (its thread's
 * CPU clock): on a shared machine the wall time depends on whether the workers got a
 * core; the busiest worker's time is what the pause would be if they all had one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcvm/gc-embedder.h"
#include "gcvm/gc.h"

enum { KIND_NODE = 1, MAX_CONFIGS = 8, MAX_COLLECTIONS = 64 };

struct node {
    struct node *left, *right;
    uint64_t value;
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct node *n = obj;
    visit((void **)&n->left, ctx);
    visit((void **)&n->right, ctx);
}

static double now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct node *build(struct gc_mutator *m, int depth)
{
    struct node *n = gc_alloc(m, KIND_NODE, sizeof *n);
    if (!n) {
        fprintf(stderr, "gcvm-mark-bench: the heap ran out of memory; use a smaller --live-mb\n");
        exit(1);
    }
    n->value = (uint64_t)depth;
    if (depth > 0) {
        struct node *l = build(m, depth - 1);
        n->left = l;
        gc_write_barrier(m, (void **)&n->left);
        struct node *r = build(m, depth - 1);
        n->right = r;
        gc_write_barrier(m, (void **)&n->right);
    }
    return n;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void run(unsigned workers, size_t live_mb, int collections)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.parallelism = workers;
    cfg.concurrent_marking = -1;
    cfg.nursery_bytes = (size_t)4 << 20; /* a tree and then some */
    cfg.heap_max_bytes = (live_mb * 4 + 256) << 20;
    cfg.major_threshold_bytes = (live_mb * 3) << 20; /* no major collection while building */
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    if (!h) {
        fprintf(stderr, "gcvm-mark-bench: gc_heap_create: %s\n", err);
        exit(1);
    }
    struct gc_mutator *m = gc_mutator_attach(h, err, sizeof err);
    if (!m || gc_register_kind(h, KIND_NODE, trace_node) != 0) {
        fprintf(stderr, "gcvm-mark-bench: cannot attach the mutator: %s\n", m ? "kind" : err);
        exit(1);
    }
    /* Trees of 2^16 nodes (2 MiB each) under registered roots. A tree being built is
     * reachable only from this thread's stack, which the collector does not scan: each
     * is built in an empty nursery that holds it whole, and made old before the next. */
    size_t trees = live_mb / 2 ? live_mb / 2 : 1;
    void **roots = calloc(trees, sizeof *roots);
    if (!roots) {
        fprintf(stderr, "gcvm-mark-bench: out of memory for %zu roots\n", trees);
        exit(1);
    }
    for (size_t t = 0; t < trees; t++) {
        gc_root_add(h, &roots[t]);
        roots[t] = build(m, 15);
        gc_collect(m, GC_COLLECT_MINOR);
    }
    double wall[MAX_COLLECTIONS] = {0}, cpu[MAX_COLLECTIONS] = {0}, busiest[MAX_COLLECTIONS] = {0};
    for (int c = 0; c < collections; c++) {
        struct gc_stats before, after;
        gc_get_stats(h, &before);
        double w0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
        gc_collect(m, GC_COLLECT_MAJOR);
        wall[c] = now_ms(CLOCK_MONOTONIC) - w0;
        cpu[c] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
        gc_get_stats(h, &after);
        busiest[c] = 0;
        for (unsigned k = 0; k < GC_STATS_WORKERS; k++) {
            double ms =
                (double)(after.mark_cpu_ns_by_worker[k] - before.mark_cpu_ns_by_worker[k]) / 1e6;
            if (ms > busiest[c])
                busiest[c] = ms;
        }
    }
    struct gc_stats s;
    gc_get_stats(h, &s);
    printf("%u worker(s): %zu MiB live, %d major collections: pause median %.1f ms wall, %.1f "
           "ms CPU (all threads)",
           workers, live_mb, collections, median(wall, collections), median(cpu, collections));
    if (s.parallel_marks) {
        printf(", busiest worker %.1f ms CPU in marking; marked by each:",
               median(busiest, collections));
        for (unsigned k = 0; k < workers && k < GC_STATS_WORKERS; k++)
            printf(" %llu", (unsigned long long)s.objects_marked_by_worker[k]);
        printf("; CPU ms of each:");
        for (unsigned k = 0; k < workers && k < GC_STATS_WORKERS; k++)
            printf(" %.1f", (double)s.mark_cpu_ns_by_worker[k] / 1e6);
        printf("; %llu steals", (unsigned long long)s.work_steals);
    } else {
        printf(", marked on the collecting thread");
    }
    printf("\n");
    fflush(stdout);
    gc_mutator_detach(m);
    gc_heap_destroy(h);
    free(roots);
}

int main(int argc, char **argv)
{
    size_t live_mb = 128;
    int collections = 5;
    unsigned configs[MAX_CONFIGS] = {1, 2};
    int nconfigs = 2;
    for (int a = 1; a < argc; a++) {
        unsigned long v;
        if (sscanf(argv[a], "--live-mb=%lu", &v) == 1 && v >= 1 && v <= 65536) {
            live_mb = v;
        } else if (sscanf(argv[a], "--collections=%lu", &v) == 1 && v >= 1 &&
                   v <= MAX_COLLECTIONS) {
            collections = (int)v;
        } else if (strncmp(argv[a], "--workers=", 10) == 0) {
            nconfigs = 0;
            for (char *p = argv[a] + 10; *p && nconfigs < MAX_CONFIGS;) {
                char *end;
                v = strtoul(p, &end, 10);
                if (end == p || v < 1 || v > GC_MAX_PARALLELISM) {
                    fprintf(stderr, "gcvm-mark-bench: --workers wants counts from 1 to %u\n",
                            GC_MAX_PARALLELISM);
                    return 2;
                }
                configs[nconfigs++] = (unsigned)v;
                p = *end == ',' ? end + 1 : end;
            }
        } else {
            fprintf(stderr,
                    "usage: gcvm-mark-bench [--live-mb=N (1-65536)] [--collections=N "
                    "(1-%d)] [--workers=A,B,...]\n",
                    MAX_COLLECTIONS);
            return 2;
        }
    }
    for (int i = 0; i < nconfigs; i++)
        run(configs[i], live_mb, collections);
    return 0;
}
