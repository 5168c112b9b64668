/* The big-heap workloads on Boehm GC (bigheap_workloads.h): it finds bh_roots and
 * bh_stack in static data, and needs no write barrier. */
#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>

#include "bigheap.h"

static void (*bh_steady_hook)(void);

static inline void *bh_checked(void *p)
{
    if (!p) {
        fprintf(stderr, "gcvm-bigheap-bench: Boehm GC ran out of memory\n");
        exit(1);
    }
    return p;
}

#define BH_NEW(bytes) bh_checked(GC_MALLOC(bytes))
#define BH_NEW_DATA(bytes) bh_checked(GC_MALLOC_ATOMIC(bytes))
#define BH_STORE(obj, f, v) ((obj)->f = (v))
#define BH_STORE_AT(a, i, v) ((a)[i] = (v))

#include "bigheap_workloads.h"

static void bh_steady_state_begins(void)
{
    bh_steady_hook();
}

int bigheap_boehm_run(int workload, size_t live_bytes, void (*steady)(void))
{
    bh_steady_hook = steady;
    return bh_run((enum bh_workload)workload, live_bytes);
}
