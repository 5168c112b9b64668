/* The numeric procedures over the tower: fixnums, bignums and ratnums (exact; bignum.c,
 * rational.c) and flonums (inexact doubles). Fixnum arithmetic is the fast path, inline
 * here; an overflowing fixnum result becomes a bignum, and a bignum result that fits
 * becomes a fixnum again. An operation with a flonum argument gives a flonum. There are
 * no complex numbers: the procedures that make one report it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numbers.h"

void stack_check(void);

bool number_p(value v)
{
    if (FIXNUM_P(v))
        return true;
    if (!pointer_p(v))
        return false;
    unsigned t = OBJ_TYPE(v);
    return t == T_FLONUM || t == T_BIGNUM || t == T_RATNUM;
}

static void check_number(const char *who, value v)
{
    if (!number_p(v))
        type_error(who, "a number", v);
}

/* The nearest double to a number. */
static double nearest_double(value v)
{
    if (FIXNUM_P(v))
        return (double)FIX(v);
    if (FLONUM_P(v))
        return flonum_value(v);
    return exact_to_double(v);
}

/* a op b when one is not a fixnum; op is one of + - *. */
static value arith_slow(const char *who, char op, value a, value b)
{
    if (FLONUM_P(a) && FLONUM_P(b)) {
        double x = flonum_value(a), y = flonum_value(b);
        return make_flonum(op == '+' ? x + y : op == '-' ? x - y : x * y);
    }
    check_number(who, a);
    check_number(who, b);
    if (exact_p(a) && exact_p(b))
        return op == '+' ? exact_add(a, b) : op == '-' ? exact_sub(a, b) : exact_mul(a, b);
    double x = nearest_double(a), y = nearest_double(b);
    return make_flonum(op == '+' ? x + y : op == '-' ? x - y : x * y);
}

static value add2(value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t r = FIX(a) + FIX(b); /* 63-bit operands: no overflow in a word */
        if (__builtin_expect(r >= FIX_MIN && r <= FIX_MAX, 1))
            return MAKE_FIX(r);
        return int_add(a, b);
    }
    return arith_slow("+", '+', a, b);
}

static value sub2(value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t r = FIX(a) - FIX(b);
        if (__builtin_expect(r >= FIX_MIN && r <= FIX_MAX, 1))
            return MAKE_FIX(r);
        return int_sub(a, b);
    }
    return arith_slow("-", '-', a, b);
}

static value mul2(value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t r;
        if (__builtin_expect(
                !__builtin_mul_overflow(FIX(a), FIX(b), &r) && r >= FIX_MIN && r <= FIX_MAX, 1))
            return MAKE_FIX(r);
        return int_mul(a, b);
    }
    return arith_slow("*", '*', a, b);
}

static bool exact_zero_p(value v)
{
    return v == MAKE_FIX(0);
}

static value div2(value a, value b)
{
    if (FLONUM_P(a) && FLONUM_P(b))
        return make_flonum(flonum_value(a) / flonum_value(b));
    check_number("/", a);
    check_number("/", b);
    if (exact_p(a) && exact_p(b)) {
        if (exact_zero_p(b))
            scm_error1("/: division by zero", a);
        if (FIXNUM_P(a) && FIXNUM_P(b) && FIX(a) % FIX(b) == 0 && FIX(b) != -1)
            return MAKE_FIX(FIX(a) / FIX(b));
        return exact_div(a, b);
    }
    return make_flonum(nearest_double(a) / nearest_double(b));
}

static value p_add(int argc, value *argv)
{
    if (argc == 2)
        return add2(argv[0], argv[1]);
    value acc = MAKE_FIX(0);
    for (int i = 0; i < argc; i++)
        acc = add2(acc, argv[i]);
    return acc;
}

static value p_mul(int argc, value *argv)
{
    value acc = MAKE_FIX(1);
    for (int i = 0; i < argc; i++)
        acc = mul2(acc, argv[i]);
    return acc;
}

