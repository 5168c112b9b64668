/* A heap's life: configuration, creation and destruction, the collection driver and the
 * allocation slow path. The utilities are in util.c, the barrier registry in
 * barrier_registry.c, roots and tracing in tracing.c, statistics in stats.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "gc_internal.h"
#include "workers.h"
#include "gcvm/gc-debug.h"
#include "gcvm/host-steal.h"

/* ---- Configuration ---- */

#define DEFAULT_NURSERY_BYTES ((size_t)2 << 20)

/* The default limit is the machine's memory, as with malloc: a program grows until the
 * machine is full, not until an arbitrary cap. Reserving that much address space costs
 * nothing until it is used (the region is MAP_NORESERVE, the side tables are touched
 * block by block, and every walk stops at blocks_end). At least 1 GiB. */
static size_t default_heap_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    size_t bytes = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
    if (bytes < ((size_t)1 << 30))
        bytes = (size_t)1 << 30;
    return bytes & ~(BLOCK_BYTES - 1);
}

void gc_config_init(struct gc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->heap_max_bytes = default_heap_bytes();
    cfg->nursery_bytes = 0; /* sized by the heap (heap_sizing.c) */
    cfg->barrier = GC_BARRIER_DEFAULT;
}

/* The environment variables a heap reads at creation, each a number, 0 when unset. */
struct env_settings {
    unsigned stress, threads, verify, trace, workers_together;
    int hot_pages;             /* GCVM_GC_HOT_PAGES: 0 or 1; -1 unset (on) */
    int huge_pages;            /* GCVM_GC_HUGE_PAGES: 0 or 1; -1 unset (on) */
    unsigned parallel_min_kb;  /* GCVM_GC_PARALLEL_MIN_KB, or PARALLEL_MIN_KB when unset */
    unsigned headroom_percent; /* GCVM_GC_HEADROOM_PERCENT */
    int concurrent;            /* GCVM_GC_CONCURRENT: 0 or 1; -1 unset */
    bool nursery_adaptive;     /* gc_config.nursery_bytes was 0: heap sizing sizes it */
};

/* Reads one; a value that is not a number from 0 to 1000000000 is gc_heap_create's
 * error, not ignored (a debug aid silently ignored would be worse) and not an exit()
 * (the library never ends the program). */
static int env_unsigned(const char *name, unsigned *out, char *err, size_t err_len)
{
    const char *v = getenv(name);
    *out = 0;
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || n > 1000000000ul) {
        gc_set_error(err, err_len, "%s=%s is not a number from 0 to 1000000000", name, v);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

/* A switch: unset, 0 or 1; anything else is gc_heap_create's error. */
static int env_switch(const char *name, int *out, char *err, size_t err_len)
{
    const char *v = getenv(name);
    *out = -1;
    if (!v || !*v)
        return 0;
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
        gc_set_error(err, err_len, "%s=%s is neither 0 nor 1", name, v);
        return -1;
    }
    *out = v[0] == '1';
    return 0;
}

/* GCVM_GC_PARALLEL_MIN_KB, whose unset value is the default rather than 0. */
static int env_parallel_min(struct env_settings *e, char *err, size_t err_len)
{
    const char *v = getenv("GCVM_GC_PARALLEL_MIN_KB");
    if (!v || !*v) {
        e->parallel_min_kb = PARALLEL_MIN_KB;
        return 0;
    }
    return env_unsigned("GCVM_GC_PARALLEL_MIN_KB", &e->parallel_min_kb, err, err_len);
}

static int read_env_settings(struct env_settings *e, char *err, size_t err_len)
{
    return env_switch("GCVM_GC_CONCURRENT", &e->concurrent, err, err_len) ||
                   env_switch("GCVM_GC_HOT_PAGES", &e->hot_pages, err, err_len) ||
                   env_switch("GCVM_GC_HUGE_PAGES", &e->huge_pages, err, err_len) ||
                   env_unsigned("GCVM_GC_STRESS", &e->stress, err, err_len) ||
                   env_unsigned("GCVM_GC_THREADS", &e->threads, err, err_len) ||
                   env_unsigned("GCVM_GC_VERIFY", &e->verify, err, err_len) ||
                   env_unsigned("GCVM_GC_TRACE", &e->trace, err, err_len) ||
                   env_unsigned("GCVM_GC_WORKERS_TOGETHER", &e->workers_together, err, err_len) ||
                   env_unsigned("GCVM_GC_HEADROOM_PERCENT", &e->headroom_percent, err, err_len) ||
                   env_parallel_min(e, err, err_len)
               ? -1
               : 0;
}

/* Reserves `bytes` of address space aligned to a huge page, so that every run of
 * BLOCKS_PER_HUGE_PAGE blocks from a multiple of it is one huge page (retention gives
 * memory back in those units). Pages are touched lazily. */
static char *reserve_region(size_t bytes)
{
    size_t span = bytes + HUGE_PAGE_BYTES;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *aligned =
        (char *)(((uintptr_t)raw + HUGE_PAGE_BYTES - 1) & ~(uintptr_t)(HUGE_PAGE_BYTES - 1));
    if (aligned > raw)
        munmap(raw, (size_t)(aligned - raw));
    size_t tail = (size_t)(raw + span - (aligned + bytes));
    if (tail)
        munmap(aligned + bytes, tail);
    return aligned;
}

