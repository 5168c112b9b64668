/* gcvm-bench: GCBench and binary-trees under every write barrier of the gcvm collector,
 * under the Boehm collector (full and incremental) and under malloc/free (jemalloc).
 *
 *   gcvm-bench [--heap-mb=N] [--nursery-kb=N] [--depth=N] [--gcbench-shrink=N]
 *              [--emulated] [Google Benchmark flags]
 *
 * The gcvm-dirty and gcvm-protect rows run the workload in guest mode. Where the engine's
 * ring 0 is emulated they are skipped unless --emulated is given (then give them a
 * small workload: --gcbench-shrink=8 --depth=8); their "hardware" counter says which.
 *
 * Each run reports, beside its time: max_pause_ms, collections, peak_rss_mb, and for
 * gcvm heaps minor/major counts and barrier figures. Run one configuration per process
 * (--benchmark_filter) when peak RSS matters: it is the process's high-water mark.
 * benchmarks/run_table.sh does that and prints the comparison table. */
#include <gc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "boehm_pauses.h"
#include "gbench_shim.h"
#include "gcvm/gc-embedder.h"
#include "gcvm/gcvm.h"
#include "workloads.h"

/* The workloads' root stack: static data, which Boehm GC scans. */
static struct wl_roots roots;

static size_t heap_bytes = (size_t)64 << 20;
static size_t nursery_bytes; /* 0: the collector's default */
static int binarytrees_depth = 16;
static bool allow_emulated; /* --emulated */
int wl_gcbench_shrink;      /* --gcbench-shrink (workloads.h) */

enum workload { GCBENCH, BINARYTREES };
static const char *const workload_names[] = {"GCBench", "BinaryTrees"};

struct config {
    enum workload workload;
    const char *name;
    enum gc_barrier_kind barrier; /* gcvm rows */
    int boehm;                    /* 1 full, 2 incremental */
};

static int depth_of(enum workload w)
{
    return w == GCBENCH ? 0 : binarytrees_depth;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void skip(gbench_state *st, const char *why)
{
    char err[512];
    snprintf(err, sizeof err, "skipped: %s", why);
    gbench_fail(st, err);
    while (gbench_keep_running(st)) {
    }
}

static void run_gcvm(gbench_state *st, const struct config *c)
{
    char err[512], why[400];
    if (!gc_barrier_available(c->barrier, why, sizeof why)) {
        skip(st, why);
        return;
    }
    struct gcvm_info info = {0};
    if (gc_barrier_uses_guest_mode(c->barrier) && gcvm_get_info(&info) == 0 && !info.hardware &&
        !allow_emulated) {
        skip(st, "ring 0 is emulated here (--emulated times the emulator)");
        return;
    }
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = c->barrier;
    cfg.heap_max_bytes = heap_bytes;
    if (nursery_bytes)
        cfg.nursery_bytes = nursery_bytes;
    struct gc_heap *h = NULL;
    int rc = 0;
    while (gbench_keep_running(st)) {
        gbench_pause_timing(st);
        h = gc_heap_create(&cfg, err, sizeof err);
        gbench_resume_timing(st);
        if (!h)
            break;
        rc = c->barrier == GC_BARRIER_CARD ? bench_gcvm_card_run(h, depth_of(c->workload), &roots)
                                           : bench_gcvm_page_run(h, depth_of(c->workload), &roots);
    }
    if (!h) {
        gbench_fail(st, err);
        return;
    }
    struct gc_stats s;
    gc_get_stats(h, &s);
    gc_heap_destroy(h);
    if (rc != 0) {
        gbench_fail(st, "wrong result");
        return;
    }
    gbench_counter(st, "max_pause_ms", s.pause_max_ms);
    gbench_counter(st, "p95_pause_ms", s.pause_p95_ms);
    gbench_counter(st, "gc_ms", s.pause_total_ms);
    gbench_counter(st, "collections", (double)(s.minor_collections + s.major_collections));
    gbench_counter(st, "minor", (double)s.minor_collections);
    gbench_counter(st, "major", (double)s.major_collections);
    gbench_counter(st, "dirty_units", (double)s.dirty_units);
    gbench_counter(st, "barrier_traps", (double)s.barrier_traps);
    gbench_counter(st, "barrier_ms", s.barrier_ms);
    gbench_counter(st, "peak_rss_mb", peak_rss_mb());
    if (gc_barrier_uses_guest_mode(c->barrier))
        gbench_counter(st, "hardware", info.hardware);
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
        GC_set_max_heap_size(heap_bytes);
        GC_expand_hp(heap_bytes); /* the same heap size as the gcvm runs */
        boehm_pauses_record();
        initialised_as = c->boehm;
    }
    boehm_pauses_reset();
    GC_word gc_before = GC_get_gc_no();
    int rc = 0;
    while (gbench_keep_running(st))
        rc = bench_boehm_run(depth_of(c->workload), &roots);
    if (rc != 0) {
        gbench_fail(st, "wrong result");
        return;
    }
    struct boehm_pause_figures pauses = boehm_pauses_figures();
    gbench_counter(st, "max_pause_ms", pauses.max_ms);
    gbench_counter(st, "gc_ms", pauses.total_ms);
    gbench_counter(st, "collections", (double)(GC_get_gc_no() - gc_before));
    gbench_counter(st, "incremental", GC_is_incremental_mode());
    gbench_counter(st, "peak_rss_mb", peak_rss_mb());
}

