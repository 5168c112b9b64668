/* The workloads on the Boehm-Demers-Weiser collector (conservative, non-moving). */
#include <gc.h>

#define WL_NEW(bytes) GC_MALLOC(bytes)
#define WL_NEW_DATA(bytes) GC_MALLOC_ATOMIC(bytes) /* not cleared: only written data is read */
#define WL_STORE(obj, field, value) ((obj)->field = (value))
#define WL_RELEASE_TREE(node) ((void)(node))
#define WL_RELEASE_DATA(p) ((void)(p))
#include "workloads_impl.h"

int bench_boehm_run(int depth, struct wl_roots *roots)
{
    return wl_run(depth, roots);
}
