/* Minor collection: evacuate every young object reachable from the roots and from the
 * remembered set into the old generation (promotion on first survival).
 *
 * Invariant A (docs/collector.md, "Nursery"): when a collection ends,
 * no young object exists, so no old-to-young pointer exists. Every old-to-young pointer
 * the next minor collection must find was therefore stored by the mutator after the
 * barrier's rearm(), into an old block the barrier tracks, or into a large object
 * allocated since (kept on fresh_large). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gc_internal.h"
#include "parallel_evac.h"
#include "workers.h"

/* A nursery block that cannot be evacuated (conservatively referenced, or the old
 * generation is full) becomes an old block in place. In a minor collection all of its
 * objects become old at once, so all are scanned for young pointers; in a major one
 * marking decides which survive. */
void pin_block(struct gc_heap *h, size_t bi)
{
    struct block *b = &h->blocks[bi];
    if (b->kind != BLOCK_NURSERY)
        return;
    block_set_kind(h, bi, BLOCK_PINNED);
    h->old_blocks++;
    h->stats.pinned_blocks++;
    ptr_stack_push(&h->pinned_now, (void *)(uintptr_t)bi);
    if (h->marking)
        return;
    for (char *at = block_start(h, bi); at < b->fill; at += walked_object_size(at)) {
        gc_header hdr = *(gc_header *)at;
        /* Old now, during a concurrent cycle: shaded (docs/collector.md, "Concurrent
         * marking", invariant D). */
        if ((hdr & GC_HDR_LIVE) && h->cycle_active)
            concurrent_shade(h, at + GC_HEADER_BYTES);
        if ((hdr & GC_HDR_LIVE) && !(hdr & GC_HDR_POINTERFREE)) /* not evacuated already */
            ptr_stack_push(&h->grey, at + GC_HEADER_BYTES);
    }
}

/* Evacuated objects left their old copy's header as a forwarding address; in a block
 * pinned after that happened the remains stay in place, so they become fillers. */
void fill_evacuated_remains(struct gc_heap *h)
{
    while (h->pinned_now.count) {
        size_t bi = (size_t)(uintptr_t)ptr_stack_pop(&h->pinned_now);
        const struct block *b = &h->blocks[bi];
        for (char *at = block_start(h, bi); at < b->fill;) {
            size_t size = walked_object_size(at);
            if (!(*(gc_header *)at & GC_HDR_LIVE))
                *(gc_header *)at = make_header(size, 0, GC_HDR_POINTERFREE | HDR_FILLER);
            at += size;
        }
    }
}

/* Returns where the young object obj lives after this collection. */
static void *promote(struct gc_heap *h, void *obj)
{
    gc_header hdr = *header_of(obj);
    if (!(hdr & GC_HDR_LIVE))
        return (void *)(uintptr_t)hdr; /* forwarded */
    if (h->blocks[block_index(h, obj)].kind == BLOCK_PINNED)
        return obj;
    size_t total = header_size(hdr);
    size_t extra = identity_hash_extra(hdr); /* room for its identity hash */
    char *to = total + extra <= SMALL_MAX ? old_alloc_small(h, total + extra) : NULL;
    if (!to) { /* the old generation is full: keep the whole block where it is */
        pin_block(h, block_index(h, obj));
        return obj;
    }
    copy_object_words(to, header_of(obj), total);
    if (extra)
        identity_hash_store(to, total, obj);
    void *copy = to + GC_HEADER_BYTES;
    *header_of(obj) = (gc_header)(uintptr_t)copy;
    h->stats.bytes_promoted += total + extra;
    if (h->marking)
        set_marked(h, copy);
    else if (h->cycle_active) /* promoted during a concurrent cycle: shaded (invariant D) */
        concurrent_shade(h, copy);
    if (!(hdr & GC_HDR_POINTERFREE))
        ptr_stack_push(&h->grey, copy);
    return copy;
}

/* Young: in a nursery block, or in a block pinned during this collection after the
 * object was evacuated (its header is then a forwarding address). */
static inline bool needs_promotion(const struct gc_heap *h, const void *v)
{
    uint8_t kind = h->blocks[block_index(h, v)].kind;
    return kind == BLOCK_NURSERY || (kind == BLOCK_PINNED && !(*header_of(v) & GC_HDR_LIVE));
}

void visit_for_minor(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    void *v = *field;
    if (may_be_object(h, v) && needs_promotion(h, v))
        *field = promote(h, v);
}

/* Whether the field lies in a unit the harvest found written. */
static inline bool in_dirty_unit(const struct gc_heap *h, void **field)
{
    return h->dirty[(size_t)((char *)field - h->base) >> h->dirty_shift] != 0;
}

/* The same, for a field of the remembered set: only fields in dirty units count. Every
 * field offered is counted (stats.remembered_fields): that is the scan's cost, and tests
 * hold it to what was written (docs/collector.md, "The remembered set"). */
static void visit_dirty_field(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    h->stats.remembered_fields++;
    if (in_dirty_unit(h, field))
        visit_for_minor(field, ctx);
}

/* A field of an object the remembered set scans whole (a fresh large object). */
static void visit_remembered_field(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    h->stats.remembered_fields++;
    visit_for_minor(field, ctx);
}

/* During a concurrent cycle, for the fields of a marked object (remembered_scan_shades):
 * as visit_for_minor, and an old object the marker has not marked is shaded (Invariant D,
 * docs/collector.md "Concurrent marking"). */
static void visit_for_minor_shading(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    void *v = *field;
    if (!may_be_object(h, v))
        return;
    if (needs_promotion(h, v))
        *field = promote(h, v);
    else if (concurrent_claim(h, v))
        concurrent_queue_marked(h, v);
}

static void visit_dirty_field_shading(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    h->stats.remembered_fields++;
    if (in_dirty_unit(h, field))
        visit_for_minor_shading(field, ctx);
}

static void visit_remembered_field_shading(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    h->stats.remembered_fields++;
    visit_for_minor_shading(field, ctx);
}

void visit_for_major(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    void *v = *field;
    if (!may_be_object(h, v))
        return;
    if (needs_promotion(h, v)) {
        void *moved = promote(h, v);
        *field = moved;
        if (moved != v)
            return; /* promote() marked and queued the copy */
    }
    if (h->blocks[block_index(h, v)].kind == BLOCK_FREE || is_marked(h, v))
        return;
    set_marked(h, v);
    if (!(*header_of(v) & (GC_HDR_POINTERFREE | HDR_FILLER)))
        ptr_stack_push(&h->grey, v);
}

void drain_grey(struct gc_heap *h, gc_visit_fn visit)
{
    while (h->grey.count)
        trace_object(h, ptr_stack_pop(&h->grey), visit, h);
}

/* ---- Remembered set ----
 * The scan is written once for the single-threaded collection and the workers of a
 * parallel one: a remset_visitors pair says how a field is visited (the two count what
 * they are offered in their own statistics), ctx is its context (the heap, or a worker). */

struct remset_visitors {
    gc_visit_fn dirty_field;         /* a field of a scanned object: visited if its unit is dirty */
    gc_visit_fn dirty_field_shading; /* the same for a marked object in a concurrent cycle:
                                        it shades too */
    /* The fields [from, to) of a word array (gc_register_kind_words), all in dirty units:
     * visited as by the two above, in one loop. */
    void (*dirty_words)(void **from, void **to, bool shading, void *ctx);
};

