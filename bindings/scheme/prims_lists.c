/* Pairs, lists, symbols, booleans and the equivalence predicates. */
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

void stack_check(void);

static value p_cons(int argc, value *argv)
{
    (void)argc;
    return cons(argv[0], argv[1]);
}

static value p_car(int argc, value *argv)
{
    (void)argc;
    if (!PAIR_P(argv[0]))
        type_error("car", "a pair", argv[0]);
    return CAR(argv[0]);
}

static value p_cdr(int argc, value *argv)
{
    (void)argc;
    if (!PAIR_P(argv[0]))
        type_error("cdr", "a pair", argv[0]);
    return CDR(argv[0]);
}

static value p_set_car(int argc, value *argv)
{
    (void)argc;
    if (!PAIR_P(argv[0]))
        type_error("set-car!", "a pair", argv[0]);
    SET(argv[0], CAR(argv[0]), argv[1]);
    return UNSPEC;
}

static value p_set_cdr(int argc, value *argv)
{
    (void)argc;
    if (!PAIR_P(argv[0]))
        type_error("set-cdr!", "a pair", argv[0]);
    SET(argv[0], CDR(argv[0]), argv[1]);
    return UNSPEC;
}

/* c[ad]{2,4}r: the path is read right to left. */
struct cxr {
    const char *name;
};
static const char *const cxr_names[] = {"caar",   "cadr",   "cdar",   "cddr",   "caaar",  "caadr",
                                        "cadar",  "caddr",  "cdaar",  "cdadr",  "cddar",  "cdddr",
                                        "caaaar", "caaadr", "caadar", "caaddr", "cadaar", "cadadr",
                                        "caddar", "cadddr", "cdaaar", "cdaadr", "cdadar", "cdaddr",
                                        "cddaar", "cddadr", "cdddar", "cddddr"};

static value cxr_walk(int idx, value v)
{
    const char *name = cxr_names[idx];
    size_t n = strlen(name);
    value x = v;
    for (size_t i = n - 2; i >= 1; i--) {
        if (!PAIR_P(x))
            type_error(name, "a pair of the right shape", v);
        x = name[i] == 'a' ? CAR(x) : CDR(x);
    }
    return x;
}

/* clang-format cannot lay out a list of macro-made functions the same way twice. */
// clang-format off
#define CXR(i)                                                                                     \
    static value p_cxr##i(int argc, value *argv)                                                   \
    {                                                                                              \
        (void)argc;                                                                                \
        return cxr_walk(i, argv[0]);                                                               \
    }
CXR(0) CXR(1) CXR(2) CXR(3) CXR(4) CXR(5) CXR(6) CXR(7) CXR(8) CXR(9) CXR(10) CXR(11) CXR(12)
CXR(13) CXR(14) CXR(15) CXR(16) CXR(17) CXR(18) CXR(19) CXR(20) CXR(21) CXR(22) CXR(23)
CXR(24) CXR(25) CXR(26) CXR(27)
static const prim_fn cxr_fns[] = {
    p_cxr0,  p_cxr1,  p_cxr2,  p_cxr3,  p_cxr4,  p_cxr5,  p_cxr6,  p_cxr7,  p_cxr8,  p_cxr9,
    p_cxr10, p_cxr11, p_cxr12, p_cxr13, p_cxr14, p_cxr15, p_cxr16, p_cxr17, p_cxr18, p_cxr19,
    p_cxr20, p_cxr21, p_cxr22, p_cxr23, p_cxr24, p_cxr25, p_cxr26, p_cxr27};
// clang-format on

static value p_null_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(argv[0] == NIL);
}

static value p_pair_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(PAIR_P(argv[0]));
}

static value p_list_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(list_length(argv[0]) >= 0);
}

static value p_list(int argc, value *argv)
{
    return list_from_stack((size_t)(argv - vs), (size_t)argc, NIL);
}

static long checked_list(const char *who, value l)
{
    long n = list_length(l);
    if (n < 0)
        type_error(who, "a proper list", l);
    return n;
}

static value p_length(int argc, value *argv)
{
    (void)argc;
    return MAKE_FIX(checked_list("length", argv[0]));
}

static value p_make_list(int argc, value *argv)
{
    intptr_t n = arg_fixnum("make-list", argv[0]);
    if (n < 0)
        type_error("make-list", "a non-negative length", argv[0]);
    vs_push(NIL);
    for (intptr_t i = 0; i < n; i++) /* argv is on the value stack: re-read each time */
        vs[vsp - 1] = cons(argc > 1 ? argv[1] : UNSPEC, vs[vsp - 1]);
    return vs[--vsp];
}

/* Copies the list l (rooted at vs[slot]) onto the end of the list being built, whose
 * last pair is vs[tail_slot] (NIL: none yet; the head is then vs[head_slot]). */
static void append_copy(size_t slot, size_t head_slot, size_t tail_slot)
{
    while (PAIR_P(vs[slot])) {
        value p = cons(CAR(vs[slot]), NIL);
        if (vs[tail_slot] == NIL)
            vs[head_slot] = p;
        else
            SET(vs[tail_slot], CDR(vs[tail_slot]), p);
        vs[tail_slot] = p;
        vs[slot] = CDR(vs[slot]);
    }
}

