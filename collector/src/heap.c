/* A heap's life: configuration, creation, the allocation slow path, the collection
 * driver, embedder registration, statistics. */
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

/* ---- Utilities ---- */

uint64_t gc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void gc_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gcvm-gc: fatal: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void gc_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gcvm-gc: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void ptr_stack_grow(struct ptr_stack *s)
{
    size_t cap = s->capacity ? s->capacity * 2 : 1024;
    void **items = realloc(s->items, cap * sizeof *items);
    if (!items)
        gc_fatal("out of memory for the collector's work list (%zu entries)", cap);
    s->items = items;
    s->capacity = cap;
}

static void set_error(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* ---- Barrier names ---- */

static const char *const barrier_names[GC_BARRIER_KIND_COUNT] = {
    [GC_BARRIER_DEFAULT] = "default",
    [GC_BARRIER_NONE] = "none",
    [GC_BARRIER_CARD] = "card",
    [GC_BARRIER_MPROTECT] = "mprotect",
    [GC_BARRIER_UFFD] = "uffd",
    [GC_BARRIER_SOFT_DIRTY] = "soft-dirty",
    [GC_BARRIER_GCVM_DIRTY] = "gcvm-dirty",
    [GC_BARRIER_GCVM_PROTECT] = "gcvm-protect",
    [GC_BARRIER_AUTO] = "auto",
};

const char *gc_barrier_name(enum gc_barrier_kind kind)
{
    return (unsigned)kind < GC_BARRIER_KIND_COUNT ? barrier_names[kind] : NULL;
}

int gc_barrier_uses_guest_mode(enum gc_barrier_kind kind)
{
    return kind == GC_BARRIER_GCVM_DIRTY || kind == GC_BARRIER_GCVM_PROTECT;
}

const char *gc_barrier_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (unsigned k = GC_BARRIER_NONE; k < GC_BARRIER_KIND_COUNT && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", k == GC_BARRIER_NONE ? "" : ", ",
                                 barrier_names[k]);
    return buf;
}

int gc_barrier_parse(const char *name, enum gc_barrier_kind *out)
{
    for (unsigned k = GC_BARRIER_NONE; k < GC_BARRIER_KIND_COUNT; k++) {
        if (strcmp(name, barrier_names[k]) == 0) {
            *out = (enum gc_barrier_kind)k;
            return 0;
        }
    }
    return -1;
}

const struct gc_barrier_ops *barrier_ops_for(enum gc_barrier_kind kind)
{
    switch (kind) {
    case GC_BARRIER_NONE: return &gc_barrier_none_ops;
    case GC_BARRIER_CARD: return &gc_barrier_card_ops;
    case GC_BARRIER_MPROTECT: return &gc_barrier_mprotect_ops;
    case GC_BARRIER_UFFD: return &gc_barrier_uffd_ops;
    case GC_BARRIER_SOFT_DIRTY: return &gc_barrier_soft_dirty_ops;
    case GC_BARRIER_GCVM_DIRTY: return &gc_barrier_gcvm_dirty_ops;
    case GC_BARRIER_GCVM_PROTECT: return &gc_barrier_gcvm_protect_ops;
    default: return NULL;
    }
}

int gc_barrier_available(enum gc_barrier_kind kind, char *why, size_t why_len)
{
    if (kind == GC_BARRIER_AUTO || kind == GC_BARRIER_DEFAULT)
        return 1;
    const struct gc_barrier_ops *ops = barrier_ops_for(kind);
    if (!ops) {
        set_error(why, why_len, "not a barrier kind");
        return 0;
    }
    char scratch[256];
    return ops->available(why ? why : scratch, why ? why_len : sizeof scratch);
}

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
    cfg->nursery_bytes = DEFAULT_NURSERY_BYTES;
    cfg->barrier = GC_BARRIER_DEFAULT;
}

/* The environment variables a heap reads at creation, each a number, 0 when unset. */
struct env_settings {
    unsigned stress, threads, verify, trace;
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
        set_error(err, err_len, "%s=%s is not a number from 0 to 1000000000", name, v);
        return -1;
    }
    *out = (unsigned)n;
    return 0;
}

