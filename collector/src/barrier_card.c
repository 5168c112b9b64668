/* Two barriers with nothing to harvest: none (every collection is a major one, so no
 * remembered set is ever read) and card (gc_write_barrier() marks the 128-byte card of
 * each field stored into, straight in the heap's dirty map). */
#include "gc_internal.h"

static int always_available(char *why, size_t why_len)
{
    (void)why;
    (void)why_len;
    return 1;
}

static int attach_nothing(struct gc_heap *h, char *err, size_t err_len)
{
    (void)h;
    (void)err;
    (void)err_len;
    return 0;
}

static void do_nothing(struct gc_heap *h)
{
    (void)h;
}

const struct gc_barrier_ops gc_barrier_none_ops = {
    .kind = GC_BARRIER_NONE,
    .dirty_shift = PAGE_SHIFT,
    .available = always_available,
    .attach = attach_nothing,
    .detach = do_nothing,
    .harvest = do_nothing,
    .rearm = do_nothing,
};

const struct gc_barrier_ops gc_barrier_card_ops = {
    .kind = GC_BARRIER_CARD,
    .dirty_shift = GC_CARD_SHIFT,
    .available = always_available,
    .attach = attach_nothing,
    .detach = do_nothing,
    .harvest = do_nothing, /* the mutator's stores already marked the cards */
    .rearm = dirty_clear_in_use,
};