static value p_sub(int argc, value *argv)
{
    if (argc == 1)
        return sub2(MAKE_FIX(0), argv[0]);
    value acc = argv[0];
    for (int i = 1; i < argc; i++)
        acc = sub2(acc, argv[i]);
    return acc;
}

static value p_div(int argc, value *argv)
{
    if (argc == 1)
        return div2(MAKE_FIX(1), argv[0]);
    value acc = argv[0];
    for (int i = 1; i < argc; i++)
        acc = div2(acc, argv[i]);
    return acc;
}

/* An exact number against a flonum, exactly: -1, 0, 1, or 2 when the flonum is a NaN. */
static int compare_exact_flonum(value e, double x)
{
    if (isnan(x))
        return 2;
    if (isinf(x))
        return x > 0 ? -1 : 1;
    if (FIXNUM_P(e) && FIX(e) <= ((intptr_t)1 << 53) && FIX(e) >= -((intptr_t)1 << 53)) {
        double y = (double)FIX(e); /* exact */
        return (y > x) - (y < x);
    }
    vs_push(e);
    value fx = exact_from_double(x);
    return exact_compare(vs[--vsp], fx);
}

static int compare(const char *who, value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b))
        return (FIX(a) > FIX(b)) - (FIX(a) < FIX(b));
    if (FLONUM_P(a) && FLONUM_P(b)) {
        double x = flonum_value(a), y = flonum_value(b);
        if (isnan(x) || isnan(y))
            return 2; /* unordered: every comparison is false */
        return (x > y) - (x < y);
    }
    check_number(who, a);
    check_number(who, b);
    if (FLONUM_P(b))
        return compare_exact_flonum(a, flonum_value(b));
    if (FLONUM_P(a)) {
        int c = compare_exact_flonum(b, flonum_value(a));
        return c == 2 ? 2 : -c;
    }
    return exact_compare(a, b);
}

#define COMPARISON(fname, who, test)                                                               \
    static value fname(int argc, value *argv)                                                      \
    {                                                                                              \
        bool ok = true;                                                                            \
        for (int i = 0; i + 1 < argc; i++) {                                                       \
            int c = compare(who, argv[i], argv[i + 1]);                                            \
            if (c == 2 || !(test))                                                                 \
                ok = false;                                                                        \
        }                                                                                          \
        if (argc == 1)                                                                             \
            check_number(who, argv[0]);                                                            \
        return BOOL(ok);                                                                           \
    }
COMPARISON(p_num_eq, "=", c == 0)
COMPARISON(p_lt, "<", c < 0)
COMPARISON(p_gt, ">", c > 0)
COMPARISON(p_le, "<=", c <= 0)
COMPARISON(p_ge, ">=", c >= 0)

static value p_number_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(number_p(argv[0]));
}

static bool integer_valued(value v)
{
    return exact_integer_p(v) ||
           (FLONUM_P(v) && isfinite(flonum_value(v)) && flonum_value(v) == floor(flonum_value(v)));
}

static value p_integer_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(integer_valued(argv[0]));
}

static value p_rational_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(exact_p(argv[0]) || (FLONUM_P(argv[0]) && isfinite(flonum_value(argv[0]))));
}

static value p_exact_p(int argc, value *argv)
{
    (void)argc;
    check_number("exact?", argv[0]);
    return BOOL(exact_p(argv[0]));
}

static value p_inexact_p(int argc, value *argv)
{
    (void)argc;
    check_number("inexact?", argv[0]);
    return BOOL(FLONUM_P(argv[0]));
}

static value p_exact_integer_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(exact_integer_p(argv[0]));
}

static value p_exact_rational_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(exact_p(argv[0]));
}

static value p_nan_p(int argc, value *argv)
{
    (void)argc;
    check_number("nan?", argv[0]);
    return BOOL(FLONUM_P(argv[0]) && isnan(flonum_value(argv[0])));
}

