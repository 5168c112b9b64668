/* The interpreter's memory: its heap (the gcvm collector, or Boehm's with --gc=boehm),
 * the value stack, the runtime's roots and the memory outside the heap that code and
 * symbols live in.
 *
 * With the gcvm collector every root is precise: the root tracer visits the value stack,
 * the runtime roots, every symbol's top-level binding and every constant in compiled
 * code. Objects move when they survive the nursery, so C code never keeps a value in a
 * local variable across an allocation; it keeps it on the value stack. */
#include <errno.h>
#include <pthread.h>
#include <gc/gc.h>
#include <gc/gc_mark.h>
#include <gcvm/gc-embedder.h>
#include <gcvm/gcvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "scheme.h"

struct gc_heap *scm_heap;
SCM_THREAD_LOCAL struct gc_mutator *scm_mut;
int scm_use_boehm;
SCM_THREAD_LOCAL value *vs;
SCM_THREAD_LOCAL size_t vsp, vs_size;
SCM_THREAD_LOCAL value runtime_roots[ROOT_COUNT];
static SCM_THREAD_LOCAL size_t vs_entries; /* reserved for this thread's value stack */

/* Where the collector finds one thread's roots: its thread-local variables, read while
 * the thread is stopped or blocked. */
struct thread_roots {
    value **vs;
    size_t *vsp;
    value *roots;
    struct thread_roots *next; /* Boehm: the list of every thread's, boehm_threads */
};
static SCM_THREAD_LOCAL struct thread_roots *my_roots;
/* Boehm: the roots of every interpreter thread, pushed by the thread that collects. The
 * list changes with Boehm's allocation lock held (GC_call_with_alloc_lock), which a
 * collection holds, so a collection never sees it half changed. */
static struct thread_roots *boehm_threads;

static struct gc_mutator_fast boehm_stand_in; /* card table NULL: barrier does nothing */
/* The constants of compiled code and the memory outside the heap: any thread compiles. */
static pthread_mutex_t outside_heap_lock = PTHREAD_MUTEX_INITIALIZER;
static value **constants;
static size_t nconstants, constants_cap;
static value oom_error;
static double boehm_stop_ms, boehm_max_pause_ms, boehm_total_pause_ms;
static uint64_t boehm_collections;
static GC_push_other_roots_proc boehm_previous_push;

#define VALUE_STACK_ENTRIES ((size_t)64 << 20) /* 512 MiB reserved, touched as used */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

#define VALUE_STACK_RESERVE ((size_t)1 << 16) /* entries kept for handling the overflow */

void vs_overflow(void)
{
    if (vs_size == vs_entries) {
        fprintf(stderr, "gcvm-scheme: the value stack overflowed while handling its overflow\n");
        exit(70);
    }
    vs_size = vs_entries; /* the reserve, for the handlers */
    scm_error("recursion too deep: the value stack is full", NIL);
}

void vs_overflow_reset(void)
{
    if (vsp + 2 * VALUE_STACK_RESERVE < vs_entries)
        vs_size = vs_entries - VALUE_STACK_RESERVE;
}

/* Every block perm_alloc made, chained through a header word: the memory is meant to
 * live until exit, and the chain keeps it reachable for leak checkers. */
static void *perm_blocks;

void *perm_alloc(size_t bytes)
{
    size_t header = 16; /* keeps the 16-byte alignment of malloc */
    void **p = scm_use_boehm ? GC_MALLOC_UNCOLLECTABLE(header + bytes) : calloc(1, header + bytes);
    if (!p) {
        fprintf(stderr, "gcvm-scheme: out of memory outside the heap (%zu bytes)\n", bytes);
        exit(70);
    }
    pthread_mutex_lock(&outside_heap_lock);
    p[0] = perm_blocks;
    perm_blocks = p;
    pthread_mutex_unlock(&outside_heap_lock);
    return (char *)p + header;
}

void register_constant(value *where)
{
    if (scm_use_boehm)
        return; /* code lives in uncollectable memory, which Boehm scans */
    /* Never held across an allocation, so a plain lock: a collection waits for the holder
     * only for the few instructions below. */
    pthread_mutex_lock(&outside_heap_lock);
    if (nconstants == constants_cap) {
        constants_cap = constants_cap ? constants_cap * 2 : 256;
        constants = realloc(constants, constants_cap * sizeof *constants);
        if (!constants) {
            fprintf(stderr, "gcvm-scheme: out of memory registering a constant\n");
            exit(70);
        }
    }
    constants[nconstants++] = where;
    pthread_mutex_unlock(&outside_heap_lock);
}