/* Whether the scan shades what obj's fields point at: during a concurrent cycle, for an
 * object the cycle has marked (a white one is traced whole when the marker reaches it).
 * This scan is the marker's re-scan of what was written: one harvest feeds both
 * (Invariant D, docs/collector.md "Concurrent marking"). An ephemeron or a guardian is
 * left to the final pause, which resolves it from its fields as they are then. */
static bool remembered_scan_shades(const struct gc_heap *h, const void *obj)
{
    if (!h->cycle_active)
        return false;
    unsigned kind = header_kind(*header_of(obj));
    return kind != GC_KIND_EPHEMERON && kind != GC_KIND_GUARDIAN && is_marked_atomic(h, obj);
}

static void scan_whole_object(void *obj, void *arg)
{
    struct gc_heap *h = arg;
    trace_object(h, obj,
                 remembered_scan_shades(h, obj) ? visit_remembered_field_shading
                                                : visit_remembered_field,
                 h);
}

/* A fresh large object: the marker traces it whole (concurrent_before_minor queued it). */
static void scan_fresh_object(void *obj, void *arg)
{
    struct gc_heap *h = arg;
    gc_header hdr = *header_of(obj);
    gc_trace_range_fn trace_range = h->trace_range[header_kind(hdr)];
    if (trace_range && !(hdr & (GC_HDR_POINTERFREE | HDR_FILLER)))
        trace_range_nonzero(trace_range, obj, 0, header_size(hdr) - GC_HEADER_BYTES,
                            visit_remembered_field, h);
    else
        trace_object(h, obj, visit_remembered_field, h);
}

static void visit_dirty_words(void **from, void **to, bool shading, void *ctx)
{
    struct gc_heap *h = ctx;
    h->stats.remembered_fields += (size_t)(to - from);
    for (void **field = from; field < to; field++) {
        if (shading)
            visit_for_minor_shading(field, h);
        else
            visit_for_minor(field, h);
    }
}

static const struct remset_visitors serial_remset = {visit_dirty_field, visit_dirty_field_shading,
                                                     visit_dirty_words};

/* Index of the first dirty unit in [u, end), or end. Eight units at a time where they
 * are all clean, so a large object's clean stretches cost a load per 8 units. */
static size_t next_dirty_unit(const uint8_t *dirty, size_t u, size_t end)
{
    while (u < end) {
        if ((u & 7u) == 0 && u + 8 <= end) {
            uint64_t w;
            memcpy(&w, dirty + u, 8);
            if (!w) {
                u += 8;
                continue;
            }
        }
        if (dirty[u])
            return u;
        u++;
    }
    return end;
}

/* Fetches unit u, up to its first 512 bytes, into the cache. The scan finds the next
 * dirty unit before it scans the current one and fetches it meanwhile: a random writer's
 * dirty units lie far apart, and the wait for each one's fields was most of the scan's
 * time. Always inlined: GCC takes a function whose only effect is __builtin_prefetch for
 * one without effects (pure), and deletes the calls to it; at -O2 it did, and none of
 * these fetches was made. */
static inline __attribute__((always_inline)) void prefetch_unit(const struct gc_heap *h, size_t u)
{
    const char *at = h->base + (u << h->dirty_shift);
    size_t bytes = (size_t)1 << h->dirty_shift;
    for (size_t k = 0; k < bytes && k < 512; k += 64)
        __builtin_prefetch(at + k);
}

/* Visits the fields of obj in payload bytes [from, to), which lie in dirty units: in the
 * collector's own loop where the kind is a word array (gc_register_kind_words), else
 * through its range tracer. Under a page barrier every field of a written 4 KiB page is
 * read: churn.scm under uffd offers a million fields to each minor collection, and the
 * tracer's and the visitor's calls per field took 4.3 ns of a worker's time a field
 * (`perf`), 3.0 in this loop. */
static void scan_dirty_range(struct gc_heap *h, void *obj, gc_trace_range_fn trace_range,
                             size_t from, size_t to, bool shading, const struct remset_visitors *v,
                             void *ctx)
{
    uint32_t first = h->word_array_from[header_kind(*header_of(obj))];
    if (first == NOT_WORD_ARRAY) {
        trace_range(obj, from, to, shading ? v->dirty_field_shading : v->dirty_field, ctx);
        return;
    }
    size_t word = sizeof(void *);
    from = (from > first ? from : first) + word - 1;
    void **lo = (void **)obj + from / word, **hi = (void **)obj + (to + word - 1) / word;
    if (lo < hi)
        v->dirty_words(lo, hi, shading, ctx);
}

/* Scans the dirty parts of an object with a range tracer that lie in units [lo, hi) of
 * the region: one call for each maximal run of dirty units there, limited to the
 * object's payload. The cost is the fields in those units, whatever the object's size. */
static void scan_dirty_ranges(struct gc_heap *h, void *obj, gc_trace_range_fn trace_range,
                              size_t lo, size_t hi, const struct remset_visitors *v, void *ctx)
{
    size_t bytes = header_size(*header_of(obj)) - GC_HEADER_BYTES;
    /* Shading where the marker has traced already: the rest it reads later. */
    size_t traced = remembered_scan_shades(h, obj) ? concurrent_traced_extent(h, obj, bytes) : 0;
    size_t offset = (size_t)((char *)obj - h->base); /* of the payload in the region */
    size_t start = offset >> h->dirty_shift, end = ((offset + bytes - 1) >> h->dirty_shift) + 1;
    start = start > lo ? start : lo;
    end = end < hi ? end : hi;
    for (size_t u = next_dirty_unit(h->dirty, start, end); u < end;) {
        size_t run_end = u + 1;
        while (run_end < end && h->dirty[run_end])
            run_end++;
        size_t next = next_dirty_unit(h->dirty, run_end, end);
        if (next < end)
            prefetch_unit(h, next);
        size_t from = u << h->dirty_shift, to = run_end << h->dirty_shift;
        from = from > offset ? from - offset : 0;
        to = to - offset < bytes ? to - offset : bytes;
        size_t mid = traced < from ? from : traced < to ? traced : to;
        if (from < mid)
            scan_dirty_range(h, obj, trace_range, from, mid, true, v, ctx);
        if (mid < to)
            scan_dirty_range(h, obj, trace_range, mid, to, false, v, ctx);
        u = next;
    }
}

/* Scans an old object that overlaps dirty units, once per collection however many it
 * overlaps: over its dirty ranges where the kind has a range tracer and the object
 * spans more than one unit, else whole with the fields outside dirty units skipped. */
static void scan_dirty_object(struct gc_heap *h, void *obj, void **last,
                              const struct remset_visitors *v, void *ctx)
{
    if (obj == *last)
        return; /* spans several dirty units: once is enough */
    *last = obj;
    gc_header hdr = *header_of(obj);
    if (hdr & (GC_HDR_POINTERFREE | HDR_FILLER))
        return;
    gc_trace_range_fn trace_range = h->trace_range[header_kind(hdr)];
    if (trace_range && header_size(hdr) > ((size_t)1 << h->dirty_shift))
        scan_dirty_ranges(h, obj, trace_range, 0, SIZE_MAX, v, ctx);
    else
        trace_object(h, obj,
                     remembered_scan_shades(h, obj) ? v->dirty_field_shading : v->dirty_field, ctx);
}

