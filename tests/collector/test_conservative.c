/* Conservative stack scanning: an object referenced only from a C local survives minor
 * and major collections, does not move (its nursery block is pinned), and the young
 * object it points to survives too, reached through it. */
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

struct pair {
    uint64_t tag;
    void *next;
};

static void trace_pair(void *obj, gc_visit_fn visit, void *ctx)
{
    visit(&((struct pair *)obj)->next, ctx);
}

static __attribute__((noinline)) void churn(struct gc_mutator *m, int n)
{
    for (int i = 0; i < n; i++)
        CHECK(gc_alloc(m, 1, 48) != NULL);
}

int main(int argc, char **argv)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.heap_max_bytes = (size_t)64 << 20;
    cfg.nursery_bytes = (size_t)256 << 10;
    cfg.conservative_stack = 1;
    cfg.verify = 1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    gc_register_kind(h, 1, trace_pair);

    struct pair *volatile held = gc_alloc(m, 1, sizeof(struct pair));
    held->tag = 0x5eed;
    struct pair *child = gc_alloc(m, 1, sizeof(struct pair));
    child->tag = 0xc41d;
    held->next = child;
    gc_write_barrier(m, &held->next);
    child = NULL;
    struct pair *const where = held;

    churn(m, 20000); /* several minor collections */
    struct gc_stats s;
    gc_get_stats(h, &s);
    CHECK_MSG(s.minor_collections >= 2, "only %llu minor collections",
              (unsigned long long)s.minor_collections);
    CHECK_MSG(s.pinned_blocks >= 1, "the conservatively held object's block was not pinned");
    CHECK_MSG(held == where, "a conservatively held object moved");
    CHECK(held->tag == 0x5eed);
    CHECK(held->next != NULL && ((struct pair *)held->next)->tag == 0xc41d);

    gc_collect(m, GC_COLLECT_MAJOR);
    churn(m, 20000);
    gc_collect(m, GC_COLLECT_MAJOR);
    CHECK(held == where && held->tag == 0x5eed);
    CHECK(((struct pair *)held->next)->tag == 0xc41d);

    /* An old object held only conservatively survives a major collection as well. */
    void *volatile old_held = ((struct pair *)held->next);
    held = NULL;
    gc_collect(m, GC_COLLECT_MAJOR);
    CHECK(((struct pair *)old_held)->tag == 0xc41d);
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    puts("PASS");
    return 0;
}
