/* Exact integers of any size: fixnums, and bignums whose limbs live pointer-free in the
 * heap. GMP does the arithmetic: its mpn layer works on the limbs in place for the
 * frequent operations (+, -, *), and its mpz layer, over read-only views of the limbs and
 * a temporary result in malloc'd memory that is then copied into the heap, for the rest.
 * A view or limb pointer is read after the last allocation of an operation, because an
 * allocation may move every bignum. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numbers.h"

/* The largest result expt makes: a number of 2^32 bits takes 512 MiB. */
#define EXPT_MAX_BITS ((size_t)1 << 32)

mpz_srcptr int_view(value v, struct int_view *buf)
{
    if (FIXNUM_P(v)) {
        intptr_t x = FIX(v);
        buf->limb = x < 0 ? (mp_limb_t)0 - (mp_limb_t)x : (mp_limb_t)x;
        return mpz_roinit_n(buf->z, &buf->limb, x < 0 ? -1 : x != 0);
    }
    mp_size_t n = BIG_NLIMBS(v);
    return mpz_roinit_n(buf->z, BIG_LIMBS(v), BIG_NEGATIVE(v) ? -n : n);
}

static value big_alloc(mp_size_t limbs)
{
    return alloc_bytes(T_BIGNUM, (size_t)limbs * 2, (size_t)limbs * sizeof(mp_limb_t));
}

/* A fixnum for a magnitude that fits one, else FALSE_V. */
static value small_magnitude(mp_limb_t m, bool negative)
{
    if (!negative && m <= (mp_limb_t)FIX_MAX)
        return MAKE_FIX((intptr_t)m);
    if (negative && m <= (mp_limb_t)FIX_MAX + 1)
        return MAKE_FIX(-(intptr_t)(m - 1) - 1);
    return FALSE_V;
}

/* Gives the bignum r its first n limbs (dropping high zero limbs) and its sign, or
 * returns the fixnum it equals. */
static value normalise(value r, mp_size_t n, bool negative)
{
    const mp_limb_t *d = BIG_LIMBS(r);
    while (n > 0 && d[n - 1] == 0)
        n--;
    if (n == 0)
        return MAKE_FIX(0);
    if (n == 1) {
        value f = small_magnitude(d[0], negative);
        if (f != FALSE_V)
            return f;
    }
    HDR(r) = MAKE_HDR(T_BIGNUM, (size_t)n * 2 + negative);
    return r;
}

value int_from_mpz(mpz_srcptr z)
{
    mp_size_t n = (mp_size_t)mpz_size(z);
    if (n == 0)
        return MAKE_FIX(0);
    if (n == 1) {
        value f = small_magnitude(mpz_getlimbn(z, 0), mpz_sgn(z) < 0);
        if (f != FALSE_V)
            return f;
    }
    value r = big_alloc(n);
    mpn_copyi(BIG_LIMBS(r), mpz_limbs_read(z), n);
    return normalise(r, n, mpz_sgn(z) < 0);
}

static mp_size_t int_size(value v)
{
    return FIXNUM_P(v) ? FIX(v) != 0 : BIG_NLIMBS(v);
}

/* a + b, or a - b when subtract. */
static value add_signed(value a, value b, bool subtract)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t r = subtract ? FIX(a) - FIX(b) : FIX(a) + FIX(b); /* 63-bit: no overflow */
        if (r >= FIX_MIN && r <= FIX_MAX)
            return MAKE_FIX(r);
    }
    if (b == MAKE_FIX(0))
        return a;
    if (a == MAKE_FIX(0))
        return subtract ? int_negate(b) : b;
    mp_size_t na = int_size(a), nb = int_size(b);
    vs_push(a);
    vs_push(b);
    value r = big_alloc((na > nb ? na : nb) + 1);
    b = vs[--vsp];
    a = vs[--vsp];
    struct int_view va, vb;
    mpz_srcptr za = int_view(a, &va), zb = int_view(b, &vb);
    const mp_limb_t *x = mpz_limbs_read(za), *y = mpz_limbs_read(zb);
    bool sa = mpz_sgn(za) < 0, sb = (mpz_sgn(zb) < 0) != subtract;
    mp_limb_t *rd = BIG_LIMBS(r);
    if (sa == sb) {
        if (na >= nb)
            rd[na] = mpn_add(rd, x, na, y, nb);
        else
            rd[nb] = mpn_add(rd, y, nb, x, na);
        return normalise(r, (na > nb ? na : nb) + 1, sa);
    }
    int c = na != nb ? (na > nb ? 1 : -1) : mpn_cmp(x, y, na);
    if (c == 0)
        return MAKE_FIX(0);
    if (c > 0) {
        mpn_sub(rd, x, na, y, nb);
        return normalise(r, na, sa);
    }
    mpn_sub(rd, y, nb, x, na);
    return normalise(r, nb, sb);
}