static value p_append(int argc, value *argv)
{
    if (argc == 0)
        return NIL;
    size_t abase = (size_t)(argv - vs);
    size_t base = vsp;
    vs_push(NIL); /* head */
    vs_push(NIL); /* last pair */
    vs_push(NIL); /* list being copied */
    for (int i = 0; i + 1 < argc; i++) {
        checked_list("append", vs[abase + (size_t)i]);
        vs[base + 2] = vs[abase + (size_t)i];
        append_copy(base + 2, base, base + 1);
    }
    value last = vs[abase + (size_t)argc - 1];
    value r;
    if (vs[base + 1] == NIL) {
        r = last;
    } else {
        SET(vs[base + 1], CDR(vs[base + 1]), last);
        r = vs[base];
    }
    vsp = base;
    return r;
}

static value p_append_destructive(int argc, value *argv)
{
    value result = NIL, last = NIL;
    for (int i = 0; i < argc; i++) {
        value l = argv[i];
        if (l == NIL)
            continue;
        if (last == NIL)
            result = l;
        else
            SET(last, CDR(last), l);
        if (i + 1 < argc) {
            if (checked_list("append!", l) == 0)
                continue;
            while (PAIR_P(CDR(l)))
                l = CDR(l);
            last = l;
        }
    }
    return result;
}

static value p_reverse(int argc, value *argv)
{
    (void)argc;
    checked_list("reverse", argv[0]);
    vs_push(NIL);
    vs_push(argv[0]);
    while (PAIR_P(vs[vsp - 1])) {
        vs[vsp - 2] = cons(CAR(vs[vsp - 1]), vs[vsp - 2]);
        vs[vsp - 1] = CDR(vs[vsp - 1]);
    }
    vsp--;
    return vs[--vsp];
}

static value p_list_tail(int argc, value *argv)
{
    (void)argc;
    value l = argv[0];
    intptr_t k = arg_fixnum("list-tail", argv[1]);
    for (intptr_t i = 0; i < k; i++) {
        if (!PAIR_P(l))
            scm_error1("list-tail: index out of range", argv[1]);
        l = CDR(l);
    }
    return l;
}

static value p_list_ref(int argc, value *argv)
{
    (void)argc;
    value l = argv[0];
    intptr_t k = arg_fixnum("list-ref", argv[1]);
    for (intptr_t i = 0; i < k && PAIR_P(l); i++)
        l = CDR(l);
    if (k < 0 || !PAIR_P(l))
        scm_error1("list-ref: index out of range", argv[1]);
    return CAR(l);
}

static value p_list_set(int argc, value *argv)
{
    (void)argc;
    value l = argv[0];
    intptr_t k = arg_fixnum("list-set!", argv[1]);
    for (intptr_t i = 0; i < k && PAIR_P(l); i++)
        l = CDR(l);
    if (k < 0 || !PAIR_P(l))
        scm_error1("list-set!: index out of range", argv[1]);
    SET(l, CAR(l), argv[2]);
    return UNSPEC;
}

static value p_list_copy(int argc, value *argv)
{
    (void)argc;
    if (!PAIR_P(argv[0]))
        return argv[0];
    size_t base = vsp;
    vs_push(NIL);
    vs_push(NIL);
    vs_push(argv[0]);
    append_copy(base + 2, base, base + 1);
    if (vs[base + 2] != NIL) /* an improper list keeps its tail */
        SET(vs[base + 1], CDR(vs[base + 1]), vs[base + 2]);
    value r = vs[base];
    vsp = base;
    return r;
}

/* member/assoc family. kind: 0 eq?, 1 eqv?, 2 equal?, 3 a predicate argument. */
static value search(const char *who, int argc, value *argv, int kind, bool assoc)
{
    if (argc > 2)
        kind = 3;
    size_t abase = (size_t)(argv - vs);
    value l = argv[1];
    long guard = 0;
    for (; PAIR_P(l); l = CDR(l)) {
        value item = CAR(l);
        if (assoc) {
            if (!PAIR_P(item))
                type_error(who, "a list of pairs", vs[abase + 1]);
            item = CAR(item);
        }
        bool hit;
        if (kind == 0)
            hit = item == vs[abase];
        else if (kind == 1)
            hit = values_eqv(item, vs[abase]);
        else if (kind == 2)
            hit = values_equal(item, vs[abase]);
        else {
            vs_push(l);
            vs_push(vs[abase + 2]);
            vs_push(vs[abase]);
            vs_push(item);
            hit = apply_on_stack(2) != FALSE_V;
            l = vs[--vsp];
        }
        if (hit)
            return assoc ? CAR(l) : l;
        if (++guard < 0)
            break;
    }
    return FALSE_V;
}