/* Scans the objects of old SMALL or PINNED block bi that overlap its dirty units. */
static void scan_dirty_block(struct gc_heap *h, size_t bi, const struct remset_visitors *v,
                             void *ctx)
{
    struct block *b = &h->blocks[bi];
    char *start = block_start(h, bi);
    size_t unit = (size_t)1 << h->dirty_shift;
    size_t units_per_block = BLOCK_BYTES >> h->dirty_shift;
    size_t first_unit = bi * units_per_block;
    void *last = NULL;
    if (b->kind == BLOCK_PINNED) {
        for (char *at = start; at < b->fill;) {
            gc_header hdr = *(gc_header *)at;
            size_t size = walked_object_size(at);
            /* A block pinned earlier in this collection (while the roots were traced) still
             * holds the remains of the objects evacuated from it before: skip them. Its
             * live objects are queued already (pin_block). Its units can be dirty: the card
             * barrier marks stores into young objects too. */
            if (!(hdr & GC_HDR_LIVE)) {
                at += size;
                continue;
            }
            size_t u0 = (size_t)(at - h->base) >> h->dirty_shift;
            size_t u1 = (size_t)(at + size - 1 - h->base) >> h->dirty_shift;
            for (size_t u = u0; u <= u1; u++) {
                if (h->dirty[u]) {
                    scan_dirty_object(h, at + GC_HEADER_BYTES, &last, v, ctx);
                    break;
                }
            }
            at += size;
        }
        return;
    }
    /* BLOCK_SMALL: the cells overlapping each dirty unit. */
    size_t cell = gc_size_class_bytes[b->size_class];
    char *cells_end = start + cells_per_block(b->size_class) * cell;
    size_t k = next_dirty_unit(h->dirty, first_unit, first_unit + units_per_block) - first_unit;
    while (k < units_per_block) {
        size_t next = next_dirty_unit(h->dirty, first_unit + k + 1, first_unit + units_per_block) -
                      first_unit;
        if (next < units_per_block)
            prefetch_unit(h, first_unit + next);
        char *lo = start + k * unit, *hi = lo + unit;
        for (char *at = start + (size_t)(lo - start) / cell * cell; at < hi && at < cells_end;
             at += cell)
            if (cell_allocated(h, at))
                scan_dirty_object(h, at + GC_HEADER_BYTES, &last, v, ctx);
        k = next;
    }
}

/* Whether old block bi has something for the remembered-set scan, counting its dirty
 * units; a large object is scanned once, at its first dirty block, and through its
 * head: *target is the block to scan. large_scanned: the head chosen last. A fresh large
 * object is left to the scan of fresh_large, which covers it whole. */
static bool remembered_block_wanted(struct gc_heap *h, size_t bi, size_t *large_scanned,
                                    size_t *target)
{
    const struct block *b = &h->blocks[bi];
    if (!h->all_dirty && h->card_blocks && !h->card_blocks[bi])
        return false; /* the summary: no card of the block is dirty */
    if (!block_is_old(b->kind))
        return false;
    *target = bi;
    if (h->all_dirty)
        return b->kind != BLOCK_LARGE_TAIL;
    size_t units_per_block = BLOCK_BYTES >> h->dirty_shift; /* 8 or 256: a multiple of 8 */
    size_t first_unit = bi * units_per_block;
    h->stats.remembered_blocks_read++;
    size_t dirty = count_dirty(h->dirty + first_unit, units_per_block);
    if (!dirty)
        return false;
    h->stats.dirty_units += dirty;
    if (b->kind == BLOCK_LARGE || b->kind == BLOCK_LARGE_TAIL) {
        size_t head = b->kind == BLOCK_LARGE ? bi : bi - b->run;
        bool first_time = head != *large_scanned;
        *large_scanned = head;
        *target = head;
        return first_time && !h->blocks[head].fresh;
    }
    return true;
}

/* Scans what block bi (chosen by remembered_block_wanted) holds for the remembered set. */
static void scan_remembered_block(struct gc_heap *h, size_t bi, const struct remset_visitors *v,
                                  void *ctx, gc_object_fn whole)
{
    if (h->all_dirty) {
        block_for_each_object(h, bi, whole, ctx);
    } else if (h->blocks[bi].kind == BLOCK_LARGE) {
        void *last = NULL;
        scan_dirty_object(h, block_start(h, bi) + GC_HEADER_BYTES, &last, v, ctx);
    } else {
        scan_dirty_block(h, bi, v, ctx);
    }
}

static void scan_remembered_set(struct gc_heap *h)
{
    size_t large_scanned = SIZE_MAX; /* head block of the large object scanned last */
    for (size_t bi = 0; bi < h->blocks_end; bi++) {
        size_t target;
        if (remembered_block_wanted(h, bi, &large_scanned, &target))
            scan_remembered_block(h, target, &serial_remset, h, scan_whole_object);
    }
    /* Large objects the mutator allocated since the last collection are old but may be
     * untracked (their blocks were free at rearm()): scan them whole. */
    for (size_t i = 0; i < h->fresh_large.count; i++) {
        void *obj = h->fresh_large.items[i];
        h->blocks[block_index(h, obj)].fresh = false;
        scan_fresh_object(obj, h);
    }
    h->fresh_large.count = 0;
}

static void pin_if_young(struct gc_heap *h, void *obj)
{
    pin_block(h, block_index(h, obj));
}

/* The free blocks promotion may take (the lowest ones from free_search_from, where
 * blocks_take_run looks first; as many as the nursery holds, since no more can survive),
 * made writable a run at a time before any worker starts. A page barrier that lifted its
 * protection one block at a time from a worker would pay a TLB shootdown per block while
 * the other workers run (the uffd barrier: about a fifth of binary-trees' time on 2
 * collector threads); here the other threads are stopped or asleep, a run is one system
 * call, and a block already writable costs a look at its flag. */
static void make_promotion_targets_writable(struct gc_heap *h)
{
    size_t want = (nursery_bytes_in_use(h) >> BLOCK_SHIFT) + 1;
    size_t bi = h->free_search_from;
    while (want > 0 && bi < h->nblocks) {
        if (h->blocks[bi].kind != BLOCK_FREE) {
            bi++;
            continue;
        }
        size_t first = bi;
        while (want > 0 && bi < h->nblocks && h->blocks[bi].kind == BLOCK_FREE) {
            bi++;
            want--;
        }
        h->barrier->make_writable(h, first, bi - first);
    }
}

/* The blocks promotion will write to first were protected at the last re-arm. */
static void make_allocation_blocks_writable(struct gc_heap *h)
{
    if (!h->barrier->make_writable)
        return;
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        if (h->small_current[c] >= 0)
            h->barrier->make_writable(h, (size_t)h->small_current[c], 1);
    make_promotion_targets_writable(h);
}

/* ---- Parallel minor collection (docs/collector.md, "Parallel minor collections") ----
 * The workers share the roots, the remembered set and the objects to trace; each copies
 * into SMALL blocks of its own, taken under alloc_lock. Two workers may meet the same
 * young object: each copies it, and a compare-and-swap of its header to the copy's
 * address decides; the loser gives its cell back and uses the winner's copy. A field may
 * also be visited by two workers (a pinned object queued and in a dirty unit): a field's
 * loads and stores are atomic, and both store the same address. No block changes kind
 * while the workers run: a worker that cannot copy an object (no free block, or its copy
 * with the identity hash would not fit a cell) leaves the field for the single-threaded
 * end of the collection, which pins the object's block as a single-threaded one does. */

