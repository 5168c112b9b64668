/* gcvm collector: objects that learn when other objects die, and identity hashes.
 *
 * Ephemerons, weak references and guardians are objects of the collector's own kinds
 * (GC_KIND_EPHEMERON, GC_KIND_GUARDIAN; gc_register_kind refuses them). Each payload
 * starts with one word that belongs to the embedder (a type tag, say): the collector
 * neither reads nor traces it. Their semantics and costs are in docs/collector.md,
 * "Weak objects and identity hashes". Nothing of the embedder runs inside a collection:
 * what died is found afterwards, by reading an ephemeron or asking a guardian. */
#ifndef GCVM_GC_WEAK_H
#define GCVM_GC_WEAK_H

#include "gc-embedder.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GC_KIND_GUARDIAN 254u
#define GC_KIND_EPHEMERON 255u

/* Allocates an ephemeron: value is kept alive only while key is reachable other than
 * through an ephemeron's value whose own key is unreachable (chains are resolved to a
 * fixpoint). When a collection finds key unreachable, it breaks the ephemeron: key and
 * value both read NULL from then on. Breaking happens in the first collection, minor or
 * major, that can prove the key dead: a young key dies in a minor collection, an old one
 * in a major one. A key that is not a heap object (NULL, an immediate, static memory)
 * never dies. `tag` is stored in the payload's first word. Returns the payload, or NULL
 * when the heap is out of memory; key and value may be young, the allocation keeps them
 * alive. Like gc_alloc, it may collect. */
GCVM_GC_API void *gc_alloc_ephemeron(struct gc_mutator *mut, uintptr_t tag, void *key, void *value);

/* Gives an ephemeron, broken or not, a new key and value (through the write barrier):
 * an old ephemeron may so hold a young key, which a minor collection breaks at once if
 * the key is unreachable otherwise. */
GCVM_GC_API void gc_ephemeron_set(struct gc_mutator *mut, void *ephemeron, void *key, void *value);

/* An ephemeron's key and value, or NULL once it is broken. */
GCVM_GC_API void *gc_ephemeron_key(const void *ephemeron);
GCVM_GC_API void *gc_ephemeron_value(const void *ephemeron);

/* Whether a collection broke the ephemeron (1) or not (0). An ephemeron made with a
 * NULL key reads as broken. */
GCVM_GC_API int gc_ephemeron_broken(const void *ephemeron);

/* A weak reference: an ephemeron whose value is NULL. gc_weak_ref_get returns the
 * target, or NULL once the target died. */
GCVM_GC_API void *gc_alloc_weak_ref(struct gc_mutator *mut, uintptr_t tag, void *target);
GCVM_GC_API void *gc_weak_ref_get(const void *weak_ref);

/* Allocates a guardian (Chez Scheme, Guile): objects registered with it that become
 * unreachable are not freed but kept and queued on it (in no promised order), and the
 * mutator takes them out with gc_guardian_next. A registered object is queued once
 * per registration. While the guardian itself is unreachable its registrations and
 * queue are dropped with it. Returns the payload, or NULL when out of memory. */
GCVM_GC_API void *gc_alloc_guardian(struct gc_mutator *mut, uintptr_t tag);

/* Registers obj (a heap object's payload) with the guardian; registering it twice
 * queues it twice. Returns 0; -1 when obj is not a heap object (it could never die) or
 * guardian is not a live guardian. */
GCVM_GC_API int gc_guardian_register(struct gc_heap *heap, void *guardian, void *obj);

/* Takes one queued object out of the guardian and returns it, or NULL when none is
 * queued. The object is an ordinary live object again. */
GCVM_GC_API void *gc_guardian_next(struct gc_heap *heap, void *guardian);

/* A hash of obj's identity that stays the same for obj's whole life, although young
 * objects move: the first request on a young object flags its header, and the copy
 * made at its promotion carries the hash in one more granule (16 bytes). Old objects do
 * not move: their address is the hash. Values that are not heap objects hash by their
 * bits. Two objects may share a hash; one object never changes its hash. */
GCVM_GC_API uint64_t gc_object_hash(struct gc_heap *heap, const void *obj);

#ifdef __cplusplus
}
#endif
#endif
