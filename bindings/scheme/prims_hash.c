/* SRFI-69 hash tables, and Guile's weak-key tables (make-weak-key-hash-table).
 *
 * A table is [hdr(weak) | equivalence | hash | count | buckets]. The equivalence is one of
 * the built-in kinds (EQ, EQV, EQUAL, STRING, STRING_CI) as a fixnum, or a procedure;
 * hash is #f (the kind's own) or a procedure called with the key. buckets is a vector
 * of chains of nodes, each node a 4-slot vector [key | value | next | hash]; in a weak
 * table the key slot holds an ephemeron from the key to the value, and broken ones are
 * unlinked when met. The eq? and eqv? hashes are identity hashes that collections do not
 * change (docs/collector.md), so no table is ever rehashed after a collection.
 *
 * Every value held across an allocation or a call into Scheme lives on the value stack:
 * objects move. */
#include <ctype.h>
#include <string.h>

#include "scheme.h"

enum equiv_kind { EQ, EQV, EQUAL, STRING, STRING_CI };
enum { HT_EQUIV = 1, HT_HASH, HT_COUNT, HT_BUCKETS, HT_WORDS = 4 };
enum { N_KEY, N_VALUE, N_NEXT, N_HASH, NODE_SLOTS };
#define HASH_BOUND ((uint64_t)1 << 40) /* the default bound of hash, string-hash, ... */
#define MIN_BUCKETS 16u

static value prim_eq, prim_eqv, prim_equal, prim_string_eq, prim_string_ci_eq;
static value prim_hash, prim_string_hash, prim_string_ci_hash, prim_identity_hash;

#define TABLE(t) OBJ(t)
#define WEAK_P(t) (HDR_LEN(t) != 0)

static value check_table(const char *who, value t)
{
    if (!IS(t, T_HASH_TABLE))
        type_error(who, "a hash table", t);
    return t;
}

/* ---- Hash functions ---- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    return x;
}

static uint64_t bytes_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

/* A string's characters (case-folded for string-ci=? tables). */
static uint64_t string_hash(value s, bool fold)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the code points */
    const uint32_t *chars = STRING_CHARS(s);
    for (size_t i = 0; i < STRING_LEN(s); i++)
        h = (h ^ (fold ? char_foldcase(chars[i]) : chars[i])) * 1099511628211ull;
    return h;
}

static uint64_t eqv_hash(value v)
{
    if (FLONUM_P(v)) {
        uint64_t bits;
        memcpy(&bits, &OBJ(v)[1], sizeof bits);
        return mix(bits);
    }
    return identity_hash(v);
}

/* Consistent with equal?: strings, bytevectors, pairs and vectors by contents (a bounded
 * part of them), everything else by eqv?. */
static uint64_t equal_hash(value v, int *budget)
{
    if (--*budget < 0 || !POINTER_P(v))
        return POINTER_P(v) ? 0 : eqv_hash(v);
    switch (OBJ_TYPE(v)) {
    case T_STRING: return string_hash(v, false);
    case T_BYTEVECTOR: return bytes_hash((const char *)BV_BYTES(v), HDR_LEN(v)) ^ 1;
    case T_PAIR: return mix(equal_hash(CAR(v), budget) * 31 + equal_hash(CDR(v), budget) + 2);
    case T_VECTOR: {
        uint64_t h = VLEN(v) + 3;
        for (size_t i = 0; i < VLEN(v) && *budget > 0; i++)
            h = mix(h * 31 + equal_hash(VREF(v, i), budget));
        return h;
    }
    case T_SYMBOL: return SYM(v)->hash;
    default: return eqv_hash(v);
    }
}

static uint64_t builtin_hash(enum equiv_kind kind, value key, const char *who)
{
    switch (kind) {
    case EQ: return identity_hash(key);
    case EQV: return eqv_hash(key);
    case STRING:
    case STRING_CI:
        if (!STRING_P(key))
            type_error(who, "a string key (the table compares with string=?)", key);
        return string_hash(key, kind == STRING_CI);
    case EQUAL:
    default: {
        int budget = 64;
        return equal_hash(key, &budget);
    }
    }
}