/* The configuration with its defaults filled in and checked, and the environment's
 * settings read: everything that can fail cheaply, before a barrier is chosen. */
static int prepare_config(const struct gc_config *cfg_in, struct gc_config *cfg,
                          struct env_settings *env, char *err, size_t err_len)
{
    if (cfg_in)
        *cfg = *cfg_in;
    else
        gc_config_init(cfg);
    if (cfg->heap_max_bytes == 0)
        cfg->heap_max_bytes = default_heap_bytes();
    env->nursery_adaptive = cfg->nursery_bytes == 0;
    if (cfg->nursery_bytes == 0)
        cfg->nursery_bytes = DEFAULT_NURSERY_BYTES;
    size_t nursery_blocks = (cfg->nursery_bytes + BLOCK_BYTES - 1) >> BLOCK_SHIFT;
    size_t nblocks = cfg->heap_max_bytes >> BLOCK_SHIFT;
    if (nblocks < 2 * nursery_blocks + 4) {
        gc_set_error(err, err_len,
                     "heap of %zu bytes is too small for a nursery of %zu bytes; give the "
                     "heap at least %zu bytes",
                     cfg->heap_max_bytes, cfg->nursery_bytes,
                     (2 * nursery_blocks + 4) << BLOCK_SHIFT);
        return -1;
    }
    if (cfg->concurrent_marking < -1 || cfg->concurrent_marking > 1) {
        gc_set_error(err, err_len,
                     "gc_config.concurrent_marking is %d; it must be 1 (on), -1 (off) or 0 "
                     "(GCVM_GC_CONCURRENT, else on)",
                     cfg->concurrent_marking);
        return -1;
    }
    if (cfg->headroom_percent > MAX_HEADROOM_PERCENT) {
        gc_set_error(err, err_len,
                     "gc_config.headroom_percent is %u; give 1 to %u, or 0 for the default",
                     cfg->headroom_percent, MAX_HEADROOM_PERCENT);
        return -1;
    }
    if (nblocks > ((size_t)1 << 31)) {
        gc_set_error(err, err_len, "heap of %zu bytes is larger than this collector supports",
                     cfg->heap_max_bytes);
        return -1;
    }
    if (read_env_settings(env, err, err_len) != 0)
        return -1;
    if (env->headroom_percent > MAX_HEADROOM_PERCENT) {
        gc_set_error(err, err_len,
                     "GCVM_GC_HEADROOM_PERCENT=%u: give 1 to %u, or 0 for the default",
                     env->headroom_percent, MAX_HEADROOM_PERCENT);
        return -1;
    }
    return 0;
}

static struct gc_heap *build_heap(const struct gc_config *cfg_in, const struct env_settings *env,
                                  enum gc_barrier_kind kind, const char *reason, char *err,
                                  size_t err_len);

struct gc_heap *gc_heap_create(const struct gc_config *cfg_in, char *err, size_t err_len)
{
    struct gc_config cfg;
    struct env_settings env;
    if (prepare_config(cfg_in, &cfg, &env, err, err_len) != 0)
        return NULL;
    enum gc_barrier_kind kind;
    char reason[512];
    if (barrier_resolve(&cfg, &kind, reason, sizeof reason, err, err_len) != 0)
        return NULL;
    return build_heap(&cfg, &env, kind, reason, err, err_len);
}

struct gc_heap *heap_create_with_barrier(const struct gc_config *cfg_in, char *err, size_t err_len)
{
    struct gc_config cfg;
    struct env_settings env;
    if (prepare_config(cfg_in, &cfg, &env, err, err_len) != 0)
        return NULL;
    char why[256];
    if (cfg.barrier == GC_BARRIER_DEFAULT || cfg.barrier == GC_BARRIER_AUTO ||
        (unsigned)cfg.barrier >= GC_BARRIER_KIND_COUNT) {
        gc_set_error(err, err_len, "a heap for calibration needs one barrier, not %d",
                     (int)cfg.barrier);
        return NULL;
    }
    if (!gc_barrier_available(cfg.barrier, why, sizeof why)) {
        gc_set_error(err, err_len, "barrier %s is not available on this machine: %s",
                     gc_barrier_name(cfg.barrier), why);
        return NULL;
    }
    return build_heap(&cfg, &env, cfg.barrier, "chosen by the heap's configuration", err, err_len);
}

/* Whether major collections mark concurrently (docs/collector.md, "Concurrent marking"):
 * only where the barrier records the writes on the host while the marker runs. */
