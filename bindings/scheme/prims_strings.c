/* Characters and strings. A string holds every Unicode character (scheme.h); case
 * mappings and character classes are text.c's. */
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

static uint32_t arg_char(const char *who, value v)
{
    if (!CHAR_P(v))
        type_error(who, "a character", v);
    return CHAR_CODE(v);
}

static void check_string(const char *who, value v)
{
    if (!STRING_P(v))
        type_error(who, "a string", v);
}

static uint32_t fold(uint32_t c)
{
    return char_foldcase(c);
}

static value p_char_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(CHAR_P(argv[0]));
}

static value p_char_to_integer(int argc, value *argv)
{
    (void)argc;
    return MAKE_FIX(arg_char("char->integer", argv[0]));
}

static value p_integer_to_char(int argc, value *argv)
{
    (void)argc;
    intptr_t n = arg_fixnum("integer->char", argv[0]);
    if (n < 0 || n > 0x10ffff || (n >= 0xd800 && n < 0xe000))
        scm_error1("integer->char: not a Unicode scalar value", argv[0]);
    return MAKE_CHAR(n);
}

#define CHAR_COMPARE(pname, who, ci, op)                                                           \
    static value pname(int argc, value *argv)                                                      \
    {                                                                                              \
        bool ok = true;                                                                            \
        for (int i = 0; i < argc; i++)                                                             \
            arg_char(who, argv[i]);                                                                \
        for (int i = 0; i + 1 < argc; i++) {                                                       \
            uint32_t a = CHAR_CODE(argv[i]), b = CHAR_CODE(argv[i + 1]);                           \
            if (ci) {                                                                              \
                a = fold(a);                                                                       \
                b = fold(b);                                                                       \
            }                                                                                      \
            if (!(a op b))                                                                         \
                ok = false;                                                                        \
        }                                                                                          \
        return BOOL(ok);                                                                           \
    }
CHAR_COMPARE(p_char_eq, "char=?", 0, ==)
CHAR_COMPARE(p_char_lt, "char<?", 0, <)
CHAR_COMPARE(p_char_gt, "char>?", 0, >)
CHAR_COMPARE(p_char_le, "char<=?", 0, <=)
CHAR_COMPARE(p_char_ge, "char>=?", 0, >=)
CHAR_COMPARE(p_char_ci_eq, "char-ci=?", 1, ==)
CHAR_COMPARE(p_char_ci_lt, "char-ci<?", 1, <)
CHAR_COMPARE(p_char_ci_gt, "char-ci>?", 1, >)
CHAR_COMPARE(p_char_ci_le, "char-ci<=?", 1, <=)
CHAR_COMPARE(p_char_ci_ge, "char-ci>=?", 1, >=)

#define CHAR_CLASS(pname, who, test)                                                               \
    static value pname(int argc, value *argv)                                                      \
    {                                                                                              \
        (void)argc;                                                                                \
        uint32_t c = arg_char(who, argv[0]);                                                       \
        return BOOL(test(c));                                                                      \
    }
static bool ascii_digit_p(uint32_t c)
{
    return c >= '0' && c <= '9';
}
CHAR_CLASS(p_char_alphabetic, "char-alphabetic?", char_alphabetic_p)
CHAR_CLASS(p_char_numeric, "char-numeric?", ascii_digit_p)
CHAR_CLASS(p_char_whitespace, "char-whitespace?", char_whitespace_p)
CHAR_CLASS(p_char_upper, "char-upper-case?", char_upper_case_p)
CHAR_CLASS(p_char_lower, "char-lower-case?", char_lower_case_p)

static value p_char_upcase(int argc, value *argv)
{
    (void)argc;
    return MAKE_CHAR(char_upcase(arg_char("char-upcase", argv[0])));
}

static value p_char_downcase(int argc, value *argv)
{
    (void)argc;
    return MAKE_CHAR(char_downcase(arg_char("char-downcase", argv[0])));
}

static value p_char_foldcase(int argc, value *argv)
{
    (void)argc;
    return MAKE_CHAR(char_foldcase(arg_char("char-foldcase", argv[0])));
}

static value p_digit_value(int argc, value *argv)
{
    (void)argc;
    uint32_t c = arg_char("digit-value", argv[0]);
    return c >= '0' && c <= '9' ? MAKE_FIX(c - '0') : FALSE_V;
}

