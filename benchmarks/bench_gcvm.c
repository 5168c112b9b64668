/* The workloads on a gcvm heap. Compiled twice: as bench_gcvm_card_run() with the
 * card-marking store barrier, and as bench_gcvm_page_run() with
 * GCVM_GC_PAGE_BARRIER_ONLY, where a store is a plain store (the page barriers). */
#include <stdio.h>
#include <stdlib.h>

#include "gcvm/gc-embedder.h"
#include "workloads.h"

static WL_THREAD_LOCAL struct gc_mutator *wl_mut;

static void *must_have(void *p)
{
    if (!p) {
        fputs("bench: the gcvm heap ran out of memory; give it more with --heap-mb\n", stderr);
        exit(1);
    }
    return p;
}

#define WL_NEW(bytes) must_have(gc_alloc(wl_mut, 1, (bytes)))
#define WL_NEW_DATA(bytes) must_have(gc_alloc_pointerfree(wl_mut, 2, (bytes)))
#define WL_STORE(obj, field, value)                                                                \
    do {                                                                                           \
        (obj)->field = (value);                                                                    \
        gc_write_barrier(wl_mut, &(obj)->field);                                                   \
    } while (0)
#define WL_RELEASE_TREE(node) ((void)(node))
#define WL_RELEASE_DATA(p) ((void)(p))
#include "workloads_impl.h"

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct wl_node *n = obj;
    visit((void **)&n->left, ctx);
    visit((void **)&n->right, ctx);
}

static void trace_wl_roots(gc_visit_fn visit, void *ctx, void *user)
{
    struct wl_roots *roots = user;
    for (size_t i = 0; i < roots->sp; i++)
        visit(&roots->stack[i], ctx);
}

#ifdef GCVM_GC_PAGE_BARRIER_ONLY
#define BENCH_ENTRY bench_gcvm_page_run
#else
#define BENCH_ENTRY bench_gcvm_card_run
#endif

int BENCH_ENTRY(struct gc_heap *h, int depth, struct wl_roots *roots)
{
    char err[256];
    wl_mut = gc_mutator_attach(h, err, sizeof err);
    if (!wl_mut) {
        fprintf(stderr, "bench: %s\n", err);
        return -1;
    }
    gc_register_kind(h, 1, trace_node);
    gc_mutator_set_root_tracer(wl_mut, trace_wl_roots, roots);
    int rc = wl_run(depth, roots);
    gc_mutator_detach(wl_mut);
    wl_mut = NULL;
    return rc;
}
