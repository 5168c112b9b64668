/* Differential test of the collector against a shadow model of the object graph.
 *
 * A random mutator allocates nodes (pointerful, some large) and blobs (pointer-free,
 * some large), stores pointers into old and young objects, and changes its roots (both
 * registered root variables and an embedder "stack" visited by a root tracer). The same
 * graph is kept in plain malloc'd memory as ids. After every collection each object
 * reachable in the model must be in the heap with the same id, contents and edges; after
 * every explicit major collection the heap must hold exactly the reachable objects, no
 * more (what a full non-generational trace keeps). The heap verifier also runs at every
 * collection, so a barrier that misses an old-to-young store fails here.
 *
 * usage: test_differential BARRIER [SEED [STEPS [STRESS_INTERVAL [OPTION...]]]]
 * options: noverify leaves the collector's own verifier off, so that the model alone
 * judges; heap-mb=N sets the heap's size (default 256; the gcvm barriers' runs use a
 * small one, because an emulated ring 0 pays for every block the collector walks);
 * gc-threads=N runs the collections on N collector threads (gc_config.parallelism) and
 * then requires that minor collections ran in parallel and that the explicit major ones
 * were marked in parallel (the gcvm barriers keep one thread; GCVM_GC_PARALLEL_MIN_KB is
 * 0 unless set, so that small collections use the workers too).
 * concurrent or stw sets gc_config.concurrent_marking (else the heap's default): with
 * concurrent, the stress mode's major collections start and end concurrent cycles, and
 * the marker is held and advanced by the test a few random steps between mutations, so
 * that stores land on black, grey and white objects reproducibly; concurrent-thread
 * lets the marker thread run free instead. At least one cycle must complete.
 * mutators=N runs N mutator threads at once, each with its own graph, model, roots and
 * root tracer (its objects' ids carry its number), from one seed each; collections any
 * of them starts stop them all. With a gcvm barrier every mutator must be in guest mode
 * from its attach to its detach, the threads of odd number created in host mode (the
 * attach puts them in guest mode and the detach takes them out), and the heap's creator
 * must be in guest mode from gc_heap_create() to gc_heap_destroy(), and in host mode
 * again afterwards.
 * Exits 77 (skipped) when the barrier is not available on this machine. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-embedder.h"
#include "gcvm/gcvm.h"
#include "test_util.h"

enum { KIND_NODE = 1, KIND_BLOB = 2 };
enum { ROOTS = 24, LARGE_NODE_SLOTS = 1500, LARGE_BLOB_BYTES = 20000, MAX_MUTATORS = 8 };
/* An object's stored id: the mutator's number above ID_BITS, its model index below. */
#define ID_BITS 40
#define ID_MASK ((UINT64_C(1) << ID_BITS) - 1)

struct node {
    uint64_t id;
    uint64_t checksum;
    uint64_t nslots;
    void *slots[];
};

struct blob {
    uint64_t id;
    uint64_t len;
    uint8_t bytes[];
};

struct model_obj {
    int kind;
    uint32_t nslots;
    int64_t *slots; /* ids, -1 for NULL */
    uint32_t len;   /* blob bytes */
    uint32_t seen_epoch;
};

/* Everything below but the heap is each mutator thread's own. */
static struct gc_heap *heap;
static _Thread_local struct gc_mutator *mut;
static _Thread_local uint64_t id_tag; /* the mutator's number << ID_BITS */
static _Thread_local struct model_obj *model;
static _Thread_local size_t model_count, model_cap;

static _Thread_local void *roots[ROOTS];
static _Thread_local int64_t root_ids[ROOTS];
static _Thread_local void *tmp_root; /* holds a new object while it is being linked in */

/* The embedder's own root area, visited by the root tracer (on whichever thread
 * collects, so it reaches the area through its argument); it grows and shrinks. */
struct embedder_stack {
    void **slots;
    int64_t *ids;
    size_t depth, cap;
};
static _Thread_local struct embedder_stack stack;

/* realloc that stops the test instead of returning NULL. */
static void *grow(void *p, size_t bytes)
{
    void *q = realloc(p, bytes);
    CHECK_MSG(q != NULL, "out of memory (%zu bytes)", bytes);
    return q;
}