static int read_env_settings(struct env_settings *e, char *err, size_t err_len)
{
    return env_unsigned("GCVM_GC_STRESS", &e->stress, err, err_len) ||
                   env_unsigned("GCVM_GC_THREADS", &e->threads, err, err_len) ||
                   env_unsigned("GCVM_GC_VERIFY", &e->verify, err, err_len) ||
                   env_unsigned("GCVM_GC_TRACE", &e->trace, err, err_len)
               ? -1
               : 0;
}

static int resolve_barrier(const struct gc_config *cfg, enum gc_barrier_kind *kind, char *reason,
                           size_t reason_len, char *err, size_t err_len)
{
    *kind = cfg->barrier;
    reason[0] = 0;
    if (*kind == GC_BARRIER_DEFAULT) {
        const char *env = getenv("GCVM_BARRIER");
        if (env && *env) {
            if (gc_barrier_parse(env, kind) != 0) {
                char names[160];
                set_error(err, err_len, "GCVM_BARRIER=%s is not a barrier; use one of %s", env,
                          gc_barrier_names(names, sizeof names));
                return -1;
            }
            snprintf(reason, reason_len, "chosen by GCVM_BARRIER");
        } else {
            *kind = GC_BARRIER_AUTO;
        }
    }
    if ((unsigned)*kind >= GC_BARRIER_KIND_COUNT) {
        set_error(err, err_len, "barrier kind %d is not valid", (int)*kind);
        return -1;
    }
    if (*kind == GC_BARRIER_AUTO)
        *kind = barrier_auto_choose(reason, reason_len);
    char why[256];
    if (!gc_barrier_available(*kind, why, sizeof why)) {
        set_error(err, err_len, "barrier %s is not available on this machine: %s",
                  gc_barrier_name(*kind), why);
        return -1;
    }
    if (!reason[0])
        snprintf(reason, reason_len, "chosen by the heap's configuration");
    return 0;
}

