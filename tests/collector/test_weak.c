/* Differential test of ephemerons, weak references, guardians and identity hashes
 * against a model of the object graph.
 *
 * A random mutator allocates nodes, ephemerons and weak references (ephemerons with no
 * value), gives ephemerons new keys and values (so old ephemerons hold young keys), links
 * them through root variables and node slots, registers objects with
 * guardians, takes identity hashes, and collects. The model knows which keys are
 * reachable: in a major collection, from the roots; in a minor one, also from every old
 * object, dead or alive (the remembered set holds what old objects point to, and no old
 * object dies), with every old object live. Ephemeron chains resolve to a fixpoint, dead
 * registrations of live guardians are queued and traced, the rest breaks. After every
 * collection each reachable object must match its model: ephemerons broken exactly when
 * the model broke them, guardians queue exactly the model's objects, identity hashes are
 * unchanged although young objects moved; after a major collection the heap holds
 * exactly the model's live objects. The heap verifier runs at every collection.
 *
 * usage: test_weak BARRIER SEED STEPS minor|major|concurrent [gc-threads=N]
 *   minor: seven of eight collections are minor ones (young keys in old ephemerons and
 *   the reverse); major: every collection is a major one; concurrent: as minor, each
 *   major collection a concurrent marking cycle stepped by the test (collect_and_check).
 *   gc-threads=N: N collector threads (gc_config.parallelism; else the heap's default).
 *   With N > 1 every collection runs on all of them (GCVM_GC_PARALLEL_MIN_KB=0,
 *   GCVM_GC_WORKERS_TOGETHER=1): every minor collection, every stop-the-world major
 *   collection's marking and every cycle's final pause must have been parallel (the
 *   statistics say so), and the other workers must have marked some objects.
 *   cost, cycle-writes, hash-edges, resurrect: no model; see cost_check,
 *   cycle_writes_check, hash_edges_check and resurrect_check (SEED and STEPS unused).
 * Exits 77 (skipped) when the barrier is not available on this machine. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcvm/gc-debug.h"
#include "gcvm/gc-weak.h"
#include "test_util.h"

enum { KIND_NODE = 1, ROOTS = 16, GUARDIANS = 2, MAX_SLOTS = 4, COLLECT_EVERY = 400 };
enum mtype { M_NODE, M_EPH, M_GUARD };

struct node {
    uint64_t id;
    uint64_t nslots;
    void *slots[];
};

struct mobj {
    enum mtype type;
    bool live, old, marked, broken, hashed;
    int nslots;
    int64_t slots[MAX_SLOTS]; /* node: slots; ephemeron: key, value (-1: NULL) */
    uint64_t hash;
    int64_t *registered, *queued; /* guardian */
    size_t nregistered, nqueued, first_new;
};

static struct gc_heap *heap;
static struct gc_mutator *mut; /* the test's one thread */
static struct mobj *model;
static size_t model_count, model_cap;
static void *roots[ROOTS];
static int64_t root_ids[ROOTS];
static void *guardians[GUARDIANS];
static int64_t guardian_ids[GUARDIANS];

static uint64_t rng_state;
static uint64_t below(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? rng_state % n : 0;
}

static void *grow(void *p, size_t bytes)
{
    void *q = realloc(p, bytes);
    CHECK_MSG(q != NULL, "out of memory (%zu bytes)", bytes);
    return q;
}

