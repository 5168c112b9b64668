/* The classic GC workloads (GCBench and binary-trees, workloads_impl.h) compiled once per
 * allocator: their entry points and the root stack they keep.
 *
 * A workload keeps the objects that must survive an allocation on a struct wl_roots that
 * the caller gives it: a precise collector traces it as a root area, a conservative one
 * must find it (static data, or a stack it scans). A translation unit compiled with
 * WL_THREADED keeps its allocator state per thread, so that several threads can run the
 * workloads at once, each with roots of its own. */
#ifndef GCVM_BENCH_WORKLOADS_H
#define GCVM_BENCH_WORKLOADS_H

#include <stddef.h>

#ifdef WL_THREADED
#define WL_THREAD_LOCAL _Thread_local
#else
#define WL_THREAD_LOCAL
#endif

enum { WL_STACK_SIZE = 4096 };

/* Each thread's roots on cache lines of their own: with the roots of several threads side
 * by side in an array, one thread's sp shared a line with the bottom of the next one's
 * stack, which the two threads write on every push and pop. */
struct wl_roots {
    _Alignas(64) void *stack[WL_STACK_SIZE];
    _Alignas(64) size_t sp;
};

/* Levels taken off every GCBench tree (its array halved as often) for machines where the
 * full program would take too long (an emulated ring 0), or for a quick check; 0 by
 * default. Each program that links the workloads defines it. */
extern int wl_gcbench_shrink;
#define GCBENCH_STRETCH_DEPTH (18 - wl_gcbench_shrink)
#define GCBENCH_LONG_LIVED_DEPTH (16 - wl_gcbench_shrink)
#define GCBENCH_ARRAY_SIZE (500000 >> wl_gcbench_shrink)
#define GCBENCH_MIN_DEPTH 4
#define GCBENCH_MAX_DEPTH (16 - wl_gcbench_shrink)

/* The nodes in a complete binary tree of the given depth. */
static inline long wl_tree_size(int depth)
{
    return (1L << (depth + 1)) - 1;
}

/* The tree nodes one GCBench run allocates (the stretch tree, the long-lived tree, and
 * the temporary trees built top-down and bottom-up): what its throughput counts. */
static inline long wl_gcbench_nodes(void)
{
    long n = wl_tree_size(GCBENCH_STRETCH_DEPTH) + wl_tree_size(GCBENCH_LONG_LIVED_DEPTH);
    for (int d = GCBENCH_MIN_DEPTH; d <= GCBENCH_MAX_DEPTH; d += 2)
        n += 2 * (2 * wl_tree_size(GCBENCH_STRETCH_DEPTH) / wl_tree_size(d)) * wl_tree_size(d);
    return n;
}

/* The tree nodes one binary-trees run to depth allocates. */
static inline long wl_binarytrees_nodes(int depth)
{
    long n = wl_tree_size(depth + 1) + wl_tree_size(depth);
    for (int d = 4; d <= depth; d += 2)
        n += (1L << (depth - d + 4)) * wl_tree_size(d);
    return n;
}

struct gc_heap;

/* Each runs GCBench (depth 0) or binary-trees to depth (depth > 0) with the calling thread
 * as the mutator and roots as its root stack, and returns 0 when every check held, else a
 * nonzero code (-1: the thread could not become a mutator of h, said on stderr). */
int bench_gcvm_card_run(struct gc_heap *h, int depth, struct wl_roots *roots);
int bench_gcvm_page_run(struct gc_heap *h, int depth, struct wl_roots *roots);
int bench_boehm_run(int depth, struct wl_roots *roots);
int bench_malloc_run(int depth, struct wl_roots *roots);

#endif
