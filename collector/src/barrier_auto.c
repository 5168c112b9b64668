/* The auto barrier: runs one short, fixed workload under each barrier this machine
 * offers and keeps the fastest. The gcvm barriers are candidates only where guest ring 0
 * runs on VT-x or AMD-V: an emulated ring 0 is thousands of times slower, and a
 * calibration run there would take minutes to say so. The workload is what a
 * generational collector's barrier is for: a long-lived structure that receives pointers
 * to new objects while garbage is allocated around it. The choice is made once per
 * process. */
#include <pthread.h>
#include <string.h>

#include "gc_internal.h"
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

static void *calib_roots[1];

/* Milliseconds the workload took under `kind`, or a negative number if it failed. */
static double run_workload(enum gc_barrier_kind kind)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)64 << 20;
    cfg.nursery_bytes = (size_t)1 << 20;
    cfg.major_threshold_bytes = (size_t)32 << 20;
    struct gc_heap *h = gc_heap_create(&cfg, NULL, 0);
    if (!h)
        return -1;
    struct gc_mutator *m = gc_mutator_attach(h, NULL, 0);
    if (!m) {
        gc_heap_destroy(h);
        return -1;
    }
    gc_register_kind(h, CALIBRATION_KIND, trace_calib_node);
    calib_roots[0] = NULL;
    gc_root_add(h, &calib_roots[0]);
    uint64_t t0 = gc_now_ns();
    /* The long-lived structure: a linked list whose nodes get young right children. */
    struct calib_node *head = NULL;
    for (int i = 0; i < OLD_NODES; i++) {
        struct calib_node *n = gc_alloc(m, CALIBRATION_KIND, sizeof *n);
        n->left = head;
        gc_write_barrier(m, &n->left);
        head = n;
        calib_roots[0] = head;
    }
    gc_collect(m, GC_COLLECT_MINOR); /* now old */
    uint64_t seed = 88172645463325252ull;
    struct calib_node *cursor = calib_roots[0];
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
        cursor = cursor->left ? cursor->left : calib_roots[0];
    }
    double ms = (double)(gc_now_ns() - t0) / 1e6;
    gc_mutator_detach(m);
    gc_heap_destroy(h);
    return ms;
}

static char chosen_reason[512];
static enum gc_barrier_kind chosen = GC_BARRIER_CARD;

static void choose_once(void)
{
    static const enum gc_barrier_kind candidates[] = {
        GC_BARRIER_CARD,       GC_BARRIER_MPROTECT,   GC_BARRIER_UFFD,
        GC_BARRIER_SOFT_DIRTY, GC_BARRIER_GCVM_DIRTY, GC_BARRIER_GCVM_PROTECT};
    double best = -1;
    size_t used = (size_t)snprintf(chosen_reason, sizeof chosen_reason, "auto:");
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        enum gc_barrier_kind kind = candidates[i];
        bool available = gc_barrier_available(kind, NULL, 0);
        bool emulated = available && gc_barrier_uses_guest_mode(kind) && !guest_mode_is_hardware();
        double ms = available && !emulated ? run_workload(kind) : -1;
        if (used < sizeof chosen_reason) {
            if (emulated)
                used += (size_t)snprintf(chosen_reason + used, sizeof chosen_reason - used,
                                         " %s skipped (ring 0 is emulated here);",
                                         gc_barrier_name(kind));
            else if (ms < 0)
                used += (size_t)snprintf(chosen_reason + used, sizeof chosen_reason - used,
                                         " %s unavailable;", gc_barrier_name(kind));
            else
                used += (size_t)snprintf(chosen_reason + used, sizeof chosen_reason - used,
                                         " %s %.1f ms;", gc_barrier_name(kind), ms);
        }
        if (ms >= 0 && (best < 0 || ms < best)) {
            best = ms;
            chosen = kind;
        }
    }
    if (used < sizeof chosen_reason)
        snprintf(chosen_reason + used, sizeof chosen_reason - used,
                 " fastest on the calibration workload: %s", gc_barrier_name(chosen));
}

enum gc_barrier_kind barrier_auto_choose(char *reason, size_t reason_len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, choose_once);
    snprintf(reason, reason_len, "%s", chosen_reason);
    return chosen;
}