static void push_id(int64_t **v, size_t *n, int64_t id)
{
    *v = grow(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = id;
}

static void trace_node(void *obj, gc_visit_fn visit, void *ctx)
{
    struct node *n = obj;
    for (uint64_t i = 0; i < n->nslots; i++)
        visit(&n->slots[i], ctx);
}

static int64_t id_of(const void *p)
{
    return p ? (int64_t) * (const uint64_t *)p : -1;
}

static int64_t model_new(enum mtype type)
{
    if (model_count == model_cap) {
        model_cap = model_cap ? 2 * model_cap : 4096;
        model = grow(model, model_cap * sizeof *model);
    }
    struct mobj *m = &model[model_count];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->live = true;
    for (int i = 0; i < MAX_SLOTS; i++)
        m->slots[i] = -1;
    return (int64_t)model_count++;
}

/* ---- Mutator ---- */

static void *new_node(void)
{
    int64_t id = model_new(M_NODE);
    int n = 1 + (int)below(MAX_SLOTS);
    struct node *p = gc_alloc(mut, KIND_NODE, sizeof *p + (size_t)n * sizeof(void *));
    CHECK(p != NULL);
    p->id = (uint64_t)id;
    p->nslots = (uint64_t)n;
    model[id].nslots = n;
    for (int i = 0; i < n; i++) {
        int r = (int)below(ROOTS);
        if (below(2)) {
            p->slots[i] = roots[r];
            model[id].slots[i] = root_ids[r];
        }
    }
    return p;
}

static void *new_ephemeron(void *key, void *value)
{
    int64_t id = model_new(M_EPH);
    model[id].slots[0] = id_of(key);
    model[id].slots[1] = id_of(value);
    void *e = value || below(3) ? gc_alloc_ephemeron(mut, (uintptr_t)id, key, value)
                                : gc_alloc_weak_ref(mut, (uintptr_t)id, key);
    CHECK(e != NULL);
    return e;
}

static void set_root(int r, void *p)
{
    roots[r] = p;
    root_ids[r] = id_of(p);
}

/* A node reachable from a root, found by a short random walk (old ones included). */
static struct node *some_node(void)
{
    void *p = roots[below(ROOTS)];
    for (int depth = (int)below(4); p && depth > 0; depth--) {
        if (gc_object_kind(p) != KIND_NODE)
            break;
        struct node *n = p;
        void *next = n->slots[below(n->nslots)];
        if (!next)
            break;
        p = next;
    }
    return p && gc_object_kind(p) == KIND_NODE ? p : NULL;
}

static void store_slot(struct node *n, int k, void *v)
{
    n->slots[k] = v;
    gc_write_barrier(mut, &n->slots[k]);
    model[n->id].slots[k] = id_of(v);
}

static void mutate(void)
{
    int a = (int)below(ROOTS), b = (int)below(ROOTS);
    uint64_t op = below(100);
    if (op < 25) {
        set_root(a, new_node());
    } else if (op < 45) {
        void *key = below(4) ? roots[b] : NULL;
        if (!key)
            key = new_node(), set_root(b, key);
        void *value = below(2) ? roots[(int)below(ROOTS)] : NULL;
        void *e = new_ephemeron(key, value);
        struct node *holder = some_node();
        if (holder && below(2))
            store_slot(holder, (int)below(holder->nslots), e);
        else
            set_root(a, e);
    } else if (op < 65) {
        struct node *n = some_node();
        if (n)
            store_slot(n, (int)below(n->nslots), below(5) ? roots[b] : NULL);
    } else if (op < 72) {
        void *p = roots[b];
        if (p && gc_object_kind(p) == GC_KIND_EPHEMERON)
            set_root(a, below(2) ? gc_ephemeron_key(p) : gc_ephemeron_value(p));
    } else if (op < 78) {
        /* a new key (often young) and value for an ephemeron (often old) */
        void *p = roots[b];
        if (p && gc_object_kind(p) == GC_KIND_EPHEMERON) {
            void *key = roots[a], *value = below(2) ? roots[(int)below(ROOTS)] : NULL;
            gc_ephemeron_set(mut, p, key, value);
            struct mobj *m = &model[id_of(p)];
            m->slots[0] = id_of(key);
            m->slots[1] = id_of(value);
            m->broken = false;
        }
    } else if (op < 82) {
        struct node *n = some_node();
        if (n)
            set_root(a, n->slots[below(n->nslots)]);
    } else if (op < 88) {
        int g = (int)below(GUARDIANS);
        void *p = roots[b];
        if (p && guardians[g]) {
            CHECK(gc_guardian_register(heap, guardians[g], p) == 0);
            struct mobj *m = &model[guardian_ids[g]];
            push_id(&m->registered, &m->nregistered, id_of(p));
        }
    } else if (op < 94) {
        void *p = roots[b];
        if (p) {
            uint64_t h = gc_object_hash(heap, p);
            struct mobj *m = &model[id_of(p)];
            CHECK_MSG(!m->hashed || m->hash == h, "object %lld changed its hash",
                      (long long)id_of(p));
            m->hashed = true;
            m->hash = h;
        }
    } else if (op < 99) {
        set_root(a, NULL);
    } else {
        int g = (int)below(GUARDIANS);
        guardians[g] = gc_alloc_guardian(mut, 0);
        CHECK(guardians[g] != NULL);
        guardian_ids[g] = model_new(M_GUARD);
        *(uint64_t *)guardians[g] = (uint64_t)guardian_ids[g];
    }
}

/* ---- Ballast: two trees whose ephemerons cross ----
 *
 * Tree A's nodes hold ephemerons keyed by nodes deep in tree B, whose values are fresh
 * nodes that key further ephemerons of A (chains). Trees are wide enough that the
 * collector's workers share them out: an ephemeron one worker sets aside may have its key
 * marked by another one later. Every BALLAST_EVERY collections both trees are built anew
 * (young keys, young ephemerons); halfway between, tree B is dropped, so that A's
 * ephemerons and their chains break in the next major collection. Built right after a
 * collection, with the test's roots unchanged meanwhile: no allocation here collects.
 * Left out under the gcvm barriers, whose ring 0 may be emulated (ten times slower). */
enum { BALLAST_DEPTH = 9, BALLAST_EVERY = 16, TREE_SLOTS = 3 };
static void *ballast[2];
static int64_t ballast_ids[2];
static void **tree_b; /* tree B's nodes while it is built */
static size_t tree_b_count;
static void *chain_value; /* the value of the last ephemeron made: the next one's key */

static struct node *new_tree_node(void *left, void *right, void *extra)
{
    int64_t id = model_new(M_NODE);
    struct node *p = gc_alloc(mut, KIND_NODE, sizeof *p + TREE_SLOTS * sizeof(void *));
    CHECK(p != NULL);
    p->id = (uint64_t)id;
    p->nslots = TREE_SLOTS;
    model[id].nslots = TREE_SLOTS;
    void *slots[TREE_SLOTS] = {left, right, extra};
    for (int i = 0; i < TREE_SLOTS; i++) {
        p->slots[i] = slots[i];
        model[id].slots[i] = id_of(slots[i]);
    }
    return p;
}

/* An ephemeron for a node of tree A: keyed by a node of B, or (one in three) by the value
 * of the ephemeron made before, so that chains form; its value is a fresh node. */
static void *crossing_ephemeron(void)
{
    void *key = chain_value && below(3) == 0 ? chain_value : tree_b[below(tree_b_count)];
    chain_value = new_tree_node(NULL, NULL, NULL);
    return new_ephemeron(key, chain_value);
}

static struct node *build_tree(int depth, bool is_a)
{
    if (depth == 0)
        return NULL;
    struct node *left = build_tree(depth - 1, is_a);
    struct node *right = build_tree(depth - 1, is_a);
    void *extra = is_a && below(2) ? crossing_ephemeron() : NULL;
    struct node *n = new_tree_node(left, right, extra);
    if (!is_a) {
        tree_b = grow(tree_b, (tree_b_count + 1) * sizeof *tree_b);
        tree_b[tree_b_count++] = n;
    }
    return n;
}

static bool ballast_wanted; /* not under the gcvm barriers: ring 0 may be emulated */

static void ballast_step(uint32_t collections)
{
    if (!ballast_wanted)
        return;
    if (collections % BALLAST_EVERY == 0) {
        tree_b_count = 0;
        chain_value = NULL;
        ballast[1] = build_tree(BALLAST_DEPTH, false);
        ballast[0] = build_tree(BALLAST_DEPTH, true);
    } else if (collections % BALLAST_EVERY == BALLAST_EVERY / 2) {
        ballast[1] = NULL;
    } else {
        return;
    }
    tree_b_count = 0; /* its nodes may move or die from here */
    chain_value = NULL;
    for (int t = 0; t < 2; t++)
        ballast_ids[t] = id_of(ballast[t]);
}

/* ---- Model of a collection ---- */

static int64_t *work;
static size_t nwork;
static int64_t *pending;
static size_t npending;

static void mark(int64_t id)
{
    if (id < 0 || model[id].marked)
        return;
    model[id].marked = true;
    push_id(&work, &nwork, id);
}

static void drain(void)
{
    while (nwork) {
        struct mobj *m = &model[work[--nwork]];
        if (m->type == M_NODE)
            for (int i = 0; i < m->nslots; i++)
                mark(m->slots[i]);
        else if (m->type == M_EPH)
            push_id(&pending, &npending, (int64_t)(m - model));
        else
            for (size_t i = 0; i < m->nqueued; i++)
                mark(m->queued[i]);
    }
}

static void resolve(void)
{
    drain(); /* what guardians just queued may reach more ephemerons */
    for (bool progress = true; progress;) {
        progress = false;
        for (size_t i = 0; i < npending;) {
            struct mobj *e = &model[pending[i]];
            if (e->slots[0] >= 0 && !model[e->slots[0]].marked) {
                i++;
                continue;
            }
            pending[i] = pending[--npending];
            mark(e->slots[1]);
            progress = true;
        }
        drain();
    }
}

static bool queue_dead(void)
{
    bool any = false;
    for (size_t g = 0; g < model_count; g++) {
        struct mobj *m = &model[g];
        m->first_new = m->nqueued;
        if (m->type != M_GUARD || !m->live || !m->marked)
            continue;
        for (size_t i = 0; i < m->nregistered;) {
            int64_t r = m->registered[i];
            if (model[r].marked) {
                i++;
                continue;
            }
            m->registered[i] = m->registered[--m->nregistered];
            push_id(&m->queued, &m->nqueued, r);
            any = true;
        }
    }
    for (size_t g = 0; g < model_count; g++)
        if (model[g].type == M_GUARD)
            for (size_t i = model[g].first_new; i < model[g].nqueued; i++)
                mark(model[g].queued[i]);
    return any;
}

/* Marks what a collection starts from (in a minor one, also every old object) and what
 * that reaches strongly and through ephemerons, before guardians queue anything. */
static void model_mark_reachable(bool major)
{
    for (size_t i = 0; i < model_count; i++)
        model[i].marked = false;
    for (size_t i = 0; i < model_count; i++)
        if (model[i].live && model[i].old && !major)
            mark((int64_t)i);
    for (int r = 0; r < ROOTS; r++)
        mark(root_ids[r]);
    for (int g = 0; g < GUARDIANS; g++)
        mark(guardians[g] ? guardian_ids[g] : -1);
    for (int t = 0; t < 2; t++)
        mark(ballast_ids[t]);
    resolve();
}

static unsigned long long old_broken_in_minor;
static void model_collect(bool major)
{
    model_mark_reachable(major);
    do
        resolve();
    while (queue_dead());
    for (size_t i = 0; i < npending; i++) {
        struct mobj *e = &model[pending[i]];
        if (!major && e->old && e->slots[0] >= 0 && !model[e->slots[0]].old)
            old_broken_in_minor++; /* an old ephemeron whose young key died */
        e->slots[0] = e->slots[1] = -1;
        e->broken = true;
    }
    npending = 0;
    for (size_t i = 0; i < model_count; i++) {
        struct mobj *m = &model[i];
        if (m->live && !m->marked) {
            m->live = false;
            m->nregistered = m->nqueued = 0;
        }
        m->old = m->live;
    }
}

/* ---- Checks ---- */

static unsigned long long heap_objects;
static void count_object(void *obj, void *arg)
{
    (void)obj;
    (void)arg;
    heap_objects++;
}

static void check_object(void *p, uint32_t epoch, uint32_t *seen)
{
    if (!p)
        return;
    int64_t id = id_of(p);
    CHECK_MSG(id >= 0 && (size_t)id < model_count, "object %p has no model id", p);
    struct mobj *m = &model[id];
    CHECK_MSG(m->live, "object %lld is in the heap but dead in the model", (long long)id);
    if (seen[id] == epoch)
        return;
    seen[id] = epoch;
    if (m->hashed)
        CHECK_MSG(gc_object_hash(heap, p) == m->hash, "object %lld changed its hash",
                  (long long)id);
    if (m->type == M_NODE) {
        struct node *n = p;
        CHECK(gc_object_kind(p) == KIND_NODE && (int)n->nslots == m->nslots);
        size_t asked = sizeof *n + (size_t)m->nslots * sizeof(void *);
        size_t granted = ((asked + GC_HEADER_BYTES + GC_GRANULE - 1) & ~(size_t)(GC_GRANULE - 1)) -
                         GC_HEADER_BYTES; /* what the allocation rounds to, hash or not */
        CHECK_MSG(gc_object_size(p) == granted, "object %lld has size %zu, not %zu", (long long)id,
                  gc_object_size(p), granted);
        for (int i = 0; i < m->nslots; i++) {
            CHECK_MSG(id_of(n->slots[i]) == m->slots[i], "node %lld slot %d: %lld, model %lld",
                      (long long)id, i, (long long)id_of(n->slots[i]), (long long)m->slots[i]);
            check_object(n->slots[i], epoch, seen);
        }
    } else if (m->type == M_EPH) {
        CHECK(gc_object_kind(p) == GC_KIND_EPHEMERON);
        CHECK_MSG(gc_ephemeron_broken(p) == (m->broken || m->slots[0] < 0),
                  "ephemeron %lld broken %d, model %d", (long long)id, gc_ephemeron_broken(p),
                  m->broken);
        CHECK_MSG(id_of(gc_ephemeron_key(p)) == m->slots[0] &&
                      id_of(gc_ephemeron_value(p)) == m->slots[1],
                  "ephemeron %lld holds %lld -> %lld, model %lld -> %lld", (long long)id,
                  (long long)id_of(gc_ephemeron_key(p)), (long long)id_of(gc_ephemeron_value(p)),
                  (long long)m->slots[0], (long long)m->slots[1]);
        check_object(gc_ephemeron_key(p), epoch, seen);
        check_object(gc_ephemeron_value(p), epoch, seen);
    } else {
        CHECK(gc_object_kind(p) == GC_KIND_GUARDIAN);
    }
}

static int compare_ids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Takes every queued object out of the guardians; each must be what the model queued.
 * Some go back into roots, the others are garbage again. */
static unsigned long long guardian_queued;
static void drain_guardians(void)
{
    for (int g = 0; g < GUARDIANS; g++) {
        if (!guardians[g])
            continue;
        struct mobj *m = &model[guardian_ids[g]];
        int64_t *got = NULL;
        size_t ngot = 0;
        for (void *p; (p = gc_guardian_next(heap, guardians[g]));) {
            push_id(&got, &ngot, id_of(p));
            if (below(3) == 0)
                set_root((int)below(ROOTS), p);
        }
        guardian_queued += ngot;
        CHECK_MSG(ngot == m->nqueued, "guardian %lld gave %zu objects, model queued %zu",
                  (long long)guardian_ids[g], ngot, m->nqueued);
        if (ngot) {
            qsort(got, ngot, sizeof *got, compare_ids);
            qsort(m->queued, ngot, sizeof *got, compare_ids);
            CHECK_MSG(memcmp(got, m->queued, ngot * sizeof *got) == 0,
                      "guardian %lld gave other objects than the model queued",
                      (long long)guardian_ids[g]);
        }
        m->nqueued = 0;
        free(got);
    }
}

/* After one collection (before: the statistics before it): the model collects as the heap
 * did, and they must agree. */
static void check_collection(const struct gc_stats *before, uint32_t *seen_epoch, uint32_t **seen)
{
    struct gc_stats after;
    gc_get_stats(heap, &after);
    bool major = after.major_collections > before->major_collections;
    CHECK_MSG(after.major_collections + after.minor_collections ==
                  before->major_collections + before->minor_collections + 1,
              "%s", "a collection the test did not ask for ran");
    uint32_t epoch = ++*seen_epoch;
    model_collect(major);
    *seen = grow(*seen, model_count * sizeof **seen);
    for (int r = 0; r < ROOTS; r++)
        check_object(roots[r], epoch, *seen);
    for (int t = 0; t < 2; t++)
        check_object(ballast[t], epoch, *seen);
    if (major) {
        size_t live = 0;
        for (size_t i = 0; i < model_count; i++)
            live += model[i].live;
        heap_objects = 0;
        gc_for_each_object(mut, count_object, NULL);
        CHECK_MSG(heap_objects == live,
                  "after a major collection the heap holds %llu objects, "
                  "the model %zu",
                  heap_objects, live);
    }
}

/* With concurrent marking (mode concurrent), a major collection is a cycle: its start is
 * a minor collection, then the marker (held) takes a random number of steps, then the
 * final pause resolves the weak objects the marker listed and those met in the pause.
 * Nothing is mutated meanwhile, so the cycle has no floating garbage and must agree with
 * the model exactly. */
static bool concurrent_cycles;

/* ---- Cycles with writes: a model that allows floating garbage ----
 *
 * When the mutator runs during a cycle, what the marker marked before it was dropped
 * stays until the next cycle (floating garbage), so the model cannot say exactly what
 * the final pause keeps. It says what it must keep: every object reachable in the model
 * (before guardians resurrect anything) is in the heap, no ephemeron whose key is so
 * reachable is broken, a guardian hands back only objects registered with it that were
 * not so reachable, and no registered object of a live guardian was freed. Then the model
 * takes the heap's state (which objects live, which ephemerons broke) and goes on exactly
 * from there: the next collections are checked against it as before. */
static void **heap_by_id; /* the heap's objects by model id after a final pause */

static void note_heap_object(void *obj, void *arg)
{
    (void)arg;
    int64_t id = id_of(obj);
    CHECK_MSG(id >= 0 && (size_t)id < model_count, "object %p has no model id", obj);
    heap_by_id[id] = obj;
}

/* The guardians after a final pause: what each hands back was registered with it and not
 * reachable (marked by adopt_final_pause); what stays registered is still in the heap. */
static void drain_guardians_after_final(void)
{
    for (int g = 0; g < GUARDIANS; g++) {
        if (!guardians[g])
            continue;
        struct mobj *m = &model[guardian_ids[g]];
        for (void *p; (p = gc_guardian_next(heap, guardians[g]));) {
            int64_t id = id_of(p);
            size_t i = 0;
            while (i < m->nregistered && m->registered[i] != id)
                i++;
            CHECK_MSG(i < m->nregistered && !model[id].marked,
                      "guardian %lld gave object %lld, not an unreachable one registered with it",
                      (long long)guardian_ids[g], (long long)id);
            m->registered[i] = m->registered[--m->nregistered];
            guardian_queued++;
            if (below(3) == 0)
                set_root((int)below(ROOTS), p);
        }
        for (size_t i = 0; i < m->nregistered; i++)
            CHECK_MSG(heap_by_id[m->registered[i]] != NULL,
                      "object %lld registered with a live guardian was freed, not queued",
                      (long long)m->registered[i]);
    }
}

static void adopt_final_pause(const struct gc_stats *before, uint32_t *seen_epoch, uint32_t **seen)
{
    struct gc_stats after;
    gc_get_stats(heap, &after);
    CHECK_MSG(after.major_collections == before->major_collections + 1 &&
                  after.minor_collections == before->minor_collections,
              "%s", "the collection was not the cycle's final pause");
    model_mark_reachable(true);
    npending = 0;
    heap_by_id = grow(heap_by_id, model_count * sizeof *heap_by_id);
    memset(heap_by_id, 0, model_count * sizeof *heap_by_id);
    gc_for_each_object(mut, note_heap_object, NULL);
    for (size_t i = 0; i < model_count; i++) {
        struct mobj *m = &model[i];
        void *p = heap_by_id[i];
        CHECK_MSG(p || !m->marked, "object %zu is reachable but was freed", i);
        CHECK_MSG(!p || m->live, "object %zu is in the heap but died before", i);
        if (!p) {
            m->live = false;
            m->nregistered = m->nqueued = 0;
            continue;
        }
        m->old = true;
        if (m->type != M_EPH || !gc_ephemeron_broken(p) || m->slots[0] < 0)
            continue;
        CHECK_MSG(!model[m->slots[0]].marked, "ephemeron %zu broken, its key %lld reachable", i,
                  (long long)m->slots[0]);
        m->slots[0] = m->slots[1] = -1;
        m->broken = true;
    }
    drain_guardians_after_final();
    uint32_t epoch = ++*seen_epoch;
    *seen = grow(*seen, model_count * sizeof **seen);
    for (int r = 0; r < ROOTS; r++)
        check_object(roots[r], epoch, *seen);
    for (int t = 0; t < 2; t++)
        check_object(ballast[t], epoch, *seen);
}

static unsigned long long cycles_with_writes;

/* A cycle during which the mutator runs: rounds of writes and marker steps, some ending
 * in a minor collection (checked exactly); the final pause is checked by
 * adopt_final_pause. A minor collection may end the cycle itself (the marker was done). */
static void cycle_with_writes(uint32_t *epoch, uint32_t **seen)
{
    cycles_with_writes++;
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < COLLECT_EVERY / 4; k++)
            mutate();
        gc_debug_mark_step(mut, below(100));
        if (below(2))
            continue;
        struct gc_stats before, after;
        gc_get_stats(heap, &before);
        gc_collect(mut, GC_COLLECT_MINOR);
        gc_get_stats(heap, &after);
        if (after.major_collections > before.major_collections) {
            adopt_final_pause(&before, epoch, seen);
            return;
        }
        check_collection(&before, epoch, seen);
        drain_guardians();
    }
    struct gc_stats before;
    gc_get_stats(heap, &before);
    CHECK(gc_debug_cycle_finish(mut) == 0);
    adopt_final_pause(&before, epoch, seen);
}

