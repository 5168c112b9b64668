/* Assists hand back to the marker what they did not mark (docs/collector.md, "Parallel
 * marking").
 *
 * The marker is held, so that only the minor pauses' assists mark during a cycle, each
 * ASSIST_BYTES (gc_debug_assist_bytes): far less than the old structure, so every assist
 * stops with work left: grey objects, the large arrays the lanes had begun, their deques.
 * The marker must get all of it back. The structure is ARRAYS pointer arrays of several
 * 64 KiB chunks (traced a chunk at a time, so two lanes can each hold one begun), each
 * slot the head of a list of LIST_NODES nodes. Between pauses the program replaces lists
 * with young ones (old-to-young stores) and moves lists from one slot to another,
 * clearing the first: a store that hides the only path to nodes the marker may not have
 * reached, which the next pause's remembered-set scan shades. Each cycle has
 * PAUSES_PER_CYCLE minor pauses, then its final pause; after it every list is checked
 * against a model of its values, and the verifier runs after every collection. A lane's
 * work that was not handed back leaves live nodes unmarked, and the sweep frees them.
 *
 * With gc-threads=2 (and GCVM_GC_PARALLEL_MIN_KB=0) the assists mark on the workers, and
 * the test checks that every one did; with 1 they mark on the collecting thread.
 *
 * usage: test_assist BARRIER [gc-threads=N]
 * Exits 77 when the barrier is not available here. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "test_arrays.h"
#include "test_util.h"

enum {
    KIND_ARRAY = 1,
    KIND_NODE = 2,
    ARRAYS = 3,
    SLOTS = 24576, /* 192 KiB: three chunks */
    LIST_NODES = 4,
    CYCLES = 4,
    PAUSES_PER_CYCLE = 12,
    REPLACES_PER_PAUSE = 1500,
    MOVES_PER_PAUSE = 300,
};
#define ASSIST_BYTES ((uint64_t)64 << 10)

struct node {
    uint64_t value;
    struct node *next;
};

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    visit((void **)&((struct node *)obj)->next, ctx);
}

static struct array *arrays[ARRAYS];
static uint64_t model[ARRAYS][SLOTS]; /* the first value of each slot's list; 0: empty */
static uint64_t next_value = 1;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t random_below(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng % n;
}

/* A young list of values v, v + 1, ... into slot s of array a. */
static void replace_list(struct gc_mutator *m, unsigned a, size_t s)
{
    uint64_t v = next_value;
    next_value += LIST_NODES;
    struct node *head = NULL;
    for (int k = LIST_NODES - 1; k >= 0; k--) {
        struct node *n = gc_alloc(m, KIND_NODE, sizeof *n);
        CHECK(n != NULL);
        n->value = v + (uint64_t)k;
        n->next = head;
        gc_write_barrier(m, (void **)&n->next);
        head = n;
    }
    arrays[a]->slots[s] = head;
    gc_write_barrier(m, &arrays[a]->slots[s]);
    model[a][s] = v;
}

/* Slot `from`'s list moves to slot `to`, whose list is dropped; `from` is cleared. */
static void move_list(struct gc_mutator *m, unsigned a, size_t from, unsigned b, size_t to)
{
    arrays[b]->slots[to] = arrays[a]->slots[from];
    gc_write_barrier(m, &arrays[b]->slots[to]);
    arrays[a]->slots[from] = NULL;
    gc_write_barrier(m, &arrays[a]->slots[from]);
    model[b][to] = model[a][from];
    model[a][from] = 0;
}

static void check_lists(struct gc_mutator *m, int cycle)
{
    for (unsigned a = 0; a < ARRAYS; a++)
        for (size_t s = 0; s < SLOTS; s++) {
            struct node *n = arrays[a]->slots[s];
            if (model[a][s] == 0) {
                CHECK_MSG(n == NULL, "cycle %d: array %u slot %zu should be empty", cycle, a, s);
                continue;
            }
            for (int k = 0; k < LIST_NODES; k++, n = n->next) {
                CHECK_MSG(n != NULL, "cycle %d: array %u slot %zu ends after %d nodes", cycle, a, s,
                          k);
                CHECK_MSG(n->value == model[a][s] + (uint64_t)k,
                          "cycle %d: array %u slot %zu node %d holds %" PRIu64 ", not %" PRIu64,
                          cycle, a, s, k, n->value, model[a][s] + (uint64_t)k);
                CHECK_MSG(gc_debug_is_allocated(m, n),
                          "cycle %d: node %d of array %u slot %zu was freed while reachable", cycle,
                          k, a, s);
            }
            CHECK_MSG(n == NULL, "cycle %d: array %u slot %zu is longer than its list", cycle, a,
                      s);
        }
}

