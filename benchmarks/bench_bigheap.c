/* gcvm-bigheap-bench: the collector with a live heap of real size (--live-mb, default
 * 128), against Boehm GC full and incremental, on three workloads that each build their
 * live structure (the warm-up) and then replace twice as many objects as it holds (the
 * steady state): array-churn (a large array of records written at random), table (a
 * chained hash table whose values are replaced by young ones) and tree-replace (a
 * long-lived binary tree whose random subtrees are replaced).
 *
 * Reported beside Google Benchmark's wall time: CPU time (user + sys, all threads) and the
 * kernel's part of it, the longest pause of the run, the longest and the 99th percentile
 * of the warm-up and of the steady state, collections and peak RSS. gcvm's major
 * collections are concurrent or stop the world as the heap's default or
 * GCVM_GC_CONCURRENT says. Run each configuration in its own process
 * (benchmarks/run_bigheap_table.sh does): the live sizes make RSS and page faults per
 * process figures. */
#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bigheap.h"
#include "boehm_pauses.h"
#include "gbench_shim.h"
#include "gcvm/gc.h"
#include "gcvm/host-steal.h"

static size_t live_bytes = (size_t)128 << 20;

struct config {
    int workload;
    enum gc_barrier_kind barrier; /* GC_BARRIER_DEFAULT for Boehm */
    int boehm;                    /* 1 full, 2 incremental */
};

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The process's CPU time in the kernel so far: mostly page faults here, whose cost
 * depends on what the host did with the memory before (docs/benchmarks.md). */
static double sys_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

/* ---- Pauses of the whole run and of the steady state ---- */

struct pause_figures {
    double max_ms, p99_ms;
};

/* The longest pause of the whole run, and each phase's longest and 99th percentile. */
static void report_pauses(gbench_state *st, struct pause_figures warmup,
                          struct pause_figures steady)
{
    gbench_counter(st, "max_pause_ms",
                   warmup.max_ms > steady.max_ms ? warmup.max_ms : steady.max_ms);
    gbench_counter(st, "warmup_max_pause_ms", warmup.max_ms);
    gbench_counter(st, "warmup_p99_pause_ms", warmup.p99_ms);
    gbench_counter(st, "steady_max_pause_ms", steady.max_ms);
    gbench_counter(st, "steady_p99_pause_ms", steady.p99_ms);
}

/* ---- gcvm ---- */

static struct gc_heap *gcvm_heap;
static struct pause_figures gcvm_warmup;

static void gcvm_steady(void)
{
    struct gc_stats s;
    gc_get_stats(gcvm_heap, &s);
    gcvm_warmup = (struct pause_figures){s.pause_max_ms, s.pause_p99_ms};
    gc_reset_pause_stats(gcvm_heap);
}

static void run_gcvm(gbench_state *st, const struct config *c)
{
    char why[400];
    if (!gc_barrier_available(c->barrier, why, sizeof why)) {
        char msg[512];
        snprintf(msg, sizeof msg, "skipped: %s", why);
        gbench_fail(st, msg);
        while (gbench_keep_running(st)) {
        }
        return;
    }
    struct gc_config cfg;
    gc_config_init(&cfg); /* the default limit: the machine's memory */
    cfg.barrier = c->barrier;
    double cpu0 = cpu_ms(), sys0 = sys_ms(), steal0 = (double)gcvm_host_steal_ms();
    int rc = 0;
    struct gc_stats s = {0};
    while (gbench_keep_running(st)) {
        gcvm_heap = gc_heap_create(&cfg, why, sizeof why);
        if (!gcvm_heap)
            break;
        rc |= bigheap_gcvm_run(gcvm_heap, c->workload, live_bytes, gcvm_steady);
        gc_get_stats(gcvm_heap, &s);
        gc_heap_destroy(gcvm_heap);
    }
    double cpu = cpu_ms() - cpu0, sys = sys_ms() - sys0,
           steal = (double)gcvm_host_steal_ms() - steal0;
    if (!gcvm_heap && s.minor_collections + s.major_collections == 0) {
        gbench_fail(st, why);
        return;
    }
    if (rc != 0) {
        gbench_fail(st, "wrong result");
        return;
    }
    gbench_counter(st, "cpu_ms", cpu);
    gbench_counter(st, "sys_ms", sys);
    gbench_counter(st, "host_steal_ms", steal);
    report_pauses(st, gcvm_warmup, (struct pause_figures){s.pause_max_ms, s.pause_p99_ms});
    gbench_counter(st, "collections", (double)(s.minor_collections + s.major_collections));
    gbench_counter(st, "major", (double)s.major_collections);
    gbench_counter(st, "remembered_fields", (double)s.remembered_fields);
    gbench_counter(st, "prefaulted_mb", (double)s.prefaulted_bytes / 1048576.0);
    gbench_counter(st, "prefault_cpu_ms", s.prefault_cpu_ms);
    gbench_counter(st, "prefaulted_by_mutators_mb",
                   (double)s.prefaulted_by_mutators_bytes / 1048576.0);
    gbench_counter(st, "concurrent_cycles", (double)s.concurrent_cycles);
    gbench_counter(st, "marker_ms", s.concurrent_mark_ms);
    gbench_counter(st, "rescanned_units", (double)s.mark_rescanned_units);
    gbench_counter(st, "final_rescanned_units", (double)s.final_rescanned_units);
    gbench_counter(st, "final_pause_max_ms", s.final_pause_max_ms);
    gbench_counter(st, "peak_rss_mb", peak_rss_mb());
}