static int choose_concurrent(struct gc_heap *h, const struct gc_config *cfg,
                             const struct env_settings *env, char *err, size_t err_len)
{
    int want = cfg->concurrent_marking != 0 ? cfg->concurrent_marking == 1
               : env->concurrent >= 0       ? env->concurrent
                                            : 1;
    const char *source = cfg->concurrent_marking != 0 ? "gc_config.concurrent_marking"
                         : env->concurrent >= 0       ? "GCVM_GC_CONCURRENT"
                                                      : "the default";
    if (!want) {
        snprintf(h->concurrent_state, sizeof h->concurrent_state, "stop-the-world (%s)", source);
        return 0;
    }
    if (h->barrier_kind == GC_BARRIER_NONE) {
        snprintf(h->concurrent_state, sizeof h->concurrent_state,
                 "stop-the-world (barrier none records no writes for the marker)");
        return 0;
    }
    if (gc_barrier_uses_guest_mode(h->barrier_kind)) {
        snprintf(h->concurrent_state, sizeof h->concurrent_state,
                 "stop-the-world (the gcvm barriers harvest in guest mode on the collecting "
                 "mutator's thread; not concurrent yet)");
        return 0;
    }
    snprintf(h->concurrent_state, sizeof h->concurrent_state, "concurrent marking (%s)", source);
    h->concurrent = true;
    return concurrent_init(h, err, err_len);
}

static struct gc_heap *build_heap(const struct gc_config *cfg_in, const struct env_settings *env,
                                  enum gc_barrier_kind kind, const char *reason, char *err,
                                  size_t err_len)
{
    struct gc_config cfg = *cfg_in;
    size_t nursery_blocks = (cfg.nursery_bytes + BLOCK_BYTES - 1) >> BLOCK_SHIFT;
    size_t nblocks = cfg.heap_max_bytes >> BLOCK_SHIFT;
    struct gc_heap *h = calloc(1, sizeof *h);
    if (!h) {
        gc_set_error(err, err_len, "out of memory for the heap descriptor");
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->stopped_cond, NULL);
    pthread_cond_init(&h->resume_cond, NULL);
    h->barrier_kind = kind;
    h->barrier = barrier_ops_for(kind);
    snprintf(h->barrier_reason, sizeof h->barrier_reason, "%s", reason);
    h->nblocks = nblocks;
    for (unsigned k = 0; k < KIND_COUNT; k++)
        h->word_array_from[k] = NOT_WORD_ARRAY;
    h->base = reserve_region(nblocks << BLOCK_SHIFT);
    if (!h->base) {
        gc_set_error(err, err_len, "cannot reserve %zu bytes of address space for the heap: %s",
                     nblocks << BLOCK_SHIFT, strerror(errno));
        free(h);
        return NULL;
    }
    h->end = h->base + (nblocks << BLOCK_SHIFT);
    h->free_blocks = nblocks;
    h->blocks = calloc(nblocks, sizeof *h->blocks);
    h->young_blocks = calloc(nblocks, 1);
    h->resident = calloc(nblocks, 1);
    size_classes_init();
    h->alloc_bits = calloc(nblocks * BITMAP_WORDS_PER_BLOCK, sizeof(uint64_t));
    h->mark_bits = calloc(nblocks * BITMAP_WORDS_PER_BLOCK, sizeof(uint64_t));
    h->dirty_shift = h->barrier->dirty_shift;
    h->dirty = calloc((nblocks << BLOCK_SHIFT) >> h->dirty_shift, 1);
    if (h->barrier_kind == GC_BARRIER_CARD)
        h->card_blocks = calloc(nblocks, 1);
    bool hot_pages = h->barrier->keeps_hot_pages && env->hot_pages != 0;
    h->write_streak = hot_pages ? calloc((nblocks << BLOCK_SHIFT) >> PAGE_SHIFT, 1) : NULL;
    h->nursery_target_blocks = h->nursery_min_blocks = h->nursery_max_blocks = nursery_blocks;
    h->card_budget = UINT64_MAX; /* written cards start no collection (heap_sizing.c) */
    if (env->nursery_adaptive)
        heap_sizing_nursery_limits(h);
    h->nursery = calloc(h->nursery_max_blocks, sizeof *h->nursery);
    if (!h->blocks || !h->young_blocks || !h->resident || !h->alloc_bits || !h->mark_bits ||
        !h->dirty || !h->nursery || (hot_pages && !h->write_streak) ||
        (h->barrier_kind == GC_BARRIER_CARD && !h->card_blocks)) {
        gc_set_error(err, err_len, "out of memory for the heap's side tables");
        gc_heap_destroy(h);
        return NULL;
    }
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        h->small_current[c] = -1;
    size_t threshold =
        cfg.major_threshold_bytes ? cfg.major_threshold_bytes : 4 * cfg.nursery_bytes;
    h->major_threshold_blocks = h->min_major_threshold_blocks = threshold >> BLOCK_SHIFT;
    h->sizing.trigger_budget = threshold; /* until heap sizing sets them */
    h->sizing.limit_budget = 2 * threshold;
    h->on_oom = cfg.on_oom;
    h->on_oom_arg = cfg.on_oom_arg;
    h->conservative_stack = cfg.conservative_stack != 0;
    h->stress_interval = cfg.stress_interval ? cfg.stress_interval : env->stress;
    h->parallelism = cfg.parallelism ? cfg.parallelism : env->threads;
    if (!h->parallelism) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        h->parallelism = cpus > 0 ? (unsigned)cpus : 1;
    }
    h->verify = cfg.verify || env->verify;
    h->trace_log = env->trace != 0;
    h->workers_together = env->workers_together != 0;
    h->parallel_min_work = (uint64_t)env->parallel_min_kb << 10;
    unsigned headroom = cfg.headroom_percent    ? cfg.headroom_percent
                        : env->headroom_percent ? env->headroom_percent
                                                : DEFAULT_HEADROOM_PERCENT;
    h->sizing.headroom_fraction = headroom / 100.0;
    h->last_minor_work = h->parallel_min_work; /* the first one: on the workers */
    h->stats.dirty_unit_bytes = kind == GC_BARRIER_NONE ? 0 : (uint64_t)1 << h->dirty_shift;
    if (choose_concurrent(h, &cfg, env, err, err_len) != 0) {
        gc_heap_destroy(h);
        return NULL;
    }

    huge_pages_advise(h, env->huge_pages); /* prefault_start asks */
    prefault_start(h);                     /* before a gcvm barrier puts the thread in guest mode */
    if (minor_parallel_create(h, err, err_len) != 0) {
        gc_heap_destroy(h);
        return NULL;
    }
    if (h->barrier->attach(h, err, err_len) != 0) {
        h->barrier = NULL; /* nothing to detach */
        gc_heap_destroy(h);
        return NULL;
    }
    if (kind == GC_BARRIER_CARD) {
        h->card_table_biased = h->dirty - ((uintptr_t)h->base >> GC_CARD_SHIFT);
        h->card_blocks_biased = h->card_blocks - ((uintptr_t)h->base >> GC_CARD_BLOCK_SHIFT);
    }
    return h;
}