static value p_infinite_p(int argc, value *argv)
{
    (void)argc;
    check_number("infinite?", argv[0]);
    return BOOL(FLONUM_P(argv[0]) && isinf(flonum_value(argv[0])));
}

static value p_finite_p(int argc, value *argv)
{
    (void)argc;
    check_number("finite?", argv[0]);
    return BOOL(!FLONUM_P(argv[0]) || isfinite(flonum_value(argv[0])));
}

/* -1, 0 or 1; 2 for a NaN. */
static int sign_of(const char *who, value v)
{
    if (FIXNUM_P(v))
        return (FIX(v) > 0) - (FIX(v) < 0);
    check_number(who, v);
    if (exact_p(v))
        return exact_sign(v);
    double x = flonum_value(v);
    return isnan(x) ? 2 : (x > 0) - (x < 0);
}

static value p_zero_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(sign_of("zero?", argv[0]) == 0);
}

static value p_positive_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(sign_of("positive?", argv[0]) == 1);
}

static value p_negative_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(sign_of("negative?", argv[0]) == -1);
}

static void check_integer(const char *who, value v)
{
    if (!integer_valued(v))
        type_error(who, "an integer", v);
}

static bool odd_p(const char *who, value v)
{
    if (FIXNUM_P(v))
        return (FIX(v) & 1) != 0;
    check_integer(who, v);
    if (BIGNUM_P(v))
        return int_odd(v);
    return fmod(flonum_value(v), 2) != 0;
}

static value p_odd_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(odd_p("odd?", argv[0]));
}

static value p_even_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(!odd_p("even?", argv[0]));
}

static value p_max_min(int argc, value *argv, bool max, const char *who)
{
    int best = 0; /* an index: comparing may allocate and move the numbers */
    bool inexact = FLONUM_P(argv[0]);
    check_number(who, argv[0]);
    for (int i = 1; i < argc; i++) {
        int c = compare(who, argv[i], argv[best]);
        if (FLONUM_P(argv[i]))
            inexact = true;
        if (c == 2 || (max ? c > 0 : c < 0))
            best = i;
    }
    if (inexact && !FLONUM_P(argv[best]))
        return make_flonum(nearest_double(argv[best]));
    return argv[best];
}

static value p_max(int argc, value *argv)
{
    return p_max_min(argc, argv, true, "max");
}

static value p_min(int argc, value *argv)
{
    return p_max_min(argc, argv, false, "min");
}

static value p_abs(int argc, value *argv)
{
    (void)argc;
    value v = argv[0];
    if (FIXNUM_P(v))
        return FIX(v) < 0 ? sub2(MAKE_FIX(0), v) : v;
    check_number("abs", v);
    if (exact_p(v))
        return exact_sign(v) < 0 ? exact_sub(MAKE_FIX(0), v) : v;
    return make_flonum(fabs(flonum_value(v)));
}

/* Integer division: kind 't' truncates, 'f' floors. what: 'q' quotient, 'r' remainder. */
static value int_div(const char *who, value a, value b, char kind, char what)
{
    if (FIXNUM_P(a) && FIXNUM_P(b) && FIX(b) != 0 && FIX(b) != -1) {
        intptr_t x = FIX(a), y = FIX(b);
        intptr_t q = x / y, r = x % y;
        if (kind == 'f' && r != 0 && ((r < 0) != (y < 0))) {
            q--;
            r += y;
        }
        return MAKE_FIX(what == 'q' ? q : r);
    }
    check_integer(who, a);
    check_integer(who, b);
    if (exact_integer_p(a) && exact_integer_p(b)) {
        if (exact_zero_p(b))
            scm_error1("division by zero", a);
        return int_divide(a, b, kind, what);
    }
    double x = nearest_double(a), y = nearest_double(b);
    if (y == 0)
        scm_error1("division by zero", a);
    double q = kind == 'f' ? floor(x / y) : trunc(x / y);
    return make_flonum(what == 'q' ? q : x - q * y);
}