static void collect_and_check(bool want_major, uint32_t *epoch, uint32_t **seen)
{
    struct gc_stats before;
    gc_get_stats(heap, &before);
    if (want_major && concurrent_cycles) {
        CHECK_MSG(gc_debug_cycle_start(mut) == 0, "%s", "no concurrent cycle started");
        check_collection(&before, epoch, seen);
        if (below(2)) {
            drain_guardians();
            cycle_with_writes(epoch, seen);
            return;
        }
        gc_debug_mark_step(mut, below(200));
        gc_get_stats(heap, &before);
        CHECK(gc_debug_cycle_finish(mut) == 0);
    } else {
        gc_collect(mut, want_major ? GC_COLLECT_MAJOR : GC_COLLECT_MINOR);
    }
    check_collection(&before, epoch, seen);
    drain_guardians();
}

/* ---- Mode cost: weak processing depends on the weak objects, not on the heap ----
 *
 * A fixed set of weak objects (COST_EPHEMERONS ephemerons, half of whose keys are held,
 * and COST_REGISTRATIONS guardian registrations, half of them dead), first beside a small
 * heap, then beside one COST_GROWTH times larger: a major collection must set aside the
 * same ephemerons and take the same liveness tests in both, within the bound of two
 * passes over the ephemerons plus one test per guardian and registration. */