void gc_heap_destroy(struct gc_heap *h)
{
    if (!h)
        return;
    prefault_stop(h);
    minor_parallel_destroy(h);
    concurrent_destroy(h);
    mutators_free_all(h);
    if (h->barrier)
        h->barrier->detach(h);
    if (h->base)
        munmap(h->base, h->nblocks << BLOCK_SHIFT);
    free(h->blocks);
    free(h->young_blocks);
    free(h->resident);
    free(h->alloc_bits);
    free(h->mark_bits);
    free(h->dirty);
    free(h->card_blocks);
    free(h->write_streak);
    free(h->lift_wanted);
    free(h->nursery);
    free(h->roots);
    free(h->grey.items);
    free(h->pinned_now.items);
    free(h->fresh_large.items);
    free(h->pauses.ms);
    weak_destroy(h);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->stopped_cond);
    pthread_cond_destroy(&h->resume_cond);
    free(h);
}

int gc_heap_concurrent_marking(const struct gc_heap *h)
{
    return h->concurrent;
}

unsigned gc_heap_parallelism(const struct gc_heap *h)
{
    return h->parallelism;
}

enum gc_barrier_kind gc_heap_barrier(const struct gc_heap *h)
{
    return h->barrier_kind;
}
const char *gc_heap_barrier_reason(const struct gc_heap *h)
{
    return h->barrier_reason;
}

/* ---- Collection driver ---- */

static void timed_barrier_step(struct gc_heap *h, void (*step)(struct gc_heap *))
{
    uint64_t t0 = gc_now_ns();
    step(h);
    uint64_t ns = gc_now_ns() - t0;
    h->barrier_ns += ns;
    h->phase_ns[2] += ns;
}

/* The page faults the process has taken so far, less the prefault thread's: in a pause,
 * the collector's threads' (first touches, a page barrier's faults on promotion) and those
 * of mutators running in blocking regions. The prefault thread's populating counts as
 * faults of its own (one per page it maps), and counted in, they had been most of a
 * pause's count under uffd (GCBench: 8,235 in pauses against 2,354 faults the whole run
 * took in code, `perf record -e page-faults`). */
static uint64_t collection_page_faults(const struct gc_heap *h)
{
    return process_page_faults() - prefault_thread_faults(h);
}

/* Since a reading of collection_page_faults: never below 0, though the prefault thread
 * publishes its count after the block it populates, so that a reading may hold a few of
 * its faults that the next one takes off. */
static uint64_t faults_since(const struct gc_heap *h, uint64_t before)
{
    uint64_t now = collection_page_faults(h);
    return now > before ? now - before : 0;
}

/* What the trace's line for a pause counts from: read before the pause's clock starts
 * (the steal figure costs a read of /proc/stat), and only when the trace is on. */
struct pause_trace_start {
    uint64_t promoted, dirty_units, remembered_fields, faults, steal_ms;
    struct thread_switches switches;
};

static struct pause_trace_start pause_trace_begin(const struct gc_heap *h)
{
    struct pause_trace_start t = {
        h->stats.bytes_promoted, h->stats.dirty_units, h->stats.remembered_fields, 0, 0, {0, 0}};
    if (h->trace_log) {
        t.faults = collection_page_faults(h);
        t.switches = thread_context_switches();
        t.steal_ms = gcvm_host_steal_ms();
    }
    return t;
}

