/* gcvm-scheme's exact numbers: the interfaces between the numeric tower's files.
 *
 * An exact integer is a fixnum or, outside the fixnum range, a bignum:
 *   [hdr(len = limbs * 2 + sign) | limbs...]   pointer-free, least significant limb first,
 * the magnitude in GMP's limb format with a nonzero top limb, the sign in the low bit of the
 * length field (1: negative). A bignum is always normalised: a value that fits a fixnum is a
 * fixnum, so the two never compare equal as objects.
 * An exact rational that is not an integer is a ratnum:
 *   [hdr | numerator | denominator]   both exact integers, the denominator above 1, the two
 * without a common factor.
 * Bignums move when the collector moves objects: code reads a limb pointer only after its
 * last allocation, and keeps values across allocations on the value stack. */
#ifndef GCVM_SCHEME_NUMBERS_H
#define GCVM_SCHEME_NUMBERS_H

#include <gmp.h>

#include "scheme.h"

#define BIGNUM_P(v) IS(v, T_BIGNUM)
#define BIG_NLIMBS(v) ((mp_size_t)(HDR_LEN(v) >> 1))
#define BIG_NEGATIVE(v) ((HDR_LEN(v) & 1) != 0)
#define BIG_LIMBS(v) ((mp_limb_t *)&OBJ(v)[1])
#define RATNUM_P(v) IS(v, T_RATNUM)
#define RAT_NUM(v) (OBJ(v)[1])
#define RAT_DEN(v) (OBJ(v)[2])

static inline bool exact_integer_p(value v)
{
    return FIXNUM_P(v) || BIGNUM_P(v);
}
static inline bool exact_p(value v)
{
    return FIXNUM_P(v) || BIGNUM_P(v) || RATNUM_P(v);
}

/* ---- Exact integers (bignum.c): each takes fixnums or bignums and returns a normalised
 * result; none keeps its arguments alive across its allocations, the caller's copies on
 * the value stack stay valid. ---- */

/* A read-only GMP view of an exact integer, valid until the next allocation. */
struct int_view {
    mpz_t z;
    mp_limb_t limb;
};
mpz_srcptr int_view(value v, struct int_view *buf);
/* A copy of z in the heap (a fixnum when it fits). */
value int_from_mpz(mpz_srcptr z);
value int_add(value a, value b);
value int_sub(value a, value b);
value int_mul(value a, value b);
value int_negate(value a);
/* Integer division of a by b (nonzero): kind 't' truncates, 'f' floors; what 'q' gives the
 * quotient, 'r' the remainder. */
value int_divide(value a, value b, char kind, char what);
int int_compare(value a, value b); /* -1, 0, 1 */
int int_sign(value a);
bool int_odd(value a);
value int_gcd(value a, value b); /* non-negative */
/* a * 2^k for k >= 0. */
value int_shift_left(value a, unsigned long k);
value int_expt(value base, unsigned long e);
/* The floor of the square root of n >= 0 and the rest n - s^2. */
void int_sqrt_rest(value n, value *s, value *rest);
/* The nearest double (ties to even). */
double int_to_double(value a);
/* The digits of a in radix 2..36, a '-' first when negative. */
value int_to_string(value a, int radix);
/* The integer written by the digits [digits, digits + n) in radix 2..36 (all checked). */
value int_parse(const char *digits, size_t n, int radix, bool negative);

/* ---- Exact rationals (rational.c): integers or ratnums ---- */

/* n/d reduced; d nonzero. */
value rat_make(value n, value d);
value rat_numerator(value x);   /* x itself for an integer */
value rat_denominator(value x); /* 1 for an integer */
value exact_add(value a, value b);
value exact_sub(value a, value b);
value exact_mul(value a, value b);
value exact_div(value a, value b); /* b nonzero */
int exact_compare(value a, value b);
int exact_sign(value a);
/* Rounding to an integer: 'f' floor, 'c' ceiling, 't' truncate, 'r' round (ties to even). */
value exact_round(value x, char how);
double exact_to_double(value x);
/* The exact rational equal to a finite double. */
value exact_from_double(double x);

/* ---- Number syntax (number_syntax.c): number->string and string->number ---- */

/* The value of a digit in radixes up to 36 (letters either case), 99 for a non-digit. */
int digit_value(char c);
/* Whether the token is written like a complex number (1+2i, +i, 1@2), which are read
 * as an error: there are no complex numbers. */
bool complex_literal_p(const char *s, size_t len);

#endif