int main(int argc, char **argv)
{
    enum gc_barrier_kind kind = barrier_from_args(argc, argv);
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)256 << 20;
    cfg.nursery_bytes = (size_t)1 << 20;
    cfg.major_threshold_bytes = (size_t)192 << 20; /* cycles only when the test asks */
    cfg.concurrent_marking = 1;
    cfg.verify = 1;
    unsigned threads = 1;
    for (int i = 2; i < argc; i++)
        CHECK_MSG(sscanf(argv[i], "gc-threads=%u", &threads) == 1 && threads >= 1,
                  "unknown option %s", argv[i]);
    cfg.parallelism = threads;
    if (threads > 1)
        setenv("GCVM_GC_PARALLEL_MIN_KB", "0", 0);
    char err[256];
    struct gc_heap *heap = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "gc_heap_create: %s", err);
    struct gc_mutator *mut = attach_or_fail(heap);
    CHECK(gc_register_kind_words(heap, KIND_ARRAY, trace_array, trace_array_range,
                                 sizeof(uint64_t)) == 0);
    CHECK(gc_register_kind(heap, KIND_NODE, trace_node) == 0);

    for (unsigned a = 0; a < ARRAYS; a++) {
        CHECK(gc_root_add(heap, (void **)&arrays[a]) == 0);
        arrays[a] = gc_alloc(mut, KIND_ARRAY, sizeof(struct array) + SLOTS * sizeof(void *));
        CHECK(arrays[a] != NULL);
        memset(arrays[a]->slots, 0, SLOTS * sizeof(void *));
        arrays[a]->count = SLOTS;
        for (size_t s = 0; s < SLOTS; s++)
            replace_list(mut, a, s);
    }
    gc_collect(mut, GC_COLLECT_MINOR); /* the structure is old now */

    gc_debug_marker_hold(heap, 1);
    gc_debug_assist_bytes(heap, ASSIST_BYTES);
    struct gc_stats before, after;
    gc_get_stats(heap, &before);
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        CHECK_MSG(gc_debug_cycle_start(mut) == 0, "cycle %d did not start", cycle);
        for (int pause = 0; pause < PAUSES_PER_CYCLE; pause++) {
            for (int k = 0; k < REPLACES_PER_PAUSE; k++)
                replace_list(mut, (unsigned)random_below(ARRAYS), random_below(SLOTS));
            for (int k = 0; k < MOVES_PER_PAUSE; k++)
                move_list(mut, (unsigned)random_below(ARRAYS), random_below(SLOTS),
                          (unsigned)random_below(ARRAYS), random_below(SLOTS));
            gc_collect(mut, GC_COLLECT_MINOR);
        }
        CHECK_MSG(gc_debug_cycle_finish(mut) == 0, "cycle %d had ended before its final pause",
                  cycle);
        check_lists(mut, cycle);
    }
    gc_get_stats(heap, &after);
    uint64_t assists = after.assists - before.assists;
    uint64_t on_workers = after.assists_on_workers - before.assists_on_workers;
    uint64_t marked = after.assist_marked_bytes - before.assist_marked_bytes;
    printf("%s, %u collector thread%s: %d cycles, %" PRIu64 " assists (%" PRIu64
           " on the workers) marked %.1f MiB, %.0f KiB each on average\n",
           argv[1], threads, threads == 1 ? "" : "s", CYCLES, assists, on_workers,
           (double)marked / (1 << 20), assists ? (double)marked / 1024.0 / (double)assists : 0.0);
    CHECK_MSG(assists == (uint64_t)CYCLES * PAUSES_PER_CYCLE,
              "%" PRIu64 " assists, not one per minor pause of a cycle", assists);
    if (threads > 1)
        CHECK_MSG(on_workers == assists, "%" PRIu64 " of %" PRIu64 " assists on the workers",
                  on_workers, assists);
    else
        CHECK(on_workers == 0);
    /* Each marks its bytes at least: the lists are far more than all assists together. */
    CHECK_MSG(marked >= assists * ASSIST_BYTES,
              "the assists marked %" PRIu64 " KiB, under %" PRIu64 " KiB each", marked >> 10,
              ASSIST_BYTES >> 10);
    CHECK(gc_verify(mut) == 0);
    gc_debug_marker_hold(heap, 0);
    gc_mutator_detach(mut);
    gc_heap_destroy(heap);
    puts("PASS");
    return 0;
}