/* The hash of the key at vs[kslot] in table vs[tslot]; may call Scheme. */
static uint64_t key_hash(size_t tslot, size_t kslot, const char *who)
{
    value t = vs[tslot];
    value h = TABLE(t)[HT_HASH];
    value eq = TABLE(t)[HT_EQUIV];
    if (h == FALSE_V)
        return builtin_hash(FIXNUM_P(eq) ? (enum equiv_kind)FIX(eq) : EQUAL, vs[kslot], who);
    if (h == prim_hash)
        return builtin_hash(EQUAL, vs[kslot], who);
    if (h == prim_identity_hash)
        return builtin_hash(EQ, vs[kslot], who);
    if (h == prim_string_hash || h == prim_string_ci_hash)
        return builtin_hash(h == prim_string_hash ? STRING : STRING_CI, vs[kslot], who);
    value r = apply1(h, vs[kslot]);
    if (!FIXNUM_P(r))
        scm_error1("hash table: the hash function returned something other than an exact "
                   "integer",
                   r);
    return mix((uint64_t)FIX(r));
}

/* Whether the key at vs[kslot] equals k under the table's equivalence; may call Scheme. */
static bool keys_equal(size_t tslot, size_t kslot, value k)
{
    value eq = TABLE(vs[tslot])[HT_EQUIV];
    value key = vs[kslot];
    if (FIXNUM_P(eq)) {
        switch ((enum equiv_kind)FIX(eq)) {
        case EQ: return key == k;
        case EQV: return values_eqv(key, k);
        case STRING:
        case STRING_CI:
            if (!STRING_P(k) || STRING_LEN(k) != STRING_LEN(key))
                return false;
            if (FIX(eq) == STRING)
                return memcmp(STRING_CHARS(k), STRING_CHARS(key),
                              STRING_LEN(k) * sizeof(uint32_t)) == 0;
            for (size_t i = 0; i < STRING_LEN(k); i++)
                if (char_foldcase(STRING_CHARS(k)[i]) != char_foldcase(STRING_CHARS(key)[i]))
                    return false;
            return true;
        case EQUAL:
        default: return values_equal(key, k);
        }
    }
    vs_push(eq);
    vs_push(key);
    vs_push(k);
    return apply_on_stack(2) != FALSE_V;
}

/* ---- Nodes ---- */

static void count_add(value t, intptr_t delta)
{
    value *count = &OBJ(t)[HT_COUNT];
    *count = MAKE_FIX(FIX(*count) + delta);
}

static value node_key(value node, bool weak)
{
    return weak ? ephemeron_key(VREF(node, N_KEY)) : VREF(node, N_KEY);
}

static value node_value(value node, bool weak)
{
    return weak ? ephemeron_datum(VREF(node, N_KEY)) : VREF(node, N_VALUE);
}

static bool node_dead(value node, bool weak)
{
    return weak && ephemeron_broken(VREF(node, N_KEY));
}

static size_t bucket_of(value t, uint64_t hash)
{
    return (size_t)(hash % VLEN(TABLE(t)[HT_BUCKETS]));
}

/* Unlinks the broken entries of a weak table's bucket. */
static void purge_bucket(value t, size_t b)
{
    value buckets = TABLE(t)[HT_BUCKETS];
    value prev = FALSE_V;
    for (value n = VREF(buckets, b); n != NIL; n = VREF(n, N_NEXT)) {
        if (!node_dead(n, true)) {
            prev = n;
            continue;
        }
        if (prev == FALSE_V)
            SET(buckets, VREF(buckets, b), VREF(n, N_NEXT));
        else
            SET(prev, VREF(prev, N_NEXT), VREF(n, N_NEXT));
        count_add(t, -1);
    }
}

/* Finds the node of the key at vs[kslot] in the table at vs[tslot], or returns #f. Its
 * hash is left in *hash. May call Scheme (hash and equivalence procedures). */
