/* Ephemerons, weak references and guardians (docs/collector.md, "Weak objects and
 * identity hashes").
 *
 * A collection never scans the heap for weak objects. It meets them while tracing: a
 * traced ephemeron is put on a list (`pending`) instead of having its fields visited.
 * When the strong trace is drained, the list is resolved: an ephemeron whose key is
 * known live has its fields visited (which can make more keys live), until nothing
 * changes. Then the registrations of live guardians whose objects are dead are queued,
 * which traces those objects, and the ephemerons are resolved again. What is left on the
 * list has a dead key and is broken. Guardians keep their registrations in a table
 * outside the heap; the work per collection is proportional to the ephemerons traced
 * plus the registrations, never to the heap. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gc_internal.h"

/* Payload words of the collector's kinds. Word 0 is the embedder's tag. */
enum { EPH_KEY = 1, EPH_VALUE = 2, EPH_WORDS = 3 };
enum { GUARDIAN_SLOT = 1, GUARDIAN_WORDS = 2 };

struct pending_ephemeron {
    void **fields;
    gc_visit_fn visit; /* the visitor that met it: it knows which fields to update */
    void *ctx;
};

struct guardian_record {
    void *guardian;              /* NULL: the record is free */
    struct ptr_stack registered; /* not yet dead; not traced */
    struct ptr_stack queued;     /* dead when found, kept for the mutator; traced */
    size_t first_new;            /* queued in this round of the collection from here */
};

struct weak_state {
    bool deferring;               /* inside a collection's trace: ephemerons go to `pending` */
    pthread_mutex_t *shared_lock; /* several workers trace: `pending` is under it */
    gc_visit_fn shared_visit;     /* and its entries are resolved with this visitor */
    struct pending_ephemeron *pending;
    size_t pending_count, pending_capacity;
    struct guardian_record *guardians;
    size_t guardian_count;
};

static struct weak_state *weak_state_of(struct gc_heap *h)
{
    if (!h->weak && !(h->weak = calloc(1, sizeof *h->weak)))
        gc_fatal("out of memory for the collector's table of weak objects");
    return h->weak;
}

void weak_destroy(struct gc_heap *h)
{
    struct weak_state *w = h->weak;
    if (!w)
        return;
    for (size_t i = 0; i < w->guardian_count; i++) {
        free(w->guardians[i].registered.items);
        free(w->guardians[i].queued.items);
    }
    free(w->guardians);
    free(w->pending);
    free(w);
    h->weak = NULL;
}

static bool is_heap_object(const struct gc_heap *h, const void *p)
{
    return ((uintptr_t)p & 7u) == 0 && in_region(h, p);
}

/* Whether p survives the collection as far as it has traced so far. Not a heap object:
 * it cannot die. Young: it was evacuated or its block pinned. Old: a minor collection
 * frees nothing old; a major one keeps what it marked. */
static bool survives(const struct gc_heap *h, const void *p)
{
    if (!is_heap_object(h, p))
        return true;
    uint8_t kind = h->blocks[block_index(h, p)].kind;
    gc_header hdr = *header_of(p);
    if (!(hdr & GC_HDR_LIVE))
        return true; /* evacuated: the header is the copy's address */
    if (kind == BLOCK_NURSERY)
        return false;
    return !h->marking || is_marked(h, p);
}

/* Where a surviving object lives after the collection. */
static void *moved_to(const struct gc_heap *h, void *p)
{
    if (!is_heap_object(h, p))
        return p;
    gc_header hdr = *header_of(p);
    return (hdr & GC_HDR_LIVE) ? p : (void *)(uintptr_t)hdr;
}

static struct guardian_record *record_of(struct gc_heap *h, const void *guardian)
{
    struct weak_state *w = h->weak;
    if (!w || !is_heap_object(h, guardian) || gc_object_kind(guardian) != GC_KIND_GUARDIAN)
        return NULL;
    uintptr_t slot = ((const uintptr_t *)guardian)[GUARDIAN_SLOT];
    if (slot == 0 || slot > w->guardian_count)
        return NULL;
    struct guardian_record *r = &w->guardians[slot - 1];
    /* Outside a collection the record knows the guardian's address exactly. */
    return r->guardian == guardian || (w->deferring && r->guardian) ? r : NULL;
}

