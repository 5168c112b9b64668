/* Vectors. */
#include <string.h>

#include "scheme.h"

static void check_vector(const char *who, value v)
{
    if (!VECTOR_P(v))
        type_error(who, "a vector", v);
}

static value p_vector_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(VECTOR_P(argv[0]));
}

static value p_make_vector(int argc, value *argv)
{
    intptr_t n = arg_fixnum("make-vector", argv[0]);
    if (n < 0)
        type_error("make-vector", "a non-negative length", argv[0]);
    return make_vector((size_t)n, argc > 1 ? argv[1] : FALSE_V);
}

static value p_vector(int argc, value *argv)
{
    value v = make_vector((size_t)argc, UNASSIGNED);
    for (int i = 0; i < argc; i++)
        SET(v, VREF(v, i), argv[i]);
    return v;
}

static value p_vector_length(int argc, value *argv)
{
    (void)argc;
    check_vector("vector-length", argv[0]);
    return MAKE_FIX((intptr_t)VLEN(argv[0]));
}

static value p_vector_ref(int argc, value *argv)
{
    (void)argc;
    check_vector("vector-ref", argv[0]);
    return VREF(argv[0], arg_index("vector-ref", argv[1], VLEN(argv[0])));
}

static value p_vector_set(int argc, value *argv)
{
    (void)argc;
    check_vector("vector-set!", argv[0]);
    size_t i = arg_index("vector-set!", argv[1], VLEN(argv[0]));
    SET(argv[0], VREF(argv[0], i), argv[2]);
    return UNSPEC;
}

static value p_vector_to_list(int argc, value *argv)
{
    check_vector("vector->list", argv[0]);
    size_t s, e;
    range_args("vector->list", argc, argv, 1, VLEN(argv[0]), &s, &e);
    vs_push(NIL);
    for (size_t i = e; i-- > s;)
        vs[vsp - 1] = cons(VREF(argv[0], i), vs[vsp - 1]);
    return vs[--vsp];
}

static value p_list_to_vector(int argc, value *argv)
{
    (void)argc;
    long n = list_length(argv[0]);
    if (n < 0)
        type_error("list->vector", "a proper list", argv[0]);
    value v = make_vector((size_t)n, UNASSIGNED);
    size_t i = 0;
    for (value l = argv[0]; PAIR_P(l); l = CDR(l))
        SET(v, VREF(v, i++), CAR(l));
    return v;
}

static value p_vector_fill(int argc, value *argv)
{
    check_vector("vector-fill!", argv[0]);
    size_t s, e;
    range_args("vector-fill!", argc, argv, 2, VLEN(argv[0]), &s, &e);
    for (size_t i = s; i < e; i++)
        SET(argv[0], VREF(argv[0], i), argv[1]);
    return UNSPEC;
}

static value p_vector_copy(int argc, value *argv)
{
    check_vector("vector-copy", argv[0]);
    size_t s, e;
    range_args("vector-copy", argc, argv, 1, VLEN(argv[0]), &s, &e);
    value v = make_vector(e - s, UNASSIGNED);
    for (size_t i = s; i < e; i++)
        SET(v, VREF(v, i - s), VREF(argv[0], i));
    return v;
}

static value p_vector_copy_to(int argc, value *argv)
{
    check_vector("vector-copy!", argv[0]);
    check_vector("vector-copy!", argv[2]);
    size_t at = arg_index("vector-copy!", argv[1], VLEN(argv[0]) + 1);
    size_t s, e;
    range_args("vector-copy!", argc, argv, 3, VLEN(argv[2]), &s, &e);
    if (at + (e - s) > VLEN(argv[0]))
        scm_error1("vector-copy!: the destination is too short", argv[0]);
    if (argv[0] == argv[2] && at > s) {
        for (size_t i = e - s; i-- > 0;)
            SET(argv[0], VREF(argv[0], at + i), VREF(argv[2], s + i));
    } else {
        for (size_t i = 0; i < e - s; i++)
            SET(argv[0], VREF(argv[0], at + i), VREF(argv[2], s + i));
    }
    return UNSPEC;
}

static value p_vector_append(int argc, value *argv)
{
    size_t total = 0;
    for (int i = 0; i < argc; i++) {
        check_vector("vector-append", argv[i]);
        total += VLEN(argv[i]);
    }
    value v = make_vector(total, UNASSIGNED);
    size_t at = 0;
    for (int i = 0; i < argc; i++)
        for (size_t j = 0; j < VLEN(argv[i]); j++)
            SET(v, VREF(v, at++), VREF(argv[i], j));
    return v;
}

static value p_vector_to_string(int argc, value *argv)
{
    check_vector("vector->string", argv[0]);
    size_t s, e;
    range_args("vector->string", argc, argv, 1, VLEN(argv[0]), &s, &e);
    for (size_t i = s; i < e; i++)
        if (!CHAR_P(VREF(argv[0], i)))
            type_error("vector->string", "a vector of characters", VREF(argv[0], i));
    value str = make_string_filled(e - s, 0);
    for (size_t i = s; i < e; i++)
        STRING_CHARS(str)[i - s] = CHAR_CODE(VREF(argv[0], i));
    return str;
}

static value p_string_to_vector(int argc, value *argv)
{
    if (!STRING_P(argv[0]))
        type_error("string->vector", "a string", argv[0]);
    size_t s, e;
    range_args("string->vector", argc, argv, 1, STRING_LEN(argv[0]), &s, &e);
    value v = make_vector(e - s, UNASSIGNED);
    for (size_t i = s; i < e; i++)
        VREF(v, i - s) = MAKE_CHAR(STRING_CHARS(argv[0])[i]);
    return v;
}

void prims_vectors_init(void)
{
    define_primitive("vector?", p_vector_p, 1, 1);
    define_primitive("make-vector", p_make_vector, 1, 2);
    define_primitive("vector", p_vector, 0, -1);
    define_primitive("vector-length", p_vector_length, 1, 1);
    define_primitive("vector-ref", p_vector_ref, 2, 2);
    define_primitive("vector-set!", p_vector_set, 3, 3);
    define_primitive("vector->list", p_vector_to_list, 1, 3);
    define_primitive("list->vector", p_list_to_vector, 1, 1);
    define_primitive("vector-fill!", p_vector_fill, 2, 4);
    define_primitive("vector-copy", p_vector_copy, 1, 3);
    define_primitive("vector-copy!", p_vector_copy_to, 3, 5);
    define_primitive("vector-append", p_vector_append, 0, -1);
    define_primitive("vector->string", p_vector_to_string, 1, 3);
    define_primitive("string->vector", p_string_to_vector, 1, 3);
}