static _Thread_local uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct node *n = obj;
    for (uint64_t i = 0; i < n->nslots; i++)
        visit(&n->slots[i], ctx);
}

static void trace_stack(gc_visit_fn visit, void *ctx, void *user)
{
    struct embedder_stack *st = user;
    for (size_t i = 0; i < st->depth; i++)
        visit(&st->slots[i], ctx);
}

static int64_t model_new(int kind, uint32_t nslots, uint32_t len)
{
    if (model_count == model_cap) {
        model_cap = model_cap ? model_cap * 2 : 4096;
        model = grow(model, model_cap * sizeof *model);
    }
    struct model_obj *m = &model[model_count];
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->nslots = nslots;
    m->len = len;
    if (nslots) {
        m->slots = malloc(nslots * sizeof *m->slots);
        CHECK(m->slots != NULL);
        for (uint32_t i = 0; i < nslots; i++)
            m->slots[i] = -1;
    }
    return (int64_t)model_count++;
}

/* Allocates a new object, fills it, and leaves it in tmp_root; returns its id. */
static int64_t allocate_object(void)
{
    uint64_t r = below(1000);
    if (r < 200) { /* blob, 1 in 100 of them large */
        uint32_t len = r < 2 ? LARGE_BLOB_BYTES : (uint32_t)below(200);
        int64_t id = model_new(KIND_BLOB, 0, len);
        struct blob *b = gc_alloc_pointerfree(mut, KIND_BLOB, sizeof *b + len);
        CHECK(b != NULL);
        b->id = id_tag | (uint64_t)id;
        b->len = len;
        for (uint32_t i = 0; i < len; i++)
            b->bytes[i] = (uint8_t)mix((id_tag | (uint64_t)id) * 131 + i);
        tmp_root = b;
        return id;
    }
    uint32_t nslots = r < 210 ? LARGE_NODE_SLOTS : (uint32_t)below(7);
    int64_t id = model_new(KIND_NODE, nslots, 0);
    struct node *n = gc_alloc(mut, KIND_NODE, sizeof *n + nslots * sizeof(void *));
    CHECK(n != NULL);
    n->id = id_tag | (uint64_t)id;
    n->checksum = mix(id_tag | (uint64_t)id);
    n->nslots = nslots;
    for (uint32_t i = 0; i < nslots; i++)
        CHECK(n->slots[i] == NULL); /* allocation hands out zeroed memory */
    tmp_root = n;
    return id;
}

/* A random reachable object: from a random root, a few random edges. */
static void *walk(int64_t *id_out)
{
    size_t start = below(ROOTS + stack.depth);
    void *p = start < ROOTS ? roots[start] : stack.slots[start - ROOTS];
    int64_t id = start < ROOTS ? root_ids[start] : stack.ids[start - ROOTS];
    if (!p)
        return NULL;
    for (uint64_t steps = below(6); steps > 0; steps--) {
        struct model_obj *m = &model[id];
        if (m->kind != KIND_NODE || m->nslots == 0)
            break;
        uint32_t s = (uint32_t)below(m->nslots);
        if (m->slots[s] < 0)
            break;
        p = ((struct node *)p)->slots[s];
        id = m->slots[s];
    }
    *id_out = id;
    return p;
}

static void store(struct node *holder, int64_t holder_id, uint32_t slot, void *value,
                  int64_t value_id)
{
    holder->slots[slot] = value;
    gc_write_barrier(mut, &holder->slots[slot]);
    model[holder_id].slots[slot] = value ? value_id : -1;
}

