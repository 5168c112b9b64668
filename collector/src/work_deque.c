/* The Chase-Lev work-stealing deque (work_deque.h). Indices only grow; an item lives at
 * index % capacity. The owner publishes an item by moving bottom past it with a release
 * store, so a thief that reads that bottom with acquire also sees everything the owner
 * wrote before the push (the object a grey pointer names). The owner and a thief race
 * only for the last item: both claim it by a compare-and-swap on top. */
#include "work_deque.h"

#include <stdlib.h>

#include "gc_internal.h"

struct work_deque_array {
    size_t mask; /* capacity - 1; the capacity is a power of two */
    struct work_deque_array *next_outgrown;
    _Atomic(void *) items[];
};

static struct work_deque_array *array_new(size_t capacity)
{
    struct work_deque_array *a = malloc(sizeof *a + capacity * sizeof a->items[0]);
    if (a) {
        a->mask = capacity - 1;
        a->next_outgrown = NULL;
    }
    return a;
}

bool work_deque_init(struct work_deque *d, unsigned log_capacity)
{
    struct work_deque_array *a = array_new((size_t)1 << log_capacity);
    if (!a)
        return false;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->array, a);
    d->outgrown = NULL;
    return true;
}

void work_deque_reset(struct work_deque *d)
{
    while (d->outgrown) {
        struct work_deque_array *next = d->outgrown->next_outgrown;
        free(d->outgrown);
        d->outgrown = next;
    }
}

void work_deque_destroy(struct work_deque *d)
{
    work_deque_reset(d);
    free(atomic_load_explicit(&d->array, memory_order_relaxed));
}

/* Owner only: a twice larger array holding the items [top, bottom). The old one stays
 * readable for a thief that loaded it before the switch. */
static struct work_deque_array *grow(struct work_deque *d, struct work_deque_array *a, int64_t top,
                                     int64_t bottom)
{
    struct work_deque_array *bigger = array_new(2 * (a->mask + 1));
    if (!bigger)
        gc_fatal("out of memory for the collector's work list (%zu entries)", 2 * (a->mask + 1));
    for (int64_t i = top; i < bottom; i++)
        atomic_store_explicit(
            &bigger->items[(size_t)i & bigger->mask],
            atomic_load_explicit(&a->items[(size_t)i & a->mask], memory_order_relaxed),
            memory_order_relaxed);
    a->next_outgrown = d->outgrown;
    d->outgrown = a;
    atomic_store_explicit(&d->array, bigger, memory_order_release);
    return bigger;
}

void work_deque_push(struct work_deque *d, void *p)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    struct work_deque_array *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    if (b - t > (int64_t)a->mask)
        a = grow(d, a, t, b);
    atomic_store_explicit(&a->items[(size_t)b & a->mask], p, memory_order_relaxed);
    /* The paper's release fence then a relaxed store; a release store is the same on the
     * machines we run on and lets ThreadSanitizer see the ordering. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
}

void *work_deque_take(struct work_deque *d)
{
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    struct work_deque_array *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, b, memory_order_relaxed);
    /* The claim on item b (bottom lowered) must be visible before top is read: a thief
     * does the reverse, so at most one of the two misses the other's claim, and the
     * compare-and-swap below settles the last item. */
    atomic_thread_fence(memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    if (t > b) { /* empty */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    void *p = atomic_load_explicit(&a->items[(size_t)b & a->mask], memory_order_relaxed);
    if (t == b) { /* the last item: a thief may be taking it */
        if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            p = NULL;
        atomic_store_explicit(&d->bottom, b + 1, memory_order_relaxed);
    }
    return p;
}

void *work_deque_steal(struct work_deque *d)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    atomic_thread_fence(memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return NULL;
    struct work_deque_array *a = atomic_load_explicit(&d->array, memory_order_acquire);
    void *p = atomic_load_explicit(&a->items[(size_t)t & a->mask], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return WORK_DEQUE_ABORT;
    return p;
}

bool work_deque_looks_nonempty(struct work_deque *d)
{
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    return t < b;
}
