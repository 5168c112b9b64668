/* eqv? and equal?. equal? compares pairs and vectors by their contents and terminates on
 * every structure, circular ones included: it first compares as a plain recursion with a
 * budget of steps, which settles nearly every call quickly; past the budget it starts
 * again, remembering in a union-find over the objects met which pairs it has already taken
 * as equal, so a shared (DAG) or cyclic structure is walked once rather than once per path.
 * Comparing does not allocate in the heap, so the objects cannot move meanwhile and the
 * union-find may key them by address. */
#include <stdlib.h>
#include <string.h>

#include "numbers.h"

void stack_check(void);

/* Steps of plain recursion before switching to the union-find comparison. */
#define EQUAL_BUDGET 100000

bool values_eqv(value a, value b)
{
    if (a == b)
        return true;
    if (!pointer_p(a) || !pointer_p(b) || OBJ_TYPE(a) != OBJ_TYPE(b))
        return false;
    switch (OBJ_TYPE(a)) {
    case T_FLONUM: return memcmp(&OBJ(a)[1], &OBJ(b)[1], sizeof(double)) == 0;
    case T_BIGNUM: /* normalised: equal numbers have equal limbs */
        return HDR(a) == HDR(b) &&
               memcmp(BIG_LIMBS(a), BIG_LIMBS(b), (size_t)BIG_NLIMBS(a) * sizeof(mp_limb_t)) == 0;
    case T_RATNUM: return values_eqv(RAT_NUM(a), RAT_NUM(b)) && values_eqv(RAT_DEN(a), RAT_DEN(b));
    default: return false;
    }
}

/* Strings and bytevectors (both of a's type): equal when their characters or bytes are. */
static bool same_bytes(value a, value b)
{
    size_t n = HDR_LEN(a);
    if (OBJ_TYPE(a) == T_STRING)
        return n == HDR_LEN(b) &&
               memcmp(STRING_CHARS(a), STRING_CHARS(b), n * sizeof(uint32_t)) == 0;
    return n == HDR_LEN(b) && memcmp(BV_BYTES(a), BV_BYTES(b), n) == 0;
}

/* ---- The union-find: an open-addressing table from object address to node ---- */

struct union_find {
    value *keys;
    uint32_t *stamp; /* a slot is in use when its stamp is the current generation */
    uint32_t *parent;
    size_t cap, used;
    uint32_t generation;
};
static SCM_THREAD_LOCAL struct union_find uf;

void equal_thread_finish(void)
{
    free(uf.keys);
    free(uf.stamp);
    free(uf.parent);
    memset(&uf, 0, sizeof uf);
}

static size_t uf_home(value v)
{
    size_t h = (size_t)(v >> 4) * 0x9E3779B97F4A7C15u;
    return (h ^ (h >> 29)) & (uf.cap - 1);
}

static void uf_grow(void)
{
    struct union_find old = uf;
    uf.cap = old.cap ? old.cap * 2 : 1024;
    uf.keys = malloc(uf.cap * sizeof *uf.keys);
    uf.stamp = calloc(uf.cap, sizeof *uf.stamp);
    uf.parent = malloc(uf.cap * sizeof *uf.parent);
    /* Where each old slot's entry went: parents are slot numbers, so they are mapped. */
    uint32_t *moved = malloc((old.cap ? old.cap : 1) * sizeof *moved);
    if (!uf.keys || !uf.stamp || !uf.parent || !moved) {
        fprintf(stderr, "gcvm-scheme: out of memory outside the heap in equal?\n");
        exit(70);
    }
    uf.generation = 1;
    uf.used = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.stamp[i] != old.generation)
            continue;
        size_t j = uf_home(old.keys[i]);
        while (uf.stamp[j] == uf.generation)
            j = (j + 1) & (uf.cap - 1);
        uf.keys[j] = old.keys[i];
        uf.stamp[j] = uf.generation;
        uf.used++;
        moved[i] = (uint32_t)j;
    }
    for (size_t i = 0; i < old.cap; i++)
        if (old.stamp[i] == old.generation)
            uf.parent[moved[i]] = moved[old.parent[i]];
    free(moved);
    free(old.keys);
    free(old.stamp);
    free(old.parent);
}

/* The node of v, added when new; the table has room (uf_assume_equal makes it). */
static uint32_t uf_node(value v)
{
    size_t j = uf_home(v);
    while (uf.stamp[j] == uf.generation) {
        if (uf.keys[j] == v)
            return (uint32_t)j;
        j = (j + 1) & (uf.cap - 1);
    }
    uf.keys[j] = v;
    uf.stamp[j] = uf.generation;
    uf.parent[j] = (uint32_t)j;
    uf.used++;
    return (uint32_t)j;
}

static uint32_t uf_find(uint32_t i)
{
    while (uf.parent[i] != i) {
        uf.parent[i] = uf.parent[uf.parent[i]]; /* path halving */
        i = uf.parent[i];
    }
    return i;
}

/* Whether a and b are already taken as equal; if not, takes them as equal from now on. */
static bool uf_assume_equal(value a, value b)
{
    if (2 * (uf.used + 2) > uf.cap)
        uf_grow(); /* before taking slot numbers: growing moves them */
    uint32_t ra = uf_find(uf_node(a));
    uint32_t rb = uf_find(uf_node(b));
    if (ra == rb)
        return true;
    uf.parent[ra] = rb;
    return false;
}

/* ---- The comparisons ---- */

/* 1 equal, 0 not, -1 when the budget ran out. With no budget (NULL) it compares without
 * limit, taking each pair of pairs or vectors met as equal in the union-find. */
static int equal_walk(value a, value b, long *budget)
{
    stack_check();
    for (;;) {
        if (budget && --*budget < 0)
            return -1;
        if (values_eqv(a, b))
            return 1;
        if (!POINTER_P(a) || !POINTER_P(b) || OBJ_TYPE(a) != OBJ_TYPE(b))
            return 0;
        switch (OBJ_TYPE(a)) {
        case T_PAIR: {
            if (!budget && uf_assume_equal(a, b))
                return 1;
            int r = equal_walk(CAR(a), CAR(b), budget);
            if (r != 1)
                return r;
            a = CDR(a);
            b = CDR(b);
            continue;
        }
        case T_STRING:
        case T_BYTEVECTOR: return same_bytes(a, b);
        case T_VECTOR:
            if (VLEN(a) != VLEN(b))
                return 0;
            if (!budget && uf_assume_equal(a, b))
                return 1;
            for (size_t i = 0; i < VLEN(a); i++) {
                int r = equal_walk(VREF(a, i), VREF(b, i), budget);
                if (r != 1)
                    return r;
            }
            return 1;
        default: return 0;
        }
    }
}

bool values_equal(value a, value b)
{
    long budget = EQUAL_BUDGET;
    int r = equal_walk(a, b, &budget);
    if (r >= 0)
        return r == 1;
    /* A new generation empties the table without clearing it. */
    if (++uf.generation == 0) {
        memset(uf.stamp, 0, uf.cap * sizeof *uf.stamp);
        uf.generation = 1;
    }
    uf.used = 0;
    return equal_walk(a, b, NULL) == 1;
}