static value find_node(size_t tslot, size_t kslot, uint64_t *hash, const char *who)
{
    *hash = key_hash(tslot, kslot, who) & (uint64_t)FIX_MAX; /* what a node keeps */
    bool weak = WEAK_P(vs[tslot]);
    size_t b = bucket_of(vs[tslot], *hash);
    if (weak)
        purge_bucket(vs[tslot], b);
    size_t nslot = vsp;
    vs_push(VREF(TABLE(vs[tslot])[HT_BUCKETS], b));
    while (vs[nslot] != NIL) {
        value n = vs[nslot];
        if ((uint64_t)FIX(VREF(n, N_HASH)) == *hash && !node_dead(n, weak)) {
            if (keys_equal(tslot, kslot, node_key(n, weak))) {
                value found = vs[nslot];
                vsp = nslot;
                return found;
            }
        }
        vs[nslot] = VREF(vs[nslot], N_NEXT);
    }
    vsp = nslot;
    return FALSE_V;
}

/* Doubles the bucket vector of the table at vs[tslot]; nodes keep their hashes. */
static void grow_table(size_t tslot)
{
    size_t old_len = VLEN(TABLE(vs[tslot])[HT_BUCKETS]);
    value fresh = make_vector(2 * old_len, NIL);
    value t = vs[tslot];
    value old = TABLE(t)[HT_BUCKETS];
    for (size_t b = 0; b < old_len; b++) {
        for (value n = VREF(old, b); n != NIL;) {
            value next = VREF(n, N_NEXT);
            size_t nb = (size_t)((uint64_t)FIX(VREF(n, N_HASH)) % (2 * old_len));
            SET(n, VREF(n, N_NEXT), VREF(fresh, nb));
            SET(fresh, VREF(fresh, nb), n);
            n = next;
        }
    }
    SET(t, TABLE(t)[HT_BUCKETS], fresh);
}

/* Adds key vs[kslot] -> value vs[vslot] (known absent) with the given hash. */
static void add_node(size_t tslot, size_t kslot, size_t vslot, uint64_t hash)
{
    if ((size_t)FIX(TABLE(vs[tslot])[HT_COUNT]) >= 2 * VLEN(TABLE(vs[tslot])[HT_BUCKETS]))
        grow_table(tslot);
    bool weak = WEAK_P(vs[tslot]);
    if (weak) {
        value e = make_ephemeron(vs[kslot], vs[vslot]);
        vs[kslot] = e; /* the node holds the ephemeron; the key is reachable from it */
    }
    value n = make_vector(NODE_SLOTS, FALSE_V);
    value t = vs[tslot];
    size_t b = bucket_of(t, hash);
    value buckets = TABLE(t)[HT_BUCKETS];
    SET(n, VREF(n, N_KEY), vs[kslot]);
    if (!weak)
        SET(n, VREF(n, N_VALUE), vs[vslot]);
    VREF(n, N_NEXT) = VREF(buckets, b);
    VREF(n, N_HASH) = MAKE_FIX((intptr_t)hash);
    SET(buckets, VREF(buckets, b), n);
    count_add(t, 1);
}

static void node_set_value(value n, bool weak, value v)
{
    if (weak)
        SET(VREF(n, N_KEY), OBJ(VREF(n, N_KEY))[2], v);
    else
        SET(n, VREF(n, N_VALUE), v);
}

/* ---- Construction ---- */

static value equivalence_kind(value eq)
{
    if (eq == prim_eq)
        return MAKE_FIX(EQ);
    if (eq == prim_eqv)
        return MAKE_FIX(EQV);
    if (eq == prim_equal)
        return MAKE_FIX(EQUAL);
    if (eq == prim_string_eq)
        return MAKE_FIX(STRING);
    if (eq == prim_string_ci_eq)
        return MAKE_FIX(STRING_CI);
    return eq;
}

/* A new empty table. equiv: a built-in kind (fixnum) or a procedure; hash: #f or a
 * procedure. */
static value make_table(value equiv, value hash, bool weak)
{
    vs_push(equiv);
    vs_push(hash);
    vs_push(make_vector(MIN_BUCKETS, NIL));
    value t = alloc_object(T_HASH_TABLE, weak ? 1 : 0, HT_WORDS);
    SET(t, TABLE(t)[HT_EQUIV], vs[vsp - 3]);
    SET(t, TABLE(t)[HT_HASH], vs[vsp - 2]);
    TABLE(t)[HT_COUNT] = MAKE_FIX(0);
    SET(t, TABLE(t)[HT_BUCKETS], vs[vsp - 1]);
    vsp -= 3;
    return t;
}