static value p_quotient(int argc, value *argv)
{
    (void)argc;
    return int_div("quotient", argv[0], argv[1], 't', 'q');
}

static value p_remainder(int argc, value *argv)
{
    (void)argc;
    return int_div("remainder", argv[0], argv[1], 't', 'r');
}

static value p_modulo(int argc, value *argv)
{
    (void)argc;
    return int_div("modulo", argv[0], argv[1], 'f', 'r');
}

static value p_floor_quotient(int argc, value *argv)
{
    (void)argc;
    return int_div("floor-quotient", argv[0], argv[1], 'f', 'q');
}

static value two_values(value a, value b)
{
    vs_push(a);
    vs_push(b);
    value v = alloc_object(T_VALUES, 2, 2);
    SET(v, VREF(v, 0), vs[vsp - 2]);
    SET(v, VREF(v, 1), vs[vsp - 1]);
    vsp -= 2;
    return v;
}

static value p_floor_div(int argc, value *argv)
{
    (void)argc;
    vs_push(int_div("floor/", argv[0], argv[1], 'f', 'q'));
    value r = int_div("floor/", argv[0], argv[1], 'f', 'r');
    return two_values(vs[--vsp], r);
}

static value p_truncate_div(int argc, value *argv)
{
    (void)argc;
    vs_push(int_div("truncate/", argv[0], argv[1], 't', 'q'));
    value r = int_div("truncate/", argv[0], argv[1], 't', 'r');
    return two_values(vs[--vsp], r);
}

/* gcd (lcm when lcm) of integers; inexact when one of them is. */
static value gcd_lcm(const char *who, int argc, value *argv, bool lcm)
{
    bool inexact = false;
    size_t s = vsp;
    vs_push(MAKE_FIX(lcm ? 1 : 0));
    for (int i = 0; i < argc; i++) {
        check_integer(who, argv[i]);
        value x = argv[i];
        if (FLONUM_P(x)) {
            inexact = true;
            x = exact_from_double(flonum_value(x));
        }
        if (int_sign(x) < 0)
            x = int_negate(x);
        if (!lcm) {
            vs[s] = int_gcd(vs[s], x);
        } else if (exact_zero_p(x) || exact_zero_p(vs[s])) {
            vs[s] = MAKE_FIX(0);
        } else {
            vs_push(x);
            value g = int_gcd(vs[s], x);
            vs[s + 1] = int_divide(vs[s + 1], g, 't', 'q');
            vs[s] = int_mul(vs[s], vs[s + 1]);
            vsp--;
        }
    }
    value r = vs[--vsp];
    return inexact ? make_flonum(nearest_double(r)) : r;
}

static value p_gcd(int argc, value *argv)
{
    return gcd_lcm("gcd", argc, argv, false);
}

static value p_lcm(int argc, value *argv)
{
    return gcd_lcm("lcm", argc, argv, true);
}

typedef double (*unary_fn)(double);
static value rounding(const char *who, value v, unary_fn fn, char how)
{
    if (FIXNUM_P(v))
        return v;
    check_number(who, v);
    if (exact_p(v))
        return exact_round(v, how);
    return make_flonum(fn(flonum_value(v)));
}

static value p_floor(int argc, value *argv)
{
    (void)argc;
    return rounding("floor", argv[0], floor, 'f');
}

static value p_ceiling(int argc, value *argv)
{
    (void)argc;
    return rounding("ceiling", argv[0], ceil, 'c');
}

static value p_truncate(int argc, value *argv)
{
    (void)argc;
    return rounding("truncate", argv[0], trunc, 't');
}

static value p_round(int argc, value *argv)
{
    (void)argc;
    return rounding("round", argv[0], nearbyint, 'r'); /* ties to even, the default mode */
}