value int_add(value a, value b)
{
    return add_signed(a, b, false);
}

value int_sub(value a, value b)
{
    return add_signed(a, b, true);
}

value int_negate(value a)
{
    if (FIXNUM_P(a) && a != MAKE_FIX(FIX_MIN))
        return MAKE_FIX(-FIX(a));
    mp_size_t n = int_size(a);
    vs_push(a);
    value r = big_alloc(n);
    a = vs[--vsp];
    struct int_view va;
    mpz_srcptr za = int_view(a, &va);
    mpn_copyi(BIG_LIMBS(r), mpz_limbs_read(za), n);
    return normalise(r, n, mpz_sgn(za) > 0);
}

value int_mul(value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b)) {
        intptr_t r;
        if (!__builtin_mul_overflow(FIX(a), FIX(b), &r) && r >= FIX_MIN && r <= FIX_MAX)
            return MAKE_FIX(r);
    }
    if (a == MAKE_FIX(0) || b == MAKE_FIX(0))
        return MAKE_FIX(0);
    mp_size_t na = int_size(a), nb = int_size(b);
    vs_push(a);
    vs_push(b);
    value r = big_alloc(na + nb);
    b = vs[--vsp];
    a = vs[--vsp];
    struct int_view va, vb;
    mpz_srcptr za = int_view(a, &va), zb = int_view(b, &vb);
    const mp_limb_t *x = mpz_limbs_read(za), *y = mpz_limbs_read(zb);
    if (na >= nb)
        mpn_mul(BIG_LIMBS(r), x, na, y, nb);
    else
        mpn_mul(BIG_LIMBS(r), y, nb, x, na);
    return normalise(r, na + nb, (mpz_sgn(za) < 0) != (mpz_sgn(zb) < 0));
}

value int_divide(value a, value b, char kind, char what)
{
    if (FIXNUM_P(a) && FIXNUM_P(b) && !(FIX(a) == FIX_MIN && FIX(b) == -1)) {
        intptr_t x = FIX(a), y = FIX(b), q = x / y, r = x % y;
        if (kind == 'f' && r != 0 && (r < 0) != (y < 0)) {
            q--;
            r += y;
        }
        return MAKE_FIX(what == 'q' ? q : r);
    }
    struct int_view va, vb;
    mpz_srcptr za = int_view(a, &va), zb = int_view(b, &vb);
    mpz_t r;
    mpz_init(r);
    if (what == 'q')
        (kind == 'f' ? mpz_fdiv_q : mpz_tdiv_q)(r, za, zb);
    else
        (kind == 'f' ? mpz_fdiv_r : mpz_tdiv_r)(r, za, zb);
    value v = int_from_mpz(r);
    mpz_clear(r);
    return v;
}

int int_compare(value a, value b)
{
    if (FIXNUM_P(a) && FIXNUM_P(b))
        return (FIX(a) > FIX(b)) - (FIX(a) < FIX(b));
    struct int_view va, vb;
    int c = mpz_cmp(int_view(a, &va), int_view(b, &vb));
    return (c > 0) - (c < 0);
}

int int_sign(value a)
{
    if (FIXNUM_P(a))
        return (FIX(a) > 0) - (FIX(a) < 0);
    return BIG_NEGATIVE(a) ? -1 : 1;
}

bool int_odd(value a)
{
    return FIXNUM_P(a) ? (FIX(a) & 1) != 0 : (BIG_LIMBS(a)[0] & 1) != 0;
}

