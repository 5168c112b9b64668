/* The workloads on plain malloc/free (jemalloc when the benchmark binary links it):
 * every dead tree is freed explicitly, the floor a collector is measured against. */
#include <stdlib.h>

#define WL_NEW(bytes) calloc(1, (bytes))
#define WL_NEW_DATA(bytes) calloc(1, (bytes))
#define WL_STORE(obj, field, value) ((obj)->field = (value))
#define WL_RELEASE_TREE(node) wl_free_tree(node)
#define WL_RELEASE_DATA(p) free(p)

struct wl_node;
static void wl_free_tree(struct wl_node *n);
#include "workloads_impl.h"

static void wl_free_tree(struct wl_node *n)
{
    while (n) {
        struct wl_node *right = n->right;
        wl_free_tree(n->left);
        free(n);
        n = right;
    }
}

int bench_malloc_run(int depth, struct wl_roots *roots)
{
    return wl_run(depth, roots);
}