/* The trace's line for a pause. Its last figures tell the pause's own work from time it
 * lost: the collecting thread's waits (for its workers, a lock) and preemptions (here a
 * kernel thread, kdamond, takes a core for 1-3 ms twice a second), and the time the
 * hypervisor ran something else on the machine's virtual CPUs meanwhile (in whole ticks). */
static void log_collection(struct gc_heap *h, const char *kind, const struct pause_trace_start *t,
                           uint64_t cpu_ns, double ms)
{
    struct thread_switches switches = thread_context_switches();
    uint64_t steal_ms = gcvm_host_steal_ms();
    fprintf(stderr,
            "gcvm-gc: %s #%llu: %.3f ms (trace %.3f, sweep %.3f, barrier %.3f, marker park "
            "%.3f, assist %.3f; CPU of the collecting thread %.3f, of the busiest worker "
            "%.3f; before it, stopping the others %.3f); remembered set %llu "
            "dirty %s, %llu fields; promoted %.1f KiB; page faults %llu; old %.1f MiB, heap "
            "%.1f MiB, next nursery %.2f MiB; the collecting thread waited %llu times, was "
            "preempted %llu times; host steal %llu ms\n",
            kind,
            (unsigned long long)h->stats.minor_collections +
                (unsigned long long)h->stats.major_collections,
            ms, (double)h->phase_ns[0] / 1e6, (double)h->phase_ns[1] / 1e6,
            (double)h->phase_ns[2] / 1e6, (double)h->phase_ns[3] / 1e6,
            (double)h->phase_ns[4] / 1e6, (double)cpu_ns / 1e6,
            (double)h->pause_busiest_helper_cpu_ns / 1e6, (double)h->last_stop_wait_ns / 1e6,
            (unsigned long long)(h->stats.dirty_units - t->dirty_units), dirty_unit_name(h),
            (unsigned long long)(h->stats.remembered_fields - t->remembered_fields),
            (double)(h->stats.bytes_promoted - t->promoted) / 1024.0,
            (unsigned long long)faults_since(h, t->faults),
            (double)(h->old_blocks << BLOCK_SHIFT) / 1048576.0,
            (double)((h->nblocks - h->free_blocks) << BLOCK_SHIFT) / 1048576.0,
            (double)(h->nursery_target_blocks << BLOCK_SHIFT) / 1048576.0,
            (unsigned long long)(switches.waited - t->switches.waited),
            (unsigned long long)(switches.preempted - t->switches.preempted),
            (unsigned long long)(steal_ms > t->steal_ms ? steal_ms - t->steal_ms : 0));
}

/* Whether the marker has done all of the cycle's work. Not while large objects that the
 * mutator allocated since the last pause wait: the marker gets them only at the next
 * pause (concurrent_before_minor), and a cycle ended there traced them in its final
 * pause (array-churn at 1 GiB live: its 114 MiB array, allocated marked just after the
 * cycle started on an empty heap, took 27 ms of the cycle's first and final pause). */
static bool marker_finished(const struct gc_heap *h)
{
    return concurrent_final_due(h) && h->fresh_large.count == 0;
}

/* Whether a cycle whose marker is done ends at this nursery block boundary: only early
 * in the nursery, where the final pause's minor collection has little to evacuate and
 * little was written since the last one; otherwise the next minor collection ends it. */
static bool cycle_end_due(const struct gc_heap *h)
{
    size_t early = h->nursery_count / 8 > 2 ? h->nursery_count / 8 : 2;
    return marker_finished(h) && h->nursery_handed <= early;
}

enum pause_outcome { PAUSE_MINOR, PAUSE_CYCLE_END, PAUSE_FULL };

/* A full collection is the stop-the-world one, also with concurrent marking: it frees
 * everything unreachable now (a cycle keeps what died while it ran), and traces from the
 * roots only (a cycle starts after a minor collection, which keeps the young objects that
 * any old object reaches). A running cycle is dropped. */
static void full_collect(struct gc_heap *h)
{
    if (h->cycle_active)
        concurrent_cycle_abandon(h);
    sweep_finish(h); /* the last cycle's, before anything counts the old generation */
    major_collect(h);
}

/* A minor collection, and with concurrent marking what the cycle needs around it: its
 * remembered-set scan shades for the marker (minor.c), then the cycle started or ended in
 * this pause. */
