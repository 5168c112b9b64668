/* The big-heap workloads, one entry point per collector (bigheap_workloads.h). Each
 * returns 0 when the workload computed the right result. `steady` is called once, when
 * the warm-up (building the live structure) ends and the steady state begins. */
#ifndef GCVM_BIGHEAP_H
#define GCVM_BIGHEAP_H

#include <stddef.h>

struct gc_heap;

enum { BIGHEAP_KIND_WORDS = 1, BIGHEAP_KIND_DATA = 2 };

/* Names of the workloads, by the index bigheap_*_run take. */
#define BIGHEAP_WORKLOAD_NAMES                                                                     \
    {                                                                                              \
        "array-churn", "table", "tree-replace"                                                     \
    }
#define BIGHEAP_WORKLOAD_COUNT 3

int bigheap_gcvm_run(struct gc_heap *heap, int workload, size_t live_bytes, void (*steady)(void));
int bigheap_boehm_run(int workload, size_t live_bytes, void (*steady)(void));

#endif
