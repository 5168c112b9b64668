/* The object kind of the parallel collection tests: a node with an id and any number of
 * pointer slots, its trace function, and its allocation. */
#ifndef GCVM_TEST_NODES_H
#define GCVM_TEST_NODES_H

#include <stdint.h>

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

#endif
