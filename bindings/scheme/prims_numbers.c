/* Numbers: fixnums (63-bit exact integers) and flonums (doubles). An exact result that
 * does not fit a fixnum is an error (there are no bignums); / of exact integers that do
 * not divide evenly gives a flonum (there are no exact rationals). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scheme.h"

bool number_p(value v)
{
    return FIXNUM_P(v) || FLONUM_P(v);
}

static void check_number(const char *who, value v)
{
    if (!number_p(v))
        type_error(who, "a number", v);
}

__attribute__((noreturn)) static void overflow(const char *who, value a, value b)
{
    char msg[160];
    snprintf(msg, sizeof msg,
             "%s: integer overflow (exact integers are limited to 63 bits; "
             "there are no bignums)",
             who);
    scm_error(msg, cons(a, cons(b, NIL)));
}

static value fix_or_overflow(const char *who, intptr_t r, bool ovf, value a, value b)
{
    if (ovf || r > FIX_MAX || r < FIX_MIN)
        overflow(who, a, b);
    return MAKE_FIX(r);
}

static double d(value v)
{
    return FIXNUM_P(v) ? (double)FIX(v) : flonum_value(v);
}

static value add2(value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t r;
        bool o = __builtin_add_overflow(FIX(a), FIX(b), &r);
        return fix_or_overflow("+", r, o, a, b);
    }
    check_number("+", a);
    check_number("+", b);
    return make_flonum(d(a) + d(b));
}

static value sub2(value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t r;
        bool o = __builtin_sub_overflow(FIX(a), FIX(b), &r);
        return fix_or_overflow("-", r, o, a, b);
    }
    check_number("-", a);
    check_number("-", b);
    return make_flonum(d(a) - d(b));
}

static value mul2(value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t r;
        bool o = __builtin_mul_overflow(FIX(a), FIX(b), &r);
        return fix_or_overflow("*", r, o, a, b);
    }
    check_number("*", a);
    check_number("*", b);
    return make_flonum(d(a) * d(b));
}

static value div2(value a, value b)
{
    check_number("/", a);
    check_number("/", b);
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        if (FIX(b) == 0)
            scm_error1("/: division by zero", a);
        if (FIX(a) % FIX(b) == 0)
            return MAKE_FIX(FIX(a) / FIX(b));
    }
    return make_flonum(d(a) / d(b));
}

static value p_add(int argc, value *argv)
{
    if (argc == 2)
        return add2(argv[0], argv[1]);
    value acc = MAKE_FIX(0);
    for (int i = 0; i < argc; i++) {
        vs_push(acc);
        acc = add2(vs[vsp - 1], argv[i]);
        vsp--;
    }
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

static int compare(const char *who, value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b))
        return (FIX(a) > FIX(b)) - (FIX(a) < FIX(b));
    check_number(who, a);
    check_number(who, b);
    double x = d(a), y = d(b);
    if (isnan(x) || isnan(y))
        return 2; /* unordered: every comparison is false */
    return (x > y) - (x < y);
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
    return FIXNUM_P(v) ||
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
    return BOOL(FIXNUM_P(argv[0]) || (FLONUM_P(argv[0]) && isfinite(flonum_value(argv[0]))));
}

static value p_exact_p(int argc, value *argv)
{
    (void)argc;
    check_number("exact?", argv[0]);
    return BOOL(FIXNUM_P(argv[0]));
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
    return BOOL(FIXNUM_P(argv[0]));
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
    return BOOL(FIXNUM_P(argv[0]) || isfinite(flonum_value(argv[0])));
}

static value p_zero_p(int argc, value *argv)
{
    (void)argc;
    check_number("zero?", argv[0]);
    return BOOL(d(argv[0]) == 0);
}

static value p_positive_p(int argc, value *argv)
{
    (void)argc;
    check_number("positive?", argv[0]);
    return BOOL(d(argv[0]) > 0);
}

static value p_negative_p(int argc, value *argv)
{
    (void)argc;
    check_number("negative?", argv[0]);
    return BOOL(d(argv[0]) < 0);
}

static double integer_arg(const char *who, value v)
{
    if (!integer_valued(v))
        type_error(who, "an integer", v);
    return d(v);
}

