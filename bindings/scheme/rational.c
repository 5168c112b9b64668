/* Exact rationals: an exact integer, or a ratnum (a reduced fraction whose denominator is
 * above 1). The arithmetic works on numerators and denominators with the exact integer
 * operations of bignum.c; every intermediate lives on the value stack, because each
 * operation may allocate and move the others. */
#include <math.h>

#include "numbers.h"

value rat_numerator(value x)
{
    return RATNUM_P(x) ? RAT_NUM(x) : x;
}

value rat_denominator(value x)
{
    return RATNUM_P(x) ? RAT_DEN(x) : MAKE_FIX(1);
}

value rat_make(value n, value d)
{
    size_t s = vsp;
    vs_push(n);
    vs_push(d);
    if (int_sign(vs[s + 1]) < 0) {
        vs[s] = int_negate(vs[s]);
        vs[s + 1] = int_negate(vs[s + 1]);
    }
    vs_push(int_gcd(vs[s], vs[s + 1]));
    if (vs[s + 2] != MAKE_FIX(1)) {
        vs[s] = int_divide(vs[s], vs[s + 2], 't', 'q');
        vs[s + 1] = int_divide(vs[s + 1], vs[s + 2], 't', 'q');
    }
    value r = vs[s];
    if (vs[s + 1] != MAKE_FIX(1)) {
        r = alloc_object(T_RATNUM, 0, 2);
        SET(r, RAT_NUM(r), vs[s]);
        SET(r, RAT_DEN(r), vs[s + 1]);
    }
    vsp = s;
    return r;
}

/* a/b + c/d = (ad + cb) / bd, or its difference when subtract. */
static value add_fractions(value a, value b, bool subtract)
{
    size_t s = vsp;
    vs_push(a);
    vs_push(b);
    vs_push(int_mul(rat_numerator(vs[s]), rat_denominator(vs[s + 1])));
    vs_push(int_mul(rat_numerator(vs[s + 1]), rat_denominator(vs[s])));
    vs[s + 2] = subtract ? int_sub(vs[s + 2], vs[s + 3]) : int_add(vs[s + 2], vs[s + 3]);
    vs[s + 3] = int_mul(rat_denominator(vs[s]), rat_denominator(vs[s + 1]));
    value r = rat_make(vs[s + 2], vs[s + 3]);
    vsp = s;
    return r;
}

value exact_add(value a, value b)
{
    if (exact_integer_p(a) && exact_integer_p(b))
        return int_add(a, b);
    return add_fractions(a, b, false);
}

value exact_sub(value a, value b)
{
    if (exact_integer_p(a) && exact_integer_p(b))
        return int_sub(a, b);
    return add_fractions(a, b, true);
}

/* (a/b)(c/d) = ac/bd, and with invert (a/b)/(c/d) = ad/bc. */
static value multiply_fractions(value a, value b, bool invert)
{
    size_t s = vsp;
    vs_push(a);
    vs_push(b);
    value bn = invert ? rat_denominator(b) : rat_numerator(b);
    vs_push(int_mul(rat_numerator(vs[s]), bn));
    value bd = invert ? rat_numerator(vs[s + 1]) : rat_denominator(vs[s + 1]);
    vs_push(int_mul(rat_denominator(vs[s]), bd));
    value r = rat_make(vs[s + 2], vs[s + 3]);
    vsp = s;
    return r;
}

value exact_mul(value a, value b)
{
    if (exact_integer_p(a) && exact_integer_p(b))
        return int_mul(a, b);
    return multiply_fractions(a, b, false);
}

value exact_div(value a, value b)
{
    return multiply_fractions(a, b, true);
}

int exact_compare(value a, value b)
{
    if (exact_integer_p(a) && exact_integer_p(b))
        return int_compare(a, b);
    size_t s = vsp;
    vs_push(a);
    vs_push(b);
    vs_push(int_mul(rat_numerator(vs[s]), rat_denominator(vs[s + 1])));
    value right = int_mul(rat_numerator(vs[s + 1]), rat_denominator(vs[s]));
    int c = int_compare(vs[s + 2], right);
    vsp = s;
    return c;
}

int exact_sign(value a)
{
    return int_sign(rat_numerator(a));
}

value exact_round(value x, char how)
{
    if (!RATNUM_P(x))
        return x;
    if (how == 't')
        return int_divide(RAT_NUM(x), RAT_DEN(x), 't', 'q');
    size_t s = vsp;
    vs_push(x);
    vs_push(int_divide(RAT_NUM(x), RAT_DEN(x), 'f', 'q'));
    value r = vs[s + 1];
    if (how == 'c') {
        r = int_add(vs[s + 1], MAKE_FIX(1));
    } else if (how == 'r') {
        /* The fraction part, in (0, 1), against one half; a tie goes to the even side. */
        value rest = int_divide(RAT_NUM(vs[s]), RAT_DEN(vs[s]), 'f', 'r');
        rest = int_mul(rest, MAKE_FIX(2));
        int c = int_compare(rest, RAT_DEN(vs[s]));
        if (c > 0 || (c == 0 && int_odd(vs[s + 1])))
            r = int_add(vs[s + 1], MAKE_FIX(1));
    }
    vsp = s;
    return r;
}

double exact_to_double(value x)
{
    if (!RATNUM_P(x))
        return int_to_double(x);
    struct int_view vn, vd;
    mpz_t num, den, q, r;
    mpz_init(num);
    mpz_init_set(den, int_view(RAT_DEN(x), &vd));
    mpz_abs(num, int_view(RAT_NUM(x), &vn));
    mpz_init(q);
    mpz_init(r);
    /* Scale so the quotient has 55 or 56 bits, then convert it with a sticky bit for the
     * remainder: one rounding, to nearest with ties to even. */
    long k = (long)mpz_sizeinbase(num, 2) - (long)mpz_sizeinbase(den, 2) - 55;
    if (k > 0)
        mpz_mul_2exp(den, den, (mp_bitcnt_t)k);
    else
        mpz_mul_2exp(num, num, (mp_bitcnt_t)-k);
    mpz_tdiv_qr(q, r, num, den);
    uint64_t m = (uint64_t)mpz_get_ui(q) | (mpz_sgn(r) != 0);
    bool negative = int_sign(RAT_NUM(x)) < 0;
    mpz_clear(num);
    mpz_clear(den);
    mpz_clear(q);
    mpz_clear(r);
    double d = ldexp((double)m, k < INT32_MIN ? INT32_MIN : k > INT32_MAX ? INT32_MAX : (int)k);
    return negative ? -d : d;
}

value exact_from_double(double x)
{
    int e;
    double m = frexp(x, &e); /* x = m * 2^e, 0.5 <= |m| < 1 */
    int64_t mant = (int64_t)ldexp(m, 53);
    e -= 53;
    if (mant == 0)
        return MAKE_FIX(0);
    if (e >= 0)
        return int_shift_left(MAKE_FIX(mant), (unsigned long)e);
    size_t s = vsp;
    vs_push(int_shift_left(MAKE_FIX(1), (unsigned long)-e));
    value r = rat_make(MAKE_FIX(mant), vs[s]);
    vsp = s;
    return r;
}