static void pending_add(struct weak_state *w, void **fields, gc_visit_fn visit, void *ctx)
{
    if (w->pending_count == w->pending_capacity) {
        size_t cap = w->pending_capacity ? 2 * w->pending_capacity : 256;
        struct pending_ephemeron *p = realloc(w->pending, cap * sizeof *p);
        if (!p)
            gc_fatal("out of memory for the list of ephemerons (%zu entries)", cap);
        w->pending = p;
        w->pending_capacity = cap;
    }
    w->pending[w->pending_count++] = (struct pending_ephemeron){fields, visit, ctx};
}

void weak_trace(struct gc_heap *h, void *obj, unsigned kind, gc_visit_fn visit, void *ctx)
{
    void **fields = obj;
    struct weak_state *w = h->weak;
    if (kind == GC_KIND_GUARDIAN) {
        /* Its queue is outside the heap and holds only old objects (each was promoted
         * when queued): a minor collection has nothing to do there, and its remembered-set
         * visitor takes only fields inside the heap. */
        if (w && w->deferring && !h->marking)
            return;
        struct guardian_record *r = record_of(h, obj);
        for (size_t i = 0; r && i < r->queued.count; i++)
            visit(&r->queued.items[i], ctx);
        return;
    }
    if (!w || !w->deferring) { /* the verifier, a heap walk: the fields are plain fields */
        visit(&fields[EPH_KEY], ctx);
        visit(&fields[EPH_VALUE], ctx);
        return;
    }
    if (w->shared_lock) {
        pthread_mutex_lock(w->shared_lock);
        pending_add(w, fields, w->shared_visit, h);
        h->stats.ephemerons_set_aside++;
        pthread_mutex_unlock(w->shared_lock);
        return;
    }
    pending_add(w, fields, visit, ctx);
    h->stats.ephemerons_set_aside++;
}

void weak_share_pending(struct gc_heap *h, pthread_mutex_t *lock, gc_visit_fn visit)
{
    struct weak_state *w = weak_state_of(h);
    w->shared_lock = lock;
    w->shared_visit = visit;
}

void weak_collection_begin(struct gc_heap *h)
{
    weak_state_of(h)->deferring = true;
}

/* Visits the fields of every pending ephemeron whose key is live, and what they reach,
 * until no more keys become live. What is grey is traced first: the objects a guardian
 * has just queued may reach ephemerons, which must be tested too (were they listed only
 * by a pass that resolved nothing, no pass would follow to test them). */
static void resolve_ephemerons(struct gc_heap *h, gc_visit_fn visit)
{
    struct weak_state *w = h->weak;
    drain_grey(h, visit);
    bool progress = true;
    while (progress) {
        progress = false;
        h->stats.weak_liveness_tests += w->pending_count;
        for (size_t i = 0; i < w->pending_count;) {
            struct pending_ephemeron e = w->pending[i];
            if (!survives(h, e.fields[EPH_KEY])) {
                i++;
                continue;
            }
            w->pending[i] = w->pending[--w->pending_count];
            e.visit(&e.fields[EPH_KEY], e.ctx);
            e.visit(&e.fields[EPH_VALUE], e.ctx);
            progress = true;
        }
        drain_grey(h, visit);
    }
}

/* For each guardian that survives so far: queues its dead registrations and updates the
 * addresses of the others; then traces what was queued, with visit. Every dead
 * registration is found before anything is traced, so an object registered twice, or
 * with two guardians, is queued for each registration. Returns whether any was queued. */
static bool queue_dead_registrations(struct gc_heap *h, gc_visit_fn visit)
{
    struct weak_state *w = h->weak;
    bool queued_any = false;
    for (size_t g = 0; g < w->guardian_count; g++) {
        struct guardian_record *r = &w->guardians[g];
        r->first_new = r->queued.count;
        h->stats.weak_liveness_tests++;
        if (!r->guardian || !survives(h, r->guardian))
            continue;
        h->stats.weak_liveness_tests += r->registered.count;
        r->guardian = moved_to(h, r->guardian);
        for (size_t i = 0; i < r->registered.count;) {
            void *obj = r->registered.items[i];
            if (survives(h, obj)) {
                r->registered.items[i++] = moved_to(h, obj);
                continue;
            }
            r->registered.items[i] = r->registered.items[--r->registered.count];
            ptr_stack_push(&r->queued, obj);
            queued_any = true;
        }
    }
    for (size_t g = 0; g < w->guardian_count; g++) {
        struct guardian_record *r = &w->guardians[g];
        for (size_t i = r->first_new; i < r->queued.count; i++)
            visit(&r->queued.items[i], h);
    }
    return queued_any;
}