static void step(void)
{
    uint64_t op = below(100);
    if (op < 45) { /* allocate, and link the new object somewhere */
        int64_t id = allocate_object();
        uint64_t where = below(10);
        int64_t holder_id;
        void *holder;
        if (where < 2) {
            size_t r = below(ROOTS);
            roots[r] = tmp_root;
            root_ids[r] = id;
        } else if (where < 3) {
            if (stack.depth == stack.cap) {
                stack.cap = stack.cap ? stack.cap * 2 : 64;
                stack.slots = grow(stack.slots, stack.cap * sizeof *stack.slots);
                stack.ids = grow(stack.ids, stack.cap * sizeof *stack.ids);
            }
            stack.slots[stack.depth] = tmp_root;
            stack.ids[stack.depth++] = id;
        } else if ((holder = walk(&holder_id)) && model[holder_id].kind == KIND_NODE &&
                   model[holder_id].nslots > 0) {
            store(holder, holder_id, (uint32_t)below(model[holder_id].nslots), tmp_root, id);
        }
        tmp_root = NULL;
    } else if (op < 85) { /* store an existing object (or NULL) into a node */
        int64_t holder_id, value_id = -1;
        struct node *holder = walk(&holder_id);
        if (!holder || model[holder_id].kind != KIND_NODE || model[holder_id].nslots == 0)
            return;
        void *value = below(8) ? walk(&value_id) : NULL;
        store(holder, holder_id, (uint32_t)below(model[holder_id].nslots), value, value_id);
    } else if (op < 93) { /* a root moves to another object, or is dropped */
        size_t r = below(ROOTS);
        int64_t id = -1;
        void *p = below(3) ? walk(&id) : NULL;
        roots[r] = p;
        root_ids[r] = p ? id : -1;
    } else if (op < 97) { /* the embedder's stack shrinks */
        if (stack.depth)
            stack.depth -= below(stack.depth + 1) / 2 + 1;
    } else { /* build a deep chain: deep structures stress the work lists */
        size_t r = below(ROOTS);
        roots[r] = NULL;
        root_ids[r] = -1;
        for (int i = 0; i < 300; i++) {
            int64_t id = model_new(KIND_NODE, 1, 0);
            struct node *n = gc_alloc(mut, KIND_NODE, sizeof *n + sizeof(void *));
            CHECK(n != NULL);
            n->id = id_tag | (uint64_t)id;
            n->checksum = mix(id_tag | (uint64_t)id);
            n->nslots = 1;
            store(n, id, 0, roots[r], root_ids[r]);
            roots[r] = n;
            root_ids[r] = id;
        }
    }
}

/* ---- Checking the heap against the model ---- */

static _Thread_local uint32_t epoch;
struct pair {
    void *p;
    int64_t id;
};
static _Thread_local struct pair *todo;
static _Thread_local size_t todo_count, todo_cap;
static _Thread_local size_t reachable;

static void push_pair(void *p, int64_t id)
{
    if (id < 0) {
        CHECK_MSG(p == NULL, "model says NULL, heap holds %p", p);
        return;
    }
    CHECK_MSG(p != NULL, "object %" PRId64 " is missing (NULL in the heap)", id);
    if (todo_count == todo_cap) {
        todo_cap = todo_cap ? todo_cap * 2 : 4096;
        todo = grow(todo, todo_cap * sizeof *todo);
    }
    todo[todo_count++] = (struct pair){p, id};
}

static void check_object(void *p, int64_t id)
{
    struct model_obj *m = &model[id];
    CHECK_MSG(gc_object_kind(p) == (unsigned)m->kind, "object %" PRId64 " has kind %u", id,
              gc_object_kind(p));
    if (m->kind == KIND_BLOB) {
        struct blob *b = p;
        CHECK_MSG(b->id == (id_tag | (uint64_t)id), "blob %" PRId64 " found as id %" PRIu64, id,
                  b->id);
        CHECK(b->len == m->len);
        for (uint32_t i = 0; i < m->len; i++)
            CHECK_MSG(b->bytes[i] == (uint8_t)mix((id_tag | (uint64_t)id) * 131 + i),
                      "blob %" PRId64 " byte %u corrupt", id, i);
        return;
    }
    struct node *n = p;
    CHECK_MSG(n->id == (id_tag | (uint64_t)id), "node %" PRId64 " found as id %" PRIu64, id, n->id);
    CHECK_MSG(n->checksum == mix(id_tag | (uint64_t)id), "node %" PRId64 " checksum corrupt", id);
    CHECK(n->nslots == m->nslots);
    for (uint32_t i = 0; i < m->nslots; i++)
        push_pair(n->slots[i], m->slots[i]);
}