static value p_memq(int argc, value *argv)
{
    return search("memq", argc, argv, 0, false);
}
static value p_memv(int argc, value *argv)
{
    return search("memv", argc, argv, 1, false);
}
static value p_member(int argc, value *argv)
{
    return search("member", argc, argv, 2, false);
}
static value p_assq(int argc, value *argv)
{
    return search("assq", argc, argv, 0, true);
}
static value p_assv(int argc, value *argv)
{
    return search("assv", argc, argv, 1, true);
}
static value p_assoc(int argc, value *argv)
{
    return search("assoc", argc, argv, 2, true);
}

static value p_eq(int argc, value *argv)
{
    (void)argc;
    return BOOL(argv[0] == argv[1]);
}

static value p_eqv(int argc, value *argv)
{
    (void)argc;
    return BOOL(values_eqv(argv[0], argv[1]));
}

static value p_equal(int argc, value *argv)
{
    (void)argc;
    return BOOL(values_equal(argv[0], argv[1]));
}

static value p_not(int argc, value *argv)
{
    (void)argc;
    return BOOL(argv[0] == FALSE_V);
}

static value p_boolean_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(argv[0] == TRUE_V || argv[0] == FALSE_V);
}

static value p_boolean_eq(int argc, value *argv)
{
    for (int i = 0; i < argc; i++)
        if (argv[i] != TRUE_V && argv[i] != FALSE_V)
            type_error("boolean=?", "a boolean", argv[i]);
    for (int i = 0; i + 1 < argc; i++)
        if (argv[i] != argv[i + 1])
            return FALSE_V;
    return TRUE_V;
}

static value p_symbol_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(SYMBOL_P(argv[0]));
}

static value p_symbol_eq(int argc, value *argv)
{
    for (int i = 0; i < argc; i++)
        if (!SYMBOL_P(argv[i]))
            type_error("symbol=?", "a symbol", argv[i]);
    for (int i = 0; i + 1 < argc; i++)
        if (argv[i] != argv[i + 1])
            return FALSE_V;
    return TRUE_V;
}

static value p_symbol_to_string(int argc, value *argv)
{
    (void)argc;
    if (!SYMBOL_P(argv[0]))
        type_error("symbol->string", "a symbol", argv[0]);
    /* A heap symbol may move while the string is allocated: decode a copy. */
    size_t n = SYM(argv[0])->len;
    char small[256];
    char *copy = n <= sizeof small ? small : malloc(n);
    if (!copy)
        scm_error1("symbol->string: out of memory outside the heap", argv[0]);
    memcpy(copy, SYM(argv[0])->name, n);
    value s = string_from_utf8(copy, n);
    if (copy != small)
        free(copy);
    return s;
}

static value p_string_to_symbol(int argc, value *argv)
{
    (void)argc;
    if (!STRING_P(argv[0]))
        type_error("string->symbol", "a string", argv[0]);
    return intern_at_run_time(argv[0]);
}

void prims_lists_init(void)
{
    define_primitive("cons", p_cons, 2, 2);
    define_primitive("car", p_car, 1, 1);
    define_primitive("cdr", p_cdr, 1, 1);
    define_primitive("set-car!", p_set_car, 2, 2);
    define_primitive("set-cdr!", p_set_cdr, 2, 2);
    for (size_t i = 0; i < sizeof cxr_names / sizeof cxr_names[0]; i++)
        define_primitive(cxr_names[i], cxr_fns[i], 1, 1);
    define_primitive("null?", p_null_p, 1, 1);
    define_primitive("pair?", p_pair_p, 1, 1);
    define_primitive("list?", p_list_p, 1, 1);
    define_primitive("list", p_list, 0, -1);
    define_primitive("length", p_length, 1, 1);
    define_primitive("make-list", p_make_list, 1, 2);
    define_primitive("append", p_append, 0, -1);
    define_primitive("append!", p_append_destructive, 0, -1);
    define_primitive("reverse", p_reverse, 1, 1);
    define_primitive("list-tail", p_list_tail, 2, 2);
    define_primitive("list-ref", p_list_ref, 2, 2);
    define_primitive("list-set!", p_list_set, 3, 3);
    define_primitive("list-copy", p_list_copy, 1, 1);
    define_primitive("memq", p_memq, 2, 2);
    define_primitive("memv", p_memv, 2, 2);
    define_primitive("member", p_member, 2, 3);
    define_primitive("assq", p_assq, 2, 2);
    define_primitive("assv", p_assv, 2, 2);
    define_primitive("assoc", p_assoc, 2, 3);
    define_primitive("eq?", p_eq, 2, 2);
    define_primitive("eqv?", p_eqv, 2, 2);
    define_primitive("equal?", p_equal, 2, 2);
    define_primitive("not", p_not, 1, 1);
    define_primitive("boolean?", p_boolean_p, 1, 1);
    define_primitive("boolean=?", p_boolean_eq, 2, -1);
    define_primitive("symbol?", p_symbol_p, 1, 1);
    define_primitive("symbol=?", p_symbol_eq, 2, -1);
    define_primitive("symbol->string", p_symbol_to_string, 1, 1);
    define_primitive("string->symbol", p_string_to_symbol, 1, 1);
}