static enum pause_outcome minor_and_cycle(struct gc_heap *h, enum collection_request what,
                                          uint64_t pause_start_ns)
{
    bool marker_done = marker_finished(h); /* before this harvest gives it more */
    timed_barrier_step(h, h->barrier->harvest);
    if (h->verify)
        verify_remembered_set(h);
    uint64_t t_trace = gc_now_ns();
    concurrent_before_minor(h);
    minor_collect(h);
    concurrent_after_minor(h);
    h->phase_ns[0] = gc_now_ns() - t_trace;
    if (!h->concurrent) {
        /* Not now: at the next nursery block boundary, when the major collection has
         * almost nothing young to evacuate (docs/collector.md, "Major collections and
         * the pause"). */
        h->major_due = heap_sizing_major_due(h, 0);
        return PAUSE_MINOR;
    }
    if (h->cycle_active) {
        heap_sizing_cycle_progress(h, concurrent_traced_bytes(h));
        bool outgrown = heap_sizing_cycle_outgrown(h);
        if (outgrown && !h->sizing.cycle_past_limit) {
            h->sizing.cycle_past_limit = true;
            h->stats.cycles_past_limit++;
        }
        /* The marker finished its round before this minor collection: what was written
         * since is re-scanned here rather than in another round (cycle_end_due). */
        if (what != COLLECT_MAJOR_STEP && !marker_done && !concurrent_rounds_exhausted(h) &&
            !heap_sizing_cycle_overdue(h)) {
            /* A marker that fell behind its schedule (a busy machine gives it little
             * CPU) is helped here, in proportion to what the mutators promoted; past the
             * limit budget, with all the time an assist may take. */
            uint64_t assist =
                outgrown ? UINT64_MAX / 2 : heap_sizing_assist_bytes(h, concurrent_traced_bytes(h));
            if (h->debug_assist_bytes)
                assist = h->debug_assist_bytes;
            if (assist) {
                uint64_t t_assist = gc_now_ns();
                concurrent_assist(h, assist, pause_start_ns);
                h->phase_ns[4] = gc_now_ns() - t_assist;
            }
            return PAUSE_MINOR;
        }
        concurrent_cycle_finish(h);
        return PAUSE_CYCLE_END;
    }
    if (h->sizing_pending && !h->sweep_pending)
        sweep_finish(h); /* promotion swept the last blocks: now the threshold */
    /* While the last cycle's sweep is pending, its threshold is not set yet (the old
     * generation's size waits for the sweep): no cycle starts from it. One that starts
     * anyway (the debug hook, stress mode) sweeps what is left first. */
    if (what == COLLECT_MAJOR_STEP || (!h->sizing_pending && heap_sizing_major_due(h, 0))) {
        sweep_finish(h);
        concurrent_cycle_start(h);
    }
    return PAUSE_MINOR;
}

/* The part of a minor pause of pause_ns that does not shrink with the nursery: the
 * barrier's steps and, for a page barrier, the remembered-set scan's share of the
 * collection's work (heap_sizing_minor_ends). A page holds 32 times the fields of a card,
 * so a random writer's dirty pages saturate long before its cards do: under cards the
 * scan is taken to shrink with the nursery (counted fixed there, it let the nursery grow
 * where the cards did shrink with it, and the old generation overshot its goal in
 * test_heap_pacing). */
static uint64_t fixed_part_of_minor(const struct gc_heap *h, uint64_t pause_ns)
{
    uint64_t barrier = h->phase_ns[2] < pause_ns ? h->phase_ns[2] : pause_ns;
    if (!h->last_minor_work || h->dirty_shift < PAGE_SHIFT)
        return barrier;
    double remset = (double)h->last_minor_remset_work / (double)h->last_minor_work;
    return barrier + (uint64_t)((double)(pause_ns - barrier) * remset);
}

/* With the world stopped and every mutator's block retired. */
static void collect_stopped(struct gc_heap *h, enum collection_request what)
{
    h->collecting = true;
    prefault_hold(h, true);
    h->collections++;
    struct pause_trace_start trace_start = pause_trace_begin(h);
    uint64_t t0 = gc_now_ns();
    memset(h->phase_ns, 0, sizeof h->phase_ns);
    /* The pause's CPU time, for the nursery's sizing: the busiest of the collecting
     * thread (its own clock) and the helper workers (theirs in the parallel part), not
     * the process's (other threads of the program, and other heaps, run meanwhile). */
    uint64_t cpu0 = thread_cpu_ns();
    h->pause_busiest_helper_cpu_ns = 0;
    h->stats.bytes_allocated += nursery_bytes_in_use(h);
    uint64_t t_park = gc_now_ns();
    concurrent_pause_begin(h);
    h->phase_ns[3] = gc_now_ns() - t_park;
    enum pause_outcome outcome = PAUSE_FULL;
    bool cycle_before = h->cycle_active;
    bool stw_major =
        h->concurrent ? what == COLLECT_MAJOR_FULL
                      : what != COLLECT_MINOR || h->barrier_kind == GC_BARRIER_NONE || h->major_due;
    if (stw_major)
        full_collect(h);
    else
        outcome = minor_and_cycle(h, what, t0);
    bool major = outcome != PAUSE_MINOR;
    if (major) { /* a cycle's final pause did a minor collection too: it counts as major */
        retention_release(h);
        h->stats.major_collections++;
    } else {
        h->stats.minor_collections++;
        h->stats.minors_by_cards += h->minor_by_cards;
    }
    timed_barrier_step(h, h->barrier->rearm);
    h->all_dirty = false;
    if (outcome == PAUSE_MINOR) {
        /* Not the assist's marking (phase 4): it is the cycle's work, not the nursery's,
         * and counting it shrank the nursery of a program whose marker fell behind. */
        uint64_t own = thread_cpu_ns() - cpu0;
        own = own > h->phase_ns[4] ? own - h->phase_ns[4] : 0;
        uint64_t pause =
            own > h->pause_busiest_helper_cpu_ns ? own : h->pause_busiest_helper_cpu_ns;
        heap_sizing_minor_ends(h, pause, fixed_part_of_minor(h, pause));
    }
    nursery_reset(h);
    prefault_request(h);
    if (h->verify && verify_reachable(h) != 0)
        gc_fatal("heap verification failed after a %s collection", major ? "major" : "minor");
    size_t in_use = (h->nblocks - h->free_blocks) << BLOCK_SHIFT;
    if (in_use > h->stats.peak_heap_bytes)
        h->stats.peak_heap_bytes = in_use;
    double ms = (double)(gc_now_ns() - t0) / 1e6;
    stats_record_pause(h, ms);
    if (outcome == PAUSE_CYCLE_END) {
        h->stats.final_pause_last_ms = ms;
        if (ms > h->stats.final_pause_max_ms)
            h->stats.final_pause_max_ms = ms;
    }
    if (h->trace_log)
        log_collection(h,
                       outcome == PAUSE_FULL              ? "major"
                       : outcome == PAUSE_CYCLE_END       ? "major (end of a concurrent cycle)"
                       : h->cycle_active && !cycle_before ? "minor (start of a concurrent cycle)"
                       : h->minor_by_cards                ? "minor (written cards)"
                                                          : "minor",
                       &trace_start, thread_cpu_ns() - cpu0, ms);
    h->minor_by_cards = false;
    concurrent_pause_end(h);
    prefault_hold(h, false);
    h->collecting = false;
}