static value to_exact(const char *who, value v)
{
    if (FIXNUM_P(v))
        return v;
    check_number(who, v);
    if (exact_p(v))
        return v;
    double x = flonum_value(v);
    if (!isfinite(x)) {
        char msg[120];
        snprintf(msg, sizeof msg, "%s: an infinity or NaN has no exact value", who);
        scm_error1(msg, v);
    }
    return exact_from_double(x);
}

static value p_exact(int argc, value *argv)
{
    (void)argc;
    return to_exact("exact", argv[0]);
}

static value p_inexact(int argc, value *argv)
{
    (void)argc;
    value v = argv[0];
    if (FLONUM_P(v))
        return v;
    check_number("inexact", v);
    return make_flonum(nearest_double(v));
}

/* The exact square root of an exact number that is a square, else FALSE_V. */
static value exact_sqrt(value v)
{
    size_t s = vsp;
    vs_push(v);
    value root, rest;
    int_sqrt_rest(rat_numerator(vs[s]), &root, &rest);
    value r = FALSE_V;
    if (exact_zero_p(rest)) {
        vs_push(root);
        int_sqrt_rest(rat_denominator(vs[s]), &root, &rest);
        if (exact_zero_p(rest))
            r = rat_make(vs[s + 1], root);
    }
    vsp = s;
    return r;
}

static value p_sqrt(int argc, value *argv)
{
    (void)argc;
    value v = argv[0];
    int sign = sign_of("sqrt", v);
    if (sign < 0)
        scm_error1("sqrt: negative argument (complex numbers are not supported)", v);
    if (exact_p(v)) {
        value r = exact_sqrt(v);
        if (r != FALSE_V)
            return r;
    }
    return make_flonum(sqrt(nearest_double(argv[0])));
}

static value p_exact_integer_sqrt(int argc, value *argv)
{
    (void)argc;
    if (!exact_integer_p(argv[0]) || int_sign(argv[0]) < 0)
        type_error("exact-integer-sqrt", "a non-negative exact integer", argv[0]);
    value root, rest;
    int_sqrt_rest(argv[0], &root, &rest);
    return two_values(root, rest);
}

/* base^e for an exact base and a non-negative exact integer e. */
static value exact_expt(value base, value e)
{
    if (BIGNUM_P(e)) {
        if (base == MAKE_FIX(0) || base == MAKE_FIX(1))
            return base;
        if (base == MAKE_FIX(-1))
            return MAKE_FIX(int_odd(e) ? -1 : 1);
        scm_error1("expt: the result would be too large (the exponent is a bignum)", e);
    }
    unsigned long n = (unsigned long)FIX(e);
    if (exact_integer_p(base))
        return int_expt(base, n);
    size_t s = vsp;
    vs_push(base);
    vs_push(int_expt(RAT_NUM(base), n));
    value den = int_expt(RAT_DEN(vs[s]), n);
    value r = rat_make(vs[s + 1], den);
    vsp = s;
    return r;
}

static value p_expt(int argc, value *argv)
{
    (void)argc;
    value b = argv[0], e = argv[1];
    check_number("expt", b);
    check_number("expt", e);
    if (exact_p(b) && exact_integer_p(e)) {
        if (int_sign(e) >= 0)
            return exact_expt(b, e);
        if (exact_zero_p(b))
            scm_error1("expt: division by zero (0 to a negative power)", e);
        vs_push(int_negate(e));
        value p = exact_expt(argv[0], vs[vsp - 1]);
        vsp--;
        return exact_div(MAKE_FIX(1), p);
    }
    double x = nearest_double(b), y = nearest_double(e);
    if (x < 0 && y != floor(y))
        scm_error1("expt: a negative base to a non-integer power is a complex number (complex "
                   "numbers are not supported)",
                   b);
    return make_flonum(pow(x, y));
}

static double arg_real(const char *who, value v)
{
    check_number(who, v);
    return nearest_double(v);
}

