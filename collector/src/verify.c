/* The heap verifier (GCVM_GC_VERIFY=1, or gc_config.verify): checks the two things a
 * generational collector most easily gets wrong, around every collection. */
#include <stdlib.h>

#include "gc_internal.h"
#include "gcvm/gc-debug.h"

/* ---- Every old-to-young pointer is covered by the remembered set ----
 * Run after the barrier's harvest() and before the minor collection uses it. */

struct remset_check {
    struct gc_heap *h;
    void *holder;
    size_t missing;
};

static void check_field_remembered(void **field, void *arg)
{
    struct remset_check *c = arg;
    struct gc_heap *h = c->h;
    void *v = *field;
    if (((uintptr_t)v & 7u) || !in_region(h, v) ||
        h->blocks[block_index(h, v)].kind != BLOCK_NURSERY)
        return;
    size_t unit = (size_t)((char *)field - h->base) >> h->dirty_shift;
    const struct block *holder_block = &h->blocks[block_index(h, c->holder)];
    bool fresh =
        holder_block->fresh || (holder_block->kind == BLOCK_LARGE_TAIL &&
                                h->blocks[block_index(h, c->holder) - holder_block->run].fresh);
    /* Under cards the scan reads a card only where its block's summary byte is set. */
    bool summarised = !h->card_blocks || h->card_blocks[block_index(h, field)];
    if ((h->dirty[unit] && summarised) || h->all_dirty || fresh)
        return;
    if (c->missing++ < 10)
        fprintf(stderr,
                "gcvm-gc: verify: old object %p (kind %u) field %p holds young %p, but the "
                "%s barrier did not record its %s%s\n",
                c->holder, gc_object_kind(c->holder), (void *)field, v,
                gc_barrier_name(h->barrier_kind), h->dirty_shift == GC_CARD_SHIFT ? "card" : "page",
                h->dirty[unit] ? " in the block's summary byte" : "");
}

static void check_object_remembered(void *obj, void *arg)
{
    struct remset_check *c = arg;
    c->holder = obj;
    trace_object(c->h, obj, check_field_remembered, c);
}

void verify_remembered_set(struct gc_heap *h)
{
    struct remset_check c = {.h = h};
    for (size_t bi = 0; bi < h->nblocks; bi++)
        if (h->young_blocks[bi] != (h->blocks[bi].kind == BLOCK_NURSERY))
            gc_fatal("verify: block %zu of kind %u is %s in the young-block table", bi,
                     h->blocks[bi].kind, h->young_blocks[bi] ? "young" : "not young");
    for (size_t bi = 0; bi < h->blocks_end; bi++)
        if (block_is_old(h->blocks[bi].kind))
            block_for_each_object(h, bi, check_object_remembered, &c);
    if (c.missing)
        gc_fatal("verify: %zu old-to-young pointers missing from the remembered set", c.missing);
}

/* ---- Every reachable object is a valid object ---- */

struct reach_check {
    struct gc_heap *h;
    uint64_t *seen; /* a bit per granule of the blocks in use */
    size_t granules;
    struct ptr_stack todo;
    size_t errors;
};

static void report(struct reach_check *c, const char *what, void **field, void *v)
{
    if (c->errors++ < 10)
        fprintf(stderr, "gcvm-gc: verify: field %p holds %p: %s\n", (void *)field, v, what);
}

static void check_reachable_field(void **field, void *arg)
{
    struct reach_check *c = arg;
    struct gc_heap *h = c->h;
    void *v = *field;
    if (((uintptr_t)v & 7u) || !in_region(h, v))
        return; /* not a heap pointer: ignored by the collector too */
    void *obj = object_containing(h, v);
    if (obj != v) {
        report(c, obj ? "an interior pointer" : "not an allocated object", field, v);
        return;
    }
    gc_header hdr = *header_of(obj);
    if (!(hdr & GC_HDR_LIVE) || (hdr & HDR_FILLER)) {
        report(c, "a moved or dead object", field, v);
        return;
    }
    size_t size = header_size(hdr);
    if (size < GC_GRANULE || size > (size_t)(h->end - h->base)) {
        report(c, "an object with a corrupt size", field, v);
        return;
    }
    if (!(hdr & GC_HDR_POINTERFREE) && !kind_is_traceable(h, header_kind(hdr))) {
        report(c, "a pointerful object of a kind with no trace function", field, v);
        return;
    }
    size_t bit = (size_t)((char *)obj - h->base) / GC_GRANULE;
    if (bit >= c->granules) {
        report(c, "an object beyond the blocks in use", field, v);
        return;
    }
    if (c->seen[bit / 64] & ((uint64_t)1 << (bit % 64)))
        return;
    c->seen[bit / 64] |= (uint64_t)1 << (bit % 64);
    if (!(hdr & GC_HDR_POINTERFREE))
        ptr_stack_push(&c->todo, obj);
}