/* ---- Tracing for the gcvm collector ---- */

static void trace_pair(void *obj, gc_visit_fn visit, void *ctx)
{
    value *w = obj;
    visit((void **)&w[1], ctx);
    visit((void **)&w[2], ctx);
}

static void trace_closure(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&OBJ((value)obj)[2], ctx);
}

/* Every word after the type word; words that are not heap pointers are ignored. */
static void trace_words(void *obj, gc_visit_fn visit, void *ctx)
{
    value *w = obj;
    size_t n = gc_object_size(obj) / sizeof(value);
    for (size_t i = 1; i < n; i++)
        visit((void **)&w[i], ctx);
}

/* The words of trace_words that lie in [from, to), bytes into the object: a vector
 * written at a few places is scanned there only. */
static void trace_words_range(void *obj, size_t from, size_t to, gc_visit_fn visit, void *ctx)
{
    value *w = obj;
    size_t first = from / sizeof(value), end = (to + sizeof(value) - 1) / sizeof(value);
    for (size_t i = first > 1 ? first : 1; i < end; i++)
        visit((void **)&w[i], ctx);
}

/* A symbol in the heap (symbols.c): its binding and macro; the rest is its name. */
static void trace_symbol(void *obj, gc_visit_fn visit, void *ctx)
{
    struct symbol *s = obj;
    visit((void **)&s->global, ctx);
    visit((void **)&s->macro, ctx);
}

struct visit_closure {
    gc_visit_fn visit;
    void *ctx;
};

static void visit_symbol_slot(value *slot, void *ctx)
{
    struct visit_closure *vc = ctx;
    vc->visit((void **)slot, vc->ctx);
}

/* One thread's value stack and runtime roots. */
static void trace_thread_roots(gc_visit_fn visit, void *ctx, void *user)
{
    struct thread_roots *r = user;
    value *stack = *r->vs;
    for (size_t i = 0, n = *r->vsp; i < n; i++)
        visit((void **)&stack[i], ctx);
    for (int i = 0; i < ROOT_COUNT; i++)
        visit((void **)&r->roots[i], ctx);
}

/* The roots every thread shares: constants in code, symbols' bindings. */
static void trace_roots(gc_visit_fn visit, void *ctx, void *user)
{
    (void)user;
    for (size_t i = 0; i < nconstants; i++)
        visit((void **)constants[i], ctx);
    struct visit_closure vc = {visit, ctx};
    symbols_visit(visit_symbol_slot, &vc);
}

/* ---- Boehm ---- */

static void on_boehm_event(GC_EventType e)
{
    if (e == GC_EVENT_PRE_STOP_WORLD) {
        boehm_stop_ms = now_ms();
    } else if (e == GC_EVENT_POST_START_WORLD) {
        double pause = now_ms() - boehm_stop_ms;
        boehm_total_pause_ms += pause;
        if (pause > boehm_max_pause_ms)
            boehm_max_pause_ms = pause;
    } else if (e == GC_EVENT_END) {
        boehm_collections++;
    }
}

static void push_value_stack(void)
{
    if (boehm_previous_push)
        boehm_previous_push();
    for (struct thread_roots *r = boehm_threads; r; r = r->next) {
        value *stack = *r->vs;
        size_t n = *r->vsp;
        if (n)
            GC_push_all_eager(stack, stack + n);
        GC_push_all_eager(r->roots, r->roots + ROOT_COUNT);
    }
}

static void *boehm_link_thread(void *roots)
{
    struct thread_roots *r = roots;
    r->next = boehm_threads;
    boehm_threads = r;
    return NULL;
}

static void *boehm_unlink_thread(void *roots)
{
    for (struct thread_roots **link = &boehm_threads; *link; link = &(*link)->next)
        if (*link == roots) {
            *link = ((struct thread_roots *)roots)->next;
            break;
        }
    return NULL;
}

static int boehm_init(const struct memory_options *opt, char *err, size_t errlen)
{
    scm_use_boehm = 1;
    if (opt->heap_bytes)
        GC_set_max_heap_size(opt->heap_bytes);
    GC_set_on_collection_event(on_boehm_event);
    boehm_previous_push = GC_get_push_other_roots();
    GC_set_push_other_roots(push_value_stack);
    (void)err;
    (void)errlen;
    return 0;
}