static void run_malloc(gbench_state *st, const struct config *c)
{
    int rc = 0;
    while (gbench_keep_running(st))
        rc = bench_malloc_run(depth_of(c->workload), &roots);
    if (rc != 0) {
        gbench_fail(st, "wrong result");
        return;
    }
    gbench_counter(st, "max_pause_ms", 0);
    gbench_counter(st, "collections", 0);
    gbench_counter(st, "peak_rss_mb", peak_rss_mb());
}

static void run_config(gbench_state *st, void *arg)
{
    const struct config *c = arg;
    if (c->boehm)
        run_boehm(st, c);
    else if (c->barrier != GC_BARRIER_DEFAULT)
        run_gcvm(st, c);
    else
        run_malloc(st, c);
}

static const struct config templates[] = {
    {0, "gcvm-none", GC_BARRIER_NONE, 0},
    {0, "gcvm-card", GC_BARRIER_CARD, 0},
    {0, "gcvm-mprotect", GC_BARRIER_MPROTECT, 0},
    {0, "gcvm-uffd", GC_BARRIER_UFFD, 0},
    {0, "gcvm-soft-dirty", GC_BARRIER_SOFT_DIRTY, 0},
    {0, "gcvm-dirty", GC_BARRIER_GCVM_DIRTY, 0},
    {0, "gcvm-protect", GC_BARRIER_GCVM_PROTECT, 0},
    {0, "boehm-full", GC_BARRIER_DEFAULT, 1},
    {0, "boehm-incremental", GC_BARRIER_DEFAULT, 2},
    {0, "malloc-jemalloc", GC_BARRIER_DEFAULT, 0},
};
#define CONFIG_COUNT (sizeof templates / sizeof templates[0])
static struct config configs[2][CONFIG_COUNT];

static void register_all(void)
{
    static char names[2][CONFIG_COUNT][64];
    for (int w = 0; w < 2; w++) {
        for (size_t i = 0; i < CONFIG_COUNT; i++) {
            configs[w][i] = templates[i];
            configs[w][i].workload = (enum workload)w;
            snprintf(names[w][i], sizeof names[w][i], "%s/%s", workload_names[w],
                     templates[i].name);
            gbench_register(names[w][i], run_config, &configs[w][i]);
        }
    }
}

/* If arg is "<flag>=N", parses N (from min to max, or exits with a message) into *out. */
static bool number_flag(const char *arg, const char *flag, long min, long max, long *out)
{
    size_t n = strlen(flag);
    if (strncmp(arg, flag, n) != 0 || arg[n] != '=')
        return false;
    char *end;
    *out = strtol(arg + n + 1, &end, 10);
    if (*end || end == arg + n + 1 || *out < min || *out > max) {
        fprintf(stderr, "gcvm-bench: %s takes a number from %ld to %ld\n", flag, min, max);
        exit(2);
    }
    return true;
}

/* Takes this program's own flags out of argv; exits with a message on a bad value. */
static void parse_own_flags(int *argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        long v;
        if (number_flag(argv[i], "--heap-mb", 8, 65536, &v))
            heap_bytes = (size_t)v << 20;
        else if (number_flag(argv[i], "--nursery-kb", 64, 1048576, &v))
            nursery_bytes = (size_t)v << 10;
        else if (number_flag(argv[i], "--depth", 4, 22, &v))
            binarytrees_depth = (int)v;
        else if (number_flag(argv[i], "--gcbench-shrink", 0, 10, &v))
            wl_gcbench_shrink = (int)v;
        else if (strcmp(argv[i], "--emulated") == 0)
            allow_emulated = true;
        else
            argv[out++] = argv[i];
    }
    *argc = out;
}

int main(int argc, char **argv)
{
    parse_own_flags(&argc, argv);
    register_all();
    return gbench_main(argc, argv);
}