static char *worker_alloc(struct evac_worker *w, size_t total)
{
    struct gc_heap *h = w->h;
    unsigned cls = size_class_of(total);
    if (w->current[cls] >= 0) {
        char *cell = old_take_cell(h, (size_t)w->current[cls], cls, &w->cursor[cls]);
        if (cell)
            return cell;
        h->blocks[w->current[cls]].cursor = w->cursor[cls]; /* full: the block's again */
    }
    pthread_mutex_lock(&w->par->alloc_lock);
    long bi = old_take_small_block(h, cls);
    uint32_t cursor = bi >= 0 ? h->blocks[bi].cursor : 0;
    pthread_mutex_unlock(&w->par->alloc_lock);
    w->current[cls] = (int32_t)bi; /* -1 when none is left */
    if (bi < 0)
        return NULL;
    w->cursor[cls] = cursor;
    return old_take_cell(h, (size_t)bi, cls, &w->cursor[cls]);
}

/* Where the young object obj moves, or NULL when this worker cannot copy it: field is
 * then left for the single-threaded end. */
void *parallel_promote(struct evac_worker *w, void *obj, void **field)
{
    gc_header *hp = header_of(obj);
    gc_header hdr = __atomic_load_n(hp, __ATOMIC_ACQUIRE);
    if (!(hdr & GC_HDR_LIVE))
        return (void *)(uintptr_t)hdr; /* forwarded */
    size_t total = header_size(hdr);
    size_t extra = identity_hash_extra(hdr);
    char *to = total + extra <= SMALL_MAX ? worker_alloc(w, total + extra) : NULL;
    if (!to) {
        ptr_stack_push(&w->deferred, field);
        return NULL;
    }
    *(gc_header *)to = hdr;
    copy_object_words(to + GC_HEADER_BYTES, obj, total - GC_HEADER_BYTES);
    if (extra)
        identity_hash_store(to, total, obj);
    void *copy = to + GC_HEADER_BYTES;
    /* Release: whoever reads the forwarding address sees the copy complete. */
    if (!__atomic_compare_exchange_n(hp, &hdr, (gc_header)(uintptr_t)copy, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        unsigned cls = size_class_of(total + extra);
        old_untake_cell(w->h, to, cls, &w->cursor[cls]); /* another worker copied it first */
        return (void *)(uintptr_t)hdr;
    }
    w->objects_copied++;
    w->bytes_promoted += total + extra;
    /* A major collection's copy: live, and marked by its copier only. A copy promoted
     * during a concurrent cycle: marked black (docs/collector.md, "Concurrent marking",
     * invariant D): this collection traces it with parallel_visit_shading, which queues
     * the old objects it points at for the marker. But an ephemeron or a guardian is
     * shaded (marked here, queued for the marker by the single-threaded end): the marker
     * lists the weak objects the cycle meets, and the final pause resolves only those (a
     * black one was never listed, and kept a pointer to an object the cycle freed). */
    unsigned kind = header_kind(hdr);
    bool weak = kind == GC_KIND_EPHEMERON || kind == GC_KIND_GUARDIAN;
    if (w->h->marking || (w->h->cycle_active && !weak))
        mark_claim(w->h, copy);
    else if (w->h->cycle_active && !mark_claim(w->h, copy))
        ptr_stack_push(&w->to_shade, copy);
    if (!(hdr & GC_HDR_POINTERFREE))
        ptr_stack_push(&w->local, copy);
    return copy;
}

/* The workers' visitor. No block is pinned while they run, so young is exactly "in a
 * nursery block". */
static void parallel_visit(void **field, void *ctx)
{
    struct evac_worker *w = ctx;
    struct gc_heap *h = w->h;
    /* Acquire and release (plain moves on x86): a field another worker updated names a
     * copy in a block that worker took, and its block's metadata is read below. */
    void *v = __atomic_load_n(field, __ATOMIC_ACQUIRE);
    if (!may_be_object(h, v) || !h->young_blocks[block_index(h, v)])
        return;
    void *moved = parallel_promote(w, v, field);
    if (moved)
        __atomic_store_n(field, moved, __ATOMIC_RELEASE);
}

/* The workers' visitor for the fields of their copies during a concurrent cycle: as
 * parallel_visit, and an old object not marked yet is marked by the worker and handed to
 * the marker's grey list by the single-threaded end (that list is not the workers' to
 * share; the shading was all done there once, 14 ms of a 16 ms pause on a big table
 * written at random). The copies are marked black, not traced by the marker: this is
 * where their fields are traced for it, while this collection reads them anyway; a field that
 * points at a young object names a copy, marked black in its turn. Only copies (and the objects of
 * blocks the conservative scan pinned, which pin_block shades) go on the workers' stacks and
 * deques, so every copy is traced here. */
static void parallel_visit_shading(void **field, void *ctx)
{
    struct evac_worker *w = ctx;
    struct gc_heap *h = w->h;
    void *v = __atomic_load_n(field, __ATOMIC_ACQUIRE);
    if (!may_be_object(h, v))
        return;
    if (!h->young_blocks[block_index(h, v)]) {
        if (concurrent_claim(h, v))
            ptr_stack_push(&w->to_shade, v);
        return;
    }
    void *moved = parallel_promote(w, v, field);
    if (moved)
        __atomic_store_n(field, moved, __ATOMIC_RELEASE);
}

/* The fields of the remembered set point at random places of the heap. Most point at old
 * objects: the dense young_blocks table tells at once, and such a field is done unless
 * the scan shades. The others would each wait for what their visit reads first: the
 * young object's header, or (shading an old object) its mark word. Such a field is
 * queued instead, that word fetched, and the field visited REMSET_AHEAD fields later,
 * when it has arrived; the misses of consecutive fields overlap. No other worker reads
 * or writes an old object's field in a minor collection, so the field's visit may come
 * later. */
static void remset_ahead_visit(struct evac_worker *w, unsigned k)
{
    if (w->ahead_shading[k])
        parallel_visit_shading(w->ahead[k], w);
    else
        parallel_visit(w->ahead[k], w);
}

static void remset_ahead_queue(struct evac_worker *w, void **field, bool shading)
{
    unsigned k = w->ahead_count;
    if (k == REMSET_AHEAD) { /* full: the oldest goes, the new one takes its slot */
        k = w->ahead_oldest;
        remset_ahead_visit(w, k);
        w->ahead_oldest = (k + 1) % REMSET_AHEAD;
    } else {
        w->ahead_count++;
    }
    w->ahead[k] = field;
    w->ahead_shading[k] = shading;
}

/* Queues field if what it holds needs a visit: a young object, or an old one when the
 * scan shades. The heap's bounds and young_blocks are passed in, so that a loop over many
 * fields keeps them in registers (the queue's call would make it read them again). */
static inline void remset_ahead_offer(struct evac_worker *w, void **field, bool shading,
                                      const char *base, const char *end, const uint8_t *young)
{
    void *v = __atomic_load_n(field, __ATOMIC_RELAXED);
    if (((uintptr_t)v & 7u) || (const char *)v < base || (const char *)v >= end)
        return; /* not a heap pointer (may_be_object) */
    if (young[(size_t)((const char *)v - base) >> BLOCK_SHIFT])
        __builtin_prefetch(header_of(v));
    else if (shading)
        __builtin_prefetch(&w->h->mark_bits[object_bit(w->h, header_of(v)) / 64]);
    else
        return; /* old, and nothing to shade */
    remset_ahead_queue(w, field, shading);
}

static void remset_ahead_push(struct evac_worker *w, void **field, bool shading)
{
    remset_ahead_offer(w, field, shading, w->h->base, w->h->end, w->h->young_blocks);
}

/* Visits the fields in flight, oldest first. */
static void remset_ahead_flush(struct evac_worker *w)
{
    for (unsigned i = 0; i < w->ahead_count; i++)
        remset_ahead_visit(w, (w->ahead_oldest + i) % REMSET_AHEAD);
    w->ahead_count = w->ahead_oldest = 0;
}

static void parallel_visit_dirty_field(void **field, void *ctx)
{
    struct evac_worker *w = ctx;
    w->remembered_fields++;
    if (in_dirty_unit(w->h, field))
        remset_ahead_push(w, field, false);
}

static void parallel_visit_remembered_field(void **field, void *ctx)
{
    struct evac_worker *w = ctx;
    w->remembered_fields++;
    parallel_visit(field, ctx);
}

static void parallel_visit_dirty_field_shading(void **field, void *ctx)
{
    struct evac_worker *w = ctx;
    w->remembered_fields++;
    if (in_dirty_unit(w->h, field))
        remset_ahead_push(w, field, true);
}

static void parallel_visit_remembered_field_shading(void **field, void *ctx)
{
    struct evac_worker *w = ctx;
    w->remembered_fields++;
    parallel_visit_shading(field, ctx);
}

static void parallel_scan_whole_object(void *obj, void *ctx)
{
    struct evac_worker *w = ctx;
    trace_object(w->h, obj,
                 remembered_scan_shades(w->h, obj) ? parallel_visit_remembered_field_shading
                                                   : parallel_visit_remembered_field,
                 w);
}

static void parallel_visit_dirty_words(void **from, void **to, bool shading, void *ctx)
{
    struct evac_worker *w = ctx;
    const char *base = w->h->base, *end = w->h->end;
    const uint8_t *young = w->h->young_blocks;
    w->remembered_fields += (size_t)(to - from);
    for (void **field = from; field < to; field++)
        remset_ahead_offer(w, field, shading, base, end, young);
}

static const struct remset_visitors parallel_remset = {
    parallel_visit_dirty_field, parallel_visit_dirty_field_shading, parallel_visit_dirty_words};

/* Objects a worker traces between two looks at its deque: the look reads two words that
 * thieves write, which costs more than tracing a small object. */
#define SHARE_EVERY 16u

/* The next object to trace from the worker's own work: its private stack first, which
 * costs no atomic operation; every SHARE_EVERY objects, if its deque is empty, the oldest
 * private item not given away yet (in a depth-first trace the root of the largest subtree
 * left) goes to the deque, where other workers can steal it: the stack is used from both
 * ends, so that what is shared stays the oldest. NULL when both are empty. */
static void *next_own_object(struct evac_worker *w)
{
    struct ptr_stack *local = &w->local;
    if (local->count == w->local_shared) {
        local->count = w->local_shared = 0;
        return work_deque_take(&w->par->work.deques[w->index]);
    }
    if (local->count - w->local_shared > 1 && w->share_countdown-- == 0) {
        w->share_countdown = SHARE_EVERY - 1;
        if (!work_deque_looks_nonempty(&w->par->work.deques[w->index]))
            work_set_push(&w->par->work, w->index, local->items[w->local_shared++]);
    }
    return ptr_stack_pop(local);
}

/* Traces the worker's own work with visit, without stealing. */
static void drain_own(struct evac_worker *w, gc_visit_fn visit)
{
    void *obj;
    while ((obj = next_own_object(w)))
        trace_object(w->h, obj, visit, w);
}

void trace_until_done(struct evac_worker *w, gc_visit_fn visit)
{
    for (;;) {
        drain_own(w, visit);
        void *obj = work_set_next(&w->par->work, w->index);
        if (!obj)
            break;
        trace_object(w->h, obj, visit, w);
    }
}

/* Claims the next `chunk` items of a list of `count` that the workers share: [*from,
 * *to), or false when none is left. */
bool claim(_Atomic size_t *next, size_t count, size_t chunk, size_t *from, size_t *to)
{
    size_t first = atomic_fetch_add_explicit(next, chunk, memory_order_relaxed);
    if (first >= count)
        return false;
    *from = first;
    *to = first + chunk < count ? first + chunk : count;
    return true;
}

/* Worker w's next run [*from, *to) of a list of count items that the workers share: the
 * next chunk, whoever comes first; or, when every worker takes part for sure
 * (GCVM_GC_WORKERS_TOGETHER), the chunks w->index, w->index + workers, ... in turn, so
 * that each has its share however the threads are scheduled (the tests count on it).
 * *turn counts w's chunks: 0 before the first. */
static bool take_share(const struct evac_worker *w, _Atomic size_t *next, size_t *turn,
                       size_t count, size_t chunk, size_t *from, size_t *to)
{
    if (!w->h->workers_together)
        return claim(next, count, chunk, from, to);
    size_t first = (w->index + (size_t)w->par->count * (*turn)++) * chunk;
    if (first >= count)
        return false;
    *from = first;
    *to = first + chunk < count ? first + chunk : count;
    return true;
}

void roots_phase_begin(struct minor_parallel *par)
{
    atomic_store_explicit(&par->next_root, 0, memory_order_relaxed);
    atomic_store_explicit(&par->next_pinned, 0, memory_order_relaxed);
    par->roots_phase++;
}

/* Worker w visits m's roots unless another worker of the phase did. */
static void visit_mutator_roots_once(struct evac_worker *w, struct gc_mutator *m, gc_visit_fn visit)
{
    uint64_t phase = w->par->roots_phase;
    if (m->root_tracer &&
        atomic_exchange_explicit(&m->roots_phase, phase, memory_order_relaxed) != phase) {
        m->root_tracer(visit, w, m->root_tracer_user);
        if (m == mutator_helping())
            w->own_roots_traced++;
    }
}

void share_other_mutator_roots(struct evac_worker *w, gc_visit_fn visit)
{
    for (struct gc_mutator *m = w->h->mutators; m; m = m->next)
        visit_mutator_roots_once(w, m, visit);
}

void share_roots(struct evac_worker *w, gc_visit_fn visit)
{
    struct minor_parallel *par = w->par;
    struct gc_heap *h = w->h;
    size_t from, to;
    /* A mutator's roots first reach what its thread allocated: its own thread copies
     * that where it helps, from its own core's cache (docs/collector.md, "Stopped
     * mutators help"). The heap's root tracer runs on the collecting thread. */
    struct gc_mutator *own = mutator_helping();
    if (w->index == 0) {
        if (h->root_tracer)
            h->root_tracer(visit, w, h->root_tracer_user);
        own = h->collector;
    }
    if (own)
        visit_mutator_roots_once(w, own, visit);
    /* Each list a chunk at a time, whoever comes first; the registered roots one at a
     * time in turns when every worker takes part for sure (take_share), so that each has
     * a share of a short list too. */
    size_t turn = 0;
    while (take_share(w, &par->next_root, &turn, h->root_count,
                      h->workers_together ? 1 : ROOT_CHUNK, &from, &to))
        for (size_t i = from; i < to; i++)
            visit(h->roots[i], w);
    while (claim(&par->next_pinned, h->grey.count, ROOT_CHUNK, &from, &to))
        for (size_t i = from; i < to; i++) /* objects of blocks the conservative scan pinned */
            work_set_push(&par->work, w->index, h->grey.items[i]);
}

/* A large object with a range tracer is scanned by the workers a chunk of blocks at a
 * time, each chunk an item of its own: one worker scanning a big array written all over
 * (every page of churn.scm's 8 MiB vector, under a page barrier) was most of the pause.
 * An item is a block index; a chunk's has this bit set. */
#define LARGE_CHUNK_ITEM ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))
#define LARGE_CHUNK_BLOCKS 2u /* 64 KiB: 8,192 fields */

/* The chunks of the large object whose head block is head that hold a dirty unit. */
static void list_large_chunks(struct gc_heap *h, struct minor_parallel *par, size_t head)
{
    size_t blocks = h->blocks[head].run;
    for (size_t first = head; first < head + blocks; first += LARGE_CHUNK_BLOCKS) {
        bool dirty = h->all_dirty;
        for (size_t bi = first; !dirty && bi < first + LARGE_CHUNK_BLOCKS && bi < head + blocks;
             bi++)
            dirty = block_dirty(h, bi);
        if (dirty)
            ptr_stack_push(&par->remembered, (void *)(LARGE_CHUNK_ITEM | first));
    }
}

/* Whether block bi, chosen by remembered_block_wanted, heads a large object that the
 * workers scan in chunks. */
static bool scanned_in_chunks(const struct gc_heap *h, size_t bi)
{
    if (h->blocks[bi].kind != BLOCK_LARGE || h->all_dirty)
        return false;
    gc_header hdr = *(gc_header *)block_start(h, bi);
    return !(hdr & (GC_HDR_POINTERFREE | HDR_FILLER)) && h->trace_range[header_kind(hdr)] &&
           header_size(hdr) > ((size_t)1 << h->dirty_shift);
}

/* Whether block bi, if its summary byte is set, is listed on that byte and its dirty
 * cards are counted by the worker that scans it (list_remembered_blocks,
 * scan_remembered_item): a block of small objects under cards, unless every unit counts
 * as dirty. The one test both sides ask, so that each block is counted exactly once. */
static bool counted_by_worker(const struct gc_heap *h, size_t bi)
{
    return h->card_blocks && !h->all_dirty && h->blocks[bi].kind == BLOCK_SMALL;
}

/* Scans one item of the parallel remembered-set list: a block, or a chunk of a large
 * object's blocks (its dirty ranges there). */
static void scan_remembered_item(struct gc_heap *h, uintptr_t item, struct evac_worker *w)
{
    if (!(item & LARGE_CHUNK_ITEM)) {
        if (counted_by_worker(h, (size_t)item)) {
            size_t units_per_block = BLOCK_BYTES >> h->dirty_shift;
            w->dirty_units += count_dirty(h->dirty + item * units_per_block, units_per_block);
            w->remembered_blocks_read++;
        }
        scan_remembered_block(h, (size_t)item, &parallel_remset, w, parallel_scan_whole_object);
        remset_ahead_flush(w);
        return;
    }
    size_t first = (size_t)(item & ~LARGE_CHUNK_ITEM);
    size_t head = h->blocks[first].kind == BLOCK_LARGE ? first : first - h->blocks[first].run;
    void *obj = block_start(h, head) + GC_HEADER_BYTES;
    size_t units_per_block = BLOCK_BYTES >> h->dirty_shift;
    scan_dirty_ranges(h, obj, h->trace_range[header_kind(*header_of(obj))], first * units_per_block,
                      (first + LARGE_CHUNK_BLOCKS) * units_per_block, &parallel_remset, w);
    remset_ahead_flush(w);
}

/* Fetches what the scan of a remembered-set item reads first: its first dirty unit
 * (prefetch_unit) and, in a block of small objects, the word of allocation bits that
 * says which cells there hold objects. A random writer's items each lie in a block of
 * their own, and these two misses were most of the scan's time (table at 1 GiB live:
 * 66% of scan_remembered_block's samples on the allocation bit, 92% of
 * scan_dirty_object's on the header). Always inlined, as prefetch_unit. */
static inline __attribute__((always_inline)) void prefetch_item(const struct gc_heap *h,
                                                                uintptr_t item)
{
    size_t first = (size_t)(item & ~LARGE_CHUNK_ITEM);
    size_t blocks = (item & LARGE_CHUNK_ITEM) ? LARGE_CHUNK_BLOCKS : 1;
    size_t units_per_block = BLOCK_BYTES >> h->dirty_shift;
    size_t lo = first * units_per_block, hi = (first + blocks) * units_per_block;
    if (first + blocks > h->nblocks)
        return; /* the region's last chunk: the dirty map ends before it does */
    size_t u = next_dirty_unit(h->dirty, lo, hi);
    if (u >= hi)
        return;
    prefetch_unit(h, u);
    if (h->blocks[first].kind == BLOCK_SMALL)
        __builtin_prefetch(&h->alloc_bits[object_bit(h, h->base + (u << h->dirty_shift)) / 64]);
}

/* How many remembered-set items a worker has claimed and fetched (prefetch_item) before
 * it scans them. A random writer's item is a card or two, whose scan takes about as long
 * as one miss: fetched one item ahead, and not at all for the first item of each claimed
 * chunk, the scan of table at 1 GiB live took 0.23 ms a thousand cards; 2, 6 and 12
 * items ahead across chunks, 0.19-0.21 (12 the least in two rounds). */
#define REMEMBERED_AHEAD 12u

/* A worker's items of the remembered-set list, in the order it claims them, with up to
 * REMEMBERED_AHEAD of them claimed and fetched before they are scanned: across its
 * chunks, so that the first item of a chunk was fetched too. */
struct remembered_pipe {
    size_t queued[REMEMBERED_AHEAD];
    unsigned count, oldest;
    size_t from, to, turn; /* the chunk claimed last: its items not queued yet */
    bool exhausted;
};

/* The next item of w's share to scan, its index in *i; false when none is left. */
static bool remembered_pipe_next(struct evac_worker *w, struct remembered_pipe *p, size_t *i)
{
    struct minor_parallel *par = w->par;
    while (p->count < REMEMBERED_AHEAD && !p->exhausted) {
        if (p->from == p->to &&
            !take_share(w, &par->next_remembered, &p->turn, par->remembered.count, REMEMBERED_CHUNK,
                        &p->from, &p->to)) {
            p->exhausted = true;
            break;
        }
        prefetch_item(w->h, (uintptr_t)par->remembered.items[p->from]);
        p->queued[(p->oldest + p->count++) % REMEMBERED_AHEAD] = p->from++;
    }
    if (!p->count)
        return false;
    *i = p->queued[p->oldest];
    p->oldest = (p->oldest + 1) % REMEMBERED_AHEAD;
    p->count--;
    return true;
}

/* The fresh large objects, as items of the workers' list: one with a range tracer a chunk
 * of LARGE_CHUNK_BLOCKS blocks at a time (a chunk item, as in the remembered set's list),
 * any other whole (its address). A program that allocates a big array old and fills it
 * had one worker scan all of it: 49 ms for a 114 MiB array, the other worker idle. */
static void list_fresh_large(struct gc_heap *h, struct minor_parallel *par)
{
    par->fresh.count = 0;
    for (size_t i = 0; i < h->fresh_large.count; i++) {
        void *obj = h->fresh_large.items[i];
        gc_header hdr = *header_of(obj);
        size_t head = block_index(h, obj), blocks = h->blocks[head].run;
        if ((hdr & GC_HDR_POINTERFREE) || !h->trace_range[header_kind(hdr)] ||
            blocks <= LARGE_CHUNK_BLOCKS) {
            ptr_stack_push(&par->fresh, obj);
            continue;
        }
        for (size_t first = head; first < head + blocks; first += LARGE_CHUNK_BLOCKS)
            ptr_stack_push(&par->fresh, (void *)(LARGE_CHUNK_ITEM | first));
    }
}

/* Scans one item of list_fresh_large's list, every field of it that is not zero. */
static void scan_fresh_item(struct gc_heap *h, uintptr_t item, struct evac_worker *w)
{
    if (!(item & LARGE_CHUNK_ITEM)) { /* the marker traces it whole: no shading */
        trace_object(h, (void *)item, parallel_visit_remembered_field, w);
        return;
    }
    size_t first = (size_t)(item & ~LARGE_CHUNK_ITEM);
    size_t head = h->blocks[first].kind == BLOCK_LARGE ? first : first - h->blocks[first].run;
    char *obj = block_start(h, head) + GC_HEADER_BYTES;
    size_t bytes = header_size(*header_of(obj)) - GC_HEADER_BYTES;
    size_t from = first == head ? 0 : (size_t)(block_start(h, first) - obj);
    size_t to = (size_t)(block_start(h, first) + LARGE_CHUNK_BLOCKS * BLOCK_BYTES - obj);
    trace_range_nonzero(h->trace_range[header_kind(*header_of(obj))], obj, from,
                        to < bytes ? to : bytes, parallel_visit_remembered_field, w);
}

static void minor_worker(void *ctx, unsigned self)
{
    struct minor_parallel *par = ctx;
    struct evac_worker *w = &par->workers[self];
    struct gc_heap *h = w->h;
    size_t from, to;
    uint64_t cpu0 = thread_cpu_ns();
    /* The copies' fields: shaded for the marker during a cycle. */
    gc_visit_fn copies = h->cycle_active ? parallel_visit_shading : parallel_visit;
    work_set_join(&par->work);
    share_roots(w, parallel_visit);
    drain_own(w, copies);
    share_other_mutator_roots(w, parallel_visit);
    struct remembered_pipe pipe = {0};
    size_t i, scanned = 0;
    while (remembered_pipe_next(w, &pipe, &i)) {
        scan_remembered_item(h, (uintptr_t)par->remembered.items[i], w);
        if (++scanned % REMEMBERED_CHUNK == 0)
            drain_own(w, copies); /* the copies' fields, while they are in the cache */
    }
    drain_own(w, copies);
    size_t turn = 0;
    while (take_share(w, &par->next_fresh_large, &turn, par->fresh.count, 1, &from, &to))
        scan_fresh_item(h, (uintptr_t)par->fresh.items[from], w);
    /* Then the work of all: the worker's own, else stolen, until none is left. */
    trace_until_done(w, copies);
    w->cpu_ns += thread_cpu_ns() - cpu0;
}

/* Before the workers run: each keeps its promotion blocks of the last minor collection
 * unless a major one ran since (it may have freed them) or the remembered set will scan
 * them (a dirty unit, or all of them): a worker writes a block's cells and allocation
 * bits without a lock, so no other one may read them. */
void prepare_promotion_blocks(struct gc_heap *h, struct minor_parallel *par)
{
    for (unsigned k = 0; k < par->count; k++) {
        struct evac_worker *w = &par->workers[k];
        bool stale = w->majors_seen != h->stats.major_collections;
        w->majors_seen = h->stats.major_collections;
        for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++) {
            long bi = w->current[c];
            if (bi < 0)
                continue;
            if (stale || h->all_dirty || block_dirty(h, (size_t)bi)) {
                w->current[c] = -1;
                continue;
            }
            w->cursor[c] = h->blocks[bi].cursor;
            if (h->barrier->make_writable)
                h->barrier->make_writable(h, (size_t)bi, 1);
        }
    }
}