enum { COST_EPHEMERONS = 2000, COST_REGISTRATIONS = 200, COST_NODES = 4000, COST_GROWTH = 25 };

static void *cost_holder; /* a node whose slots hold the ephemerons, the kept keys, ballast */

static struct node *cost_node(uint64_t nslots)
{
    struct node *n = gc_alloc(mut, KIND_NODE, sizeof *n + nslots * sizeof(void *));
    CHECK(n != NULL);
    n->id = 0;
    n->nslots = nslots;
    for (uint64_t i = 0; i < nslots; i++)
        n->slots[i] = NULL;
    return n;
}

/* The weak work and the time of one major collection with `ballast` more live nodes. */
static void cost_collect(size_t ballast, uint64_t *set_aside, uint64_t *tests, double *ms)
{
    struct node *list = NULL;
    CHECK(gc_root_add(heap, (void **)&list) == 0);
    for (size_t i = 0; i < ballast; i++) {
        struct node *n = cost_node(1);
        n->slots[0] = list;
        list = n;
    }
    struct gc_stats before, after;
    gc_get_stats(heap, &before);
    gc_collect(mut, GC_COLLECT_MAJOR);
    gc_get_stats(heap, &after);
    CHECK(gc_root_remove(heap, (void **)&list) == 0);
    *set_aside = after.ephemerons_set_aside - before.ephemerons_set_aside;
    *tests = after.weak_liveness_tests - before.weak_liveness_tests;
    *ms = after.pause_total_ms - before.pause_total_ms;
}

