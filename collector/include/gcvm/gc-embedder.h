/* gcvm collector: what an embedder (a language runtime) provides to the collector.
 *
 * The collector is precise: it learns where pointers are only from the embedder. Each
 * object kind (0..255) that holds pointers registers a trace function that visits the
 * address of every field that may hold a heap pointer. A visited field may hold NULL or
 * any pointer outside the heap (a static object, a tagged immediate with the low bits
 * set): the collector ignores values that are not the address of a heap object's
 * payload, so the embedder need not filter. The collector may rewrite a visited field
 * (objects in the nursery move). */
#ifndef GCVM_GC_EMBEDDER_H
#define GCVM_GC_EMBEDDER_H

#include "gc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*gc_visit_fn)(void **field, void *visit_ctx);

/* Calls visit(&field, visit_ctx) for every pointer field of obj. It runs inside a
 * collection, with the heap's lock held and the other mutators stopped: it must not
 * allocate, nor call the heap's functions (gc_root_add, gc_register_kind, ...), which
 * would wait for that lock forever. With gc_config.parallelism > 1 it runs on several
 * collector threads at once, on different objects (rarely the same one): it may read
 * obj, but must write nothing that another call reads, and must leave the pointer
 * fields to visit (which may update them). Root tracers run on the collecting thread.
 *
 * With concurrent marking (gc_config.concurrent_marking), trace functions of old objects,
 * and range tracers, also run on the collector's marker thread while the mutators run.
 * So a trace function must pass each field's address to visit without reading the field
 * itself, and must find the fields from what the mutators do not change after the object
 * is made (its size, a fixed layout): an object whose pointer fields move (a length field
 * that the mutator updates beside the data) is not safe to trace concurrently. The
 * visitor reads the field, and a store the mutator makes meanwhile is found again through
 * the write barrier (docs/collector.md, "Concurrent marking"). */
typedef void (*gc_trace_fn)(void *obj, gc_visit_fn visit, void *visit_ctx);

/* Calls visit(&root, visit_ctx) for every root the embedder keeps outside the heap. The
 * same rules as for a trace function hold. */
typedef void (*gc_root_trace_fn)(gc_visit_fn visit, void *visit_ctx, void *user);

/* Registers the trace function for objects of `kind` allocated with gc_alloc(). A kind
 * whose objects are all allocated pointer-free needs none. Returns 0, or -1 if kind is
 * out of range. This and the root calls below act on the whole heap and may be called
 * from any thread, mutator or not. */
GCVM_GC_API int gc_register_kind(struct gc_heap *heap, unsigned kind, gc_trace_fn trace);

/* Calls visit(&field, visit_ctx) for every pointer field of obj whose address lies in
 * [obj + from, obj + to): byte offsets into the payload, from < to <= the payload size.
 * Visiting a few fields outside the range is allowed (the collector ignores them), but
 * the point is not to: the collector calls it for the written parts of an object that
 * spans several cards or pages (a large array), so that a minor collection costs what
 * the program wrote, not the object's size. Must not allocate. */
typedef void (*gc_trace_range_fn)(void *obj, size_t from, size_t to, gc_visit_fn visit,
                                  void *visit_ctx);

/* As gc_register_kind, and also registers trace_range (NULL: none) for the kind. With a
 * range tracer, the remembered-set scan of a minor collection visits only the fields in
 * the cards or pages written since the last collection; without one, it traces an old
 * object that was written whole (once per collection) and skips the fields outside them.
 * Register one for any kind whose objects can be large arrays of pointers. */
GCVM_GC_API int gc_register_kind_ranged(struct gc_heap *heap, unsigned kind, gc_trace_fn trace,
                                        gc_trace_range_fn trace_range);

/* As gc_register_kind_ranged, for a kind whose objects are arrays of words: every 8-byte
 * word of the payload from byte offset first_field (a multiple of 8) to its end is a
 * field, holding a heap pointer or a value that is not one (not 8-byte aligned, or outside
 * the heap), and trace and trace_range visit exactly those words. Knowing the layout, the
 * remembered-set scan of a minor collection reads a written stretch of such an object in
 * a loop of its own, with no call per field; every other scan calls trace and
 * trace_range. Register vectors and records this way: a page barrier makes a minor
 * collection read every field of each written 4 KiB page (docs/collector.md, "The
 * remembered set"). Returns 0, or -1 if kind is out of range or first_field is not a
 * multiple of 8. */
GCVM_GC_API int gc_register_kind_words(struct gc_heap *heap, unsigned kind, gc_trace_fn trace,
                                       gc_trace_range_fn trace_range, size_t first_field);

/* Adds or removes one root: the address of a variable holding a heap pointer (or
 * anything else, see above). Add returns 0, or -1 when out of memory; remove returns 0,
 * or -1 if the address was not registered. */
GCVM_GC_API int gc_root_add(struct gc_heap *heap, void **root);
GCVM_GC_API int gc_root_remove(struct gc_heap *heap, void **root);

/* Sets the callback that visits the embedder's own roots at every collection (a
 * Scheme's stack of values, say), on the collecting thread. One per heap; NULL removes
 * it. */
GCVM_GC_API void gc_set_root_tracer(struct gc_heap *heap, gc_root_trace_fn fn, void *user);

/* The same for one thread's roots (its shadow stack, say): called at every collection
 * while the mutator is attached, also while it is stopped or in a blocking region (so
 * they must not change there). Called once per collection phase on one of the threads
 * that collect: the collecting thread, a collector thread, or the mutator's own thread
 * while it is stopped (it helps with the collection), never on two at once. One per
 * mutator; NULL removes it. */
GCVM_GC_API void gc_mutator_set_root_tracer(struct gc_mutator *mut, gc_root_trace_fn fn,
                                            void *user);

/* Calls fn on every object currently in the heap, garbage that was not yet collected
 * included, with the other mutators stopped. For tests and heap dumps; must not
 * allocate. */
typedef void (*gc_object_fn)(void *obj, void *arg);
GCVM_GC_API void gc_for_each_object(struct gc_mutator *mut, gc_object_fn fn, void *arg);

/* Runs the heap verifier now, with the other mutators stopped: every object reachable
 * from the roots has a valid header and a registered kind, and lies in an allocated part
 * of the heap. Returns 0, or prints what is wrong to stderr and returns -1. */
GCVM_GC_API int gc_verify(struct gc_mutator *mut);

#ifdef __cplusplus
}
#endif
#endif