/* The same, from make-hash-table's optional arguments (DEFAULT_V when absent). */
static value new_table(const char *who, value eq, value hash)
{
    if (eq != DEFAULT_V && !procedure_p(eq))
        type_error(who, "an equivalence procedure", eq);
    if (hash != DEFAULT_V && !procedure_p(hash))
        type_error(who, "a hash procedure", hash);
    return make_table(eq == DEFAULT_V ? MAKE_FIX(EQUAL) : equivalence_kind(eq),
                      hash == DEFAULT_V ? FALSE_V : hash, false);
}

static value p_make_hash_table(int argc, value *argv)
{
    return new_table("make-hash-table", argc > 0 ? argv[0] : DEFAULT_V,
                     argc > 1 ? argv[1] : DEFAULT_V);
}

static value p_make_weak_key_hash_table(int argc, value *argv)
{
    (void)argc;
    (void)argv; /* Guile's optional size; keys compare with eq? */
    return make_table(MAKE_FIX(EQ), FALSE_V, true);
}

static value p_hash_table_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_HASH_TABLE));
}

/* ---- Access ---- */

static value table_lookup(const char *who, value *argv, uint64_t *hash)
{
    check_table(who, argv[0]);
    return find_node((size_t)(argv - vs), (size_t)(argv - vs) + 1, hash, who);
}

static value p_hash_table_ref(int argc, value *argv)
{
    uint64_t hash;
    value n = table_lookup("hash-table-ref", argv, &hash);
    if (n == FALSE_V) {
        if (argc < 3 || argv[2] == DEFAULT_V)
            scm_error1("hash-table-ref: no value for this key (give a thunk for missing keys)",
                       argv[1]);
        return apply0(argv[2]);
    }
    value v = node_value(n, WEAK_P(argv[0]));
    return argc > 3 ? apply1(argv[3], v) : v;
}

static value p_hash_table_ref_default(int argc, value *argv)
{
    (void)argc;
    uint64_t hash;
    value n = table_lookup("hash-table-ref/default", argv, &hash);
    return n == FALSE_V ? argv[2] : node_value(n, WEAK_P(argv[0]));
}

static value p_hash_table_exists(int argc, value *argv)
{
    (void)argc;
    uint64_t hash;
    return BOOL(table_lookup("hash-table-exists?", argv, &hash) != FALSE_V);
}

/* Sets key argv[1] to the value at vs[vslot] in table argv[0]. */
static void table_set(const char *who, value *argv, size_t vslot)
{
    uint64_t hash;
    value n = table_lookup(who, argv, &hash);
    if (n != FALSE_V) {
        node_set_value(n, WEAK_P(argv[0]), vs[vslot]);
        return;
    }
    size_t tslot = (size_t)(argv - vs);
    vs_push(argv[1]); /* add_node may replace it by the ephemeron */
    add_node(tslot, vsp - 1, vslot, hash);
    vsp--;
}

static value p_hash_table_set(int argc, value *argv)
{
    (void)argc;
    table_set("hash-table-set!", argv, (size_t)(argv - vs) + 2);
    return UNSPEC;
}

static value p_hash_table_delete(int argc, value *argv)
{
    (void)argc;
    uint64_t hash;
    value n = table_lookup("hash-table-delete!", argv, &hash);
    if (n == FALSE_V)
        return UNSPEC;
    value t = argv[0];
    value buckets = TABLE(t)[HT_BUCKETS];
    size_t b = bucket_of(t, hash);
    if (VREF(buckets, b) == n) {
        SET(buckets, VREF(buckets, b), VREF(n, N_NEXT));
    } else {
        value prev = VREF(buckets, b);
        while (VREF(prev, N_NEXT) != n)
            prev = VREF(prev, N_NEXT);
        SET(prev, VREF(prev, N_NEXT), VREF(n, N_NEXT));
    }
    count_add(t, -1);
    return UNSPEC;
}