static value p_odd_p(int argc, value *argv)
{
    (void)argc;
    if (FIXNUM_P(argv[0]))
        return BOOL(FIX(argv[0]) & 1);
    return BOOL(fmod(integer_arg("odd?", argv[0]), 2) != 0);
}

static value p_even_p(int argc, value *argv)
{
    (void)argc;
    if (FIXNUM_P(argv[0]))
        return BOOL(!(FIX(argv[0]) & 1));
    return BOOL(fmod(integer_arg("even?", argv[0]), 2) == 0);
}

static value p_max_min(int argc, value *argv, bool max, const char *who)
{
    value best = argv[0];
    bool inexact = FLONUM_P(best);
    check_number(who, best);
    for (int i = 1; i < argc; i++) {
        int c = compare(who, argv[i], best);
        if (FLONUM_P(argv[i]))
            inexact = true;
        if (c == 2 || (max ? c > 0 : c < 0))
            best = argv[i];
    }
    if (inexact && FIXNUM_P(best))
        return make_flonum((double)FIX(best));
    return best;
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
    return make_flonum(fabs(flonum_value(v)));
}

/* Integer division: kind 't' truncates, 'f' floors. what: 'q' quotient, 'r' remainder. */
static value int_div(const char *who, value a, value b, char kind, char what)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t x = FIX(a), y = FIX(b);
        if (y == 0)
            scm_error1("division by zero", a);
        if (y == -1 && x == FIX_MIN)
            overflow(who, a, b);
        intptr_t q = x / y, r = x % y;
        if (kind == 'f' && r != 0 && ((r < 0) != (y < 0))) {
            q--;
            r += y;
        }
        return MAKE_FIX(what == 'q' ? q : r);
    }
    double x = integer_arg(who, a), y = integer_arg(who, b);
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