/* The blocks the remembered-set scan visits, found single-threaded (it decides which
 * block scans a large object); fresh large objects lose their mark now, so that no worker
 * writes a block's metadata. Under cards a block of small objects whose summary byte is
 * set is listed without reading its 256 card bytes, which the worker that scans it counts
 * (scan_remembered_item): a random writer's dirty blocks lie far apart, that read missed
 * the cache for each of them, and it was nearly all of the collecting thread's serial
 * work while the other workers waited for the list (table at 1 GiB live: 1,020 of its
 * 1,160 samples outside the workers, `perf record`). */
static void list_remembered_blocks(struct gc_heap *h, struct minor_parallel *par)
{
    par->remembered.count = 0;
    size_t large_scanned = SIZE_MAX;
    bool by_summary = h->card_blocks && !h->all_dirty;
    for (size_t bi = 0; bi < h->blocks_end; bi++) {
        if (by_summary && !h->card_blocks[bi])
            continue;
        if (counted_by_worker(h, bi)) {
            ptr_stack_push(&par->remembered, (void *)(uintptr_t)bi);
            continue;
        }
        size_t target;
        if (!remembered_block_wanted(h, bi, &large_scanned, &target))
            continue;
        if (scanned_in_chunks(h, target))
            list_large_chunks(h, par, target);
        else
            ptr_stack_push(&par->remembered, (void *)(uintptr_t)target);
    }
    for (size_t i = 0; i < h->fresh_large.count; i++)
        h->blocks[block_index(h, h->fresh_large.items[i])].fresh = false;
}