/* (hash-table-update! table key proc [thunk]) and .../default: the new value is proc
 * applied to the old one (thunk's or default's when the key is absent). */
static value update(const char *who, int argc, value *argv, bool with_default)
{
    uint64_t hash;
    value n = table_lookup(who, argv, &hash);
    value old;
    if (n != FALSE_V)
        old = node_value(n, WEAK_P(argv[0]));
    else if (with_default)
        old = argv[3];
    else if (argc > 3)
        old = apply0(argv[3]);
    else
        scm_error1("hash-table-update!: no value for this key (give a thunk for missing keys)",
                   argv[1]);
    vs_push(apply1(argv[2], old));
    table_set(who, argv, vsp - 1);
    vsp--;
    return UNSPEC;
}

static value p_hash_table_update(int argc, value *argv)
{
    return update("hash-table-update!", argc, argv, false);
}

static value p_hash_table_update_default(int argc, value *argv)
{
    return update("hash-table-update!/default", argc, argv, true);
}

/* Live entries: counted (a weak table's broken ones are unlinked first). */
static value p_hash_table_size(int argc, value *argv)
{
    (void)argc;
    value t = check_table("hash-table-size", argv[0]);
    if (WEAK_P(t))
        for (size_t b = 0; b < VLEN(TABLE(t)[HT_BUCKETS]); b++)
            purge_bucket(t, b);
    return TABLE(t)[HT_COUNT];
}

/* ---- Whole-table operations: over a snapshot, so procedures may change the table ---- */

/* A list of the live entries as (key . value) pairs, or of keys or values alone. */
enum snapshot_kind { PAIRS, KEYS, VALUES };
static value snapshot(size_t tslot, enum snapshot_kind what)
{
    bool weak = WEAK_P(vs[tslot]);
    size_t acc = vsp, node = vsp + 1;
    vs_push(NIL);
    vs_push(NIL);
    size_t nbuckets = VLEN(TABLE(vs[tslot])[HT_BUCKETS]);
    for (size_t b = 0; b < nbuckets; b++) {
        for (vs[node] = VREF(TABLE(vs[tslot])[HT_BUCKETS], b); vs[node] != NIL;
             vs[node] = VREF(vs[node], N_NEXT)) {
            if (node_dead(vs[node], weak))
                continue;
            value item;
            if (what == KEYS)
                item = node_key(vs[node], weak);
            else if (what == VALUES)
                item = node_value(vs[node], weak);
            else
                item = cons(node_key(vs[node], weak), node_value(vs[node], weak));
            vs[acc] = cons(item, vs[acc]);
        }
    }
    vsp = acc;
    return vs[acc];
}

static value p_hash_table_keys(int argc, value *argv)
{
    (void)argc;
    check_table("hash-table-keys", argv[0]);
    return snapshot((size_t)(argv - vs), KEYS);
}

static value p_hash_table_values(int argc, value *argv)
{
    (void)argc;
    check_table("hash-table-values", argv[0]);
    return snapshot((size_t)(argv - vs), VALUES);
}

static value p_hash_table_to_alist(int argc, value *argv)
{
    (void)argc;
    check_table("hash-table->alist", argv[0]);
    return snapshot((size_t)(argv - vs), PAIRS);
}

static value p_hash_table_walk(int argc, value *argv)
{
    (void)argc;
    check_table("hash-table-walk", argv[0]);
    vs_push(snapshot((size_t)(argv - vs), PAIRS));
    size_t l = vsp - 1;
    for (; vs[l] != NIL; vs[l] = CDR(vs[l])) {
        vs_push(argv[1]);
        vs_push(CAR(CAR(vs[l])));
        vs_push(CDR(CAR(vs[l])));
        apply_on_stack(2);
    }
    vsp = l;
    return UNSPEC;
}

