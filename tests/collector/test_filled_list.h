/* The object kind of the block-reuse tests: a list of links of one size class (a pointer
 * and 40 bytes of filler, 64 bytes with the header), grown by a byte count. */
#ifndef GCVM_TEST_FILLED_LIST_H
#define GCVM_TEST_FILLED_LIST_H

#include <string.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_FILLED_LINK = 1 };

struct link {
    struct link *next;
    uint64_t payload[5];
};

static inline void trace_filled_link(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct link *)obj)->next, ctx);
}

/* Registers the links' kind, and *list as a root of h. */
static inline void filled_list_register(struct gc_heap *h, struct link **list)
{
    CHECK(gc_register_kind(h, KIND_FILLED_LINK, trace_filled_link) == 0);
    CHECK(gc_root_add(h, (void **)list) == 0);
}

/* Prepends one link to *list, its payload filled with `fill`; returns it. */
static inline struct link *filled_list_push(struct gc_mutator *m, struct link **list, int fill)
{
    struct link *l = gc_alloc(m, KIND_FILLED_LINK, sizeof *l);
    CHECK(l != NULL);
    memset(l->payload, fill, sizeof l->payload);
    l->next = *list;
    gc_write_barrier(m, (void **)&l->next);
    *list = l;
    return l;
}

/* Prepends links to *list until they take about `bytes` of the heap. */
static inline void filled_list_grow(struct gc_mutator *m, struct link **list, size_t bytes)
{
    for (size_t have = 0; have < bytes; have += sizeof(struct link) + 16)
        filled_list_push(m, list, 0x5a);
}

#endif