void gather_worker_results(struct gc_heap *h, struct minor_parallel *par, gc_visit_fn visit)
{
    h->grey.count = 0; /* the pinned objects: the workers traced them */
    for (unsigned k = 0; k < par->count; k++) {
        struct evac_worker *w = &par->workers[k];
        for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
            if (w->current[c] >= 0)
                h->blocks[w->current[c]].cursor = w->cursor[c];
        h->stats.bytes_promoted += w->bytes_promoted;
        h->stats.remembered_fields += w->remembered_fields;
        h->stats.dirty_units += w->dirty_units;
        h->stats.remembered_blocks_read += w->remembered_blocks_read;
        unsigned slot = k < GC_STATS_WORKERS ? k : GC_STATS_WORKERS - 1;
        h->stats.remembered_fields_by_worker[slot] += w->remembered_fields;
        h->stats.objects_copied_by_worker[slot] += w->objects_copied;
        h->stats.cpu_ns_by_worker[slot] += w->cpu_ns;
        h->stats.objects_marked_by_worker[slot] += w->objects_marked;
        h->stats.mark_cpu_ns_by_worker[slot] += w->mark_cpu_ns;
        h->stats.own_roots_traced_by_helpers += w->own_roots_traced;
        w->own_roots_traced = 0;
        if (k > 0 && w->cpu_ns + w->mark_cpu_ns > h->pause_busiest_helper_cpu_ns)
            h->pause_busiest_helper_cpu_ns = w->cpu_ns + w->mark_cpu_ns; /* worker 0: us */
        w->bytes_promoted = w->remembered_fields = w->objects_copied = w->cpu_ns = 0;
        w->dirty_units = w->remembered_blocks_read = 0;
        w->objects_marked = w->mark_cpu_ns = 0;
        while (w->to_shade.count)
            concurrent_queue_marked(h, ptr_stack_pop(&w->to_shade));
        while (w->deferred.count)
            visit(ptr_stack_pop(&w->deferred), h);
    }
    h->stats.work_steals += atomic_exchange_explicit(&par->work.steals, 0, memory_order_relaxed);
}

