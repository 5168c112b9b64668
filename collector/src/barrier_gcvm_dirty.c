/* The gcvm-dirty barrier: every mutator runs in guest ring 0, each on its own vCPU over
 * the same page tables (guest_mode.c), so every store it makes sets the dirty bit of the
 * page's entry in the guest's page tables, by the hardware, at no cost to the program.
 * At a minor collection the collector reads those bits for the old blocks
 * (gcvm_dirty_harvest, in ring 0: no system call, no exit) and scans only the pages
 * found; at the end of every collection it clears them again, because the collection
 * itself wrote into old blocks (promotion).
 *
 * Writes the host kernel makes on the program's behalf (a forwarded read() into a heap
 * object) do not go through the guest's page tables and set no bit. Only pointer-free
 * objects are sensible targets of such calls, and they are never scanned, so this loses
 * no pointer; docs/barriers.md says so. */
#include <stdlib.h>
#include <string.h>

#include "gcvm/gcvm.h"
#include "guest_mode.h"

struct gcvm_dirty_state {
    uint64_t *bitmap; /* one bit per page of the largest run: the whole region */
};

static int gcvm_dirty_available(char *why, size_t why_len)
{
    return guest_mode_available(why, why_len);
}

static int gcvm_dirty_attach(struct gc_heap *h, char *err, size_t err_len)
{
    struct gcvm_dirty_state *s = calloc(1, sizeof *s);
    size_t pages = h->nblocks << (BLOCK_SHIFT - PAGE_SHIFT);
    if (s)
        s->bitmap = calloc((pages + 63) / 64, sizeof(uint64_t));
    if (!s || !s->bitmap) {
        free(s);
        snprintf(err, err_len, "out of memory for the gcvm-dirty barrier's bitmap");
        return -1;
    }
    if (guest_mode_hold(err, err_len) != 0) {
        free(s->bitmap);
        free(s);
        return -1;
    }
    h->barrier_state = s;
    return 0;
}

static void gcvm_dirty_detach(struct gc_heap *h)
{
    struct gcvm_dirty_state *s = h->barrier_state;
    if (!s)
        return;
    guest_mode_release();
    free(s->bitmap);
    free(s);
    h->barrier_state = NULL;
}

static void harvest_run(struct gc_heap *h, size_t first, size_t count)
{
    struct gcvm_dirty_state *s = h->barrier_state;
    size_t pages = count << (BLOCK_SHIFT - PAGE_SHIFT);
    int found = gcvm_dirty_harvest(block_start(h, first), pages << PAGE_SHIFT, s->bitmap, 0);
    if (found < 0) {
        gc_warn("gcvm-dirty barrier: reading the dirty bits failed (%s); scanning the whole "
                "old generation",
                strerror(-found));
        h->all_dirty = true;
        return;
    }
    uint8_t *dirty = h->dirty + (first << (BLOCK_SHIFT - PAGE_SHIFT));
    for (size_t w = 0; found > 0 && w < (pages + 63) / 64; w++) {
        for (uint64_t bits = s->bitmap[w]; bits; bits &= bits - 1, found--)
            dirty[w * 64 + (size_t)__builtin_ctzll(bits)] = 1;
    }
}

static void gcvm_dirty_harvest_all(struct gc_heap *h)
{
    if (!guest_mode_collecting(h, "gcvm-dirty", false)) {
        h->all_dirty = true;
        return;
    }
    for_each_old_run(h, harvest_run);
}

static void clear_run(struct gc_heap *h, size_t first, size_t count)
{
    struct gcvm_dirty_state *s = h->barrier_state;
    int rc = gcvm_dirty_harvest(block_start(h, first), count << BLOCK_SHIFT, s->bitmap, GCVM_CLEAR);
    if (rc < 0)
        gc_fatal("gcvm-dirty barrier: cannot clear the dirty bits of old blocks: %s",
                 strerror(-rc));
}

static void gcvm_dirty_rearm(struct gc_heap *h)
{
    (void)guest_mode_collecting(h, "gcvm-dirty", true); /* everything is cleared anyway */
    for_each_old_run(h, clear_run);
    dirty_clear_in_use(h);
}

const struct gc_barrier_ops gc_barrier_gcvm_dirty_ops = {
    .kind = GC_BARRIER_GCVM_DIRTY,
    .dirty_shift = PAGE_SHIFT,
    .available = gcvm_dirty_available,
    .attach = gcvm_dirty_attach,
    .detach = gcvm_dirty_detach,
    .harvest = gcvm_dirty_harvest_all,
    .rearm = gcvm_dirty_rearm,
};