static value p_hash_table_fold(int argc, value *argv)
{
    (void)argc;
    check_table("hash-table-fold", argv[0]);
    vs_push(snapshot((size_t)(argv - vs), PAIRS));
    size_t l = vsp - 1;
    vs_push(argv[2]);
    size_t acc = vsp - 1;
    for (; vs[l] != NIL; vs[l] = CDR(vs[l])) {
        vs_push(argv[1]);
        vs_push(CAR(CAR(vs[l])));
        vs_push(CDR(CAR(vs[l])));
        vs_push(vs[acc]);
        vs[acc] = apply_on_stack(3);
    }
    value r = vs[acc];
    vsp = l;
    return r;
}

/* Adds each (key . value) of the list at vs[lslot] to the table at vs[tslot]; with
 * keep_first, a key already present keeps its value (alist->hash-table). */
static void add_pairs(size_t tslot, size_t lslot, bool keep_first, const char *who)
{
    for (; PAIR_P(vs[lslot]); vs[lslot] = CDR(vs[lslot])) {
        if (!PAIR_P(CAR(vs[lslot])))
            type_error(who, "an association list", CAR(vs[lslot]));
        size_t base = vsp;
        vs_push(vs[tslot]);
        vs_push(CAR(CAR(vs[lslot])));
        vs_push(CDR(CAR(vs[lslot])));
        uint64_t hash;
        value n = find_node(base, base + 1, &hash, who);
        if (n == FALSE_V)
            add_node(base, base + 1, base + 2, hash);
        else if (!keep_first)
            node_set_value(n, WEAK_P(vs[base]), vs[base + 2]);
        vsp = base;
    }
}

static value p_alist_to_hash_table(int argc, value *argv)
{
    if (list_length(argv[0]) < 0)
        type_error("alist->hash-table", "an association list", argv[0]);
    vs_push(new_table("alist->hash-table", argc > 1 ? argv[1] : DEFAULT_V,
                      argc > 2 ? argv[2] : DEFAULT_V));
    vs_push(argv[0]);
    add_pairs(vsp - 2, vsp - 1, true, "alist->hash-table");
    vsp--;
    return vs[--vsp];
}

static value p_hash_table_copy(int argc, value *argv)
{
    (void)argc;
    value t = check_table("hash-table-copy", argv[0]);
    vs_push(make_table(TABLE(t)[HT_EQUIV], TABLE(t)[HT_HASH], WEAK_P(t)));
    size_t tslot = vsp - 1;
    vs_push(snapshot((size_t)(argv - vs), PAIRS));
    add_pairs(tslot, vsp - 1, false, "hash-table-copy");
    vsp--;
    return vs[--vsp];
}

static value p_hash_table_merge(int argc, value *argv)
{
    (void)argc;
    check_table("hash-table-merge!", argv[0]);
    check_table("hash-table-merge!", argv[1]);
    vs_push(snapshot((size_t)(argv - vs) + 1, PAIRS));
    add_pairs((size_t)(argv - vs), vsp - 1, false, "hash-table-merge!");
    vsp--;
    return argv[0];
}

static value p_hash_table_clear(int argc, value *argv)
{
    (void)argc;
    check_table("hash-table-clear!", argv[0]);
    value fresh = make_vector(MIN_BUCKETS, NIL);
    SET(argv[0], TABLE(argv[0])[HT_BUCKETS], fresh);
    TABLE(argv[0])[HT_COUNT] = MAKE_FIX(0);
    return UNSPEC;
}

static value p_hash_table_equivalence(int argc, value *argv)
{
    (void)argc;
    value eq = TABLE(check_table("hash-table-equivalence-function", argv[0]))[HT_EQUIV];
    if (!FIXNUM_P(eq))
        return eq;
    const value kinds[] = {prim_eq, prim_eqv, prim_equal, prim_string_eq, prim_string_ci_eq};
    return kinds[FIX(eq)];
}

static value p_hash_table_hash_function(int argc, value *argv)
{
    (void)argc;
    value t = check_table("hash-table-hash-function", argv[0]);
    if (TABLE(t)[HT_HASH] != FALSE_V)
        return TABLE(t)[HT_HASH];
    value eq = TABLE(t)[HT_EQUIV];
    const value kinds[] = {prim_identity_hash, prim_hash, prim_hash, prim_string_hash,
                           prim_string_ci_hash};
    return FIXNUM_P(eq) ? kinds[FIX(eq)] : prim_hash;
}

