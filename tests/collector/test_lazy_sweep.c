/* Lazy sweeping (docs/collector.md, "Lazy sweeping"): the final pause of a concurrent
 * cycle sweeps no SMALL block, and the blocks it leaves unswept are reused correctly.
 *
 *   pause:  old nodes, half of them dropped (whole blocks and every other cell); a cycle
 *           with the marker held ends in a final pause that must sweep nothing and leave
 *           the SMALL blocks unswept; promotion then reuses the dead cells (a new node
 *           lands where a dropped one was), the background thread sweeps the rest and
 *           frees the empty blocks; every kept node keeps its contents.
 *   stress: a differential run in stress mode with the verifier (which checks the sweep's
 *           bookkeeping after each collection): slots replaced at random by chains of
 *           nodes of several size classes and some large ones, every slot checked against
 *           its model; cycles must have run and blocks been swept outside pauses.
 *
 * usage: test_lazy_sweep BARRIER pause|stress [OPERATIONS]
 * Exits 77 when the barrier is not available here. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "test_util.h"

enum { KIND_NODE = 1, KIND_VEC = 2 };

struct node {
    uint64_t magic;
    struct node *next;
    uint64_t payload[]; /* filled from magic */
};

struct vec {
    size_t n;
    struct node *items[];
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct node *)obj)->next, ctx);
}

static void trace_vec(void *obj, gc_visit_fn visit, void *ctx)
{
    struct vec *v = obj;
    for (size_t i = 0; i < v->n; i++)
        visit((void **)&v->items[i], ctx);
}

static struct gc_heap *heap;
static struct gc_mutator *mut;
static struct vec *slots;     /* a root */
static struct node *building; /* a root: the chain being made while its nodes are allocated */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x | 1u;
}

static struct node *new_node(uint64_t magic, size_t bytes)
{
    struct node *n = gc_alloc(mut, KIND_NODE, bytes);
    CHECK(n != NULL);
    n->magic = magic;
    size_t words = (bytes - sizeof *n) / sizeof(uint64_t);
    for (size_t k = 0; k < words; k++)
        n->payload[k] = magic + k;
    return n;
}

static void check_node(const struct node *n, uint64_t magic, size_t bytes)
{
    CHECK_MSG(n->magic == magic, "node %p holds %llx, not %llx", (const void *)n,
              (unsigned long long)n->magic, (unsigned long long)magic);
    size_t words = (bytes - sizeof *n) / sizeof(uint64_t);
    for (size_t k = 0; k < words; k++)
        CHECK_MSG(n->payload[k] == magic + k, "node %p word %zu overwritten", (const void *)n, k);
}

static void set_slot(size_t i, struct node *n)
{
    slots->items[i] = n;
    gc_write_barrier(mut, (void **)&slots->items[i]);
}

static struct gc_heap *make_heap(enum gc_barrier_kind kind, unsigned stress)
{
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)256 << 20;
    cfg.nursery_bytes = (size_t)256 << 10;
    cfg.concurrent_marking = 1;
    cfg.verify = 1;
    cfg.stress_interval = stress;
    if (!stress) {
        cfg.major_threshold_bytes = (size_t)128 << 20; /* cycles only when the test asks */
        cfg.parallelism = 1; /* promotion reuses free cells on the collecting thread */
    }
    char err[256];
    struct gc_heap *h = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(h != NULL, "gc_heap_create: %s", err);
    CHECK_MSG(gc_heap_concurrent_marking(h), "%s", "the heap does not mark concurrently");
    mut = attach_or_fail(h);
    gc_register_kind(h, KIND_NODE, trace_node);
    gc_register_kind(h, KIND_VEC, trace_vec);
    CHECK(gc_root_add(h, (void **)&slots) == 0);
    CHECK(gc_root_add(h, (void **)&building) == 0);
    return h;
}

static struct vec *new_vec(size_t n)
{
    struct vec *v = gc_alloc(mut, KIND_VEC, sizeof *v + n * sizeof(void *));
    CHECK(v != NULL);
    v->n = n;
    return v;
}

static int compare_addr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

#define PAUSE_NODES 60000u
#define NODE_BYTES 48u /* a 64-byte cell */