/* Lazy sweeping (docs/collector.md): every unswept block is a SMALL one the sweep has
 * still to visit and counts in sweep_pending, and none is a class's allocation block
 * (its cursor is stale); a finished sweep has set the next threshold. */
static size_t check_sweep_state(struct gc_heap *h)
{
    size_t unswept = 0, errors = 0;
    for (size_t bi = 0; bi < h->blocks_end; bi++) {
        const struct block *b = &h->blocks[bi];
        if (!b->unswept)
            continue;
        unswept++;
        bool current = b->kind == BLOCK_SMALL && h->small_current[b->size_class] == (int32_t)bi;
        if (b->kind != BLOCK_SMALL || current || bi < h->sweep_cursor) {
            if (errors++ < 10)
                fprintf(stderr,
                        "gcvm-gc: verify: unswept block %zu is %s (kind %u, sweep cursor %zu)\n",
                        bi, current ? "an allocation block" : "out of the sweep's reach",
                        (unsigned)b->kind, h->sweep_cursor);
        }
    }
    if (h->sizing_pending && !h->sweep_pending) {
        fprintf(stderr, "gcvm-gc: verify: the sweep is done but the next major collection's "
                        "threshold was not set\n");
        errors++;
    }
    if (unswept != h->sweep_pending) {
        fprintf(stderr, "gcvm-gc: verify: %zu unswept blocks, %zu counted\n", unswept,
                h->sweep_pending);
        errors++;
    }
    return errors;
}

int verify_reachable(struct gc_heap *h)
{
    /* One bit per granule of the blocks in use, not of the whole reservation (the
     * machine's memory by default): objects lie below blocks_end. */
    struct reach_check c = {.h = h, .granules = h->blocks_end * (BLOCK_BYTES / GC_GRANULE)};
    c.seen = calloc(c.granules / 64 + 1, sizeof(uint64_t));
    if (!c.seen) {
        fprintf(stderr, "gcvm-gc: verify: out of memory\n");
        return -1;
    }
    trace_roots(h, check_reachable_field, &c);
    while (c.todo.count)
        trace_object(h, ptr_stack_pop(&c.todo), check_reachable_field, &c);
    free(c.todo.items);
    free(c.seen);
    c.errors += check_sweep_state(h);
    return c.errors ? -1 : 0;
}

int gc_verify(struct gc_mutator *m)
{
    pthread_mutex_lock(&m->heap->lock);
    world_stop(m);
    int rc = verify_reachable(m->heap);
    world_start(m);
    pthread_mutex_unlock(&m->heap->lock);
    return rc;
}

/* ---- The barrier's record, for tests that compare barriers on one trace ---- */

static size_t written_pages(struct gc_heap *h, size_t *pages, size_t max)
{
    h->barrier->harvest(h);
    size_t found = 0, units_per_page = PAGE_BYTES >> h->dirty_shift;
    for (size_t page = 0; page < h->blocks_end << (BLOCK_SHIFT - PAGE_SHIFT); page++) {
        if (!block_is_old(h->blocks[page >> (BLOCK_SHIFT - PAGE_SHIFT)].kind))
            continue;
        bool written = h->all_dirty;
        for (size_t k = 0; k < units_per_page && !written; k++)
            written = h->dirty[page * units_per_page + k] != 0;
        if (written && found++ < max)
            pages[found - 1] = page;
    }
    return found;
}

size_t gc_debug_written_pages(struct gc_mutator *m, size_t *pages, size_t max)
{
    pthread_mutex_lock(&m->heap->lock);
    world_stop(m);
    size_t found = written_pages(m->heap, pages, max);
    world_start(m);
    pthread_mutex_unlock(&m->heap->lock);
    return found;
}