static void minor_collect_parallel(struct gc_heap *h, struct minor_parallel *par)
{
    make_allocation_blocks_writable(h);
    old_prepare_reuse(h);
    prepare_promotion_blocks(h, par);
    if (h->conservative_stack)
        conservative_scan_stacks(h, pin_if_young);
    weak_collection_begin(h);
    weak_share_pending(h, &par->weak_lock, visit_for_minor);
    list_remembered_blocks(h, par);
    list_fresh_large(h, par);
    roots_phase_begin(par);
    atomic_store_explicit(&par->next_remembered, 0, memory_order_relaxed);
    atomic_store_explicit(&par->next_fresh_large, 0, memory_order_relaxed);
    work_set_begin(&par->work);
    workers_run(h->workers, minor_worker, par);
    work_set_end(&par->work);
    weak_share_pending(h, NULL, NULL);
    h->fresh_large.count = 0;
    /* Single-threaded from here: what the workers left, then the weak objects. */
    gather_worker_results(h, par, visit_for_minor);
    h->stats.parallel_minor_collections++;
    drain_grey(h, visit_for_minor);
    weak_collection_end(h, visit_for_minor);
    fill_evacuated_remains(h);
}

/* Bytes of the fresh large objects, which the remembered set scans whole. From their
 * blocks, not their headers: this is asked before the world stops too (run_collection),
 * while a thread that allocated one may still be writing its header. */