static void run_pause(void)
{
    slots = new_vec(PAUSE_NODES);
    for (size_t i = 0; i < PAUSE_NODES; i++)
        set_slot(i, new_node(mix(i), NODE_BYTES));
    gc_collect(mut, GC_COLLECT_MINOR); /* all old */

    /* Drop the first half (whole blocks die) and every other node of the second. */
    uintptr_t *dropped = malloc(PAUSE_NODES * sizeof *dropped);
    CHECK(dropped != NULL);
    size_t ndropped = 0;
    for (size_t i = 0; i < PAUSE_NODES; i++)
        if (i < PAUSE_NODES / 2 || i % 2) {
            dropped[ndropped++] = (uintptr_t)slots->items[i];
            set_slot(i, NULL);
        }
    qsort(dropped, ndropped, sizeof *dropped, compare_addr);

    gc_debug_marker_hold(heap, 1); /* no background marking or sweeping */
    CHECK_MSG(gc_debug_cycle_start(mut) == 0, "%s", "no concurrent cycle started");
    struct gc_stats before, after;
    gc_get_stats(heap, &before);
    CHECK(gc_debug_cycle_finish(mut) == 0);
    gc_get_stats(heap, &after);
    uint64_t in_pause = after.swept_blocks_in_pauses - before.swept_blocks_in_pauses;
    printf("final pause: %llu blocks swept in it, %llu left unswept; old %.1f MiB\n",
           (unsigned long long)in_pause, (unsigned long long)after.unswept_blocks,
           (double)after.old_bytes / 1048576.0);
    CHECK_MSG(in_pause == 0, "the final pause swept %llu blocks", (unsigned long long)in_pause);
    size_t node_blocks = PAUSE_NODES * 64 / (32 << 10);
    CHECK_MSG(after.unswept_blocks >= node_blocks, "only %llu blocks unswept, expected %zu",
              (unsigned long long)after.unswept_blocks, node_blocks);
    CHECK(gc_verify(mut) == 0);

    /* Promotion takes cells from the unswept blocks: some new node lands in a dead one. */
    size_t reused = 0, refilled = PAUSE_NODES / 4;
    for (size_t i = 0; i < refilled; i++)
        set_slot(i, new_node(mix(PAUSE_NODES + i), NODE_BYTES));
    gc_collect(mut, GC_COLLECT_MINOR);
    for (size_t i = 0; i < refilled; i++) {
        uintptr_t at = (uintptr_t)slots->items[i];
        reused += bsearch(&at, dropped, ndropped, sizeof at, compare_addr) != NULL;
    }
    gc_get_stats(heap, &after);
    printf("promotion: %zu of %zu new nodes in dead cells; %llu blocks still unswept\n", reused,
           refilled, (unsigned long long)after.unswept_blocks);
    CHECK_MSG(reused > 0, "%s", "promotion reused no cell of an unswept block");
    CHECK(after.unswept_blocks > 0); /* the rest is the background thread's */

    /* The background thread sweeps the rest and frees the blocks that died whole. */
    uint64_t old_before = after.old_bytes;
    gc_debug_marker_hold(heap, 0);
    struct timespec nap = {0, 1000000};
    for (int i = 0; i < 10000; i++) {
        gc_get_stats(heap, &after);
        if (after.unswept_blocks == 0)
            break;
        nanosleep(&nap, NULL);
    }
    printf("background: %llu blocks swept outside pauses, old %.1f -> %.1f MiB\n",
           (unsigned long long)after.swept_blocks_outside_pauses, (double)old_before / 1048576.0,
           (double)after.old_bytes / 1048576.0);
    CHECK_MSG(after.unswept_blocks == 0, "%llu blocks still unswept after 10 s",
              (unsigned long long)after.unswept_blocks);
    CHECK(after.swept_blocks_outside_pauses > 0);
    CHECK_MSG(after.old_bytes < old_before, "%s", "no empty block was freed");

    for (size_t i = 0; i < PAUSE_NODES; i++) {
        struct node *n = slots->items[i];
        if (i < refilled)
            check_node(n, mix(PAUSE_NODES + i), NODE_BYTES);
        else if (i < PAUSE_NODES / 2 || i % 2)
            CHECK(n == NULL);
        else
            check_node(n, mix(i), NODE_BYTES);
    }
    CHECK(gc_verify(mut) == 0);
    free(dropped);
}