value int_gcd(value a, value b)
{
    struct int_view va, vb;
    mpz_t r;
    mpz_init(r);
    mpz_gcd(r, int_view(a, &va), int_view(b, &vb));
    value v = int_from_mpz(r);
    mpz_clear(r);
    return v;
}

value int_shift_left(value a, unsigned long k)
{
    struct int_view va;
    mpz_t r;
    mpz_init(r);
    mpz_mul_2exp(r, int_view(a, &va), k);
    value v = int_from_mpz(r);
    mpz_clear(r);
    return v;
}

value int_expt(value base, unsigned long e)
{
    struct int_view vb;
    mpz_srcptr zb = int_view(base, &vb);
    if (mpz_cmpabs_ui(zb, 1) <= 0) { /* 0, 1 or -1: no size limit */
        if (e == 0)
            return MAKE_FIX(1);
        if (base == MAKE_FIX(-1))
            return MAKE_FIX((e & 1) ? -1 : 1);
        return base;
    }
    size_t bits = mpz_sizeinbase(zb, 2);
    if (e > EXPT_MAX_BITS / bits)
        scm_error1("expt: the result would be too large (over 2^32 bits)", MAKE_FIX((intptr_t)e));
    mpz_t r;
    mpz_init(r);
    mpz_pow_ui(r, zb, e);
    value v = int_from_mpz(r);
    mpz_clear(r);
    return v;
}

void int_sqrt_rest(value n, value *s, value *rest)
{
    struct int_view vn;
    mpz_t root, rem;
    mpz_init(root);
    mpz_init(rem);
    mpz_sqrtrem(root, rem, int_view(n, &vn));
    vs_push(int_from_mpz(root));
    *rest = int_from_mpz(rem);
    *s = vs[--vsp];
    mpz_clear(root);
    mpz_clear(rem);
}

double int_to_double(value a)
{
    if (FIXNUM_P(a))
        return (double)FIX(a);
    struct int_view va;
    mpz_srcptr z = int_view(a, &va);
    size_t bits = mpz_sizeinbase(z, 2);
    if (bits <= 63)
        return mpz_get_d(z); /* exact */
    /* The top 55 bits with a sticky bit for the rest: converting those rounds once, to
     * nearest with ties to even, as converting the whole number would. */
    mp_bitcnt_t shift = bits - 55;
    mpz_t top;
    mpz_init(top);
    mpz_tdiv_q_2exp(top, z, shift);
    uint64_t m = (uint64_t)mpz_getlimbn(top, 0);
    if (mpz_scan1(z, 0) < shift)
        m |= 1;
    mpz_clear(top);
    double d = ldexp((double)m, shift > INT32_MAX ? INT32_MAX : (int)shift);
    return mpz_sgn(z) < 0 ? -d : d;
}

value int_to_string(value a, int radix)
{
    struct int_view va;
    mpz_srcptr z = int_view(a, &va);
    size_t cap = mpz_sizeinbase(z, radix) + 2;
    char *buf = malloc(cap);
    if (!buf)
        scm_error1("number->string: out of memory outside the heap", MAKE_FIX((intptr_t)cap));
    mpz_get_str(buf, radix, z);
    value s = string_from_utf8(buf, strlen(buf));
    free(buf);
    return s;
}

value int_parse(const char *digits, size_t n, int radix, bool negative)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i < n && acc <= (UINT64_MAX - 36) / 36; i++)
        acc = acc * (uint64_t)radix + (uint64_t)digit_value(digits[i]);
    if (i == n) {
        value f = small_magnitude(acc, negative);
        if (f != FALSE_V)
            return f;
    }
    char *buf = malloc(n + 1);
    if (!buf)
        scm_error1("string->number: out of memory outside the heap", MAKE_FIX((intptr_t)n));
    memcpy(buf, digits, n);
    buf[n] = 0;
    mpz_t z;
    mpz_init_set_str(z, buf, radix);
    free(buf);
    if (negative)
        mpz_neg(z, z);
    value v = int_from_mpz(z);
    mpz_clear(z);
    return v;
}