/* Reserves `bytes` of address space aligned to BLOCK_BYTES. Pages are touched lazily. */
static char *reserve_region(size_t bytes)
{
    size_t span = bytes + BLOCK_BYTES;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *aligned = (char *)(((uintptr_t)raw + BLOCK_BYTES - 1) & ~(uintptr_t)(BLOCK_BYTES - 1));
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
    if (cfg->nursery_bytes == 0)
        cfg->nursery_bytes = DEFAULT_NURSERY_BYTES;
    size_t nursery_blocks = (cfg->nursery_bytes + BLOCK_BYTES - 1) >> BLOCK_SHIFT;
    size_t nblocks = cfg->heap_max_bytes >> BLOCK_SHIFT;
    if (nblocks < 2 * nursery_blocks + 4) {
        set_error(err, err_len,
                  "heap of %zu bytes is too small for a nursery of %zu bytes; give the "
                  "heap at least %zu bytes",
                  cfg->heap_max_bytes, cfg->nursery_bytes, (2 * nursery_blocks + 4) << BLOCK_SHIFT);
        return -1;
    }
    if (nblocks > ((size_t)1 << 31)) {
        set_error(err, err_len, "heap of %zu bytes is larger than this collector supports",
                  cfg->heap_max_bytes);
        return -1;
    }
    return read_env_settings(env, err, err_len);
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
    if (resolve_barrier(&cfg, &kind, reason, sizeof reason, err, err_len) != 0)
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
        set_error(err, err_len, "a heap for calibration needs one barrier, not %d",
                  (int)cfg.barrier);
        return NULL;
    }
    if (!gc_barrier_available(cfg.barrier, why, sizeof why)) {
        set_error(err, err_len, "barrier %s is not available on this machine: %s",
                  gc_barrier_name(cfg.barrier), why);
        return NULL;
    }
    return build_heap(&cfg, &env, cfg.barrier, "chosen by the heap's configuration", err, err_len);
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
        set_error(err, err_len, "out of memory for the heap descriptor");
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->stopped_cond, NULL);
    pthread_cond_init(&h->resume_cond, NULL);
    h->creator = pthread_self();
    h->barrier_kind = kind;
    h->barrier = barrier_ops_for(kind);
    snprintf(h->barrier_reason, sizeof h->barrier_reason, "%s", reason);
    h->nblocks = nblocks;
    h->base = reserve_region(nblocks << BLOCK_SHIFT);
    if (!h->base) {
        set_error(err, err_len, "cannot reserve %zu bytes of address space for the heap: %s",
                  nblocks << BLOCK_SHIFT, strerror(errno));
        free(h);
        return NULL;
    }
    h->end = h->base + (nblocks << BLOCK_SHIFT);
    h->free_blocks = nblocks;
    h->blocks = calloc(nblocks, sizeof *h->blocks);
    h->resident = calloc(nblocks, 1);
    size_classes_init();
    h->alloc_bits = calloc(nblocks * BITMAP_WORDS_PER_BLOCK, sizeof(uint64_t));
    h->mark_bits = calloc(nblocks * BITMAP_WORDS_PER_BLOCK, sizeof(uint64_t));
    h->dirty_shift = h->barrier->dirty_shift;
    h->dirty = calloc((nblocks << BLOCK_SHIFT) >> h->dirty_shift, 1);
    h->nursery_target_blocks = nursery_blocks;
    h->nursery = calloc(nursery_blocks, sizeof *h->nursery);
    if (!h->blocks || !h->resident || !h->alloc_bits || !h->mark_bits || !h->dirty || !h->nursery) {
        set_error(err, err_len, "out of memory for the heap's side tables");
        gc_heap_destroy(h);
        return NULL;
    }
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        h->small_current[c] = -1;
    size_t threshold =
        cfg.major_threshold_bytes ? cfg.major_threshold_bytes : 4 * cfg.nursery_bytes;
    h->major_threshold_blocks = h->min_major_threshold_blocks = threshold >> BLOCK_SHIFT;
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
    h->stats.dirty_unit_bytes = kind == GC_BARRIER_NONE ? 0 : (uint64_t)1 << h->dirty_shift;

    prefault_start(h); /* before a gcvm barrier puts the thread in guest mode */
    if (h->barrier->attach(h, err, err_len) != 0) {
        h->barrier = NULL; /* nothing to detach */
        gc_heap_destroy(h);
        return NULL;
    }
    if (kind == GC_BARRIER_CARD)
        h->card_table_biased = h->dirty - ((uintptr_t)h->base >> GC_CARD_SHIFT);
    return h;
}

