/* A work-stealing deque of pointers (docs/collector.md, "Parallel minor collections"):
 * its owner pushes and takes at the bottom, any other thread steals at the top. The
 * algorithm is Chase and Lev's, with the C11 memory orders of Lê, Pop, Cohen and Zappa
 * Nardelli (PPoPP 2013). The array grows when full; the arrays it outgrew are kept until
 * work_deque_reset, because a thief may still read one. */
#ifndef GCVM_WORK_DEQUE_H
#define GCVM_WORK_DEQUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct work_deque_array;

struct work_deque {
    _Alignas(64) _Atomic int64_t top;    /* thieves' end; only grows */
    _Alignas(64) _Atomic int64_t bottom; /* owner's end */
    _Atomic(struct work_deque_array *) array;
    struct work_deque_array *outgrown; /* owner only: arrays replaced by larger ones */
};

/* What work_deque_steal returns when it lost a race for the item it saw: try again. */
#define WORK_DEQUE_ABORT ((void *)(uintptr_t)1)

/* An empty deque with room for 2^log_capacity items before it grows; false without
 * memory. */
bool work_deque_init(struct work_deque *d, unsigned log_capacity);
void work_deque_destroy(struct work_deque *d);
/* Owner only: adds p (never NULL) at the bottom; dies with a message without memory. */
void work_deque_push(struct work_deque *d, void *p);
/* Owner only: the item at the bottom, or NULL when empty. */
void *work_deque_take(struct work_deque *d);
/* Any thread: the item at the top, NULL when empty, WORK_DEQUE_ABORT when another
 * thread took it first. */
void *work_deque_steal(struct work_deque *d);
/* Whether a thief would find something now (a hint: it may be gone when it looks). */
bool work_deque_looks_nonempty(struct work_deque *d);
/* With no other thread using d: frees the outgrown arrays. d must be empty. */
void work_deque_reset(struct work_deque *d);

#endif