#define STRESS_SLOTS 2048u

static const size_t stress_sizes[] = {16, 48, 112, 300, 1000, 20000};

/* Slot i's chain in generation g: its length, and each node's size and magic. */
static size_t chain_length(size_t i, uint64_t g)
{
    return 1 + mix(i * 31 + g) % 3;
}
static size_t chain_bytes(size_t i, uint64_t g, size_t k)
{
    uint64_t r = mix(i * 7 + g * 13 + k);
    return r % 64 == 0 ? stress_sizes[5] : stress_sizes[r % 5];
}
static uint64_t chain_magic(size_t i, uint64_t g, size_t k)
{
    return mix((i << 40) ^ (g << 8) ^ k);
}

static void check_slot(size_t i, uint64_t g)
{
    const struct node *n = slots->items[i];
    for (size_t k = 0; k < chain_length(i, g); k++) {
        CHECK_MSG(n != NULL, "slot %zu's chain ends early", i);
        size_t bytes = chain_bytes(i, g, k);
        check_node(n, chain_magic(i, g, k), bytes < sizeof *n ? sizeof *n : bytes);
        n = n->next;
    }
    CHECK_MSG(n == NULL, "slot %zu's chain is too long", i);
}

static void fill_slot(size_t i, uint64_t g)
{
    building = NULL;
    for (size_t k = chain_length(i, g); k-- > 0;) {
        size_t bytes = chain_bytes(i, g, k);
        struct node *n = new_node(chain_magic(i, g, k), bytes < sizeof *n ? sizeof *n : bytes);
        n->next = building; /* n is the newest object: young, no barrier needed */
        building = n;
    }
    set_slot(i, building);
    building = NULL;
}

static void run_stress(size_t operations)
{
    static uint64_t generation[STRESS_SLOTS];
    slots = new_vec(STRESS_SLOTS);
    for (size_t i = 0; i < STRESS_SLOTS; i++)
        fill_slot(i, 0);
    uint64_t rng = 12345;
    struct timespec nap = {0, 1000000};
    for (size_t op = 1; op <= operations; op++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t i = (size_t)(rng >> 33) % STRESS_SLOTS;
        fill_slot(i, ++generation[i]);
        if (op % 2000 == 0) {
            for (size_t j = 0; j < STRESS_SLOTS; j++)
                check_slot(j, generation[j]);
            nanosleep(&nap, NULL); /* a moment for the background thread */
        }
    }
    for (size_t j = 0; j < STRESS_SLOTS; j++)
        check_slot(j, generation[j]);
    CHECK(gc_verify(mut) == 0);
    struct gc_stats s;
    gc_get_stats(heap, &s);
    printf("stress: %llu collections, %llu cycles; swept %llu blocks in pauses, %llu outside\n",
           (unsigned long long)s.minor_collections + (unsigned long long)s.major_collections,
           (unsigned long long)s.concurrent_cycles, (unsigned long long)s.swept_blocks_in_pauses,
           (unsigned long long)s.swept_blocks_outside_pauses);
    CHECK_MSG(s.concurrent_cycles >= 2, "%s", "fewer than two concurrent cycles ran");
    CHECK_MSG(s.swept_blocks_outside_pauses > 0, "%s", "no block was swept outside a pause");
}

int main(int argc, char **argv)
{
    CHECK_MSG(argc >= 3, "%s", "usage: test_lazy_sweep BARRIER pause|stress [OPERATIONS]");
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    bool stress = !strcmp(argv[2], "stress");
    CHECK_MSG(stress || !strcmp(argv[2], "pause"), "unknown scenario %s", argv[2]);
    size_t operations = argc > 3 ? strtoul(argv[3], NULL, 10) : 40000;
    CHECK_MSG(operations > 0, "bad operation count %s", argc > 3 ? argv[3] : "");
    heap = make_heap(kind, stress ? 61 : 0);
    if (stress)
        run_stress(operations);
    else
        run_pause();
    gc_mutator_detach(mut);
    gc_heap_destroy(heap);
    printf("PASS\n");
    return 0;
}