void run_collection(struct gc_mutator *m, enum collection_request what, bool unless_another)
{
    struct gc_heap *h = m->heap;
    /* The workers wake while the others stop, rather than when the trace starts; not when
     * the mutators now stopping can take every place (they help: "Stopped mutators help"
     * in docs/collector.md), where a pool thread polling for its phase would only take
     * the core of one of them before it stops. */
    if (minor_goes_parallel(h) && h->running - 1 < workers_count(h->workers) - 1)
        workers_warm(h->workers);
    bool another = world_stop(m);
    double stop_ms = (double)h->last_stop_wait_ns / 1e6;
    h->stats.stop_wait_ms += stop_ms;
    if (stop_ms > h->stats.stop_wait_max_ms)
        h->stats.stop_wait_max_ms = stop_ms;
    if (!(another && unless_another))
        collect_stopped(m->heap, what);
    world_start(m);
}

void gc_collect(struct gc_mutator *m, enum gc_collection_kind kind)
{
    pthread_mutex_lock(&m->heap->lock);
    run_collection(m, kind == GC_COLLECT_MAJOR ? COLLECT_MAJOR_FULL : COLLECT_MINOR, false);
    pthread_mutex_unlock(&m->heap->lock);
}

/* ---- Debug hooks for concurrent marking (gc-debug.h; the others are in
 * concurrent_mark.c) ---- */