/* ---- The gcvm collector ---- */

static int gcvm_heap_init(const struct memory_options *opt, char *err, size_t errlen)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    if (opt->barrier && gc_barrier_parse(opt->barrier, &cfg.barrier) != 0) {
        char names[256];
        snprintf(err, errlen, "unknown barrier '%s' (valid: %s)", opt->barrier,
                 gc_barrier_names(names, sizeof names));
        return -1;
    }
    if (opt->vm && !gcvm_in_guest()) {
        char why[256];
        /* The engine's own test of this build and machine, as for the gcvm barriers. */
        if (!gc_barrier_available(GC_BARRIER_GCVM_DIRTY, why, sizeof why)) {
            snprintf(err, errlen, "--vm is not available on this machine: %s", why);
            return -1;
        }
        if (gcvm_init() != 0 || gcvm_enter() != 0) {
            snprintf(err, errlen, "--vm: the gcvm engine cannot run this thread in guest mode: %s",
                     gcvm_last_error());
            return -1;
        }
    }
    cfg.heap_max_bytes = opt->heap_bytes;
    cfg.nursery_bytes = opt->nursery_bytes;
    char why[256];
    scm_heap = gc_heap_create(&cfg, why, sizeof why);
    if (!scm_heap) {
        snprintf(err, errlen, "cannot create the heap: %s", why);
        return -1;
    }
    for (unsigned t = 1; t < T_TYPE_COUNT; t++) {
        if (t == T_PAIR)
            gc_register_kind(scm_heap, t, trace_pair);
        else if (t == T_CLOSURE)
            gc_register_kind(scm_heap, t, trace_closure);
        else if (t == T_SYMBOL)
            gc_register_kind(scm_heap, t, trace_symbol);
        else
            gc_register_kind_words(scm_heap, t, trace_words, trace_words_range, sizeof(value));
    }
    gc_set_root_tracer(scm_heap, trace_roots, NULL);
    return 0;
}

int memory_thread_attach(size_t value_stack_entries, char *err, size_t errlen)
{
    for (int i = 0; i < ROOT_COUNT; i++)
        runtime_roots[i] = NIL;
    runtime_roots[ROOT_THREAD] = FALSE_V;
    void *m = mmap(NULL, value_stack_entries * sizeof(value), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "cannot reserve the value stack: %s", strerror(errno));
        return -1;
    }
    vs = m;
    vsp = 0;
    vs_entries = value_stack_entries;
    vs_size = value_stack_entries - VALUE_STACK_RESERVE;
    my_roots = calloc(1, sizeof *my_roots);
    if (my_roots) {
        my_roots->vs = &vs;
        my_roots->vsp = &vsp;
        my_roots->roots = runtime_roots;
    }
    if (scm_use_boehm && my_roots) {
        scm_mut = (struct gc_mutator *)&boehm_stand_in;
        GC_call_with_alloc_lock(boehm_link_thread, my_roots);
        return 0;
    }
    char why[256];
    scm_mut = my_roots && !scm_use_boehm ? gc_mutator_attach(scm_heap, why, sizeof why) : NULL;
    if (!scm_mut) {
        snprintf(err, errlen, "cannot use the heap: %s", my_roots ? why : "out of memory");
        free(my_roots);
        my_roots = NULL;
        munmap(vs, value_stack_entries * sizeof(value));
        vs = NULL;
        return -1;
    }
    gc_mutator_set_root_tracer(scm_mut, trace_thread_roots, my_roots);
    return 0;
}

void memory_thread_detach(void)
{
    if (scm_use_boehm)
        GC_call_with_alloc_lock(boehm_unlink_thread, my_roots);
    else if (scm_mut)
        gc_mutator_detach(scm_mut);
    free(my_roots);
    my_roots = NULL;
    scm_mut = NULL;
    munmap(vs, vs_entries * sizeof(value));
    vs = NULL;
    vsp = vs_size = vs_entries = 0;
}

void scm_blocking(void (*fn)(void *), void *arg)
{
    if (scm_use_boehm) {
        fn(arg);
        return;
    }
    gc_blocking_enter(scm_mut);
    fn(arg);
    gc_blocking_leave(scm_mut);
}

static void lock_mutex(void *m)
{
    pthread_mutex_lock(m);
}

