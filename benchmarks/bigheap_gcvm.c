/* The big-heap workloads on the gcvm collector (bigheap_workloads.h). */
#include <stdio.h>
#include <stdlib.h>

#include "bigheap.h"
#include "gcvm/gc-embedder.h"

static struct gc_mutator *bh_mut; /* the calling thread, attached for the run */
static void (*bh_steady_hook)(void);

static inline void *bh_checked(void *p)
{
    if (!p) {
        fprintf(stderr, "gcvm-bigheap-bench: the gcvm heap ran out of memory\n");
        exit(1);
    }
    return p;
}

#define BH_NEW(bytes) bh_checked(gc_alloc(bh_mut, BIGHEAP_KIND_WORDS, (bytes)))
#define BH_NEW_DATA(bytes) bh_checked(gc_alloc_pointerfree(bh_mut, BIGHEAP_KIND_DATA, (bytes)))
#define BH_STORE(obj, f, v)                                                                        \
    do {                                                                                           \
        (obj)->f = (v);                                                                            \
        gc_write_barrier(bh_mut, &(obj)->f);                                                       \
    } while (0)
#define BH_STORE_AT(a, i, v)                                                                       \
    do {                                                                                           \
        (a)[i] = (v);                                                                              \
        gc_write_barrier(bh_mut, &(a)[i]);                                                         \
    } while (0)

#include "bigheap_workloads.h"

static void bh_steady_state_begins(void)
{
    bh_steady_hook();
}

/* Every word of an object of these workloads may be a pointer; the integers in them are
 * small and never the address of a heap object, so the collector ignores them. */
static void trace_words(void *obj, gc_visit_fn visit, void *ctx)
{
    void **w = obj;
    size_t n = gc_object_size(obj) / sizeof(void *);
    for (size_t i = 0; i < n; i++)
        visit(&w[i], ctx);
}

static void trace_words_range(void *obj, size_t from, size_t to, gc_visit_fn visit, void *ctx)
{
    void **w = obj;
    for (size_t i = from / sizeof(void *); i < (to + sizeof(void *) - 1) / sizeof(void *); i++)
        visit(&w[i], ctx);
}

static void trace_roots(gc_visit_fn visit, void *ctx, void *user)
{
    (void)user;
    for (size_t i = 0; i < BH_ROOT_COUNT; i++)
        visit(&bh_roots[i], ctx);
    for (size_t i = 0; i < bh_sp; i++)
        visit(&bh_stack[i], ctx);
}

int bigheap_gcvm_run(struct gc_heap *heap, int workload, size_t live_bytes, void (*steady)(void))
{
    char err[256];
    bh_mut = gc_mutator_attach(heap, err, sizeof err);
    if (!bh_mut) {
        fprintf(stderr, "gcvm-bigheap-bench: %s\n", err);
        return 1;
    }
    bh_steady_hook = steady;
    gc_register_kind_words(heap, BIGHEAP_KIND_WORDS, trace_words, trace_words_range, 0);
    gc_set_root_tracer(heap, trace_roots, NULL);
    int rc = bh_run((enum bh_workload)workload, live_bytes);
    gc_set_root_tracer(heap, NULL, NULL);
    gc_mutator_detach(bh_mut);
    return rc;
}