static void cost_check(void)
{
    CHECK(gc_root_add(heap, &cost_holder) == 0);
    cost_holder = cost_node((uint64_t)2 * COST_EPHEMERONS);
    void *guardian = gc_alloc_guardian(mut, 0);
    CHECK(guardian != NULL && gc_root_add(heap, &guardian) == 0);
    for (int i = 0; i < COST_EPHEMERONS; i++) {
        struct node *key = cost_node(1);
        struct node *holder = cost_holder;
        if (i % 2 == 0) {
            holder->slots[COST_EPHEMERONS + i] = key;
            gc_write_barrier(mut, &holder->slots[COST_EPHEMERONS + i]);
        }
        if (i < COST_REGISTRATIONS)
            CHECK(gc_guardian_register(heap, guardian, key) == 0);
        void *e = gc_alloc_ephemeron(mut, 0, key, NULL);
        CHECK(e != NULL);
        holder = cost_holder;
        holder->slots[i] = e;
        gc_write_barrier(mut, &holder->slots[i]);
    }
    /* The dead registrations are queued (which keeps their ephemerons), then dropped; the
     * next collection breaks those ephemerons: from then on, every collection does the
     * same weak work. */
    gc_collect(mut, GC_COLLECT_MAJOR);
    while (gc_guardian_next(heap, guardian))
        ;
    gc_collect(mut, GC_COLLECT_MAJOR);
    uint64_t small_set_aside, small_tests, large_set_aside, large_tests;
    double small_ms, large_ms;
    cost_collect(COST_NODES, &small_set_aside, &small_tests, &small_ms);
    cost_collect((size_t)COST_NODES * COST_GROWTH, &large_set_aside, &large_tests, &large_ms);
    printf("test_weak cost: %d ephemerons, %d registrations: %" PRIu64 " set aside, %" PRIu64
           " liveness tests with %d more live nodes (%.2f ms), %" PRIu64 " and %" PRIu64
           " with %d (%.2f ms)\n",
           COST_EPHEMERONS, COST_REGISTRATIONS, small_set_aside, small_tests, COST_NODES, small_ms,
           large_set_aside, large_tests, COST_NODES * COST_GROWTH, large_ms);
    CHECK_MSG(small_set_aside == COST_EPHEMERONS && large_set_aside == COST_EPHEMERONS,
              "%" PRIu64 " and %" PRIu64 " ephemerons set aside, not %d", small_set_aside,
              large_set_aside, COST_EPHEMERONS);
    CHECK_MSG(small_tests == large_tests &&
                  small_tests <= 2 * COST_EPHEMERONS + 2 * COST_REGISTRATIONS,
              "%" PRIu64 " liveness tests beside the small heap, %" PRIu64 " beside the large one",
              small_tests, large_tests);
    int broken = 0;
    for (int i = 0; i < COST_EPHEMERONS; i++)
        broken += gc_ephemeron_broken(((struct node *)cost_holder)->slots[i]);
    CHECK_MSG(broken == COST_EPHEMERONS / 2, "%d ephemerons broken, not %d", broken,
              COST_EPHEMERONS / 2);
}