void gc_heap_destroy(struct gc_heap *h)
{
    if (!h)
        return;
    prefault_stop(h);
    mutators_free_all(h);
    if (h->barrier)
        h->barrier->detach(h);
    if (h->base)
        munmap(h->base, h->nblocks << BLOCK_SHIFT);
    free(h->blocks);
    free(h->resident);
    free(h->alloc_bits);
    free(h->mark_bits);
    free(h->dirty);
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

/* ---- Embedder registration ---- */

int gc_register_kind(struct gc_heap *h, unsigned kind, gc_trace_fn trace)
{
    return gc_register_kind_ranged(h, kind, trace, NULL);
}

int gc_register_kind_ranged(struct gc_heap *h, unsigned kind, gc_trace_fn trace,
                            gc_trace_range_fn trace_range)
{
    if (kind >= KIND_COUNT || kind == GC_KIND_EPHEMERON || kind == GC_KIND_GUARDIAN)
        return -1; /* out of range, or the collector's own (gc-weak.h) */
    pthread_mutex_lock(&h->lock);
    h->trace[kind] = trace;
    h->trace_range[kind] = trace_range;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

int gc_root_add(struct gc_heap *h, void **root)
{
    int rc = 0;
    pthread_mutex_lock(&h->lock);
    if (h->root_count == h->root_capacity) {
        size_t cap = h->root_capacity ? h->root_capacity * 2 : 64;
        void ***roots = realloc(h->roots, cap * sizeof *roots);
        if (roots) {
            h->roots = roots;
            h->root_capacity = cap;
        } else {
            rc = -1;
        }
    }
    if (rc == 0)
        h->roots[h->root_count++] = root;
    pthread_mutex_unlock(&h->lock);
    return rc;
}

int gc_root_remove(struct gc_heap *h, void **root)
{
    int rc = -1;
    pthread_mutex_lock(&h->lock);
    for (size_t i = h->root_count; i-- > 0;) {
        if (h->roots[i] == root) {
            h->roots[i] = h->roots[--h->root_count];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void gc_set_root_tracer(struct gc_heap *h, gc_root_trace_fn fn, void *user)
{
    pthread_mutex_lock(&h->lock);
    h->root_tracer = fn;
    h->root_tracer_user = user;
    pthread_mutex_unlock(&h->lock);
}

void trace_roots(struct gc_heap *h, gc_visit_fn visit, void *ctx)
{
    for (size_t i = 0; i < h->root_count; i++)
        visit(h->roots[i], ctx);
    if (h->root_tracer)
        h->root_tracer(visit, ctx, h->root_tracer_user);
    trace_mutator_roots(h, visit, ctx);
}

void trace_object(struct gc_heap *h, void *obj, gc_visit_fn visit, void *ctx)
{
    gc_header hdr = *header_of(obj);
    if (hdr & (GC_HDR_POINTERFREE | HDR_FILLER))
        return;
    unsigned kind = header_kind(hdr);
    if (kind == GC_KIND_EPHEMERON || kind == GC_KIND_GUARDIAN) {
        weak_trace(h, obj, kind, visit, ctx);
        return;
    }
    gc_trace_fn trace = h->trace[kind];
    if (!trace)
        gc_fatal("object %p of kind %u holds pointers but the kind has no trace function "
                 "(gc_register_kind)",
                 obj, kind);
    trace(obj, visit, ctx);
}

size_t gc_object_size(const void *obj)
{
    gc_header hdr = *header_of(obj);
    return header_size(hdr) - GC_HEADER_BYTES - identity_hash_payload_extra(hdr);
}
unsigned gc_object_kind(const void *obj)
{
    return header_kind(*header_of(obj));
}

void gc_for_each_object(struct gc_mutator *m, gc_object_fn fn, void *arg)
{
    struct gc_heap *h = m->heap;
    pthread_mutex_lock(&h->lock);
    world_stop(m);
    for (size_t i = 0; i < h->blocks_end; i++)
        if (h->blocks[i].kind != BLOCK_FREE)
            block_for_each_object(h, i, fn, arg);
    world_start(m);
    pthread_mutex_unlock(&h->lock);
}

/* ---- Collection driver ---- */

static void record_pause(struct gc_heap *h, double ms)
{
    struct pause_log *p = &h->pauses;
    if (p->count == p->capacity) {
        size_t cap = p->capacity ? p->capacity * 2 : 256;
        double *ms_new = realloc(p->ms, cap * sizeof *ms_new);
        if (!ms_new)
            return; /* statistics only: lose the sample, keep the heap */
        p->ms = ms_new;
        p->capacity = cap;
    }
    p->ms[p->count++] = ms;
    h->stats.pause_total_ms += ms;
    if (ms > h->stats.pause_max_ms)
        h->stats.pause_max_ms = ms;
}

static void timed_barrier_step(struct gc_heap *h, void (*step)(struct gc_heap *))
{
    uint64_t t0 = gc_now_ns();
    step(h);
    uint64_t ns = gc_now_ns() - t0;
    h->barrier_ns += ns;
    h->phase_ns[2] += ns;
}

static void log_collection(struct gc_heap *h, bool major, uint64_t promoted_before, double ms)
{
    fprintf(stderr,
            "gcvm-gc: %s #%llu: %.3f ms (trace %.3f, sweep %.3f, barrier %.3f); promoted "
            "%.1f KiB; old %.1f MiB, heap %.1f MiB\n",
            major ? "major" : "minor",
            (unsigned long long)h->stats.minor_collections +
                (unsigned long long)h->stats.major_collections,
            ms, (double)h->phase_ns[0] / 1e6, (double)h->phase_ns[1] / 1e6,
            (double)h->phase_ns[2] / 1e6,
            (double)(h->stats.bytes_promoted - promoted_before) / 1024.0,
            (double)(h->old_blocks << BLOCK_SHIFT) / 1048576.0,
            (double)((h->nblocks - h->free_blocks) << BLOCK_SHIFT) / 1048576.0);
}

/* With the world stopped and every mutator's block retired. */
static void collect_stopped(struct gc_heap *h, bool major)
{
    h->collecting = true;
    h->collections++;
    uint64_t t0 = gc_now_ns();
    uint64_t promoted_before = h->stats.bytes_promoted;
    memset(h->phase_ns, 0, sizeof h->phase_ns);
    h->stats.bytes_allocated += nursery_bytes_in_use(h);
    major = major || h->barrier_kind == GC_BARRIER_NONE || h->major_due;
    if (major) {
        major_collect(h);
        retention_release(h);
        h->stats.major_collections++;
    } else {
        timed_barrier_step(h, h->barrier->harvest);
        if (h->verify)
            verify_remembered_set(h);
        uint64_t t_trace = gc_now_ns();
        minor_collect(h);
        h->phase_ns[0] = gc_now_ns() - t_trace;
        h->stats.minor_collections++;
        /* Not now: at the next nursery block boundary, when the major collection has
         * almost nothing young to evacuate (docs/collector.md, "Major collections and
         * the pause"). */
        h->major_due = h->old_blocks >= h->major_threshold_blocks;
    }
    timed_barrier_step(h, h->barrier->rearm);
    h->all_dirty = false;
    nursery_reset(h);
    prefault_request(h);
    if (h->verify && verify_reachable(h) != 0)
        gc_fatal("heap verification failed after a %s collection", major ? "major" : "minor");
    size_t in_use = (h->nblocks - h->free_blocks) << BLOCK_SHIFT;
    if (in_use > h->stats.peak_heap_bytes)
        h->stats.peak_heap_bytes = in_use;
    double ms = (double)(gc_now_ns() - t0) / 1e6;
    record_pause(h, ms);
    if (h->trace_log)
        log_collection(h, major, promoted_before, ms);
    h->collecting = false;
}

void run_collection(struct gc_mutator *m, bool major, bool unless_another)
{
    bool another = world_stop(m);
    if (!(another && unless_another))
        collect_stopped(m->heap, major);
    world_start(m);
}

void gc_collect(struct gc_mutator *m, enum gc_collection_kind kind)
{
    pthread_mutex_lock(&m->heap->lock);
    run_collection(m, kind == GC_COLLECT_MAJOR, false);
    pthread_mutex_unlock(&m->heap->lock);
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
    if (h->major_due)
        run_collection(m, true, true);
    if (nursery_refill(h, m))
        at = bump_in_own_block(h, m, total);
    return at;
}

static char *alloc_large_old(struct gc_mutator *m, size_t total)
{
    struct gc_heap *h = m->heap;
    if (h->old_blocks + (total >> BLOCK_SHIFT) >= h->major_threshold_blocks &&
        h->barrier_kind != GC_BARRIER_NONE)
        run_collection(m, true, true);
    char *at = old_alloc_large(h, total);
    if (!at)
        return NULL;
    memset(at, 0, total);
    size_t bi = block_index(h, at);
    h->blocks[bi].fresh = true;
    ptr_stack_push(&h->fresh_large, at + GC_HEADER_BYTES);
    h->stats.bytes_allocated += total;
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
    run_collection(m, h->stress_collections % 8 == 0, false);
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
        run_collection(m, !(attempt == 0 && !large), attempt == 0);
    }
    pthread_mutex_unlock(&h->lock);
    if (!at)
        return NULL;
    *(gc_header *)at = make_header(total, kind, pointerfree ? GC_HDR_POINTERFREE : 0);
    return at + GC_HEADER_BYTES;
}

/* ---- Statistics ---- */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

void gc_get_stats(const struct gc_heap *ch, struct gc_stats *out)
{
    struct gc_heap *h = (struct gc_heap *)(uintptr_t)ch; /* for the lock */
    pthread_mutex_lock(&h->lock);
    *out = h->stats;
    out->heap_bytes = (h->nblocks - h->free_blocks) << BLOCK_SHIFT;
    if (out->heap_bytes > out->peak_heap_bytes)
        out->peak_heap_bytes = out->heap_bytes;
    out->bytes_allocated += nursery_bytes_in_use(h);
    /* The calling mutator's block to its cursor; the others' cursors are theirs. */
    for (const struct gc_mutator *m = h->mutators; m; m = m->next)
        if (m->block >= 0 && pthread_equal(m->thread, pthread_self()) &&
            m->state == MUTATOR_RUNNING)
            out->bytes_allocated += (size_t)(m->fast.alloc_cursor - h->blocks[m->block].fill);
    out->barrier_ms = (double)h->barrier_ns / 1e6;
    out->prefaulted_bytes = prefault_populated_bytes(h);
    out->major_threshold_bytes = (uint64_t)h->major_threshold_blocks << BLOCK_SHIFT;
    out->old_bytes = (uint64_t)h->old_blocks << BLOCK_SHIFT;
    if (h->barrier->trap_counts) {
        uint64_t traps, ns;
        h->barrier->trap_counts(h, &traps, &ns);
        out->barrier_traps = traps;
        out->barrier_ms += (double)ns / 1e6;
    }
    size_t n = h->pauses.count;
    double *sorted = n ? malloc(n * sizeof *sorted) : NULL;
    if (sorted) {
        memcpy(sorted, h->pauses.ms, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, compare_double);
        out->pause_p50_ms = percentile(sorted, n, 0.50);
        out->pause_p95_ms = percentile(sorted, n, 0.95);
        out->pause_p99_ms = percentile(sorted, n, 0.99);
        free(sorted);
    }
    pthread_mutex_unlock(&h->lock);
}

void gc_reset_pause_stats(struct gc_heap *h)
{
    h->pauses.count = 0;
    h->stats.pause_max_ms = 0;
    h->stats.pause_total_ms = 0;
}

void gc_print_stats(const struct gc_heap *h, void *file)
{
    FILE *f = file;
    struct gc_stats s;
    gc_get_stats(h, &s);
    fprintf(f, "gc: barrier %s (%s)\n", gc_barrier_name(h->barrier_kind), h->barrier_reason);
    fprintf(f,
            "gc: %llu minor, %llu major collections; pauses p50 %.3f ms, p95 %.3f ms, "
            "max %.3f ms, total %.1f ms\n",
            (unsigned long long)s.minor_collections, (unsigned long long)s.major_collections,
            s.pause_p50_ms, s.pause_p95_ms, s.pause_max_ms, s.pause_total_ms);
    fprintf(f, "gc: allocated %.1f MiB, promoted %.1f MiB, heap %.1f MiB (peak %.1f MiB)\n",
            (double)s.bytes_allocated / 1048576.0, (double)s.bytes_promoted / 1048576.0,
            (double)s.heap_bytes / 1048576.0, (double)s.peak_heap_bytes / 1048576.0);
    fprintf(f,
            "gc: barrier: %llu traps, %llu dirty %s found, %llu fields scanned for them, "
            "%.1f ms; %llu pinned blocks\n",
            (unsigned long long)s.barrier_traps, (unsigned long long)s.dirty_units,
            s.dirty_unit_bytes == 512 ? "cards" : "pages", (unsigned long long)s.remembered_fields,
            s.barrier_ms, (unsigned long long)s.pinned_blocks);
    fprintf(f, "gc: growth outside pauses: %s; %.1f MiB faulted in ahead, %.1f MiB returned\n",
            h->prefault_state, (double)s.prefaulted_bytes / 1048576.0,
            (double)s.released_bytes / 1048576.0);
}