#define FLOAT_FN(pname, who, expr)                                                                 \
    static value pname(int argc, value *argv)                                                      \
    {                                                                                              \
        (void)argc;                                                                                \
        double x = arg_real(who, argv[0]);                                                         \
        return make_flonum(expr);                                                                  \
    }
FLOAT_FN(p_exp, "exp", exp(x))
FLOAT_FN(p_sin, "sin", sin(x))
FLOAT_FN(p_cos, "cos", cos(x))
FLOAT_FN(p_tan, "tan", tan(x))
FLOAT_FN(p_asin, "asin", asin(x))
FLOAT_FN(p_acos, "acos", acos(x))

static value p_log(int argc, value *argv)
{
    double x = arg_real("log", argv[0]);
    if (argc == 2)
        return make_flonum(log(x) / log(arg_real("log", argv[1])));
    return make_flonum(log(x));
}

static value p_atan(int argc, value *argv)
{
    double y = arg_real("atan", argv[0]);
    if (argc == 2)
        return make_flonum(atan2(y, arg_real("atan", argv[1])));
    return make_flonum(atan(y));
}

static value p_square(int argc, value *argv)
{
    (void)argc;
    return mul2(argv[0], argv[0]);
}

/* The numerator (denominator when den) of a rational; of a flonum, inexact. */
static value fraction_part(const char *who, value v, bool den)
{
    if (FLONUM_P(v) && !isfinite(flonum_value(v)))
        type_error(who, "a rational number", v);
    bool inexact = FLONUM_P(v);
    value x = to_exact(who, v);
    value part = den ? rat_denominator(x) : rat_numerator(x);
    return inexact ? make_flonum(nearest_double(part)) : part;
}

static value p_numerator(int argc, value *argv)
{
    (void)argc;
    return fraction_part("numerator", argv[0], false);
}

static value p_denominator(int argc, value *argv)
{
    (void)argc;
    return fraction_part("denominator", argv[0], true);
}

/* The simplest rational in [lo, hi], 0 < lo <= hi, both exact (lo at vs[s], hi at
 * vs[s + 1]): the integer above lo when one is in range, else that integer's floor plus
 * the inverse of the simplest rational between the inverses of the fraction parts. */
static value simplest_between(size_t s)
{
    stack_check();
    vs_push(exact_round(vs[s], 'f'));
    value r, hi_floor;
    if (exact_compare(vs[s + 2], vs[s]) == 0) {
        r = vs[s + 2];
    } else if (hi_floor = exact_round(vs[s + 1], 'f'), exact_compare(vs[s + 2], hi_floor) < 0) {
        r = int_add(vs[s + 2], MAKE_FIX(1));
    } else {
        size_t t = vsp;
        vs_push(exact_sub(vs[s + 1], vs[s + 2]));
        vs[t] = exact_div(MAKE_FIX(1), vs[t]);
        vs_push(exact_sub(vs[s], vs[s + 2]));
        vs[t + 1] = exact_div(MAKE_FIX(1), vs[t + 1]);
        r = exact_div(MAKE_FIX(1), simplest_between(t));
        r = exact_add(vs[s + 2], r);
    }
    vsp = s + 2;
    return r;
}