/* Walks the model and the heap together; returns the number of reachable objects. */
static size_t check_reachable(void)
{
    epoch++;
    reachable = 0;
    todo_count = 0;
    for (size_t r = 0; r < ROOTS; r++)
        push_pair(roots[r], root_ids[r]);
    for (size_t i = 0; i < stack.depth; i++)
        push_pair(stack.slots[i], stack.ids[i]);
    while (todo_count) {
        struct pair pr = todo[--todo_count];
        if (model[pr.id].seen_epoch == epoch)
            continue;
        model[pr.id].seen_epoch = epoch;
        reachable++;
        check_object(pr.p, pr.id);
    }
    return reachable;
}

struct census {
    size_t objects;
    size_t unreachable;
};

static void count_heap_object(void *obj, void *arg)
{
    struct census *c = arg;
    uint64_t id = *(uint64_t *)obj; /* both kinds start with their id */
    if ((id & ~ID_MASK) != id_tag)
        return; /* another mutator's */
    id &= ID_MASK;
    CHECK_MSG(id < model_count, "heap object %p has unknown id %" PRIu64, obj, id);
    c->objects++;
    if (model[id].seen_epoch != epoch)
        c->unreachable++;
}

/* After a major collection the heap holds exactly the reachable objects. Another
 * mutator's collection may come between the two, but none brings back an object of this
 * one, which allocates nothing meanwhile. */
static void check_exact_after_major(void)
{
    gc_collect(mut, GC_COLLECT_MAJOR);
    size_t live = check_reachable();
    struct census c = {0};
    gc_for_each_object(mut, count_heap_object, &c);
    CHECK_MSG(c.unreachable == 0 && c.objects == live,
              "after a major collection the heap holds %zu objects, %zu of them unreachable; "
              "a full trace keeps %zu",
              c.objects, c.unreachable, live);
}

/* What every mutator thread does, and what it reports. */
struct mutator_run {
    uint64_t seed;
    long steps;
    size_t checks, majors_checked, objects_made, reachable_at_end;
    unsigned number;
    int started_in_guest; /* set by the thread before anything else */
    _Atomic int started;
    bool stepped_marker, guest_barrier;
};

static void *run_mutator(void *arg)
{
    struct mutator_run *r = arg;
    r->started_in_guest = gcvm_in_guest();
    atomic_store(&r->started, 1);
    id_tag = (uint64_t)r->number << ID_BITS;
    mut = attach_or_fail(heap);
    if (r->guest_barrier)
        CHECK_MSG(gcvm_in_guest(), "mutator %u is not in guest mode after attaching", r->number);
    for (size_t i = 0; i < ROOTS; i++) {
        root_ids[i] = -1;
        CHECK(gc_root_add(heap, &roots[i]) == 0);
    }
    CHECK(gc_root_add(heap, &tmp_root) == 0);
    gc_mutator_set_root_tracer(mut, trace_stack, &stack);

    rng_state = r->seed * 0x9E3779B97F4A7C15ull + 1;
    struct gc_stats before, after;
    gc_get_stats(heap, &before);
    for (long i = 0; i < r->steps; i++) {
        step();
        if (r->stepped_marker)
            gc_debug_mark_step(mut, below(6));
        gc_get_stats(heap, &after);
        if (after.minor_collections + after.major_collections !=
            before.minor_collections + before.major_collections) {
            check_reachable();
            r->checks++;
        }
        before = after;
        if (i % 5000 == 4999) {
            check_exact_after_major();
            r->majors_checked++;
            gc_get_stats(heap, &before);
        }
    }
    check_exact_after_major();
    r->majors_checked++;
    r->objects_made = model_count;
    r->reachable_at_end = reachable;
    for (size_t i = 0; i < ROOTS; i++)
        CHECK(gc_root_remove(heap, &roots[i]) == 0);
    CHECK(gc_root_remove(heap, &tmp_root) == 0);
    gc_mutator_detach(mut);
    if (r->guest_barrier)
        CHECK_MSG(gcvm_in_guest() == r->started_in_guest,
                  "mutator %u: detaching did not leave it in the mode it started in (%s)",
                  r->number, r->started_in_guest ? "guest" : "host");
    for (size_t i = 0; i < model_count; i++)
        free(model[i].slots);
    free(model);
    free(todo);
    free(stack.slots);
    free(stack.ids);
    return NULL;
}

