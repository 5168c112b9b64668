/* The pointer array of the large-object tests: a count and that many slots, with its
 * trace function and its range tracer (gc_register_kind_ranged). */
#ifndef GCVM_TEST_ARRAYS_H
#define GCVM_TEST_ARRAYS_H

#include <stddef.h>
#include <stdint.h>

#include "gcvm/gc-embedder.h"

struct array {
    uint64_t count;
    void *slots[];
};

static inline void trace_array(void *obj, gc_visit_fn visit, void *ctx)
{
    struct array *a = obj;
    for (uint64_t i = 0; i < a->count; i++)
        visit(&a->slots[i], ctx);
}

/* The slots whose words lie in [from, to) bytes of the payload. */
static inline void trace_array_range(void *obj, size_t from, size_t to, gc_visit_fn visit,
                                     void *ctx)
{
    struct array *a = obj;
    size_t first = from <= sizeof a->count ? 0 : (from - sizeof a->count) / sizeof(void *);
    for (uint64_t i = first; i < a->count; i++) {
        size_t at = sizeof a->count + i * sizeof(void *);
        if (at >= to)
            break;
        if (at >= from)
            visit(&a->slots[i], ctx);
    }
}

#endif
