/* Workloads with a live heap of real size, written once and compiled once per collector
 * (so that each collector's inline allocation and barrier stay inline). Before including
 * this file a translation unit defines:
 *   BH_NEW(bytes)        a zeroed object that may hold pointers (any size)
 *   BH_NEW_DATA(bytes)   a zeroed object that holds none
 *   BH_STORE(obj, f, v)  obj->f = v, with the collector's write barrier
 *   BH_STORE_AT(a, i, v) a[i] = v for an array of pointers, with the barrier
 * Objects that must survive an allocation are kept in bh_roots and bh_stack, which a
 * precise collector registers; a conservative one finds them in static data.
 *
 * Each workload builds its structure to the requested live size (the warm-up), calls
 * bh_steady_state_begins(), then replaces twice as many objects as it holds (the steady
 * state), and checks its result: 0 when right. */
#include <stddef.h>
#include <stdint.h>

enum { BH_ROOT_COUNT = 2, BH_STACK_SIZE = 128 };
static void *bh_roots[BH_ROOT_COUNT];
static void *bh_stack[BH_STACK_SIZE]; /* for the recursive tree builder */
static size_t bh_sp;

static inline void bh_push(void *p)
{
    bh_stack[bh_sp++] = p;
}
static inline void *bh_pop(void)
{
    return bh_stack[--bh_sp];
}

/* Called between the warm-up and the steady state (the driver resets pause figures). */
static void bh_steady_state_begins(void);

static uint64_t bh_rng = 0x2545F4914F6CDD1Dull;
static uint64_t bh_random(void)
{
    bh_rng ^= bh_rng << 13;
    bh_rng ^= bh_rng >> 7;
    bh_rng ^= bh_rng << 17;
    return bh_rng;
}

/* ---- array-churn: a large array of small records, entries replaced at random ---- */

struct bh_leaf {
    intptr_t a, b;
};
struct bh_record {
    intptr_t id;
    struct bh_leaf *leaf;
};

static struct bh_record *bh_new_record(intptr_t id)
{
    struct bh_leaf *leaf = BH_NEW_DATA(sizeof *leaf);
    leaf->a = id;
    leaf->b = ~id;
    bh_roots[1] = leaf;
    struct bh_record *r = BH_NEW(sizeof *r);
    r->id = id;
    BH_STORE(r, leaf, (struct bh_leaf *)bh_roots[1]);
    return r;
}

/* About 72 bytes live per entry: the array slot, the record and its leaf. */
static int bh_array_churn(size_t live_bytes)
{
    size_t n = live_bytes / 72 + 1;
    bh_roots[0] = BH_NEW(n * sizeof(void *));
    intptr_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        struct bh_record *r = bh_new_record((intptr_t)i);
        BH_STORE_AT((struct bh_record **)bh_roots[0], i, r);
        sum += (intptr_t)i;
    }
    bh_steady_state_begins();
    for (size_t k = 0; k < 2 * n; k++) {
        size_t i = bh_random() % n;
        intptr_t id = (intptr_t)(n + k);
        struct bh_record *r = bh_new_record(id);
        struct bh_record **array = bh_roots[0];
        sum += id - array[i]->id;
        BH_STORE_AT(array, i, r);
    }
    struct bh_record **array = bh_roots[0];
    intptr_t walked = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bh_record *r = array[i];
        if (r->leaf->a != r->id || r->leaf->b != ~r->id)
            return 1;
        walked += r->id;
    }
    bh_roots[0] = bh_roots[1] = NULL;
    return walked == sum ? 0 : 1;
}

/* ---- table: a large hash table of chained entries, values replaced by young ones ---- */

struct bh_entry {
    intptr_t key;
    struct bh_leaf *value;
    struct bh_entry *next;
};