/* Runs the mutators on threads of their own, the odd ones created in host mode. */
static void run_threads(struct mutator_run *runs, unsigned count)
{
    pthread_t threads[MAX_MUTATORS];
    for (unsigned i = 0; i < count; i++) {
        bool host_start = runs[i].guest_barrier && i % 2 == 1;
        if (runs[i].guest_barrier)
            CHECK(gcvm_set_thread_start(host_start ? GCVM_THREADS_HOST : GCVM_THREADS_GUEST) == 0);
        CHECK(pthread_create(&threads[i], NULL, run_mutator, &runs[i]) == 0);
        while (!atomic_load(&runs[i].started)) /* it has read where it started */
            sched_yield();
        if (runs[i].guest_barrier)
            CHECK_MSG(runs[i].started_in_guest == !host_start, "mutator %u started in %s mode", i,
                      runs[i].started_in_guest ? "guest" : "host");
    }
    if (count && runs[0].guest_barrier)
        CHECK(gcvm_set_thread_start(GCVM_THREADS_GUEST) == 0);
    for (unsigned i = 0; i < count; i++)
        CHECK(pthread_join(threads[i], NULL) == 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s BARRIER [SEED [STEPS [STRESS_INTERVAL [noverify] [heap-mb=N] "
                "[gc-threads=N] [mutators=N]]]]\n",
                argv[0]);
        return 2;
    }
    enum gc_barrier_kind kind;
    CHECK_MSG(gc_barrier_parse(argv[1], &kind) == 0, "unknown barrier %s", argv[1]);
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    long steps = argc > 3 ? strtol(argv[3], NULL, 0) : 60000;
    unsigned stress = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 0) : 97;
    bool stepped_marker = false;
    unsigned mutators = 1;
    skip_unless_available(kind);

    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = kind;
    cfg.heap_max_bytes = (size_t)256 << 20;
    cfg.nursery_bytes = (size_t)256 << 10;
    cfg.major_threshold_bytes = (size_t)4 << 20;
    cfg.stress_interval = stress;
    cfg.verify = 1;
    for (int a = 5; a < argc; a++) {
        unsigned mb, threads;
        if (strcmp(argv[a], "noverify") == 0)
            cfg.verify = 0;
        else if (strcmp(argv[a], "concurrent") == 0)
            cfg.concurrent_marking = 1, stepped_marker = true;
        else if (strcmp(argv[a], "concurrent-thread") == 0)
            cfg.concurrent_marking = 1;
        else if (strcmp(argv[a], "stw") == 0)
            cfg.concurrent_marking = -1;
        else if (sscanf(argv[a], "heap-mb=%u", &mb) == 1 && mb >= 4)
            cfg.heap_max_bytes = (size_t)mb << 20;
        else if (sscanf(argv[a], "gc-threads=%u", &threads) == 1 && threads >= 1)
            cfg.parallelism = threads;
        else if (sscanf(argv[a], "mutators=%u", &mutators) == 1 && mutators >= 1 &&
                 mutators <= MAX_MUTATORS)
            continue;
        else
            CHECK_MSG(0, "unknown option %s (mutators=N takes 1 to %d)", argv[a], MAX_MUTATORS);
    }
    bool guest_barrier = gc_barrier_uses_guest_mode(kind);
    /* Every collection on the workers, however small (else a small one stays on the
     * collecting thread), unless the environment says otherwise. */
    if (cfg.parallelism > 1)
        setenv("GCVM_GC_PARALLEL_MIN_KB", "0", 0);
    CHECK_MSG(!stepped_marker || kind != GC_BARRIER_NONE, "%s",
              "barrier none has no concurrent marking to step");
    char err[256];
    heap = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "gc_heap_create: %s", err);
    if (guest_barrier)
        CHECK_MSG(gcvm_in_guest(), "the %s barrier did not put the heap's creator in guest mode",
                  argv[1]);
    gc_register_kind(heap, KIND_NODE, trace_node);
    if (stepped_marker)
        gc_debug_marker_hold(heap, 1);

    struct mutator_run runs[MAX_MUTATORS];
    memset(runs, 0, sizeof runs);
    for (unsigned i = 0; i < mutators; i++) {
        runs[i].number = i;
        runs[i].seed = seed + i;
        runs[i].steps = steps;
        runs[i].stepped_marker = stepped_marker;
        runs[i].guest_barrier = guest_barrier;
    }
    if (mutators == 1)
        run_mutator(&runs[0]); /* on the heap's creator, as an embedder with one thread */
    else
        run_threads(runs, mutators);

    struct gc_stats after;
    gc_get_stats(heap, &after);
    size_t checks = 0, majors_checked = 0, objects = 0, live = 0;
    for (unsigned i = 0; i < mutators; i++) {
        checks += runs[i].checks;
        majors_checked += runs[i].majors_checked;
        objects += runs[i].objects_made;
        live += runs[i].reachable_at_end;
    }
    printf("%s seed %" PRIu64 ": %u mutator%s of %ld steps, %zu objects made, %zu reachable at "
           "the end; %" PRIu64 " minor + %" PRIu64 " major collections, %zu checked against the "
           "model, %zu exact; %" PRIu64 " dirty units, %" PRIu64 " traps, %" PRIu64
           " pinned blocks; %" PRIu64 " concurrent cycles, %" PRIu64 " units re-scanned, %" PRIu64
           " assists (%" PRIu64 " on the workers)\n",
           argv[1], seed, mutators, mutators == 1 ? "" : "s", steps, objects, live,
           after.minor_collections, after.major_collections, checks, majors_checked,
           after.dirty_units, after.barrier_traps, after.pinned_blocks, after.concurrent_cycles,
           after.mark_rescanned_units, after.assists, after.assists_on_workers);
    if (cfg.concurrent_marking == 1)
        CHECK_MSG(after.concurrent_cycles > 0, "%s", "no concurrent cycle completed");
    CHECK(after.minor_collections + after.major_collections > 10);
    if (cfg.parallelism > 1 && !guest_barrier && after.minor_collections > 0)
        /* A concurrent cycle's starting and final pauses run a minor collection too,
         * counted with the cycle as a major one. */
        CHECK_MSG(after.parallel_minor_collections >= after.minor_collections &&
                      after.parallel_minor_collections <=
                          after.minor_collections + 2 * after.concurrent_cycles + 2,
                  "%" PRIu64 " parallel minor collections for %" PRIu64 " minor ones and %" PRIu64
                  " concurrent cycles on %u collector threads",
                  after.parallel_minor_collections, after.minor_collections,
                  after.concurrent_cycles, cfg.parallelism);
    const char *min_kb = getenv("GCVM_GC_PARALLEL_MIN_KB");
    if (cfg.parallelism > 1 && !guest_barrier && min_kb && !strcmp(min_kb, "0"))
        /* Every major collection is marked on the workers: a stop-the-world one, and a
         * cycle's final pause (an explicit major collection asked for while a cycle runs
         * is that cycle's end, one marking for both). */
        CHECK_MSG(after.parallel_marks >= after.major_collections &&
                      after.major_collections >= after.concurrent_cycles,
                  "%" PRIu64 " markings on the workers, fewer than the %" PRIu64
                  " major collections (%" PRIu64 " of them concurrent cycles), on %u "
                  "collector threads",
                  after.parallel_marks, after.major_collections, after.concurrent_cycles,
                  cfg.parallelism);
    if (kind != GC_BARRIER_NONE)
        CHECK_MSG(after.minor_collections > 0, "a generational barrier ran no minor collection");
    gc_heap_destroy(heap);
    CHECK_MSG(!gcvm_in_guest(), "destroying the heap did not take the thread back to host mode");
    puts("PASS");
    return 0;
}
