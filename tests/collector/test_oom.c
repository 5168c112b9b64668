/* Out of memory: when the heap limit is reached the on_oom callback runs, allocation
 * returns NULL, and the heap stays valid and usable once memory is released. A callback
 * that releases memory and asks for a retry gets its allocation. */
#include <string.h>

#include "gcvm/gc-embedder.h"
#include "test_util.h"

struct cell {
    void *next;
    uint64_t value;
    uint8_t pad[200];
};

static void trace_cell(void *obj, gc_visit_fn visit, void *ctx)
{
    visit(&((struct cell *)obj)->next, ctx);
}

static void *list;
static int oom_calls;
static size_t oom_request;
static int release_on_oom;

static int on_oom(struct gc_heap *h, size_t request, void *arg)
{
    (void)h;
    (void)arg;
    oom_calls++;
    oom_request = request;
    if (release_on_oom) {
        list = NULL;
        return 1;
    }
    return 0;
}

static size_t fill_until_null(struct gc_mutator *m, size_t bytes)
{
    size_t n = 0;
    for (;;) {
        struct cell *c = gc_alloc(m, 1, bytes);
        if (!c)
            return n;
        c->next = list;
        c->value = n;
        gc_write_barrier(m, &c->next);
        list = c;
        n++;
        CHECK_MSG(n < 10000000, "the heap limit was never reached");
    }
}

static size_t list_length(void)
{
    size_t n = 0;
    for (struct cell *c = list; c; c = c->next)
        n++;
    return n;
}

int main(int argc, char **argv)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier_from_args(argc, argv);
    cfg.heap_max_bytes = (size_t)8 << 20;
    cfg.nursery_bytes = (size_t)512 << 10;
    cfg.on_oom = on_oom;
    cfg.verify = 1;
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "%s", err);
    struct gc_mutator *m = attach_or_fail(h);
    gc_register_kind(h, 1, trace_cell);
    CHECK(gc_root_add(h, &list) == 0);

    /* Small objects until the heap is full. */
    size_t n = fill_until_null(m, sizeof(struct cell));
    CHECK_MSG(oom_calls >= 1, "on_oom was not called");
    CHECK(oom_request >= sizeof(struct cell));
    CHECK_MSG(list_length() == n, "the heap lost objects when it ran out: %zu of %zu",
              list_length(), n);
    CHECK(gc_verify(m) == 0);
    printf("small: %zu objects of %zu bytes fit in 8 MiB\n", n, sizeof(struct cell));

    /* Large objects too; then release everything and allocate again. */
    list = NULL;
    gc_collect(m, GC_COLLECT_MAJOR);
    size_t big = fill_until_null(m, 100000);
    CHECK(big >= 10);
    CHECK(list_length() == big);
    CHECK(gc_alloc(m, 1, (size_t)64 << 20) == NULL); /* larger than the heap */

    /* A callback that frees memory gets the allocation retried. */
    release_on_oom = 1;
    int before = oom_calls;
    struct cell *c = gc_alloc(m, 1, 3000000);
    CHECK_MSG(c != NULL, "allocation after a releasing on_oom failed");
    CHECK(oom_calls == before + 1);
    CHECK(gc_verify(m) == 0);
    gc_heap_destroy(h);
    puts("PASS");
    return 0;
}