/* ---- Mode cycle-writes: the mutator changes weak objects during a concurrent cycle ----
 *
 * The random modes mutate nothing while a cycle marks. Here, with the marker held and
 * stepped by the test, the mutator gives an ephemeron the marker has already traced (and
 * set aside) a new young key and value, allocates an ephemeron whose value nothing else
 * holds, registers objects with a guardian and takes a queued one back into a traced
 * object, with minor collections inside the cycle; the final pause must keep what is
 * reachable, and the next cycle must break and queue what is not. The verifier runs at
 * every collection. Roots: the test's root variables. */
enum { CW_MAGIC = 0x5eed };

static struct node *cw_node(void)
{
    struct node *n = cost_node(1);
    n->id = CW_MAGIC;
    return n;
}

static void cw_store(struct node *holder, void *v)
{
    holder->slots[0] = v;
    gc_write_barrier(mut, &holder->slots[0]);
}

/* Runs the marker until it has nothing left, so that what it reached is black. */
static void cw_mark_all(void)
{
    while (gc_debug_mark_step(mut, 1000) == 1000)
        ;
}

static void cw_full_cycle(void)
{
    CHECK(gc_debug_cycle_start(mut) == 0);
    cw_mark_all();
    CHECK(gc_debug_cycle_finish(mut) == 0);
}

static void cycle_writes_check(void)
{
    enum { E, K, K2, HOLDER, E3, X, G, Y };
    /* Old: ephemeron E (key K, value a node), K, a holder node, and a node X. */
    roots[K] = cw_node();
    roots[E] = gc_alloc_ephemeron(mut, 0, roots[K], cw_node());
    roots[HOLDER] = cw_node();
    roots[X] = cw_node();
    roots[G] = gc_alloc_guardian(mut, 0);
    CHECK(roots[E] && roots[G]);
    gc_collect(mut, GC_COLLECT_MINOR);

    CHECK(gc_debug_cycle_start(mut) == 0);
    cw_mark_all();
    CHECK_MSG(gc_debug_mark_color(mut, roots[E]) == 2, "%s", "the ephemeron is not black");
    /* E gets a young key (held by a root) and a young value (held by nothing else); its
     * old key is dropped. */
    roots[K2] = cw_node();
    gc_ephemeron_set(mut, roots[E], roots[K2], cw_node());
    roots[K] = NULL;
    /* A young ephemeron keyed by old X, held only by the black holder; its value by
     * nothing else. */
    cw_store(roots[HOLDER], gc_alloc_ephemeron(mut, 0, roots[X], cw_node()));
    /* A young object registered and dropped: the minor collection inside the cycle
     * queues it; taken back, it goes into the black holder's ephemeron's place. X is
     * registered too, while marked, and will be queued only in the next cycle. */
    roots[Y] = cw_node();
    CHECK(gc_guardian_register(heap, roots[G], roots[Y]) == 0);
    CHECK(gc_guardian_register(heap, roots[G], roots[X]) == 0);
    roots[Y] = NULL;
    gc_collect(mut, GC_COLLECT_MINOR);
    struct node *queued = gc_guardian_next(heap, roots[G]);
    CHECK_MSG(queued && queued->id == CW_MAGIC, "%s",
              "the young registered object was not queued by the minor collection");
    CHECK(gc_guardian_next(heap, roots[G]) == NULL);
    roots[E3] = ((struct node *)roots[HOLDER])->slots[0];
    cw_store(roots[HOLDER], queued);
    cw_mark_all();
    gc_collect(mut, GC_COLLECT_MINOR); /* ends the cycle if the marker is done */
    gc_debug_cycle_finish(mut);        /* or this does */

    struct node *value = gc_ephemeron_value(roots[E]);
    CHECK_MSG(gc_ephemeron_key(roots[E]) == roots[K2] && value && value->id == CW_MAGIC, "%s",
              "an ephemeron given a live key during the cycle lost it or its value");
    value = gc_ephemeron_value(roots[E3]);
    CHECK_MSG(gc_ephemeron_key(roots[E3]) == roots[X] && value && value->id == CW_MAGIC, "%s",
              "an ephemeron made during the cycle lost its live key or its value");
    CHECK(((struct node *)((struct node *)roots[HOLDER])->slots[0])->id == CW_MAGIC);

    /* Nothing holds K2 and X any more: the next cycle breaks E and queues X, which keeps
     * X, and so E3, for the mutator; once X is dropped again, the cycle after breaks E3. */
    roots[K2] = NULL;
    void *x_was = roots[X];
    roots[X] = NULL;
    cw_full_cycle();
    CHECK_MSG(gc_ephemeron_broken(roots[E]) && gc_ephemeron_value(roots[E]) == NULL, "%s",
              "an ephemeron whose key died in a cycle is not broken");
    CHECK_MSG(gc_ephemeron_key(roots[E3]) == x_was, "%s",
              "an ephemeron whose key a guardian queued is broken");
    CHECK_MSG(gc_guardian_next(heap, roots[G]) == x_was, "%s",
              "an object registered during a cycle and dropped was not queued by the next");
    cw_full_cycle();
    CHECK_MSG(gc_ephemeron_broken(roots[E3]) && gc_ephemeron_value(roots[E3]) == NULL, "%s",
              "an ephemeron made during a cycle whose key died is not broken");
    printf("test_weak cycle-writes: passed\n");
}

