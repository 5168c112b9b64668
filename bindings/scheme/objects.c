/* Constructors for the common objects, and the argument checks primitives share. */
#include <string.h>

#include "numbers.h"

value cons(value a, value d)
{
    if (__builtin_expect(!scm_use_boehm, 1)) {
        value *p = gc_alloc_nocollect(scm_mut, T_PAIR, 3 * sizeof(value), 0);
        if (__builtin_expect(p != NULL, 1)) {
            /* A fresh small object is in the nursery: no barrier needed yet. */
            p[0] = MAKE_HDR(T_PAIR, 0);
            p[1] = a;
            p[2] = d;
            return (value)p;
        }
    }
    vs_push(a);
    vs_push(d);
    value p = alloc_object_slow(T_PAIR, 0, 2, 0);
    CDR(p) = vs[--vsp];
    CAR(p) = vs[--vsp];
    return p;
}

value make_flonum(double d)
{
    value f = alloc_bytes(T_FLONUM, 0, sizeof d);
    memcpy(&OBJ(f)[1], &d, sizeof d);
    return f;
}

value make_vector(size_t len, value fill)
{
    vs_push(fill);
    value v = alloc_object(T_VECTOR, len, len);
    fill = vs[--vsp];
    if (fill != UNASSIGNED)
        for (size_t i = 0; i < len; i++)
            SET(v, VREF(v, i), fill);
    return v;
}

value list_from_stack(size_t base, size_t n, value tail)
{
    vs_push(tail);
    for (size_t i = n; i-- > 0;)
        vs[vsp - 1] = cons(vs[base + i], vs[vsp - 1]);
    return vs[--vsp];
}

long list_length(value l)
{
    long n = 0;
    value slow = l;
    while (PAIR_P(l)) {
        l = CDR(l);
        n++;
        if (!PAIR_P(l))
            break;
        l = CDR(l);
        n++;
        slow = CDR(slow);
        if (l == slow)
            return -1;
    }
    return l == NIL ? n : -1;
}

value make_error(const char *kind, const char *msg, value irritants)
{
    vs_push(irritants);
    vs_push(string_from_utf8(msg, strlen(msg)));
    value e = alloc_object(T_ERROR, 0, 4);
    ERR_MESSAGE(e) = vs[vsp - 1];
    ERR_IRRITANTS(e) = vs[vsp - 2];
    ERR_KIND(e) = intern_c(kind);
    ERR_LOCATION(e) = MAKE_FIX((intptr_t)(current_location & FIX_MAX));
    vsp -= 2;
    return e;
}

void define_global(const char *name, value v)
{
    symbol_set_global(intern_c(name), v);
}

value define_primitive(const char *name, prim_fn fn, int min, int max)
{
    struct primitive *p = perm_alloc(sizeof *p);
    p->hdr = MAKE_HDR(T_PRIMITIVE, 0);
    p->fn = fn;
    p->name = name;
    p->min_args = (int16_t)min;
    p->max_args = (int16_t)max;
    define_global(name, (value)p);
    return (value)p;
}

intptr_t arg_fixnum(const char *who, value v)
{
    if (BIGNUM_P(v)) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: the integer is out of range (above 2^62 in magnitude)", who);
        scm_error1(msg, v);
    }
    if (!FIXNUM_P(v))
        type_error(who, "an exact integer", v);
    return FIX(v);
}

size_t arg_index(const char *who, value v, size_t limit)
{
    if (BIGNUM_P(v) && !BIG_NEGATIVE(v)) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: index out of range (length %zu)", who, limit);
        scm_error1(msg, v);
    }
    if (!FIXNUM_P(v) || FIX(v) < 0)
        type_error(who, "a non-negative exact integer index", v);
    if ((size_t)FIX(v) >= limit) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s: index out of range (length %zu)", who, limit);
        scm_error1(msg, v);
    }
    return (size_t)FIX(v);
}

double arg_number_double(const char *who, value v)
{
    if (FIXNUM_P(v))
        return (double)FIX(v);
    if (FLONUM_P(v))
        return flonum_value(v);
    if (BIGNUM_P(v) || RATNUM_P(v))
        return exact_to_double(v);
    type_error(who, "a number", v);
}

void range_args(const char *who, int argc, const value *argv, int first, size_t len, size_t *start,
                size_t *end)
{
    *start = 0;
    *end = len;
    if (argc > first) {
        intptr_t s = arg_fixnum(who, argv[first]);
        if (s < 0 || (size_t)s > len)
            scm_error1("start index out of range", argv[first]);
        *start = (size_t)s;
    }
    if (argc > first + 1) {
        intptr_t e = arg_fixnum(who, argv[first + 1]);
        if (e < (intptr_t)*start || (size_t)e > len)
            scm_error1("end index out of range", argv[first + 1]);
        *end = (size_t)e;
    }
}

void define_builtins(void)
{
    prims_numbers_init();
    prims_lists_init();
    prims_strings_init();
    prims_vectors_init();
    prims_io_init();
    prims_binary_io_init();
    features_init();
    load_init();
    prims_control_init();
    prims_system_init();
    prims_hash_init(); /* after the equivalence predicates it recognizes */
    prims_weak_init();
    prims_threads_init();
    compiler_init();
}