int scm_lock(void *pthread_mutex)
{
    if (pthread_mutex_trylock(pthread_mutex) == 0)
        return 0;
    scm_blocking(lock_mutex, pthread_mutex);
    return 1;
}

int memory_init(const struct memory_options *opt, char *err, size_t errlen)
{
    int rc = opt->gc == USE_BOEHM ? boehm_init(opt, err, errlen) : gcvm_heap_init(opt, err, errlen);
    if (rc == 0 && memory_thread_attach(VALUE_STACK_ENTRIES, err, errlen) != 0) {
        if (scm_heap)
            gc_heap_destroy(scm_heap);
        scm_heap = NULL;
        rc = -1;
    }
    if (rc != 0)
        return rc;
    /* The out-of-memory condition is made now: when it is needed there is no room. */
    static const char msg[] = "out of memory: the heap is full (use --heap=SIZE for a larger one)";
    value *s = perm_alloc(sizeof(value) + (sizeof msg - 1) * sizeof(uint32_t));
    s[0] = MAKE_HDR(T_STRING, sizeof msg - 1);
    for (size_t i = 0; i + 1 < sizeof msg; i++) /* ASCII: each byte is its character */
        STRING_CHARS((value)s)[i] = (unsigned char)msg[i];
    value *e = perm_alloc(5 * sizeof(value));
    e[0] = MAKE_HDR(T_ERROR, 0);
    e[1] = intern_c("out-of-memory");
    e[2] = (value)s;
    e[3] = NIL;
    e[4] = MAKE_FIX(0);
    oom_error = (value)e;
    return 0;
}

void memory_finish(void)
{
    if (scm_use_boehm)
        memory_thread_detach();
    if (!scm_use_boehm && scm_heap) {
        memory_thread_detach();
        gc_heap_destroy(scm_heap);
        scm_heap = NULL;
    }
}

value alloc_object_slow(unsigned type, size_t len_field, size_t words, int pointerfree)
{
    size_t bytes = (words + 1) * sizeof(value);
    void *p;
    if (scm_use_boehm)
        p = pointerfree ? GC_MALLOC_ATOMIC(bytes) : GC_MALLOC(bytes);
    else
        p = pointerfree ? gc_alloc_pointerfree(scm_mut, type, bytes)
                        : gc_alloc(scm_mut, type, bytes);
    if (!p) {
        ERR_LOCATION(oom_error) = MAKE_FIX((intptr_t)(current_location & FIX_MAX));
        scm_raise(oom_error);
    }
    if (scm_use_boehm && pointerfree)
        memset(p, 0, bytes); /* GC_MALLOC_ATOMIC does not clear */
    ((value *)p)[0] = MAKE_HDR(type, len_field);
    return (value)p;
}

value alloc_bytes(unsigned type, size_t len_field, size_t nbytes)
{
    return alloc_object_slow(type, len_field, (nbytes + sizeof(value) - 1) / sizeof(value), 1);
}

void memory_print_stats(FILE *out)
{
    if (scm_use_boehm) {
        fprintf(
            out,
            "gc: Boehm GC%s, %llu collections, pause total %.2f ms, max %.2f ms, heap %zu KiB\n",
            GC_is_incremental_mode() ? " (incremental)" : "", (unsigned long long)boehm_collections,
            boehm_total_pause_ms, boehm_max_pause_ms, GC_get_heap_size() / 1024);
        return;
    }
    gc_print_stats(scm_heap, out);
}

double memory_gc_ms(void)
{
    if (scm_use_boehm)
        return boehm_total_pause_ms;
    struct gc_stats s;
    gc_get_stats(scm_heap, &s);
    return s.pause_total_ms;
}

double memory_max_pause_ms(void)
{
    if (scm_use_boehm)
        return boehm_max_pause_ms;
    struct gc_stats s;
    gc_get_stats(scm_heap, &s);
    return s.pause_max_ms;
}

uint64_t memory_collections(void)
{
    if (scm_use_boehm)
        return boehm_collections;
    struct gc_stats s;
    gc_get_stats(scm_heap, &s);
    return s.minor_collections + s.major_collections;
}

const char *memory_describe(void)
{
    static char buf[160];
    if (scm_use_boehm)
        snprintf(buf, sizeof buf, "boehm%s", GC_is_incremental_mode() ? "-incremental" : "");
    else
        snprintf(buf, sizeof buf, "gcvm/%s", gc_barrier_name(gc_heap_barrier(scm_heap)));
    return buf;
}