int gc_debug_cycle_start(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    pthread_mutex_lock(&h->lock);
    int rc = -1;
    if (h->concurrent && !h->cycle_active) {
        run_collection(m, COLLECT_MAJOR_STEP, false);
        rc = h->cycle_active ? 0 : -1;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

int gc_debug_cycle_finish(struct gc_mutator *m)
{
    struct gc_heap *h = m->heap;
    pthread_mutex_lock(&h->lock);
    int rc = -1;
    if (h->cycle_active) {
        run_collection(m, COLLECT_MAJOR_STEP, false);
        rc = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void gc_debug_wait_for_helpers(struct gc_heap *h, int wait)
{
    workers_wait_for_helpers(h->workers, wait != 0);
}

void gc_debug_assist_bytes(struct gc_heap *h, uint64_t bytes)
{
    pthread_mutex_lock(&h->lock);
    h->debug_assist_bytes = bytes;
    pthread_mutex_unlock(&h->lock);
}

uint64_t gc_debug_reuse_blocks_weighed(struct gc_heap *h)
{
    pthread_mutex_lock(&h->lock);
    uint64_t n = h->reuse_blocks_weighed;
    pthread_mutex_unlock(&h->lock);
    return n;
}

int gc_debug_is_allocated(struct gc_mutator *m, const void *obj)
{
    struct gc_heap *h = m->heap;
    if (!in_region(h, obj))
        return 0;
    pthread_mutex_lock(&h->lock);
    const struct block *b = &h->blocks[block_index(h, obj)];
    int yes = 0;
    switch (b->kind) {
    case BLOCK_SMALL: yes = cell_allocated(h, (const char *)header_of(obj)); break;
    case BLOCK_PINNED: yes = !(*header_of(obj) & HDR_FILLER); break;
    case BLOCK_LARGE:
        yes = (const char *)obj == block_start(h, block_index(h, obj)) + GC_HEADER_BYTES;
        break;
    default: break;
    }
    pthread_mutex_unlock(&h->lock);
    return yes;
}

/* ---- Allocation slow path ---- */

/* In the mutator's own block: no lock. */
static char *bump_in_own_block(struct gc_heap *h, struct gc_mutator *m, size_t total)
{
    if (m->block < 0)
        return NULL;
    char *end = block_start(h, (size_t)m->block) + BLOCK_BYTES;
    if ((size_t)(end - m->fast.alloc_cursor) < total)
        return NULL;
    char *at = m->fast.alloc_cursor;
    m->fast.alloc_cursor += total;
    if (h->stress_interval)
        m->fast.alloc_limit = m->fast.alloc_cursor;
    return at;
}

/* With the lock held, as the ones below. */
static char *alloc_small_young(struct gc_mutator *m, size_t total)
{
    struct gc_heap *h = m->heap;
    char *at = bump_in_own_block(h, m, total);
    if (at)
        return at;
    if (h->major_due || cycle_end_due(h))
        run_collection(m, COLLECT_MAJOR_STEP, true);
    else if (heap_sizing_cards_due(h, m)) {
        h->minor_by_cards = true; /* the caller collects: as if the nursery were full */
        return NULL;
    }
    if (nursery_refill(h, m))
        at = bump_in_own_block(h, m, total);
    return at;
}

static char *alloc_large_old(struct gc_mutator *m, size_t total)
{
    struct gc_heap *h = m->heap;
    bool over = !h->sizing_pending && heap_sizing_major_due(h, total);
    bool was_active = h->cycle_active;
    if (h->cycle_active ? cycle_end_due(h) || heap_sizing_cycle_overdue(h)
                        : over && h->barrier_kind != GC_BARRIER_NONE)
        run_collection(m, COLLECT_MAJOR_STEP, true);
    char *at = old_alloc_large(h, total);
    if (!at)
        return NULL;
    if (h->cycle_active && !was_active)
        heap_sizing_cycle_starts_with(h, total);
    memset(at, 0, total);
    if (h->cycle_active) /* allocated marked (docs/collector.md, "Concurrent marking") */
        concurrent_mark_allocated(h, at + GC_HEADER_BYTES);
    size_t bi = block_index(h, at);
    h->blocks[bi].fresh = true;
    ptr_stack_push(&h->fresh_large, at + GC_HEADER_BYTES);
    h->stats.bytes_allocated += total;
    h->sizing.large_bytes += total;
    return at;
}

/* Stress mode: every Nth allocation of a thread collects; every eighth collection is a
 * major one. */
static void stress_tick(struct gc_mutator *m)
{
    if (--m->stress_countdown > 0)
        return;
    struct gc_heap *h = m->heap;
    m->stress_countdown = h->stress_interval;
    pthread_mutex_lock(&h->lock);
    h->stress_collections++;
    run_collection(m, h->stress_collections % 8 == 0 ? COLLECT_MAJOR_STEP : COLLECT_MINOR, false);
    pthread_mutex_unlock(&h->lock);
}

static void check_may_allocate(const struct gc_mutator *m)
{
    if (m->state == MUTATOR_COLLECTING)
        gc_fatal("allocation during a collection (from a trace or root callback?)");
    if (m->state == MUTATOR_BLOCKING)
        gc_fatal("allocation in a blocking region (call gc_blocking_leave first)");
}

void *gc_alloc_slow(struct gc_mutator *m, unsigned kind, size_t bytes, int pointerfree)
{
    struct gc_heap *h = m->heap;
    check_may_allocate(m);
    if (bytes > h->nblocks << BLOCK_SHIFT)
        return NULL; /* larger than the whole heap: no collection can help */
    size_t total = (bytes + GC_HEADER_BYTES + GC_GRANULE - 1) & ~(size_t)(GC_GRANULE - 1);
    gc_safepoint(m);
    if (h->stress_interval)
        stress_tick(m);
    bool large = total > SMALL_MAX;
    char *at = large ? NULL : bump_in_own_block(h, m, total);
    pthread_mutex_lock(&h->lock);
    for (int attempt = 0; !at; attempt++) {
        if (h->stop_requested)
            mutator_park(m);
        at = large ? alloc_large_old(m, total) : alloc_small_young(m, total);
        if (at)
            break;
        /* First a minor collection (for a young object), then a major one; after that
         * only the embedder can help, a bounded number of times. The callback runs
         * without the lock: it may drop roots. */
        if (attempt >= 2) {
            pthread_mutex_unlock(&h->lock);
            int again = attempt <= 10 && h->on_oom && h->on_oom(h, total, h->on_oom_arg);
            pthread_mutex_lock(&h->lock);
            if (!again)
                break;
        }
        run_collection(m, attempt == 0 && !large ? COLLECT_MINOR : COLLECT_MAJOR_FULL,
                       attempt == 0);
    }
    if (large && at)
        prefault_blocks_taken(h, block_index(h, at), (total + BLOCK_BYTES - 1) >> BLOCK_SHIFT);
    pthread_mutex_unlock(&h->lock);
    nursery_take_zeroing(m); /* a block just taken: cleared before the object is made */
    prefault_assist(h);      /* what the prefault thread had no core for */
    if (!at)
        return NULL;
    *(gc_header *)at = make_header(total, kind, pointerfree ? GC_HDR_POINTERFREE : 0);
    return at + GC_HEADER_BYTES;
}