static value p_string_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(STRING_P(argv[0]));
}

static value p_make_string(int argc, value *argv)
{
    intptr_t n = arg_fixnum("make-string", argv[0]);
    if (n < 0)
        type_error("make-string", "a non-negative length", argv[0]);
    uint32_t c = argc > 1 ? arg_char("make-string", argv[1]) : ' ';
    return make_string_filled((size_t)n, c);
}

static value p_string(int argc, value *argv)
{
    for (int i = 0; i < argc; i++)
        arg_char("string", argv[i]);
    value s = make_string_filled((size_t)argc, 0);
    for (int i = 0; i < argc; i++)
        STRING_CHARS(s)[i] = CHAR_CODE(argv[i]);
    return s;
}

static value p_string_length(int argc, value *argv)
{
    (void)argc;
    check_string("string-length", argv[0]);
    return MAKE_FIX((intptr_t)STRING_LEN(argv[0]));
}

static value p_string_ref(int argc, value *argv)
{
    (void)argc;
    check_string("string-ref", argv[0]);
    size_t i = arg_index("string-ref", argv[1], STRING_LEN(argv[0]));
    return MAKE_CHAR(STRING_CHARS(argv[0])[i]);
}

static value p_string_set(int argc, value *argv)
{
    (void)argc;
    check_string("string-set!", argv[0]);
    size_t i = arg_index("string-set!", argv[1], STRING_LEN(argv[0]));
    STRING_CHARS(argv[0])[i] = arg_char("string-set!", argv[2]);
    return UNSPEC;
}

static value p_substring(int argc, value *argv)
{
    check_string("substring", argv[0]);
    size_t s, e;
    range_args("substring", argc, argv, 1, STRING_LEN(argv[0]), &s, &e);
    value r = make_string_filled(e - s, 0);
    memcpy(STRING_CHARS(r), STRING_CHARS(argv[0]) + s, (e - s) * sizeof(uint32_t));
    return r;
}

static value p_string_append(int argc, value *argv)
{
    size_t total = 0;
    for (int i = 0; i < argc; i++) {
        check_string("string-append", argv[i]);
        total += STRING_LEN(argv[i]);
    }
    value r = make_string_filled(total, 0);
    size_t at = 0;
    for (int i = 0; i < argc; i++) {
        memcpy(STRING_CHARS(r) + at, STRING_CHARS(argv[i]), STRING_LEN(argv[i]) * sizeof(uint32_t));
        at += STRING_LEN(argv[i]);
    }
    return r;
}

static value p_string_copy_to(int argc, value *argv)
{
    check_string("string-copy!", argv[0]);
    check_string("string-copy!", argv[2]);
    size_t at = arg_index("string-copy!", argv[1], STRING_LEN(argv[0]) + 1);
    size_t s, e;
    range_args("string-copy!", argc, argv, 3, STRING_LEN(argv[2]), &s, &e);
    if (at + (e - s) > STRING_LEN(argv[0]))
        scm_error1("string-copy!: the destination is too short", argv[0]);
    memmove(STRING_CHARS(argv[0]) + at, STRING_CHARS(argv[2]) + s, (e - s) * sizeof(uint32_t));
    return UNSPEC;
}

static value p_string_fill(int argc, value *argv)
{
    check_string("string-fill!", argv[0]);
    uint32_t c = arg_char("string-fill!", argv[1]);
    size_t s, e;
    range_args("string-fill!", argc, argv, 2, STRING_LEN(argv[0]), &s, &e);
    for (size_t i = s; i < e; i++)
        STRING_CHARS(argv[0])[i] = c;
    return UNSPEC;
}

static value p_string_to_list(int argc, value *argv)
{
    check_string("string->list", argv[0]);
    size_t s, e;
    range_args("string->list", argc, argv, 1, STRING_LEN(argv[0]), &s, &e);
    vs_push(NIL);
    for (size_t i = e; i-- > s;)
        vs[vsp - 1] = cons(MAKE_CHAR(STRING_CHARS(argv[0])[i]), vs[vsp - 1]);
    return vs[--vsp];
}