/* ---- Boehm GC ---- */

static struct pause_figures boehm_warmup;

static struct pause_figures boehm_figures(void)
{
    struct boehm_pause_figures f = boehm_pauses_figures();
    return (struct pause_figures){f.max_ms, f.p99_ms};
}

/* Called by the workload when its warm-up ends. */
static void boehm_steady(void)
{
    boehm_warmup = boehm_figures();
    boehm_pauses_reset();
}

static void run_boehm(gbench_state *st, const struct config *c)
{
    static int initialised_as;
    if (initialised_as && initialised_as != c->boehm) {
        gbench_fail(st, "Boehm full and incremental runs need separate processes "
                        "(use --benchmark_filter)");
        while (gbench_keep_running(st)) {
        }
        return;
    }
    if (!initialised_as) {
        if (c->boehm == 2)
            GC_enable_incremental();
        GC_INIT();
        boehm_pauses_record();
        initialised_as = c->boehm;
    }
    boehm_pauses_reset();
    GC_word gc_before = GC_get_gc_no();
    double cpu0 = cpu_ms(), sys0 = sys_ms(), steal0 = (double)gcvm_host_steal_ms();
    int rc = 0;
    while (gbench_keep_running(st))
        rc |= bigheap_boehm_run(c->workload, live_bytes, boehm_steady);
    double cpu = cpu_ms() - cpu0, sys = sys_ms() - sys0,
           steal = (double)gcvm_host_steal_ms() - steal0;
    if (rc != 0) {
        gbench_fail(st, "wrong result");
        return;
    }
    gbench_counter(st, "cpu_ms", cpu);
    gbench_counter(st, "sys_ms", sys);
    gbench_counter(st, "host_steal_ms", steal);
    report_pauses(st, boehm_warmup, boehm_figures());
    gbench_counter(st, "collections", (double)(GC_get_gc_no() - gc_before));
    gbench_counter(st, "peak_rss_mb", peak_rss_mb());
}

/* ---- Registration ---- */

static void run_config(gbench_state *st, void *arg)
{
    const struct config *c = arg;
    if (c->boehm)
        run_boehm(st, c);
    else
        run_gcvm(st, c);
}

static const struct {
    const char *name;
    enum gc_barrier_kind barrier;
    int boehm;
} collectors[] = {
    {"gcvm-card", GC_BARRIER_CARD, 0}, {"gcvm-mprotect", GC_BARRIER_MPROTECT, 0},
    {"gcvm-uffd", GC_BARRIER_UFFD, 0}, {"gcvm-soft-dirty", GC_BARRIER_SOFT_DIRTY, 0},
    {"boehm", GC_BARRIER_DEFAULT, 1},  {"boehm-incremental", GC_BARRIER_DEFAULT, 2},
};
#define COLLECTOR_COUNT (sizeof collectors / sizeof collectors[0])

static struct config configs[BIGHEAP_WORKLOAD_COUNT][COLLECTOR_COUNT];
static char names[BIGHEAP_WORKLOAD_COUNT][COLLECTOR_COUNT][64];

static void register_all(void)
{
    static const char *const workload_names[] = BIGHEAP_WORKLOAD_NAMES;
    for (int w = 0; w < BIGHEAP_WORKLOAD_COUNT; w++) {
        for (size_t i = 0; i < COLLECTOR_COUNT; i++) {
            configs[w][i] = (struct config){w, collectors[i].barrier, collectors[i].boehm};
            snprintf(names[w][i], sizeof names[w][i], "%s/%s", workload_names[w],
                     collectors[i].name);
            gbench_register(names[w][i], run_config, &configs[w][i]);
        }
    }
}

/* Takes --live-mb=N out of argv; Google Benchmark rejects flags it does not know. */
static void parse_own_flags(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strncmp(argv[i], "--live-mb=", 10) == 0) {
            char *end;
            unsigned long mb = strtoul(argv[i] + 10, &end, 10);
            if (*end || mb == 0 || mb > (1ul << 20)) {
                fprintf(stderr,
                        "gcvm-bigheap-bench: --live-mb takes a size in MiB from 1, "
                        "not '%s'\n",
                        argv[i] + 10);
                exit(2);
            }
            live_bytes = (size_t)mb << 20;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
}

int main(int argc, char **argv)
{
    parse_own_flags(&argc, argv);
    register_all();
    return gbench_main(argc, argv);
}
