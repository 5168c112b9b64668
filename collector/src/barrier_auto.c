/* The auto barrier: runs one short, fixed workload under each barrier this machine
 * offers and keeps the fastest. The gcvm barriers are candidates only where guest ring 0
 * runs on VT-x or AMD-V: an emulated ring 0 is thousands of times slower, and a
 * calibration run there would take minutes to say so. The workload is what a
 * generational collector's barrier is for: a long-lived structure that receives pointers
 * to new objects while garbage is allocated around it. The choice is kept in a cache file
 * per machine (barrier_auto_cache.c) and read once per process. */
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "barrier_auto_cache.h"
#include "gc_internal.h"
#include "gcvm/gc-barrier-auto.h"
#include "guest_mode.h"

enum { CALIBRATION_KIND = 0, OLD_NODES = 16384, ROUNDS = 60000 };

struct calib_node {
    struct calib_node *left, *right;
    uint64_t value;
};

static void trace_calib_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct calib_node *n = obj;
    visit((void **)&n->left, ctx);
    visit((void **)&n->right, ctx);
}

/* Milliseconds of CPU time the workload took under `kind` (the thread's: unlike the wall
 * clock, it does not count the time another process has the CPU, yet it counts what the
 * barrier costs: its faults, signals and system calls run on this thread), or a negative
 * number if it failed. */
static double run_workload(enum gc_barrier_kind kind)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)64 << 20;
    cfg.nursery_bytes = (size_t)1 << 20;
    cfg.major_threshold_bytes = (size_t)32 << 20;
    struct gc_heap *h = heap_create_with_barrier(&cfg, NULL, 0);
    if (!h)
        return -1;
    struct gc_mutator *m = gc_mutator_attach(h, NULL, 0);
    if (!m) {
        gc_heap_destroy(h);
        return -1;
    }
    gc_register_kind(h, CALIBRATION_KIND, trace_calib_node);
    void *root = NULL; /* on this thread's stack: calibrations on two threads share nothing */
    gc_root_add(h, &root);
    uint64_t t0 = thread_cpu_ns();
    /* The long-lived structure: a linked list whose nodes get young right children. */
    struct calib_node *head = NULL;
    for (int i = 0; i < OLD_NODES; i++) {
        struct calib_node *n = gc_alloc(m, CALIBRATION_KIND, sizeof *n);
        n->left = head;
        gc_write_barrier(m, &n->left);
        head = n;
        root = head;
    }
    gc_collect(m, GC_COLLECT_MINOR); /* now old */
    uint64_t seed = 88172645463325252ull;
    struct calib_node *cursor = root;
    for (int r = 0; r < ROUNDS; r++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        struct calib_node *young = gc_alloc(m, CALIBRATION_KIND, sizeof *young);
        young->value = seed;
        for (int g = 0; g < 3; g++) /* garbage */
            (void)gc_alloc(m, CALIBRATION_KIND, sizeof(struct calib_node));
        if (seed % 4 == 0) {
            cursor->right = young;
            gc_write_barrier(m, &cursor->right);
        }
        cursor = cursor->left ? cursor->left : (struct calib_node *)root;
    }
    double ms = (double)(thread_cpu_ns() - t0) / 1e6;
    gc_mutator_detach(m);
    gc_heap_destroy(h);
    return ms;
}

/* The barriers auto chooses among, in the order it measures them. */
static const enum gc_barrier_kind candidates[] = {GC_BARRIER_CARD,       GC_BARRIER_MPROTECT,
                                                  GC_BARRIER_UFFD,       GC_BARRIER_SOFT_DIRTY,
                                                  GC_BARRIER_GCVM_DIRTY, GC_BARRIER_GCVM_PROTECT};
enum { CANDIDATE_COUNT = sizeof candidates / sizeof candidates[0] };

enum offer { UNAVAILABLE, EMULATED, OFFERED };

/* Which candidates this machine offers. Asking whether ring 0 runs on hardware starts
 * the engine (tens of milliseconds), so this is done only to measure. */
static void find_offers(enum offer offers[CANDIDATE_COUNT])
{
    for (size_t i = 0; i < CANDIDATE_COUNT; i++) {
        enum gc_barrier_kind kind = candidates[i];
        offers[i] = !gc_barrier_available(kind, NULL, 0)                            ? UNAVAILABLE
                    : gc_barrier_uses_guest_mode(kind) && !guest_mode_is_hardware() ? EMULATED
                                                                                    : OFFERED;
    }
}

static const char *device_state(const char *path)
{
    return access(path, F_OK) != 0          ? "absent"
           : access(path, R_OK | W_OK) != 0 ? "denied"
                                            : "usable";
}

/* What decides the offers, found without starting the engine (part of the cache key): the
 * barriers outside guest mode that are available, and for the gcvm barriers the engine's
 * devices and backend (the CPU's virtualization flag is in the key too). */
