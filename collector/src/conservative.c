/* Conservative scanning of the heap-creating thread's stack and registers: every word
 * that points into an object keeps that object (and pins its nursery block, since the
 * word cannot be updated if the object moved). */
#include "gc_internal.h"

/* Reads every word between its own frame and the stack's top, redzones and all: the
 * sanitizer must not instrument it. */
__attribute__((noinline, no_sanitize_address)) static void
scan_words(struct gc_heap *h, void (*found)(struct gc_heap *, void *))
{
    char *lo = __builtin_frame_address(0);
    for (char *p = (char *)((uintptr_t)lo & ~(uintptr_t)7); p + sizeof(void *) <= h->stack_top;
         p += sizeof(void *)) {
        void *word = *(void **)p;
        if (!in_region(h, word))
            continue;
        void *obj = object_containing(h, word);
        if (obj)
            found(h, obj);
    }
}

void conservative_scan_stack(struct gc_heap *h, void (*found)(struct gc_heap *, void *))
{
    /* Spill callee-saved registers into this frame, which scan_words' frame lies
     * below: a pointer held only in a register is then on the scanned stack. */
    __builtin_unwind_init();
    scan_words(h, found);
}
