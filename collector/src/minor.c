/* Minor collection: evacuate every young object reachable from the roots and from the
 * remembered set into the old generation (promotion on first survival).
 *
 * Invariant A (docs/collector.md, "Nursery"): when a collection ends,
 * no young object exists, so no old-to-young pointer exists. Every old-to-young pointer
 * the next minor collection must find was therefore stored by the mutator after the
 * barrier's rearm(), into an old block the barrier tracks, or into a large object
 * allocated since (kept on fresh_large). */
#include <string.h>

#include "gc_internal.h"

/* A nursery block that cannot be evacuated (conservatively referenced, or the old
 * generation is full) becomes an old block in place. In a minor collection all of its
 * objects become old at once, so all are scanned for young pointers; in a major one
 * marking decides which survive. */
void pin_block(struct gc_heap *h, size_t bi)
{
    struct block *b = &h->blocks[bi];
    if (b->kind != BLOCK_NURSERY)
        return;
    b->kind = BLOCK_PINNED;
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
    memcpy(to, header_of(obj), total);
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

static inline bool may_be_object(const struct gc_heap *h, const void *v)
{
    return ((uintptr_t)v & 7u) == 0 && in_region(h, v);
}

void visit_for_minor(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    void *v = *field;
    if (may_be_object(h, v) && needs_promotion(h, v))
        *field = promote(h, v);
}

/* The same, for a field of the remembered set: only fields in dirty units count. Every
 * field offered is counted (stats.remembered_fields): that is the scan's cost, and tests
 * hold it to what was written (docs/collector.md, "The remembered set"). */
static void visit_dirty_field(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    h->stats.remembered_fields++;
    if (h->dirty[(size_t)((char *)field - h->base) >> h->dirty_shift])
        visit_for_minor(field, ctx);
}

/* A field of an object the remembered set scans whole (a fresh large object). */
static void visit_remembered_field(void **field, void *ctx)
{
    struct gc_heap *h = ctx;
    h->stats.remembered_fields++;
    visit_for_minor(field, ctx);
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

/* ---- Remembered set ---- */

static void scan_whole_object(void *obj, void *arg)
{
    struct gc_heap *h = arg;
    trace_object(h, obj, visit_remembered_field, h);
}

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

/* Scans the dirty parts of an object with a range tracer: one call for each maximal run
 * of dirty units it overlaps, limited to the object's payload. The cost is the fields in
 * those units, whatever the object's size. */
static void scan_dirty_ranges(struct gc_heap *h, void *obj, gc_trace_range_fn trace_range)
{
    size_t bytes = header_size(*header_of(obj)) - GC_HEADER_BYTES;
    size_t offset = (size_t)((char *)obj - h->base); /* of the payload in the region */
    size_t end = ((offset + bytes - 1) >> h->dirty_shift) + 1;
    for (size_t u = next_dirty_unit(h->dirty, offset >> h->dirty_shift, end); u < end;) {
        size_t run_end = u + 1;
        while (run_end < end && h->dirty[run_end])
            run_end++;
        size_t from = u << h->dirty_shift, to = run_end << h->dirty_shift;
        from = from > offset ? from - offset : 0;
        to = to - offset < bytes ? to - offset : bytes;
        trace_range(obj, from, to, visit_dirty_field, h);
        u = next_dirty_unit(h->dirty, run_end, end);
    }
}

/* Scans an old object that overlaps dirty units, once per collection however many it
 * overlaps: over its dirty ranges where the kind has a range tracer and the object
 * spans more than one unit, else whole with the fields outside dirty units skipped. */
static void scan_dirty_object(struct gc_heap *h, void *obj, void **last)
{
    if (obj == *last)
        return; /* spans several dirty units: once is enough */
    *last = obj;
    gc_header hdr = *header_of(obj);
    if (hdr & (GC_HDR_POINTERFREE | HDR_FILLER))
        return;
    gc_trace_range_fn trace_range = h->trace_range[header_kind(hdr)];
    if (trace_range && header_size(hdr) > ((size_t)1 << h->dirty_shift))
        scan_dirty_ranges(h, obj, trace_range);
    else
        trace_object(h, obj, visit_dirty_field, h);
}

/* Scans the dirty parts of the large object whose first block is head, unless it is
 * fresh (then the scan of fresh_large covers it whole). */
static void scan_dirty_large(struct gc_heap *h, size_t head)
{
    if (h->blocks[head].fresh)
        return;
    void *last = NULL;
    scan_dirty_object(h, block_start(h, head) + GC_HEADER_BYTES, &last);
}

/* Scans the objects of old SMALL or PINNED block bi that overlap its dirty units. */
static void scan_dirty_block(struct gc_heap *h, size_t bi, size_t first_unit,
                             size_t units_per_block)
{
    struct block *b = &h->blocks[bi];
    char *start = block_start(h, bi);
    size_t unit = (size_t)1 << h->dirty_shift;
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
                    scan_dirty_object(h, at + GC_HEADER_BYTES, &last);
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
    for (size_t k = 0; k < units_per_block; k++) {
        if (!h->dirty[first_unit + k])
            continue;
        char *lo = start + k * unit, *hi = lo + unit;
        for (char *at = start + (size_t)(lo - start) / cell * cell; at < hi && at < cells_end;
             at += cell)
            if (cell_allocated(h, at))
                scan_dirty_object(h, at + GC_HEADER_BYTES, &last);
    }
}

static bool any_dirty(const uint8_t *units, size_t count)
{
    for (size_t k = 0; k < count; k += 8) {
        uint64_t w;
        memcpy(&w, units + k, 8);
        if (w)
            return true;
    }
    return false;
}

static void scan_remembered_set(struct gc_heap *h)
{
    size_t units_per_block = BLOCK_BYTES >> h->dirty_shift; /* 8 or 64: a multiple of 8 */
    size_t large_scanned = SIZE_MAX; /* head block of the large object scanned last */
    for (size_t bi = 0; bi < h->blocks_end; bi++) {
        const struct block *b = &h->blocks[bi];
        if (!block_is_old(b->kind))
            continue;
        if (h->all_dirty) {
            block_for_each_object(h, bi, scan_whole_object, h);
            continue;
        }
        size_t first_unit = bi * units_per_block;
        if (!any_dirty(h->dirty + first_unit, units_per_block))
            continue;
        for (size_t k = 0; k < units_per_block; k++)
            h->stats.dirty_units += h->dirty[first_unit + k] != 0;
        if (b->kind == BLOCK_LARGE || b->kind == BLOCK_LARGE_TAIL) {
            /* At its first dirty block, the whole object's dirty parts: once. */
            size_t head = b->kind == BLOCK_LARGE ? bi : bi - b->run;
            if (head != large_scanned)
                scan_dirty_large(h, head);
            large_scanned = head;
            continue;
        }
        scan_dirty_block(h, bi, first_unit, units_per_block);
    }
    /* Large objects the mutator allocated since the last collection are old but may be
     * untracked (their blocks were free at rearm()): scan them whole. */
    for (size_t i = 0; i < h->fresh_large.count; i++) {
        void *obj = h->fresh_large.items[i];
        h->blocks[block_index(h, obj)].fresh = false;
        scan_whole_object(obj, h);
    }
    h->fresh_large.count = 0;
}

static void pin_if_young(struct gc_heap *h, void *obj)
{
    pin_block(h, block_index(h, obj));
}

/* The blocks promotion will write to first were protected at the last re-arm. */
static void make_allocation_blocks_writable(struct gc_heap *h)
{
    if (!h->barrier->make_writable)
        return;
    for (unsigned c = 0; c < SIZE_CLASS_COUNT; c++)
        if (h->small_current[c] >= 0)
            h->barrier->make_writable(h, (size_t)h->small_current[c], 1);
}

void minor_collect(struct gc_heap *h)
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