static uint64_t fresh_large_bytes(const struct gc_heap *h)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < h->fresh_large.count; i++)
        bytes += (uint64_t)h->blocks[block_index(h, h->fresh_large.items[i])].run << BLOCK_SHIFT;
    return bytes;
}

/* The work the last minor collection did, scaled to the nursery blocks this one collects:
 * a collection that came early in the nursery (a cycle's final pause at a block boundary)
 * predicted too little for the full one after it, which promoted 4.4 MiB in 14 ms on one
 * thread (tree-replace at 512 MiB, card). */
static uint64_t predicted_minor_work(const struct gc_heap *h)
{
    size_t then = h->last_minor_nursery_blocks, now = h->nursery_handed;
    if (then == 0 || now <= then)
        return h->last_minor_work;
    return (uint64_t)((double)h->last_minor_work * (double)now / (double)then);
}

/* Whether this minor collection runs on the workers: when the work predicted from the
 * last one is enough that sharing it pays for waking them (docs/collector.md, "Small
 * collections stay on the collecting thread"), or this one's fresh large objects are that
 * much. The survivors of consecutive minor collections are alike, so the last one's work
 * predicts this one's; a program whose collections find little never wakes a worker. A
 * big array allocated between two small collections did not: the one after it scanned
 * its 57 MiB alone, a 22-24 ms pause (array-churn at 512 MiB, card). */
bool minor_goes_parallel(const struct gc_heap *h)
{
    return h->minor_par &&
           (h->workers_together || predicted_minor_work(h) >= h->parallel_min_work ||
            fresh_large_bytes(h) >= h->parallel_min_work);
}

/* With another mutator stopped and offering help, a minor collection goes to the workers
 * for a sixteenth of that work: the helper polls for the phase on a core that has nothing
 * else of the program to run (no wake-up to pay), and copies what its own thread
 * allocated. GCBench on 2 mutators had 71 of its 140 minor collections on one thread, one
 * of them promoting 7.9 MiB in 18 ms after a collection that promoted 240 KiB. */
static bool minor_goes_parallel_helped(struct gc_heap *h)
{
    return h->minor_par && workers_helpers(h->workers) > 0 &&
           predicted_minor_work(h) >= h->parallel_min_work / 16;
}

static void minor_collect_serial(struct gc_heap *h)
{
    make_allocation_blocks_writable(h);
    if (h->conservative_stack)
        conservative_scan_stacks(h, pin_if_young);
    weak_collection_begin(h);
    trace_roots(h, visit_for_minor, h);
    scan_remembered_set(h);
    drain_grey(h, visit_for_minor);
    weak_collection_end(h, visit_for_minor);
    fill_evacuated_remains(h);
}

void minor_collect(struct gc_heap *h)
{
    uint64_t promoted = h->stats.bytes_promoted, fields = h->stats.remembered_fields;
    uint64_t dirty_units = h->stats.dirty_units;
    size_t nursery_blocks = h->nursery_handed; /* handed out since the last one */
    if (minor_goes_parallel(h) || minor_goes_parallel_helped(h))
        minor_collect_parallel(h, h->minor_par);
    else
        minor_collect_serial(h);
    h->last_minor_remset_work = 8 * (h->stats.remembered_fields - fields);
    h->last_minor_work = (h->stats.bytes_promoted - promoted) + h->last_minor_remset_work;
    h->last_minor_nursery_blocks = nursery_blocks;
    h->last_minor_dirty_units = h->stats.dirty_units - dirty_units;
}

int minor_parallel_create(struct gc_heap *h, char *err, size_t err_len)
{
    unsigned count = h->parallelism;
    if (count <= 1 || h->barrier_kind == GC_BARRIER_GCVM_DIRTY ||
        h->barrier_kind == GC_BARRIER_GCVM_PROTECT)
        return 0;
    if (count > GC_MAX_PARALLELISM) {
        gc_set_error(err, err_len,
                     "%u collector threads asked (gc_config.parallelism or GCVM_GC_THREADS); "
                     "at most %u",
                     count, GC_MAX_PARALLELISM);
        return -1;
    }
    /* Both aligned as their types say (a cache line: fields that workers write often). */
    struct minor_parallel *par = aligned_alloc(_Alignof(struct minor_parallel), sizeof *par);
    if (par) {
        memset(par, 0, sizeof *par);
        par->workers = aligned_alloc(_Alignof(struct evac_worker), count * sizeof *par->workers);
        if (par->workers)
            memset(par->workers, 0, count * sizeof *par->workers);
    }
    if (!par || !par->workers || !work_set_init(&par->work, count)) {
        if (par)
            free(par->workers);
        free(par);
        gc_set_error(err, err_len, "out of memory for the collector's %u workers", count);
        return -1;
    }
    par->count = count;
    pthread_mutex_init(&par->alloc_lock, NULL);
    pthread_mutex_init(&par->weak_lock, NULL);
    for (unsigned k = 0; k < count; k++) {
        struct evac_worker *w = &par->workers[k];
        w->h = h;
        w->par = par;
        w->index = k;
        for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
            w->current[c] = -1;
    }
    h->minor_par = par;
    h->workers = workers_create(count, h->workers_together, err, err_len);
    if (!h->workers) {
        minor_parallel_destroy(h);
        return -1;
    }
    return 0;
}

void minor_parallel_destroy(struct gc_heap *h)
{
    workers_destroy(h->workers);
    h->workers = NULL;
    struct minor_parallel *par = h->minor_par;
    if (!par)
        return;
    for (unsigned k = 0; k < par->count; k++) {
        free(par->workers[k].deferred.items);
        free(par->workers[k].to_shade.items);
        free(par->workers[k].local.items);
    }
    work_set_destroy(&par->work);
    pthread_mutex_destroy(&par->alloc_lock);
    pthread_mutex_destroy(&par->weak_lock);
    free(par->remembered.items);
    free(par->fresh.items);
    free(par->workers);
    free(par);
    h->minor_par = NULL;
}