static value p_list_to_string(int argc, value *argv)
{
    (void)argc;
    long n = list_length(argv[0]);
    if (n < 0)
        type_error("list->string", "a proper list of characters", argv[0]);
    for (value l = argv[0]; PAIR_P(l); l = CDR(l))
        arg_char("list->string", CAR(l));
    value s = make_string_filled((size_t)n, 0);
    size_t i = 0;
    for (value l = argv[0]; PAIR_P(l); l = CDR(l))
        STRING_CHARS(s)[i++] = CHAR_CODE(CAR(l));
    return s;
}

static int string_compare(const char *who, value a, value b, bool ci)
{
    check_string(who, a);
    check_string(who, b);
    size_t la = STRING_LEN(a), lb = STRING_LEN(b);
    for (size_t i = 0; i < la && i < lb; i++) {
        uint32_t x = STRING_CHARS(a)[i], y = STRING_CHARS(b)[i];
        if (ci) {
            x = fold(x);
            y = fold(y);
        }
        if (x != y)
            return x < y ? -1 : 1;
    }
    return (la > lb) - (la < lb);
}

#define STRING_COMPARE(pname, who, ci, test)                                                       \
    static value pname(int argc, value *argv)                                                      \
    {                                                                                              \
        bool ok = true;                                                                            \
        for (int i = 0; i + 1 < argc; i++) {                                                       \
            int c = string_compare(who, argv[i], argv[i + 1], ci);                                 \
            if (!(test))                                                                           \
                ok = false;                                                                        \
        }                                                                                          \
        return BOOL(ok);                                                                           \
    }
STRING_COMPARE(p_string_eq, "string=?", false, c == 0)
STRING_COMPARE(p_string_lt, "string<?", false, c < 0)
STRING_COMPARE(p_string_gt, "string>?", false, c > 0)
STRING_COMPARE(p_string_le, "string<=?", false, c <= 0)
STRING_COMPARE(p_string_ge, "string>=?", false, c >= 0)
STRING_COMPARE(p_string_ci_eq, "string-ci=?", true, c == 0)
STRING_COMPARE(p_string_ci_lt, "string-ci<?", true, c < 0)
STRING_COMPARE(p_string_ci_gt, "string-ci>?", true, c > 0)
STRING_COMPARE(p_string_ci_le, "string-ci<=?", true, c <= 0)
STRING_COMPARE(p_string_ci_ge, "string-ci>=?", true, c >= 0)

/* A new string of fn of each character of s (simple, one-to-one case mappings). */
static value change_case(const char *who, value s, uint32_t (*fn)(uint32_t))
{
    check_string(who, s);
    vs_push(s);
    value r = make_string_filled(STRING_LEN(s), 0);
    s = vs[--vsp];
    for (size_t i = 0; i < STRING_LEN(s); i++)
        STRING_CHARS(r)[i] = fn(STRING_CHARS(s)[i]);
    return r;
}

static value p_string_upcase(int argc, value *argv)
{
    (void)argc;
    return change_case("string-upcase", argv[0], char_upcase);
}

static value p_string_downcase(int argc, value *argv)
{
    (void)argc;
    return change_case("string-downcase", argv[0], char_downcase);
}

static value p_string_foldcase(int argc, value *argv)
{
    (void)argc;
    return change_case("string-foldcase", argv[0], char_foldcase);
}

/* ---- Bytevectors ---- */

static void check_bytevector(const char *who, value v)
{
    if (!BYTEVECTOR_P(v))
        type_error(who, "a bytevector", v);
}

static int arg_byte(const char *who, value v)
{
    if (!FIXNUM_P(v) || FIX(v) < 0 || FIX(v) > 255)
        type_error(who, "a byte (an exact integer 0..255)", v);
    return (int)FIX(v);
}

static value p_bytevector_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(BYTEVECTOR_P(argv[0]));
}

static value p_make_bytevector(int argc, value *argv)
{
    intptr_t n = arg_fixnum("make-bytevector", argv[0]);
    if (n < 0)
        type_error("make-bytevector", "a non-negative length", argv[0]);
    int fill = argc > 1 ? arg_byte("make-bytevector", argv[1]) : 0;
    value b = alloc_bytes(T_BYTEVECTOR, (size_t)n, (size_t)n);
    memset(BV_BYTES(b), fill, (size_t)n);
    return b;
}