/* About 72 bytes live per key: the entry, its value and a bucket slot for 4 keys. */
static int bh_table(size_t live_bytes)
{
    size_t keys = live_bytes / 72 + 1, buckets = keys / 4 + 1;
    bh_roots[0] = BH_NEW(buckets * sizeof(void *));
    intptr_t sum = 0;
    for (size_t step = 0; step < 3 * keys; step++) {
        if (step == keys)
            bh_steady_state_begins();
        intptr_t key = step < keys ? (intptr_t)step : (intptr_t)(bh_random() % keys);
        struct bh_leaf *v = BH_NEW_DATA(sizeof *v);
        v->a = (intptr_t)step;
        bh_roots[1] = v;
        struct bh_entry **table = bh_roots[0];
        size_t b = (size_t)key % buckets;
        struct bh_entry *e = table[b];
        while (e && e->key != key)
            e = e->next;
        if (e) {
            sum += (intptr_t)step - e->value->a;
            BH_STORE(e, value, (struct bh_leaf *)bh_roots[1]);
            continue;
        }
        e = BH_NEW(sizeof *e);
        table = bh_roots[0];
        e->key = key;
        BH_STORE(e, value, (struct bh_leaf *)bh_roots[1]);
        BH_STORE(e, next, table[b]);
        BH_STORE_AT(table, b, e);
        sum += (intptr_t)step;
    }
    struct bh_entry **table = bh_roots[0];
    intptr_t walked = 0;
    size_t found = 0;
    for (size_t b = 0; b < buckets; b++)
        for (const struct bh_entry *e = table[b]; e; e = e->next, found++)
            walked += e->value->a;
    bh_roots[0] = bh_roots[1] = NULL;
    return walked == sum && found == keys ? 0 : 1;
}

/* ---- tree-replace: a long-lived binary tree whose random subtrees are replaced ---- */

struct bh_node {
    struct bh_node *left, *right;
    intptr_t depth, mark;
};

enum { BH_SUBTREE_DEPTH = 6 };

/* A complete tree of the given depth, built bottom-up (every store goes into the newest
 * object); the children wait on bh_stack while their parent is allocated. */
static struct bh_node *bh_make_tree(int depth)
{
    if (depth > 0) {
        bh_push(bh_make_tree(depth - 1));
        bh_push(bh_make_tree(depth - 1));
    }
    struct bh_node *n = BH_NEW(sizeof *n);
    if (depth > 0) {
        BH_STORE(n, right, (struct bh_node *)bh_pop());
        BH_STORE(n, left, (struct bh_node *)bh_pop());
    }
    n->depth = depth;
    return n;
}

static size_t bh_count(const struct bh_node *n, int depth)
{
    if (!n || n->depth != depth)
        return 0;
    return 1 + (depth ? bh_count(n->left, depth - 1) + bh_count(n->right, depth - 1) : 0);
}

/* About 48 bytes live per node. */
static int bh_tree_replace(size_t live_bytes)
{
    int depth = BH_SUBTREE_DEPTH + 1;
    while (((size_t)2 << (depth + 1)) * 48 <= live_bytes)
        depth++;
    bh_roots[0] = bh_make_tree(depth);
    size_t nodes = ((size_t)1 << (depth + 1)) - 1;
    size_t subtree_nodes = ((size_t)1 << (BH_SUBTREE_DEPTH + 1)) - 1;
    bh_steady_state_begins();
    for (size_t k = 0; k < 2 * nodes / subtree_nodes; k++) {
        struct bh_node *fresh = bh_make_tree(BH_SUBTREE_DEPTH);
        struct bh_node *parent = bh_roots[0];
        uint64_t path = bh_random();
        for (int d = depth; d > BH_SUBTREE_DEPTH + 1; d--, path >>= 1)
            parent = path & 1 ? parent->left : parent->right;
        if (path & 1)
            BH_STORE(parent, left, fresh);
        else
            BH_STORE(parent, right, fresh);
    }
    size_t counted = bh_count(bh_roots[0], depth);
    bh_roots[0] = NULL;
    return counted == nodes ? 0 : 1;
}

enum bh_workload { BH_ARRAY_CHURN, BH_TABLE, BH_TREE_REPLACE, BH_WORKLOAD_COUNT };

static int bh_run(enum bh_workload w, size_t live_bytes)
{
    switch (w) {
    case BH_ARRAY_CHURN: return bh_array_churn(live_bytes);
    case BH_TABLE: return bh_table(live_bytes);
    case BH_TREE_REPLACE: return bh_tree_replace(live_bytes);
    default: return 1;
    }
}