/* ---- Mode hash-edges: identity hashes of young objects at the largest size ----
 *
 * A hashed young object moves into a cell one granule larger that holds its hash; one
 * whose enlarged copy would pass the largest size class keeps its place (its block is
 * pinned). Both must keep their hash, size and contents through minor and major
 * collections, and the first must have moved. */
static struct node *edge_node(size_t total, uint64_t id)
{
    size_t payload = total - GC_HEADER_BYTES;
    struct node *n = cost_node((payload - sizeof *n) / sizeof(void *));
    n->id = id;
    return n;
}

static void hash_edges_check(void)
{
    enum { MOVES, STAYS };
    roots[MOVES] = edge_node(GC_NURSERY_MAX_OBJECT - GC_GRANULE, 1);
    roots[STAYS] = edge_node(GC_NURSERY_MAX_OBJECT, 2);
    size_t size[2];
    uint64_t hash[2];
    void *was[2];
    for (int i = 0; i < 2; i++) {
        size[i] = gc_object_size(roots[i]);
        hash[i] = gc_object_hash(heap, roots[i]);
        was[i] = roots[i];
        ((struct node *)roots[i])->slots[0] = roots[1 - i];
    }
    for (int round = 0; round < 3; round++) {
        gc_collect(mut, round == 1 ? GC_COLLECT_MAJOR : GC_COLLECT_MINOR);
        for (int i = 0; i < 2; i++) {
            struct node *n = roots[i];
            CHECK_MSG(gc_object_hash(heap, n) == hash[i] && gc_object_size(n) == size[i] &&
                          n->id == (uint64_t)i + 1 && n->slots[0] == roots[1 - i],
                      "object of %zu bytes: hash, size or contents changed", size[i]);
        }
    }
    CHECK_MSG(roots[MOVES] != was[MOVES] && roots[STAYS] == was[STAYS], "%s",
              "the smaller object did not move or the largest one did");
    printf("test_weak hash-edges: passed\n");
}

/* ---- Mode resurrect: ephemerons reached from what a guardian queues ----
 *
 * A dead object registered with a guardian holds an ephemeron and, in another field, the
 * ephemeron's key; nothing else holds either. Queueing the object keeps it and all it
 * reaches, so the ephemeron's key is live and the ephemeron must keep its value, in a
 * minor collection (the object young) and in a major one (old). The ephemeron is found
 * only while tracing what was queued, after the passes over the listed ephemerons. */
static void resurrect_check(void)
{
    enum { GUARDIAN, DEAD };
    roots[GUARDIAN] = gc_alloc_guardian(mut, 0);
    CHECK(roots[GUARDIAN] != NULL);
    for (int round = 0; round < 4; round++) {
        bool major = round % 2 == 1;
        struct node *holder = cost_node(2);
        roots[DEAD] = holder;
        holder->id = 7;
        struct node *key = cost_node(1);
        holder = roots[DEAD];
        holder->slots[1] = key;
        void *value = cost_node(1);
        holder = roots[DEAD];
        ((struct node *)value)->id = 8;
        void *e = gc_alloc_ephemeron(mut, 0, holder->slots[1], value);
        CHECK(e != NULL);
        holder = roots[DEAD];
        holder->slots[0] = e;
        if (major) /* old before it dies */
            gc_collect(mut, GC_COLLECT_MINOR);
        CHECK(gc_guardian_register(heap, roots[GUARDIAN], roots[DEAD]) == 0);
        roots[DEAD] = NULL;
        gc_collect(mut, major ? GC_COLLECT_MAJOR : GC_COLLECT_MINOR);
        struct node *back = gc_guardian_next(heap, roots[GUARDIAN]);
        CHECK_MSG(back && back->id == 7, "%s", "the dead object was not queued");
        void *got = back->slots[0];
        struct node *v = gc_ephemeron_value(got);
        CHECK_MSG(!gc_ephemeron_broken(got) && gc_ephemeron_key(got) == back->slots[1] && v &&
                      v->id == 8,
                  "an ephemeron reached from a queued object lost its live key in a %s collection",
                  major ? "major" : "minor");
    }
    printf("test_weak resurrect: passed\n");
}

