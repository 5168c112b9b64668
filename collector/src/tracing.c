/* Roots and tracing: the embedder's kinds and roots, and the calls that visit an
 * object's or the roots' fields. */
#include <pthread.h>
#include <stdlib.h>

#include "gc_internal.h"
/* ---- Embedder registration ---- */

int gc_register_kind(struct gc_heap *h, unsigned kind, gc_trace_fn trace)
{
    return gc_register_kind_ranged(h, kind, trace, NULL);
}

/* Registers a kind's tracers and layout (NOT_WORD_ARRAY: none known). */
static int register_kind(struct gc_heap *h, unsigned kind, gc_trace_fn trace,
                         gc_trace_range_fn trace_range, uint32_t word_array_from)
{
    if (kind >= KIND_COUNT || kind == GC_KIND_EPHEMERON || kind == GC_KIND_GUARDIAN)
        return -1; /* out of range, or the collector's own (gc-weak.h) */
    pthread_mutex_lock(&h->lock);
    h->trace[kind] = trace;
    h->trace_range[kind] = trace_range;
    h->word_array_from[kind] = word_array_from;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

int gc_register_kind_ranged(struct gc_heap *h, unsigned kind, gc_trace_fn trace,
                            gc_trace_range_fn trace_range)
{
    return register_kind(h, kind, trace, trace_range, NOT_WORD_ARRAY);
}

int gc_register_kind_words(struct gc_heap *h, unsigned kind, gc_trace_fn trace,
                           gc_trace_range_fn trace_range, size_t first_field)
{
    if (first_field % sizeof(void *) != 0 || first_field >= NOT_WORD_ARRAY)
        return -1;
    return register_kind(h, kind, trace, trace_range, (uint32_t)first_field);
}

int gc_root_add(struct gc_heap *h, void **root)
{
    int rc = 0;
    pthread_mutex_lock(&h->lock);
    if (h->root_count == h->root_capacity) {
        size_t cap = h->root_capacity ? h->root_capacity * 2 : 64;
        void ***roots = realloc(h->roots, cap * sizeof *roots);
        if (roots) {
            h->roots = roots;
            h->root_capacity = cap;
        } else {
            rc = -1;
        }
    }
    if (rc == 0)
        h->roots[h->root_count++] = root;
    pthread_mutex_unlock(&h->lock);
    return rc;
}

int gc_root_remove(struct gc_heap *h, void **root)
{
    int rc = -1;
    pthread_mutex_lock(&h->lock);
    for (size_t i = h->root_count; i-- > 0;) {
        if (h->roots[i] == root) {
            h->roots[i] = h->roots[--h->root_count];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

void gc_set_root_tracer(struct gc_heap *h, gc_root_trace_fn fn, void *user)
{
    pthread_mutex_lock(&h->lock);
    h->root_tracer = fn;
    h->root_tracer_user = user;
    pthread_mutex_unlock(&h->lock);
}

void trace_roots(struct gc_heap *h, gc_visit_fn visit, void *ctx)
{
    for (size_t i = 0; i < h->root_count; i++)
        visit(h->roots[i], ctx);
    if (h->root_tracer)
        h->root_tracer(visit, ctx, h->root_tracer_user);
    trace_mutator_roots(h, visit, ctx);
}

void trace_object(struct gc_heap *h, void *obj, gc_visit_fn visit, void *ctx)
{
    gc_header hdr = *header_of(obj);
    if (hdr & (GC_HDR_POINTERFREE | HDR_FILLER))
        return;
    unsigned kind = header_kind(hdr);
    if (kind == GC_KIND_EPHEMERON || kind == GC_KIND_GUARDIAN) {
        weak_trace(h, obj, kind, visit, ctx);
        return;
    }
    gc_trace_fn trace = h->trace[kind];
    if (!trace)
        gc_fatal("object %p of kind %u holds pointers but the kind has no trace function "
                 "(gc_register_kind)",
                 obj, kind);
    trace(obj, visit, ctx);
}

size_t gc_object_size(const void *obj)
{
    gc_header hdr = *header_of(obj);
    return header_size(hdr) - GC_HEADER_BYTES - identity_hash_payload_extra(hdr);
}
unsigned gc_object_kind(const void *obj)
{
    return header_kind(*header_of(obj));
}

void gc_for_each_object(struct gc_mutator *m, gc_object_fn fn, void *arg)
{
    struct gc_heap *h = m->heap;
    pthread_mutex_lock(&h->lock);
    world_stop(m);
    for (size_t i = 0; i < h->blocks_end; i++)
        if (h->blocks[i].kind != BLOCK_FREE)
            block_for_each_object(h, i, fn, arg);
    world_start(m);
    pthread_mutex_unlock(&h->lock);
}

/* ---- Ranges that skip zeros ---- */

/* Stretches of a large object that are checked for zero before they are traced. */
#define ZERO_STRETCH_BYTES 512u

/* Whether the words [p, p + n) are all zero (n a multiple of 8, p 8-byte aligned). The
 * concurrent marker reads them while a mutator may store: each word is one aligned load,
 * as marker_visit's, and either value is fine for the same reason (Invariant D). */
__attribute__((no_sanitize_thread)) static bool all_zero(const char *p, size_t n)
{
    const volatile uint64_t *words = (const volatile uint64_t *)(const void *)p;
    uint64_t any = 0;
    for (size_t k = 0; k < n / 8; k++)
        any |= words[k];
    return any == 0;
}

void trace_range_nonzero(gc_trace_range_fn trace_range, void *obj, size_t from, size_t to,
                         gc_visit_fn visit, void *ctx)
{
    const char *payload = obj;
    size_t run = from; /* the start of the stretches not yet traced, none of them zero */
    for (size_t at = from; at < to;) {
        size_t end = (at / ZERO_STRETCH_BYTES + 1) * ZERO_STRETCH_BYTES;
        end = end < to ? end : to;
        if (all_zero(payload + at, end - at)) {
            if (run < at)
                trace_range(obj, run, at, visit, ctx);
            run = end;
        }
        at = end;
    }
    if (run < to)
        trace_range(obj, run, to, visit, ctx);
}