static intptr_t gcd_fix(intptr_t a, intptr_t b)
{
    if (a < 0)
        a = -a;
    if (b < 0)
        b = -b;
    while (b) {
        intptr_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static value p_gcd(int argc, value *argv)
{
    intptr_t g = 0;
    for (int i = 0; i < argc; i++)
        g = gcd_fix(g, arg_fixnum("gcd", argv[i]));
    return MAKE_FIX(g);
}

static value p_lcm(int argc, value *argv)
{
    value l = MAKE_FIX(1);
    for (int i = 0; i < argc; i++) {
        intptr_t x = arg_fixnum("lcm", argv[i]);
        if (x == 0)
            return MAKE_FIX(0);
        intptr_t g = gcd_fix(FIX(l), x);
        l = mul2(l, MAKE_FIX((x < 0 ? -x : x) / g));
    }
    return l;
}

typedef double (*unary_fn)(double);
static value rounding(const char *who, value v, unary_fn fn)
{
    if (FIXNUM_P(v))
        return v;
    check_number(who, v);
    return make_flonum(fn(flonum_value(v)));
}

static value p_floor(int argc, value *argv)
{
    (void)argc;
    return rounding("floor", argv[0], floor);
}

static value p_ceiling(int argc, value *argv)
{
    (void)argc;
    return rounding("ceiling", argv[0], ceil);
}

static value p_truncate(int argc, value *argv)
{
    (void)argc;
    return rounding("truncate", argv[0], trunc);
}

static value p_round(int argc, value *argv)
{
    (void)argc;
    return rounding("round", argv[0], nearbyint); /* ties to even, the default mode */
}

static value p_exact(int argc, value *argv)
{
    (void)argc;
    value v = argv[0];
    if (FIXNUM_P(v))
        return v;
    check_number("exact", v);
    double x = flonum_value(v);
    if (!isfinite(x) || x != floor(x))
        scm_error1("exact: no exact integer equals this number (there are no exact "
                   "rationals)",
                   v);
    if (x > (double)FIX_MAX || x < (double)FIX_MIN)
        overflow("exact", v, v);
    return MAKE_FIX((intptr_t)x);
}

static value p_inexact(int argc, value *argv)
{
    (void)argc;
    value v = argv[0];
    if (FLONUM_P(v))
        return v;
    check_number("inexact", v);
    return make_flonum((double)FIX(v));
}

static value p_sqrt(int argc, value *argv)
{
    (void)argc;
    value v = argv[0];
    check_number("sqrt", v);
    if (FIXNUM_P(v) && FIX(v) >= 0) {
        intptr_t r = (intptr_t)sqrt((double)FIX(v));
        while (r * r > FIX(v))
            r--;
        while ((r + 1) * (r + 1) <= FIX(v))
            r++;
        if (r * r == FIX(v))
            return MAKE_FIX(r);
    }
    if (d(v) < 0)
        scm_error1("sqrt: negative argument (there are no complex numbers)", v);
    return make_flonum(sqrt(d(v)));
}

static value p_exact_integer_sqrt(int argc, value *argv)
{
    (void)argc;
    intptr_t n = arg_fixnum("exact-integer-sqrt", argv[0]);
    if (n < 0)
        type_error("exact-integer-sqrt", "a non-negative exact integer", argv[0]);
    intptr_t r = (intptr_t)sqrt((double)n);
    while (r * r > n)
        r--;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return two_values(MAKE_FIX(r), MAKE_FIX(n - r * r));
}

static value p_expt(int argc, value *argv)
{
    (void)argc;
    value b = argv[0], e = argv[1];
    check_number("expt", b);
    check_number("expt", e);
    if (FIXNUM_P(b) && FIXNUM_P(e) && FIX(e) >= 0) {
        value acc = MAKE_FIX(1), base = b;
        intptr_t n = FIX(e);
        while (n) {
            if (n & 1)
                acc = mul2(acc, base);
            n >>= 1;
            if (n)
                base = mul2(base, base);
        }
        return acc;
    }
    return make_flonum(pow(d(b), d(e)));
}

#define FLOAT_FN(pname, who, expr)                                                                 \
    static value pname(int argc, value *argv)                                                      \
    {                                                                                              \
        (void)argc;                                                                                \
        double x = arg_number_double(who, argv[0]);                                                \
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
    double x = arg_number_double("log", argv[0]);
    if (argc == 2)
        return make_flonum(log(x) / log(arg_number_double("log", argv[1])));
    return make_flonum(log(x));
}

static value p_atan(int argc, value *argv)
{
    double y = arg_number_double("atan", argv[0]);
    if (argc == 2)
        return make_flonum(atan2(y, arg_number_double("atan", argv[1])));
    return make_flonum(atan(y));
}

static value p_square(int argc, value *argv)
{
    (void)argc;
    return mul2(argv[0], argv[0]);
}

static value p_numerator(int argc, value *argv)
{
    (void)argc;
    check_number("numerator", argv[0]);
    return argv[0];
}

static value p_denominator(int argc, value *argv)
{
    (void)argc;
    check_number("denominator", argv[0]);
    return FIXNUM_P(argv[0]) ? MAKE_FIX(1) : make_flonum(1.0);
}

/* ---- Conversion ---- */

value number_to_string(value n, int radix)
{
    char buf[80];
    if (FIXNUM_P(n)) {
        intptr_t x = FIX(n);
        if (radix == 10) {
            snprintf(buf, sizeof buf, "%ld", (long)x);
        } else {
            char tmp[80];
            size_t len = 0;
            uintptr_t u = x < 0 ? (uintptr_t)(-x) : (uintptr_t)x;
            do {
                tmp[len++] = "0123456789abcdefghijklmnopqrstuvwxyz"[u % (unsigned)radix];
                u /= (unsigned)radix;
            } while (u);
            size_t k = 0;
            if (x < 0)
                buf[k++] = '-';
            while (len)
                buf[k++] = tmp[--len];
            buf[k] = 0;
        }
        return make_string(buf, strlen(buf));
    }
    double x = flonum_value(n);
    if (isnan(x))
        snprintf(buf, sizeof buf, "+nan.0");
    else if (isinf(x))
        snprintf(buf, sizeof buf, x > 0 ? "+inf.0" : "-inf.0");
    else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, x);
            if (strtod(buf, NULL) == x)
                break;
        }
        size_t used = strlen(buf);
        if (!strpbrk(buf, ".en") && used + 3 <= sizeof buf)
            memcpy(buf + used, ".0", 3);
    }
    return make_string(buf, strlen(buf));
}

