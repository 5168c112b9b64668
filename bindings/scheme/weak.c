/* Weak objects and identity hashes over whichever collector runs the heap.
 *
 * On the gcvm collector these are its own ephemerons, guardians and identity hashes
 * (<gcvm/gc-weak.h>); the ephemeron's and guardian's first payload word is the Scheme
 * type word, so they are ordinary Scheme objects to the rest of the interpreter.
 *
 * On Boehm GC (which does not move objects, so an address is an identity hash) an
 * ephemeron is a weak-key pair: the key is stored hidden from the marker and registered
 * as a disappearing link, which Boehm clears when the key becomes unreachable. The datum
 * is held strongly, so unlike a true ephemeron a datum that refers to its own key keeps
 * the key alive (docs/scheme.md). A guardian there is a list of the objects Boehm
 * finalized (below). */
#include <gc/gc.h>
#include <gcvm/gc-weak.h>

#include "scheme.h"

static uint64_t mix_bits(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

uint64_t identity_hash(value v)
{
    if (!POINTER_P(v) || scm_use_boehm)
        return mix_bits((uint64_t)v);
    return gc_object_hash(scm_heap, (void *)v);
}

/* Boehm: the header's length field says whether the key word is hidden (a heap key). */
enum { BOEHM_KEY_PLAIN = 0, BOEHM_KEY_HIDDEN = 1 };

value make_ephemeron(value key, value datum)
{
    if (!scm_use_boehm) {
        value *e =
            gc_alloc_ephemeron(scm_mut, MAKE_HDR(T_EPHEMERON, 0), (void *)key, (void *)datum);
        if (!e)
            scm_error("out of memory: the heap is full (use --heap=SIZE for a larger one)", NIL);
        return (value)e;
    }
    value *e = GC_MALLOC(3 * sizeof(value));
    if (!e)
        scm_error("out of memory: the heap is full (use --heap=SIZE for a larger one)", NIL);
    void *base = POINTER_P(key) ? GC_base((void *)key) : NULL;
    e[0] = MAKE_HDR(T_EPHEMERON, base ? BOEHM_KEY_HIDDEN : BOEHM_KEY_PLAIN);
    e[1] = base ? (value)GC_HIDE_POINTER((void *)key) : key;
    e[2] = datum;
    if (base && GC_general_register_disappearing_link((void **)&e[1], base) == GC_NO_MEMORY)
        scm_error("out of memory registering an ephemeron with Boehm GC", NIL);
    return (value)e;
}

bool ephemeron_broken(value e)
{
    if (!scm_use_boehm)
        return gc_ephemeron_broken((void *)e);
    return HDR_LEN(e) == BOEHM_KEY_HIDDEN && OBJ(e)[1] == 0;
}

value ephemeron_key(value e)
{
    if (ephemeron_broken(e))
        return FALSE_V;
    if (scm_use_boehm && HDR_LEN(e) == BOEHM_KEY_HIDDEN)
        return (value)GC_REVEAL_POINTER(OBJ(e)[1]);
    return OBJ(e)[1];
}

value ephemeron_datum(value e)
{
    return ephemeron_broken(e) ? FALSE_V : OBJ(e)[2];
}

/* Boehm: a guardian is [hdr | queue (a list)]. Registering obj gives it a finalizer
 * (unordered, so cycles are finalized too) whose client data lists the guardians it was
 * registered with, once per registration; finalizers run only on demand, when a guardian
 * is asked for an object, and each queues obj on every guardian in its list. The list
 * holds the guardians strongly: a guardian lives while objects registered with it do. */
static void boehm_queue_on_guardians(void *obj, void *guardians)
{
    for (value l = (value)guardians; PAIR_P(l); l = CDR(l)) {
        value *queue = &OBJ(CAR(l))[1]; /* Boehm does not move objects */
        *queue = cons((value)obj, *queue);
    }
}

value make_guardian(void)
{
    if (scm_use_boehm) {
        GC_set_finalize_on_demand(1);
        value g = alloc_object(T_GUARDIAN, 0, 1);
        OBJ(g)[1] = NIL;
        return g;
    }
    value *g = gc_alloc_guardian(scm_mut, MAKE_HDR(T_GUARDIAN, 0));
    if (!g)
        scm_error("out of memory: the heap is full (use --heap=SIZE for a larger one)", NIL);
    return (value)g;
}

void guardian_register(value g, value obj)
{
    /* What is not a heap object (an immediate, a symbol, a primitive) never becomes
     * unreachable: the collector refuses it, and it is never returned. */
    if (!POINTER_P(obj))
        return;
    if (!scm_use_boehm) {
        (void)gc_guardian_register(scm_heap, (void *)g, (void *)obj);
        return;
    }
    void *base = GC_base((void *)obj);
    if (base != (void *)obj)
        return; /* not the start of a collectable object: a symbol outside the heap */
    GC_finalization_proc previous = NULL;
    void *listed = NULL;
    GC_register_finalizer_no_order(base, 0, 0, &previous, &listed); /* read, and unset */
    value list = previous == boehm_queue_on_guardians ? (value)listed : NIL;
    list = cons(g, list);
    GC_register_finalizer_no_order(base, boehm_queue_on_guardians, (void *)list, NULL, NULL);
}

value guardian_next(value g)
{
    if (scm_use_boehm) {
        vs_push(g);
        GC_invoke_finalizers();
        g = vs[--vsp];
        value *queue = &OBJ(g)[1];
        value q = *queue;
        if (q == NIL)
            return FALSE_V;
        *queue = CDR(q);
        return CAR(q);
    }
    void *obj = gc_guardian_next(scm_heap, (void *)g);
    return obj ? (value)obj : FALSE_V;
}

void collect_full(void)
{
    if (scm_use_boehm)
        GC_gcollect();
    else
        gc_collect(scm_mut, GC_COLLECT_MAJOR);
}