/* A guardian that did not survive takes its registrations and queue with it. */
static void free_dead_guardians(struct gc_heap *h)
{
    struct weak_state *w = h->weak;
    for (size_t g = 0; g < w->guardian_count; g++) {
        struct guardian_record *r = &w->guardians[g];
        if (r->guardian && !survives(h, r->guardian)) {
            r->guardian = NULL;
            r->registered.count = 0;
            r->queued.count = 0;
        }
    }
}

void weak_collection_end(struct gc_heap *h, gc_visit_fn visit)
{
    struct weak_state *w = h->weak;
    do
        resolve_ephemerons(h, visit);
    while (queue_dead_registrations(h, visit));
    free_dead_guardians(h);
    for (size_t i = 0; i < w->pending_count; i++) {
        w->pending[i].fields[EPH_KEY] = NULL;
        w->pending[i].fields[EPH_VALUE] = NULL;
    }
    w->pending_count = 0;
    w->deferring = false;
}

/* ---- Public API ---- */

void *gc_alloc_ephemeron(struct gc_mutator *m, uintptr_t tag, void *key, void *value)
{
    struct gc_heap *h = m->heap;
    /* The allocation may collect: key and value are roots meanwhile. */
    if (gc_root_add(h, &key) != 0)
        return NULL;
    if (gc_root_add(h, &value) != 0) {
        gc_root_remove(h, &key);
        return NULL;
    }
    void **e = gc_alloc(m, GC_KIND_EPHEMERON, EPH_WORDS * sizeof(void *));
    gc_root_remove(h, &value);
    gc_root_remove(h, &key);
    if (!e)
        return NULL;
    e[0] = (void *)tag;
    e[EPH_KEY] = key;
    e[EPH_VALUE] = value;
    gc_write_barrier(m, &e[EPH_KEY]);
    gc_write_barrier(m, &e[EPH_VALUE]);
    return e;
}

void gc_ephemeron_set(struct gc_mutator *m, void *ephemeron, void *key, void *value)
{
    void **e = ephemeron;
    e[EPH_KEY] = key;
    gc_write_barrier(m, &e[EPH_KEY]);
    e[EPH_VALUE] = value;
    gc_write_barrier(m, &e[EPH_VALUE]);
}

void *gc_ephemeron_key(const void *ephemeron)
{
    return ((void *const *)ephemeron)[EPH_KEY];
}

void *gc_ephemeron_value(const void *ephemeron)
{
    return ((void *const *)ephemeron)[EPH_VALUE];
}

int gc_ephemeron_broken(const void *ephemeron)
{
    return gc_ephemeron_key(ephemeron) == NULL;
}

void *gc_alloc_weak_ref(struct gc_mutator *m, uintptr_t tag, void *target)
{
    return gc_alloc_ephemeron(m, tag, target, NULL);
}

void *gc_weak_ref_get(const void *weak_ref)
{
    return gc_ephemeron_key(weak_ref);
}

void *gc_alloc_guardian(struct gc_mutator *m, uintptr_t tag)
{
    struct gc_heap *h = m->heap;
    uintptr_t *g = gc_alloc(m, GC_KIND_GUARDIAN, GUARDIAN_WORDS * sizeof(void *));
    if (!g)
        return NULL;
    /* The table is the heap's: other mutators and collections read it. */
    pthread_mutex_lock(&h->lock);
    struct weak_state *w = weak_state_of(h);
    size_t slot = 0;
    while (slot < w->guardian_count && w->guardians[slot].guardian)
        slot++;
    if (slot == w->guardian_count) {
        struct guardian_record *r = realloc(w->guardians, (slot + 1) * sizeof *r);
        if (!r) {
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        w->guardians = r;
        memset(&r[slot], 0, sizeof r[slot]);
        w->guardian_count++;
    }
    w->guardians[slot].guardian = g;
    g[0] = tag;
    g[GUARDIAN_SLOT] = slot + 1;
    pthread_mutex_unlock(&h->lock);
    return g;
}

int gc_guardian_register(struct gc_heap *h, void *guardian, void *obj)
{
    pthread_mutex_lock(&h->lock);
    struct guardian_record *r = record_of(h, guardian);
    int rc = -1;
    if (r && is_heap_object(h, obj)) {
        ptr_stack_push(&r->registered, obj);
        rc = 0;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void *gc_guardian_next(struct gc_heap *h, void *guardian)
{
    pthread_mutex_lock(&h->lock);
    struct guardian_record *r = record_of(h, guardian);
    void *obj = r && r->queued.count ? ptr_stack_pop(&r->queued) : NULL;
    pthread_mutex_unlock(&h->lock);
    return obj;
}
