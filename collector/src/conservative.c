/* Conservative scanning of every mutator's stack and registers: every word that points
 * into an object keeps that object (and pins its nursery block, since the word cannot be
 * updated if the object moved). */
#include "gc_internal.h"

/* Reads words another thread may be writing (below a blocked thread's recorded stack
 * end, say), redzones and all: the sanitizers must not instrument it. */
__attribute__((no_sanitize_address, no_sanitize_thread)) static void
scan_range(struct gc_heap *h, const char *lo, const char *hi,
           void (*found)(struct gc_heap *, void *))
{
    for (const char *p = (const char *)((uintptr_t)lo & ~(uintptr_t)7); p + sizeof(void *) <= hi;
         p += sizeof(void *)) {
        void *word = *(void *const *)(const void *)p;
        if (!in_region(h, word))
            continue;
        void *obj = object_containing(h, word);
        if (obj)
            found(h, obj);
    }
}

/* The collecting thread's own stack, from this frame up. */
__attribute__((noinline)) static void scan_own_stack(struct gc_heap *h, const char *top,
                                                     void (*found)(struct gc_heap *, void *))
{
    scan_range(h, __builtin_frame_address(0), top, found);
}

void conservative_scan_stacks(struct gc_heap *h, void (*found)(struct gc_heap *, void *))
{
    /* Spill callee-saved registers into this frame, which scan_own_stack's frame lies
     * below: a pointer held only in a register is then on the scanned stack. The other
     * mutators spilled theirs where they stopped (mutator.c). */
    __builtin_unwind_init();
    for (struct gc_mutator *m = h->mutators; m; m = m->next) {
        if (m == h->collector) {
            scan_own_stack(h, m->stack_top, found);
            continue;
        }
        scan_range(h, m->stack_low, m->stack_top, found);
        if (m->state == MUTATOR_BLOCKING)
            scan_range(h, (const char *)m->blocking_spill,
                       (const char *)(m->blocking_spill + BLOCKING_SPILL_WORDS), found);
    }
}