static value p_rationalize(int argc, value *argv)
{
    (void)argc;
    bool inexact = FLONUM_P(argv[0]) || FLONUM_P(argv[1]);
    size_t s = vsp;
    vs_push(to_exact("rationalize", argv[0]));
    vs_push(to_exact("rationalize", argv[1]));
    if (exact_sign(vs[s + 1]) < 0)
        vs[s + 1] = exact_sub(MAKE_FIX(0), vs[s + 1]);
    vs_push(exact_sub(vs[s], vs[s + 1]));
    vs_push(exact_add(vs[s], vs[s + 1]));
    value r;
    if (exact_sign(vs[s + 2]) > 0) {
        r = simplest_between(s + 2);
    } else if (exact_sign(vs[s + 3]) < 0) {
        vs[s + 2] = exact_sub(MAKE_FIX(0), vs[s + 2]);
        vs[s + 3] = exact_sub(MAKE_FIX(0), vs[s + 3]);
        value hi = vs[s + 2]; /* [lo, hi] = [-hi, -lo] */
        vs[s + 2] = vs[s + 3];
        vs[s + 3] = hi;
        r = exact_sub(MAKE_FIX(0), simplest_between(s + 2));
    } else {
        r = MAKE_FIX(0);
    }
    vsp = s;
    return inexact ? make_flonum(nearest_double(r)) : r;
}

/* ---- (scheme complex) on the real numbers: a nonzero imaginary part is an error ---- */

__attribute__((noreturn)) static void no_complex(const char *who, value v)
{
    char msg[120];
    snprintf(msg, sizeof msg, "%s: complex numbers are not supported (only real numbers)", who);
    scm_error1(msg, v);
}

static value p_make_rectangular(int argc, value *argv)
{
    (void)argc;
    check_number("make-rectangular", argv[0]);
    if (sign_of("make-rectangular", argv[1]) != 0 || FLONUM_P(argv[1]))
        no_complex("make-rectangular", argv[1]);
    return argv[0];
}

static value p_make_polar(int argc, value *argv)
{
    (void)argc;
    check_number("make-polar", argv[0]);
    if (sign_of("make-polar", argv[1]) != 0 || FLONUM_P(argv[1]))
        no_complex("make-polar", argv[1]);
    return argv[0];
}

static value p_real_part(int argc, value *argv)
{
    (void)argc;
    check_number("real-part", argv[0]);
    return argv[0];
}

static value p_imag_part(int argc, value *argv)
{
    (void)argc;
    check_number("imag-part", argv[0]);
    return MAKE_FIX(0);
}

static value p_angle(int argc, value *argv)
{
    (void)argc;
    int sign = sign_of("angle", argv[0]);
    if (sign < 0)
        return make_flonum(acos(-1.0));
    return FLONUM_P(argv[0]) ? make_flonum(sign == 2 ? NAN : 0.0) : MAKE_FIX(0);
}
static value p_number_to_string(int argc, value *argv)
{
    check_number("number->string", argv[0]);
    int radix = argc > 1 ? (int)arg_fixnum("number->string", argv[1]) : 10;
    if (radix < 2 || radix > 36)
        scm_error1("number->string: the radix must be between 2 and 36", argv[1]);
    if (radix != 10 && FLONUM_P(argv[0]))
        scm_error1("number->string: inexact numbers are written in radix 10 only", argv[1]);
    return number_to_string(argv[0], radix);
}

static value p_string_to_number(int argc, value *argv)
{
    if (!STRING_P(argv[0]))
        type_error("string->number", "a string", argv[0]);
    int radix = argc > 1 ? (int)arg_fixnum("string->number", argv[1]) : 10;
    if (radix < 2 || radix > 36)
        scm_error1("string->number: the radix must be between 2 and 36", argv[1]);
    /* A UTF-8 copy outside the heap: reading may allocate and move the string. */
    size_t n;
    char *copy = string_to_utf8(argv[0], 0, STRING_LEN(argv[0]), &n);
    value r = string_to_number(copy, n, radix);
    free(copy);
    return r;
}