/* ---- Hash procedures: (hash obj [bound]) ---- */

static value bounded(const char *who, int argc, value *argv, uint64_t h)
{
    uint64_t bound = HASH_BOUND;
    if (argc > 1) {
        intptr_t b = arg_fixnum(who, argv[1]);
        if (b <= 0)
            type_error(who, "a positive bound", argv[1]);
        bound = (uint64_t)b;
    }
    return MAKE_FIX((intptr_t)(mix(h) % bound));
}

static value p_hash(int argc, value *argv)
{
    return bounded("hash", argc, argv, builtin_hash(EQUAL, argv[0], "hash"));
}

static value p_string_hash(int argc, value *argv)
{
    if (!STRING_P(argv[0]))
        type_error("string-hash", "a string", argv[0]);
    return bounded("string-hash", argc, argv, builtin_hash(STRING, argv[0], "string-hash"));
}

static value p_string_ci_hash(int argc, value *argv)
{
    if (!STRING_P(argv[0]))
        type_error("string-ci-hash", "a string", argv[0]);
    return bounded("string-ci-hash", argc, argv,
                   builtin_hash(STRING_CI, argv[0], "string-ci-hash"));
}

static value p_hash_by_identity(int argc, value *argv)
{
    return bounded("hash-by-identity", argc, argv, identity_hash(argv[0]));
}

void prims_hash_init(void)
{
    prim_eq = SYM(intern_c("eq?"))->global;
    prim_eqv = SYM(intern_c("eqv?"))->global;
    prim_equal = SYM(intern_c("equal?"))->global;
    prim_string_eq = SYM(intern_c("string=?"))->global;
    prim_string_ci_eq = SYM(intern_c("string-ci=?"))->global;
    prim_hash = define_primitive("hash", p_hash, 1, 2);
    prim_string_hash = define_primitive("string-hash", p_string_hash, 1, 2);
    prim_string_ci_hash = define_primitive("string-ci-hash", p_string_ci_hash, 1, 2);
    prim_identity_hash = define_primitive("hash-by-identity", p_hash_by_identity, 1, 2);
    define_primitive("make-hash-table", p_make_hash_table, 0, -1);
    define_primitive("make-weak-key-hash-table", p_make_weak_key_hash_table, 0, 1);
    define_primitive("hash-table?", p_hash_table_p, 1, 1);
    define_primitive("hash-table-ref", p_hash_table_ref, 2, 4);
    define_primitive("hash-table-ref/default", p_hash_table_ref_default, 3, 3);
    define_primitive("hash-table-set!", p_hash_table_set, 3, 3);
    define_primitive("hash-table-delete!", p_hash_table_delete, 2, 2);
    define_primitive("hash-table-exists?", p_hash_table_exists, 2, 2);
    define_primitive("hash-table-contains?", p_hash_table_exists, 2, 2);
    define_primitive("hash-table-update!", p_hash_table_update, 3, 4);
    define_primitive("hash-table-update!/default", p_hash_table_update_default, 4, 4);
    define_primitive("hash-table-size", p_hash_table_size, 1, 1);
    define_primitive("hash-table-keys", p_hash_table_keys, 1, 1);
    define_primitive("hash-table-values", p_hash_table_values, 1, 1);
    define_primitive("hash-table-walk", p_hash_table_walk, 2, 2);
    define_primitive("hash-table-fold", p_hash_table_fold, 3, 3);
    define_primitive("hash-table->alist", p_hash_table_to_alist, 1, 1);
    define_primitive("alist->hash-table", p_alist_to_hash_table, 1, -1);
    define_primitive("hash-table-copy", p_hash_table_copy, 1, 2);
    define_primitive("hash-table-merge!", p_hash_table_merge, 2, 2);
    define_primitive("hash-table-clear!", p_hash_table_clear, 1, 1);
    define_primitive("hash-table-equivalence-function", p_hash_table_equivalence, 1, 1);
    define_primitive("hash-table-hash-function", p_hash_table_hash_function, 1, 1);
}