static value p_bytevector(int argc, value *argv)
{
    for (int i = 0; i < argc; i++)
        arg_byte("bytevector", argv[i]);
    value b = alloc_bytes(T_BYTEVECTOR, (size_t)argc, (size_t)argc);
    for (int i = 0; i < argc; i++)
        BV_BYTES(b)[i] = (uint8_t)FIX(argv[i]);
    return b;
}

static value p_bytevector_length(int argc, value *argv)
{
    (void)argc;
    check_bytevector("bytevector-length", argv[0]);
    return MAKE_FIX((intptr_t)HDR_LEN(argv[0]));
}

static value p_bytevector_u8_ref(int argc, value *argv)
{
    (void)argc;
    check_bytevector("bytevector-u8-ref", argv[0]);
    return MAKE_FIX(BV_BYTES(argv[0])[arg_index("bytevector-u8-ref", argv[1], HDR_LEN(argv[0]))]);
}

static value p_bytevector_u8_set(int argc, value *argv)
{
    (void)argc;
    check_bytevector("bytevector-u8-set!", argv[0]);
    size_t i = arg_index("bytevector-u8-set!", argv[1], HDR_LEN(argv[0]));
    BV_BYTES(argv[0])[i] = (uint8_t)arg_byte("bytevector-u8-set!", argv[2]);
    return UNSPEC;
}

static value p_bytevector_copy(int argc, value *argv)
{
    check_bytevector("bytevector-copy", argv[0]);
    size_t s, e;
    range_args("bytevector-copy", argc, argv, 1, HDR_LEN(argv[0]), &s, &e);
    value b = alloc_bytes(T_BYTEVECTOR, e - s, e - s);
    memcpy(BV_BYTES(b), BV_BYTES(argv[0]) + s, e - s);
    return b;
}

/* (bytevector-copy! to at from [start [end]]): overlapping ranges copy as if through a
 * temporary. */
static value p_bytevector_copy_to(int argc, value *argv)
{
    check_bytevector("bytevector-copy!", argv[0]);
    size_t at = arg_index("bytevector-copy!", argv[1], HDR_LEN(argv[0]) + 1);
    check_bytevector("bytevector-copy!", argv[2]);
    size_t s, e;
    range_args("bytevector-copy!", argc, argv, 3, HDR_LEN(argv[2]), &s, &e);
    if (e - s > HDR_LEN(argv[0]) - at)
        scm_error1("bytevector-copy!: the destination is too short", argv[1]);
    memmove(BV_BYTES(argv[0]) + at, BV_BYTES(argv[2]) + s, e - s);
    return UNSPEC;
}

static value p_bytevector_append(int argc, value *argv)
{
    size_t total = 0;
    for (int i = 0; i < argc; i++) {
        check_bytevector("bytevector-append", argv[i]);
        total += HDR_LEN(argv[i]);
    }
    value b = alloc_bytes(T_BYTEVECTOR, total, total);
    size_t at = 0;
    for (int i = 0; i < argc; i++) {
        memcpy(BV_BYTES(b) + at, BV_BYTES(argv[i]), HDR_LEN(argv[i]));
        at += HDR_LEN(argv[i]);
    }
    return b;
}

static value p_utf8_to_string(int argc, value *argv)
{
    check_bytevector("utf8->string", argv[0]);
    size_t s, e;
    range_args("utf8->string", argc, argv, 1, HDR_LEN(argv[0]), &s, &e);
    /* Decoded from a copy: the string's allocation may move the bytevector. */
    char small[256];
    char *copy = e - s <= sizeof small ? small : malloc(e - s);
    if (!copy)
        scm_error1("utf8->string: out of memory outside the heap", argv[0]);
    memcpy(copy, BV_BYTES(argv[0]) + s, e - s);
    value r = string_from_utf8(copy, e - s);
    if (copy != small)
        free(copy);
    return r;
}

static value p_string_to_utf8(int argc, value *argv)
{
    check_string("string->utf8", argv[0]);
    size_t s, e;
    range_args("string->utf8", argc, argv, 1, STRING_LEN(argv[0]), &s, &e);
    size_t n = string_utf8_length(argv[0], s, e);
    vs_push(argv[0]);
    value b = alloc_bytes(T_BYTEVECTOR, n, n);
    string_encode_utf8(vs[--vsp], s, e, (char *)BV_BYTES(b));
    return b;
}

