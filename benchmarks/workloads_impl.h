/* The classic GC benchmark programs, written once and compiled once per allocator so
 * that each allocator's inline fast path stays inline (entry points: workloads.h). Before
 * including this file a translation unit defines:
 *   WL_NEW(bytes)          a zeroed object that may hold pointers
 *   WL_NEW_DATA(bytes)     a zeroed object that holds none
 *   WL_STORE(obj, f, v)    obj->f = v, with whatever write barrier the allocator needs
 *   WL_RELEASE_TREE(node)  give back a dead tree (explicit-free allocators), or nothing
 *   WL_RELEASE_DATA(p)     give back a dead WL_NEW_DATA object, or nothing
 * Objects that must survive an allocation are kept on wl_roots, the root stack the entry
 * point was given (one per thread with WL_THREADED): wl_run sets it and runs a program.
 *
 * GCBench follows the program of Ellis, Kovac and Boehm: a long-lived tree and array,
 * then temporary trees of growing depth built top-down (parents first, so stores go
 * into older objects) and bottom-up. binary-trees follows the Computer Language
 * Benchmarks Game program. Both check their results. */
#include <stddef.h>
#include <stdint.h>

#include "workloads.h"

struct wl_node {
    struct wl_node *left, *right;
    intptr_t i, j;
};

static WL_THREAD_LOCAL struct wl_roots *wl_roots; /* set by wl_run */

static inline void wl_push(void *p)
{
    wl_roots->stack[wl_roots->sp++] = p;
}
static inline void *wl_pop(void)
{
    return wl_roots->stack[--wl_roots->sp];
}
#define WL_TOP(k) ((struct wl_node *)wl_roots->stack[wl_roots->sp - 1 - (k)])
#define WL_ROOT(i) (wl_roots->stack[i])

static struct wl_node *wl_new_node(void)
{
    return WL_NEW(sizeof(struct wl_node));
}

/* Gives the node on top of the root stack two children, then their children, to depth. */
static void gcbench_populate(int depth)
{
    if (depth <= 0)
        return;
    depth--;
    struct wl_node *child = wl_new_node();
    WL_STORE(WL_TOP(0), left, child);
    child = wl_new_node();
    WL_STORE(WL_TOP(0), right, child);
    wl_push(WL_TOP(0)->left);
    gcbench_populate(depth);
    wl_pop();
    wl_push(WL_TOP(0)->right);
    gcbench_populate(depth);
    wl_pop();
}

/* Builds a tree bottom-up: children first, so all stores go into the newest object. */
static struct wl_node *gcbench_make_tree(int depth)
{
    if (depth <= 0)
        return wl_new_node();
    wl_push(gcbench_make_tree(depth - 1));
    wl_push(gcbench_make_tree(depth - 1));
    struct wl_node *n = wl_new_node();
    WL_STORE(n, left, WL_TOP(1));
    WL_STORE(n, right, WL_TOP(0));
    wl_roots->sp -= 2;
    return n;
}

static long wl_count(const struct wl_node *n)
{
    long c = 0;
    while (n) { /* iterate on the right spine, recurse on the left */
        c += 1 + wl_count(n->left);
        n = n->right;
    }
    return c;
}

/* Runs GCBench; returns 0 if every check held, else a nonzero code. */
static int gcbench_run(void)
{
    wl_roots->sp = 0;
    struct wl_node *stretch = gcbench_make_tree(GCBENCH_STRETCH_DEPTH);
    if (wl_count(stretch) != wl_tree_size(GCBENCH_STRETCH_DEPTH))
        return 1;
    WL_RELEASE_TREE(stretch);

    wl_push(wl_new_node()); /* the long-lived tree, WL_ROOT(0) */
    gcbench_populate(GCBENCH_LONG_LIVED_DEPTH);
    double *array = WL_NEW_DATA(sizeof(double) * GCBENCH_ARRAY_SIZE);
    for (int i = 1; i < GCBENCH_ARRAY_SIZE / 2; i++)
        array[i] = 1.0 / i;
    wl_push(array); /* WL_ROOT(1) */

    for (int depth = GCBENCH_MIN_DEPTH; depth <= GCBENCH_MAX_DEPTH; depth += 2) {
        long iterations = 2 * wl_tree_size(GCBENCH_STRETCH_DEPTH) / wl_tree_size(depth);
        for (long k = 0; k < iterations; k++) {
            wl_push(wl_new_node());
            gcbench_populate(depth);
            struct wl_node *t = wl_pop();
            if (k == 0 && wl_count(t) != wl_tree_size(depth))
                return 2;
            WL_RELEASE_TREE(t);
        }
        for (long k = 0; k < iterations; k++) {
            struct wl_node *t = gcbench_make_tree(depth);
            if (k == 0 && wl_count(t) != wl_tree_size(depth))
                return 3;
            WL_RELEASE_TREE(t);
        }
    }
    array = WL_ROOT(1);
    if (wl_count(WL_ROOT(0)) != wl_tree_size(GCBENCH_LONG_LIVED_DEPTH) ||
        array[GCBENCH_ARRAY_SIZE / 4] != 1.0 / (GCBENCH_ARRAY_SIZE / 4))
        return 4;
    WL_RELEASE_TREE((struct wl_node *)WL_ROOT(0));
    WL_RELEASE_DATA(array);
    wl_roots->sp = 0;
    return 0;
}

/* binary-trees to max_depth; returns 0 if every tree had the right size. */
static int binarytrees_run(int max_depth)
{
    wl_roots->sp = 0;
    struct wl_node *stretch = gcbench_make_tree(max_depth + 1);
    if (wl_count(stretch) != wl_tree_size(max_depth + 1))
        return 1;
    WL_RELEASE_TREE(stretch);
    wl_push(gcbench_make_tree(max_depth)); /* long-lived */
    for (int depth = 4; depth <= max_depth; depth += 2) {
        long iterations = 1L << (max_depth - depth + 4);
        long check = 0;
        for (long k = 0; k < iterations; k++) {
            struct wl_node *t = gcbench_make_tree(depth);
            check += wl_count(t);
            WL_RELEASE_TREE(t);
        }
        if (check != iterations * wl_tree_size(depth))
            return 2;
    }
    int ok = wl_count(WL_ROOT(0)) == wl_tree_size(max_depth);
    WL_RELEASE_TREE((struct wl_node *)WL_ROOT(0));
    wl_roots->sp = 0;
    return ok ? 0 : 3;
}

/* Runs GCBench (depth 0) or binary-trees to depth on roots; 0 when correct. */
static int wl_run(int depth, struct wl_roots *roots)
{
    wl_roots = roots;
    return depth == 0 ? gcbench_run() : binarytrees_run(depth);
}