void prims_numbers_init(void)
{
    define_primitive("+", p_add, 0, -1);
    define_primitive("-", p_sub, 1, -1);
    define_primitive("*", p_mul, 0, -1);
    define_primitive("/", p_div, 1, -1);
    define_primitive("=", p_num_eq, 1, -1);
    define_primitive("<", p_lt, 1, -1);
    define_primitive(">", p_gt, 1, -1);
    define_primitive("<=", p_le, 1, -1);
    define_primitive(">=", p_ge, 1, -1);
    define_primitive("number?", p_number_p, 1, 1);
    define_primitive("complex?", p_number_p, 1, 1);
    define_primitive("real?", p_number_p, 1, 1);
    define_primitive("rational?", p_rational_p, 1, 1);
    define_primitive("integer?", p_integer_p, 1, 1);
    define_primitive("exact?", p_exact_p, 1, 1);
    define_primitive("inexact?", p_inexact_p, 1, 1);
    define_primitive("exact-integer?", p_exact_integer_p, 1, 1);
    define_primitive("exact-rational?", p_exact_rational_p, 1, 1);
    define_primitive("nan?", p_nan_p, 1, 1);
    define_primitive("infinite?", p_infinite_p, 1, 1);
    define_primitive("finite?", p_finite_p, 1, 1);
    define_primitive("zero?", p_zero_p, 1, 1);
    define_primitive("positive?", p_positive_p, 1, 1);
    define_primitive("negative?", p_negative_p, 1, 1);
    define_primitive("odd?", p_odd_p, 1, 1);
    define_primitive("even?", p_even_p, 1, 1);
    define_primitive("max", p_max, 1, -1);
    define_primitive("min", p_min, 1, -1);
    define_primitive("abs", p_abs, 1, 1);
    define_primitive("magnitude", p_abs, 1, 1);
    define_primitive("make-rectangular", p_make_rectangular, 2, 2);
    define_primitive("make-polar", p_make_polar, 2, 2);
    define_primitive("real-part", p_real_part, 1, 1);
    define_primitive("imag-part", p_imag_part, 1, 1);
    define_primitive("angle", p_angle, 1, 1);
    define_primitive("rationalize", p_rationalize, 2, 2);
    define_primitive("quotient", p_quotient, 2, 2);
    define_primitive("remainder", p_remainder, 2, 2);
    define_primitive("modulo", p_modulo, 2, 2);
    define_primitive("truncate-quotient", p_quotient, 2, 2);
    define_primitive("truncate-remainder", p_remainder, 2, 2);
    define_primitive("floor-quotient", p_floor_quotient, 2, 2);
    define_primitive("floor-remainder", p_modulo, 2, 2);
    define_primitive("floor/", p_floor_div, 2, 2);
    define_primitive("truncate/", p_truncate_div, 2, 2);
    define_primitive("gcd", p_gcd, 0, -1);
    define_primitive("lcm", p_lcm, 0, -1);
    define_primitive("floor", p_floor, 1, 1);
    define_primitive("ceiling", p_ceiling, 1, 1);
    define_primitive("truncate", p_truncate, 1, 1);
    define_primitive("round", p_round, 1, 1);
    define_primitive("exact", p_exact, 1, 1);
    define_primitive("inexact", p_inexact, 1, 1);
    define_primitive("exact->inexact", p_inexact, 1, 1);
    define_primitive("inexact->exact", p_exact, 1, 1);
    define_primitive("sqrt", p_sqrt, 1, 1);
    define_primitive("exact-integer-sqrt", p_exact_integer_sqrt, 1, 1);
    define_primitive("expt", p_expt, 2, 2);
    define_primitive("exp", p_exp, 1, 1);
    define_primitive("log", p_log, 1, 2);
    define_primitive("sin", p_sin, 1, 1);
    define_primitive("cos", p_cos, 1, 1);
    define_primitive("tan", p_tan, 1, 1);
    define_primitive("asin", p_asin, 1, 1);
    define_primitive("acos", p_acos, 1, 1);
    define_primitive("atan", p_atan, 1, 2);
    define_primitive("square", p_square, 1, 1);
    define_primitive("numerator", p_numerator, 1, 1);
    define_primitive("denominator", p_denominator, 1, 1);
    define_primitive("number->string", p_number_to_string, 1, 2);
    define_primitive("string->number", p_string_to_number, 1, 2);
}