static value p_string_copy(int argc, value *argv)
{
    return p_substring(argc, argv);
}

void prims_strings_init(void)
{
    define_primitive("char?", p_char_p, 1, 1);
    define_primitive("char->integer", p_char_to_integer, 1, 1);
    define_primitive("integer->char", p_integer_to_char, 1, 1);
    define_primitive("char=?", p_char_eq, 2, -1);
    define_primitive("char<?", p_char_lt, 2, -1);
    define_primitive("char>?", p_char_gt, 2, -1);
    define_primitive("char<=?", p_char_le, 2, -1);
    define_primitive("char>=?", p_char_ge, 2, -1);
    define_primitive("char-ci=?", p_char_ci_eq, 2, -1);
    define_primitive("char-ci<?", p_char_ci_lt, 2, -1);
    define_primitive("char-ci>?", p_char_ci_gt, 2, -1);
    define_primitive("char-ci<=?", p_char_ci_le, 2, -1);
    define_primitive("char-ci>=?", p_char_ci_ge, 2, -1);
    define_primitive("char-alphabetic?", p_char_alphabetic, 1, 1);
    define_primitive("char-numeric?", p_char_numeric, 1, 1);
    define_primitive("char-whitespace?", p_char_whitespace, 1, 1);
    define_primitive("char-upper-case?", p_char_upper, 1, 1);
    define_primitive("char-lower-case?", p_char_lower, 1, 1);
    define_primitive("char-upcase", p_char_upcase, 1, 1);
    define_primitive("char-downcase", p_char_downcase, 1, 1);
    define_primitive("char-foldcase", p_char_foldcase, 1, 1);
    define_primitive("digit-value", p_digit_value, 1, 1);
    define_primitive("string?", p_string_p, 1, 1);
    define_primitive("make-string", p_make_string, 1, 2);
    define_primitive("string", p_string, 0, -1);
    define_primitive("string-length", p_string_length, 1, 1);
    define_primitive("string-ref", p_string_ref, 2, 2);
    define_primitive("string-set!", p_string_set, 3, 3);
    define_primitive("substring", p_substring, 3, 3);
    define_primitive("string-copy", p_string_copy, 1, 3);
    define_primitive("string-copy!", p_string_copy_to, 3, 5);
    define_primitive("string-fill!", p_string_fill, 2, 4);
    define_primitive("string-append", p_string_append, 0, -1);
    define_primitive("string->list", p_string_to_list, 1, 3);
    define_primitive("list->string", p_list_to_string, 1, 1);
    define_primitive("string=?", p_string_eq, 1, -1);
    define_primitive("string<?", p_string_lt, 1, -1);
    define_primitive("string>?", p_string_gt, 1, -1);
    define_primitive("string<=?", p_string_le, 1, -1);
    define_primitive("string>=?", p_string_ge, 1, -1);
    define_primitive("string-ci=?", p_string_ci_eq, 1, -1);
    define_primitive("string-ci<?", p_string_ci_lt, 1, -1);
    define_primitive("string-ci>?", p_string_ci_gt, 1, -1);
    define_primitive("string-ci<=?", p_string_ci_le, 1, -1);
    define_primitive("string-ci>=?", p_string_ci_ge, 1, -1);
    define_primitive("string-upcase", p_string_upcase, 1, 1);
    define_primitive("string-downcase", p_string_downcase, 1, 1);
    define_primitive("string-foldcase", p_string_foldcase, 1, 1);
    define_primitive("bytevector?", p_bytevector_p, 1, 1);
    define_primitive("make-bytevector", p_make_bytevector, 1, 2);
    define_primitive("bytevector", p_bytevector, 0, -1);
    define_primitive("bytevector-length", p_bytevector_length, 1, 1);
    define_primitive("bytevector-u8-ref", p_bytevector_u8_ref, 2, 2);
    define_primitive("bytevector-u8-set!", p_bytevector_u8_set, 3, 3);
    define_primitive("bytevector-copy", p_bytevector_copy, 1, 3);
    define_primitive("bytevector-copy!", p_bytevector_copy_to, 3, 5);
    define_primitive("bytevector-append", p_bytevector_append, 0, -1);
    define_primitive("utf8->string", p_utf8_to_string, 1, 3);
    define_primitive("string->utf8", p_string_to_utf8, 1, 3);
}
