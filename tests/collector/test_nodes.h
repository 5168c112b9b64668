/* The object kind of the parallel collection tests: a node with an id and any number of
 * pointer slots, its trace function, and its allocation. */
#ifndef GCVM_TEST_NODES_H
#define GCVM_TEST_NODES_H

#include <stdint.h>
#include <stdlib.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_NODE = 1 };

struct node {
    uint64_t id;
    uint64_t nslots;
    void *slots[];
};

static inline void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct node *n = obj;
    for (uint64_t i = 0; i < n->nslots; i++)
        visit(&n->slots[i], ctx);
}

/* A node with nslots empty slots and the id *next_id (then incremented); the test fails
 * when the heap has no room. */
static inline struct node *node_alloc(struct gc_mutator *m, uint64_t *next_id, uint64_t nslots)
{
    struct node *n = gc_alloc(m, KIND_NODE, sizeof *n + nslots * sizeof(void *));
    CHECK(n != NULL);
    n->id = (*next_id)++;
    n->nslots = nslots;
    return n;
}

/* The collector threads of the command line's second argument (default 2). */
static inline unsigned gc_threads_from_args(int argc, char **argv)
{
    unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 2;
    CHECK_MSG(threads >= 1 && threads <= GC_STATS_WORKERS, "GC_THREADS must be 1 to %u",
              GC_STATS_WORKERS);
    return threads;
}

/* A heap of *cfg with the node kind registered, and its mutator in *m; the test fails
 * unless the heap runs on cfg->parallelism collector threads. */
static inline struct gc_heap *node_heap_create(const struct gc_config *cfg, struct gc_mutator **m)
{
    char err[256];
    struct gc_heap *heap = gc_heap_create(cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "gc_heap_create: %s", err);
    CHECK(gc_heap_parallelism(heap) == cfg->parallelism);
    *m = attach_or_fail(heap);
    CHECK(gc_register_kind(heap, KIND_NODE, trace_node) == 0);
    return heap;
}

#endif