static void describe_offers(char *names, size_t len)
{
    size_t used = 0;
    names[0] = 0;
    for (size_t i = 0; i < CANDIDATE_COUNT && used < len; i++) {
        if (!gc_barrier_uses_guest_mode(candidates[i]) &&
            gc_barrier_available(candidates[i], NULL, 0))
            used +=
                (size_t)snprintf(names + used, len - used, "%s ", gc_barrier_name(candidates[i]));
    }
    const char *backend = getenv("GCVM_BACKEND");
    if (used < len)
        snprintf(names + used, len - used, "engine(/dev/kvm %s, /dev/gcvm %s, GCVM_BACKEND=%s)",
                 device_state("/dev/kvm"), device_state("/dev/gcvm"),
                 backend && *backend ? backend : "auto");
}

/* Rounds of the workload per candidate: the choice is kept until the machine changes, so
 * one round's noise (caches, page faults of a first run, a busy spell) would stay; the
 * fastest of the rounds counts. The rounds are interleaved, so that a busy spell
 * slows one round of several candidates rather than every round of one. */
enum { CALIBRATION_ROUNDS = 3 };

/* Runs the workload under every offered candidate; returns the fastest and writes what
 * was measured to `figures`. */
static enum gc_barrier_kind measure(const enum offer offers[CANDIDATE_COUNT], char *figures,
                                    size_t figures_len)
{
    double ms[CANDIDATE_COUNT];
    for (size_t i = 0; i < CANDIDATE_COUNT; i++)
        ms[i] = -1;
    for (int round = 0; round < CALIBRATION_ROUNDS; round++) {
        for (size_t i = 0; i < CANDIDATE_COUNT; i++) {
            double t = offers[i] == OFFERED ? run_workload(candidates[i]) : -1;
            if (t >= 0 && (ms[i] < 0 || t < ms[i]))
                ms[i] = t;
        }
    }
    enum gc_barrier_kind fastest = GC_BARRIER_CARD;
    double best = -1;
    size_t used = 0;
    figures[0] = 0;
    for (size_t i = 0; i < CANDIDATE_COUNT; i++) {
        enum gc_barrier_kind kind = candidates[i];
        if (used < figures_len) {
            const char *sep = used ? " " : "";
            if (offers[i] == EMULATED)
                used += (size_t)snprintf(figures + used, figures_len - used,
                                         "%s%s skipped (ring 0 is emulated here);", sep,
                                         gc_barrier_name(kind));
            else if (ms[i] < 0)
                used += (size_t)snprintf(figures + used, figures_len - used, "%s%s unavailable;",
                                         sep, gc_barrier_name(kind));
            else
                used += (size_t)snprintf(figures + used, figures_len - used, "%s%s %.1f ms;", sep,
                                         gc_barrier_name(kind), ms[i]);
        }
        if (ms[i] >= 0 && (best < 0 || ms[i] < best)) {
            best = ms[i];
            fastest = kind;
        }
    }
    return fastest;
}

static bool calibration_requested(void)
{
    const char *v = getenv(GC_BARRIER_AUTO_CALIBRATE_ENV);
    return v && *v && strcmp(v, "0") != 0;
}

enum gc_barrier_kind gc_barrier_auto_query(int recalibrate, struct gc_barrier_auto_choice *out)
{
    enum offer offers[CANDIDATE_COUNT];
    char offered[256];
    memset(out, 0, sizeof *out);
    describe_offers(offered, sizeof offered);
    barrier_auto_cache_key(offered, out->key, sizeof out->key);
    bool cached = barrier_auto_cache_path(out->cache_file, sizeof out->cache_file) == 0;
    if (!cached)
        out->cache_file[0] = 0;
    if (cached && !recalibrate && !calibration_requested() &&
        barrier_auto_cache_read(out->cache_file, out->key, &out->kind, out->figures,
                                sizeof out->figures) == 1 &&
        /* Something the key does not say may have changed, or may differ in this process
         * (the engine is unusable in a forked child): then measure again. */
        gc_barrier_available(out->kind, NULL, 0)) {
        out->from_cache = 1;
        return out->kind;
    }
    find_offers(offers);
    out->kind = measure(offers, out->figures, sizeof out->figures);
    if (cached)
        barrier_auto_cache_write(out->cache_file, out->key, out->kind, out->figures);
    return out->kind;
}

static struct gc_barrier_auto_choice process_choice;
static char process_reason[1280];

static void choose_once(void)
{
    struct gc_barrier_auto_choice *c = &process_choice;
    gc_barrier_auto_query(0, c);
    const char *origin = c->from_cache      ? "cached in "
                         : c->cache_file[0] ? "measured now, cached in "
                                            : "measured now";
    snprintf(process_reason, sizeof process_reason,
             "auto: %.511s fastest on the calibration workload: %.32s (%s%.511s)", c->figures,
             gc_barrier_name(c->kind), origin, c->cache_file);
}

enum gc_barrier_kind barrier_auto_choose(char *reason, size_t reason_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, choose_once);
    snprintf(reason, reason_len, "%s", process_reason);
    return process_choice.kind;
}
