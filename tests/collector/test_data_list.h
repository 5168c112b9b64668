/* The object kinds of the heap-sizing tests: a list whose links each hold a block of
 * data, grown to a live size; and the heap's statistics as a value. */
#ifndef GCVM_TEST_DATA_LIST_H
#define GCVM_TEST_DATA_LIST_H

#include <string.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_LIST = 1, KIND_DATA = 2 };

struct link {
    struct link *next;
    void *payload;
};

static inline void trace_link(void *obj, gc_visit_fn visit, void *ctx)
{
    struct link *l = obj;
    visit((void **)&l->next, ctx);
    visit(&l->payload, ctx);
}

/* Registers the list's kind, and *list as a root of h. */
static inline void data_list_register(struct gc_heap *h, struct link **list)
{
    CHECK(gc_root_add(h, (void **)list) == 0);
    CHECK(gc_register_kind(h, KIND_LIST, trace_link) == 0);
}

/* Prepends links holding `bytes` of data each until they add about `live` bytes. */
static inline void data_list_grow(struct gc_mutator *m, struct link **list, size_t live,
                                  size_t bytes)
{
    for (size_t have = 0; have < live; have += bytes + 32) {
        void *data = gc_alloc_pointerfree(m, KIND_DATA, bytes);
        CHECK(data != NULL);
        memset(data, 0x33, bytes);
        struct link *l = gc_alloc(m, KIND_LIST, sizeof *l);
        CHECK(l != NULL);
        l->payload = data;
        l->next = *list;
        gc_write_barrier(m, &l->payload);
        gc_write_barrier(m, (void **)&l->next);
        *list = l;
    }
}

static inline struct gc_stats stats_of(struct gc_heap *h)
{
    struct gc_stats s;
    gc_get_stats(h, &s);
    return s;
}

#endif