int main(int argc, char **argv)
{
    enum gc_barrier_kind barrier = barrier_from_args(argc, argv);
    unsigned gc_threads = 0;
    CHECK_MSG((argc == 5 || (argc == 6 && sscanf(argv[5], "gc-threads=%u", &gc_threads) == 1 &&
                             gc_threads >= 1)) &&
                  (!strcmp(argv[4], "minor") || !strcmp(argv[4], "major") ||
                   !strcmp(argv[4], "concurrent") || !strcmp(argv[4], "cost") ||
                   !strcmp(argv[4], "cycle-writes") || !strcmp(argv[4], "hash-edges") ||
                   !strcmp(argv[4], "resurrect")),
              "%s",
              "usage: test_weak BARRIER SEED STEPS "
              "minor|major|concurrent|cost|cycle-writes|hash-edges|resurrect [gc-threads=N]");
    concurrent_cycles = !strcmp(argv[4], "concurrent") || !strcmp(argv[4], "cycle-writes");
    rng_state = strtoull(argv[2], NULL, 10) * 0x9e3779b97f4a7c15ull + 1;
    long steps = strtol(argv[3], NULL, 10);
    bool majors_only = !strcmp(argv[4], "major");

    if (gc_threads > 1) {
        /* Every collection on the workers, each of them taking part, whatever its size. */
        setenv("GCVM_GC_PARALLEL_MIN_KB", "0", 1);
        setenv("GCVM_GC_WORKERS_TOGETHER", "1", 1);
    }
    struct gc_config cfg;
    gc_config_init(&cfg);
    cfg.barrier = barrier;
    cfg.heap_max_bytes = 256u << 20;
    cfg.nursery_bytes = 4u << 20;
    cfg.major_threshold_bytes = 128u << 20; /* collections only when the test asks */
    cfg.verify = 1;
    cfg.concurrent_marking = concurrent_cycles ? 1 : -1;
    cfg.parallelism = gc_threads;
    char err[256];
    heap = gc_heap_create(&cfg, err, sizeof err);
    CHECK_MSG(heap != NULL, "%s", err);
    mut = attach_or_fail(heap);
    if (concurrent_cycles)
        gc_debug_marker_hold(heap, 1);
    CHECK(gc_register_kind(heap, KIND_NODE, trace_node) == 0);
    CHECK(gc_register_kind(heap, GC_KIND_EPHEMERON, trace_node) == -1);
    if (!strcmp(argv[4], "cost") || !strcmp(argv[4], "cycle-writes") ||
        !strcmp(argv[4], "hash-edges") || !strcmp(argv[4], "resurrect")) {
        for (int r = 0; r < ROOTS; r++)
            CHECK(gc_root_add(heap, &roots[r]) == 0);
        if (!strcmp(argv[4], "cost"))
            cost_check();
        else if (!strcmp(argv[4], "cycle-writes"))
            cycle_writes_check();
        else if (!strcmp(argv[4], "hash-edges"))
            hash_edges_check();
        else
            resurrect_check();
        struct gc_stats st;
        gc_get_stats(heap, &st);
        CHECK_MSG(gc_threads < 2 || st.parallel_marks >= st.major_collections,
                  "%" PRIu64 " of %" PRIu64 " major collections marked on the workers",
                  st.parallel_marks, st.major_collections);
        gc_heap_destroy(heap);
        return 0;
    }
    for (int r = 0; r < ROOTS; r++) {
        root_ids[r] = -1;
        CHECK(gc_root_add(heap, &roots[r]) == 0);
    }
    for (int g = 0; g < GUARDIANS; g++)
        CHECK(gc_root_add(heap, &guardians[g]) == 0);
    for (int t = 0; t < 2; t++) {
        ballast_ids[t] = -1;
        CHECK(gc_root_add(heap, &ballast[t]) == 0);
    }
    ballast_wanted = barrier != GC_BARRIER_GCVM_DIRTY && barrier != GC_BARRIER_GCVM_PROTECT;
    ballast_step(0);

    uint32_t *seen = NULL;
    uint32_t epoch = 0;
    unsigned long long broken = 0;
    uint32_t collections = 0;
    for (long s = 1; s <= steps; s++) {
        mutate();
        if (s % COLLECT_EVERY == 0) {
            bool major = majors_only || below(8) == 0;
            collect_and_check(major, &epoch, &seen);
            ballast_step(++collections);
        }
    }
    for (size_t i = 0; i < model_count; i++) {
        broken += model[i].type == M_EPH && model[i].broken;
    }
    printf("test_weak %s: %zu objects, %llu ephemerons broken (%llu old ones with a young "
           "key in a minor collection), %llu objects queued by guardians, %u collections, %llu "
           "cycles with writes\n",
           gc_barrier_name(barrier), model_count, broken, old_broken_in_minor, guardian_queued,
           epoch, cycles_with_writes);
    struct gc_stats stats;
    gc_get_stats(heap, &stats);
    CHECK_MSG(!concurrent_cycles || (stats.concurrent_cycles > 0 && cycles_with_writes > 0), "%s",
              "no concurrent cycle ran, or none with writes");
    CHECK_MSG(gc_threads < 2 || majors_only ||
                  stats.parallel_minor_collections >= stats.minor_collections,
              "%" PRIu64 " of %" PRIu64 " minor collections ran on %u collector threads",
              stats.parallel_minor_collections, stats.minor_collections, gc_threads);
    /* Parallel marking: every stop-the-world major collection and every cycle's final
     * pause marked on the workers, and the second worker marked some of it. */
    uint64_t marked_by_others = 0;
    for (unsigned w = 1; w < GC_STATS_WORKERS; w++)
        marked_by_others += stats.objects_marked_by_worker[w];
    printf("parallel marks %" PRIu64 " of %" PRIu64 " major collections, objects marked by "
           "worker 0: %" PRIu64 ", by the others: %" PRIu64 "\n",
           stats.parallel_marks, stats.major_collections, stats.objects_marked_by_worker[0],
           marked_by_others);
    CHECK_MSG(gc_threads < 2 || stats.parallel_marks >= stats.major_collections,
              "%" PRIu64 " of %" PRIu64 " major collections marked on %u collector threads",
              stats.parallel_marks, stats.major_collections, gc_threads);
    /* Not under concurrent marking: there the final pauses mark only what the stepped
     * marker left, a few hundred objects each, which the first worker can take whole
     * before the second starts (on a loaded machine, in all 30 of a run's final pauses). */
    CHECK_MSG(gc_threads < 2 || stats.major_collections == 0 || concurrent_cycles ||
                  marked_by_others > 0,
              "%s", "the other collector threads marked nothing");
    CHECK_MSG(broken > 0 && guardian_queued > 0, "%s",
              "no ephemeron broken or no object queued: the test tested nothing");
    CHECK_MSG(majors_only || old_broken_in_minor > 0 || barrier == GC_BARRIER_NONE, "%s",
              "no old ephemeron lost a young key in a minor collection");
    gc_heap_destroy(heap);
    for (size_t i = 0; i < model_count; i++) {
        free(model[i].registered);
        free(model[i].queued);
    }
    free(model);
    free(seen);
    free(work);
    free(pending);
    free(tree_b);
    free(heap_by_id);
    return 0;
}