value string_to_number(const char *s, size_t len, int radix)
{
    char buf[128];
    if (len == 0 || len >= sizeof buf)
        return FALSE_V;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *p = buf;
    int exactness = 0; /* 'e' or 'i' */
    while (p[0] == '#') {
        char c = (char)tolower((unsigned char)p[1]);
        if (c == 'x')
            radix = 16;
        else if (c == 'b')
            radix = 2;
        else if (c == 'o')
            radix = 8;
        else if (c == 'd')
            radix = 10;
        else if (c == 'e' || c == 'i')
            exactness = c == 'e' ? 'e' : 'i';
        else
            return FALSE_V;
        p += 2;
    }
    if (!*p)
        return FALSE_V;
    value result;
    if (strcmp(p, "+inf.0") == 0 || strcmp(p, "-inf.0") == 0) {
        result = make_flonum(p[0] == '-' ? -INFINITY : INFINITY);
    } else if (strcmp(p, "+nan.0") == 0 || strcmp(p, "-nan.0") == 0) {
        result = make_flonum(NAN);
    } else {
        char *q = p;
        if (*q == '+' || *q == '-')
            q++;
        if (!*q)
            return FALSE_V;
        bool all_digits = true;
        for (char *c = q; *c; c++) {
            int v = isdigit((unsigned char)*c)   ? *c - '0'
                    : isalpha((unsigned char)*c) ? tolower((unsigned char)*c) - 'a' + 10
                                                 : 99;
            if (v >= radix)
                all_digits = false;
        }
        if (all_digits) {
            errno = 0;
            long long v = strtoll(p, NULL, radix);
            if (errno == ERANGE || v > FIX_MAX || v < FIX_MIN) {
                if (exactness == 'i' || radix != 10)
                    result = make_flonum(strtod(p, NULL));
                else
                    scm_error1("integer literal too large (exact integers are limited to 63 "
                               "bits; there are no bignums)",
                               make_string(s, len));
            } else {
                result = MAKE_FIX((intptr_t)v);
            }
        } else {
            if (radix != 10)
                return FALSE_V;
            /* A decimal: digits, one optional point, an optional exponent. */
            bool digit = false;
            char *c = q;
            while (isdigit((unsigned char)*c)) {
                c++;
                digit = true;
            }
            if (*c == '.') {
                c++;
                while (isdigit((unsigned char)*c)) {
                    c++;
                    digit = true;
                }
            }
            if (!digit)
                return FALSE_V;
            if (*c == 'e' || *c == 'E') {
                c++;
                if (*c == '+' || *c == '-')
                    c++;
                if (!isdigit((unsigned char)*c))
                    return FALSE_V;
                while (isdigit((unsigned char)*c))
                    c++;
            }
            if (*c)
                return FALSE_V;
            result = make_flonum(strtod(p, NULL));
        }
    }
    if (exactness == 'i' && FIXNUM_P(result))
        return make_flonum((double)FIX(result));
    if (exactness == 'e' && FLONUM_P(result)) {
        vs_push(result);
        value e = p_exact(1, &vs[vsp - 1]);
        vsp--;
        return e;
    }
    return result;
}

static value p_number_to_string(int argc, value *argv)
{
    check_number("number->string", argv[0]);
    int radix = argc > 1 ? (int)arg_fixnum("number->string", argv[1]) : 10;
    if (radix != 2 && radix != 8 && radix != 10 && radix != 16)
        scm_error1("number->string: the radix must be 2, 8, 10 or 16", argv[1]);
    return number_to_string(argv[0], radix);
}

static value p_string_to_number(int argc, value *argv)
{
    if (!STRING_P(argv[0]))
        type_error("string->number", "a string", argv[0]);
    int radix = argc > 1 ? (int)arg_fixnum("string->number", argv[1]) : 10;
    if (radix != 2 && radix != 8 && radix != 10 && radix != 16)
        scm_error1("string->number: the radix must be 2, 8, 10 or 16", argv[1]);
    char buf[128];
    size_t n = STRING_LEN(argv[0]);
    if (n >= sizeof buf)
        return FALSE_V;
    memcpy(buf, STRING_BYTES(argv[0]), n);
    return string_to_number(buf, n, radix);
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
