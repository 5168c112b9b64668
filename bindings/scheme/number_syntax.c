/* The written form of numbers: number->string and string->number (which the reader uses
 * for every token that may be a number).
 *
 * Accepted: an optional radix prefix (#b #o #d #x) and exactness prefix (#e #i); a sign;
 * then an integer or a fraction n/d in the radix, or (radix 10 only) a decimal with an
 * optional exponent; or +inf.0 -inf.0 +nan.0 -nan.0. Integers and fractions are exact,
 * decimals inexact, unless a prefix says otherwise. Complex numbers (1+2i, +i, 1@2) are
 * not numbers here: string->number gives #f and the reader reports them. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "numbers.h"

/* The largest decimal exponent #e accepts: 10^100000 has 332193 bits. */
#define EXACT_EXPONENT_MAX 100000

int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

static size_t scan_digits(const char *p, size_t n, int radix)
{
    size_t k = 0;
    while (k < n && digit_value(p[k]) < radix)
        k++;
    return k;
}

/* The parts of a real number's text, found without allocating. */
struct real_syntax {
    bool negative;
    const char *digits; /* the integer, the numerator, or a decimal's integer part */
    size_t ndigits;
    const char *den; /* a fraction's denominator, else NULL */
    size_t nden;
    const char *fraction; /* a decimal's digits after the point */
    size_t nfraction;
    long exponent; /* a decimal's exponent, clamped to +-(EXACT_EXPONENT_MAX + 1) */
    bool decimal;
    int special; /* 'i' for an infinity, 'n' for a NaN, else 0 */
};

static bool scan_real(const char *p, size_t n, int radix, struct real_syntax *r)
{
    memset(r, 0, sizeof *r);
    if (n == 6 && (p[0] == '+' || p[0] == '-') &&
        (strncasecmp(p + 1, "inf.0", 5) == 0 || strncasecmp(p + 1, "nan.0", 5) == 0)) {
        r->negative = p[0] == '-';
        r->special = tolower((unsigned char)p[1]);
        return true;
    }
    size_t i = 0;
    if (n > 0 && (p[0] == '+' || p[0] == '-')) {
        r->negative = p[0] == '-';
        i = 1;
    }
    size_t k = scan_digits(p + i, n - i, radix);
    r->digits = p + i;
    r->ndigits = k;
    if (k > 0 && i + k == n)
        return true;
    if (k > 0 && p[i + k] == '/') {
        size_t j = i + k + 1;
        size_t m = scan_digits(p + j, n - j, radix);
        r->den = p + j;
        r->nden = m;
        return m > 0 && j + m == n;
    }
    if (radix != 10)
        return false;
    size_t j = i + k;
    if (j < n && p[j] == '.') {
        j++;
        r->fraction = p + j;
        r->nfraction = scan_digits(p + j, n - j, 10);
        j += r->nfraction;
    }
    if (k == 0 && r->nfraction == 0)
        return false;
    if (j < n && (p[j] == 'e' || p[j] == 'E')) {
        j++;
        bool minus = j < n && p[j] == '-';
        if (j < n && (p[j] == '+' || p[j] == '-'))
            j++;
        size_t e = scan_digits(p + j, n - j, 10);
        if (e == 0)
            return false;
        for (size_t q = 0; q < e; q++)
            if (r->exponent <= EXACT_EXPONENT_MAX)
                r->exponent = r->exponent * 10 + (p[j + q] - '0');
        if (minus)
            r->exponent = -r->exponent;
        j += e;
    }
    r->decimal = true;
    return j == n;
}

/* The exact value of a decimal: its digits as an integer, scaled by a power of ten. */
static value exact_decimal(const struct real_syntax *r)
{
    long e = r->exponent - (long)r->nfraction;
    if (e > EXACT_EXPONENT_MAX || e < -EXACT_EXPONENT_MAX)
        return FALSE_V;
    size_t n = r->ndigits + r->nfraction;
    char *buf = malloc(n + 1);
    if (!buf)
        return FALSE_V;
    if (r->ndigits) /* "#e.5" has no integer digits: digits may be NULL */
        memcpy(buf, r->digits, r->ndigits);
    if (r->nfraction) /* "#e1e3" has no fraction: fraction may be NULL */
        memcpy(buf + r->ndigits, r->fraction, r->nfraction);
    vs_push(int_parse(buf, n, 10, r->negative));
    free(buf);
    value scale = int_expt(MAKE_FIX(10), (unsigned long)(e < 0 ? -e : e));
    value m = vs[--vsp];
    return e < 0 ? rat_make(m, scale) : int_mul(m, scale);
}

static value inexact_decimal(const char *p, size_t n)
{
    char *buf = malloc(n + 1);
    if (!buf)
        return FALSE_V;
    memcpy(buf, p, n);
    buf[n] = 0;
    double x = strtod(buf, NULL);
    free(buf);
    return make_flonum(x);
}

/* The value of the real number text p (sign included), or FALSE_V. */
static value real_value(const char *p, size_t n, int radix, int exactness)
{
    struct real_syntax r;
    if (!scan_real(p, n, radix, &r))
        return FALSE_V;
    if (r.special) {
        if (exactness == 'e')
            return FALSE_V;
        return make_flonum(r.special == 'n' ? NAN : r.negative ? -INFINITY : INFINITY);
    }
    if (r.decimal)
        return exactness == 'e' ? exact_decimal(&r) : inexact_decimal(p, n);
    value x = int_parse(r.digits, r.ndigits, radix, r.negative);
    if (r.den) {
        vs_push(x);
        value d = int_parse(r.den, r.nden, radix, false);
        x = vs[--vsp];
        if (d == MAKE_FIX(0))
            return FALSE_V;
        x = rat_make(x, d);
    }
    return exactness == 'i' ? make_flonum(exact_to_double(x)) : x;
}

/* Reads the #x #e ... prefixes; returns how many characters they take, or -1. */
static long scan_prefixes(const char *s, size_t len, int *radix, int *exactness)
{
    size_t i = 0;
    bool radix_seen = false;
    *exactness = 0;
    while (i + 1 < len && s[i] == '#') {
        char c = (char)tolower((unsigned char)s[i + 1]);
        if (c == 'e' || c == 'i') {
            if (*exactness)
                return -1;
            *exactness = (unsigned char)c;
        } else {
            int r = c == 'x' ? 16 : c == 'b' ? 2 : c == 'o' ? 8 : c == 'd' ? 10 : 0;
            if (!r || radix_seen)
                return -1;
            radix_seen = true;
            *radix = r;
        }
        i += 2;
    }
    return (long)i;
}

value string_to_number(const char *s, size_t len, int radix)
{
    int exactness;
    long skip = scan_prefixes(s, len, &radix, &exactness);
    if (skip < 0)
        return FALSE_V;
    return real_value(s + skip, len - (size_t)skip, radix, exactness);
}

static bool real_syntax_p(const char *p, size_t n, int radix)
{
    struct real_syntax r;
    return scan_real(p, n, radix, &r);
}

bool complex_literal_p(const char *s, size_t len)
{
    int radix = 10, exactness;
    long skip = scan_prefixes(s, len, &radix, &exactness);
    if (skip < 0)
        return false;
    const char *p = s + skip;
    size_t n = len - (size_t)skip;
    const char *at = memchr(p, '@', n);
    if (at)
        return real_syntax_p(p, (size_t)(at - p), radix) &&
               real_syntax_p(at + 1, n - (size_t)(at - p) - 1, radix);
    if (n < 2 || (p[n - 1] != 'i' && p[n - 1] != 'I'))
        return false;
    n--; /* the imaginary part ends before the i */
    for (size_t k = 0; k < n; k++) {
        if (p[k] != '+' && p[k] != '-')
            continue;
        bool imaginary = n - k == 1 || real_syntax_p(p + k, n - k, radix);
        if (imaginary && (k == 0 || real_syntax_p(p, k, radix)))
            return true;
    }
    return false;
}

static value flonum_to_string(double x)
{
    char buf[64];
    if (isnan(x)) {
        snprintf(buf, sizeof buf, "+nan.0");
    } else if (isinf(x)) {
        snprintf(buf, sizeof buf, x > 0 ? "+inf.0" : "-inf.0");
    } else {
        /* The shortest of 15, 16 or 17 digits that reads back as the same double. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, x);
            if (strtod(buf, NULL) == x)
                break;
        }
        /* The exponent without '+' or leading zeros, as Scheme writes it: 1e+20 -> 1e20. */
        char *e = strchr(buf, 'e');
        if (e) {
            char *digits = e + 1 + (e[1] == '-' || e[1] == '+');
            char *first = digits;
            while (first[0] == '0' && first[1])
                first++;
            char *to = e[1] == '-' ? e + 2 : e + 1;
            memmove(to, first, strlen(first) + 1);
            if (!memchr(buf, '.', (size_t)(e - buf)) && strlen(buf) + 3 <= sizeof buf) {
                memmove(e + 2, e, strlen(e) + 1); /* 1e20 -> 1.0e20 */
                memcpy(e, ".0", 2);
            }
        }
        size_t used = strlen(buf);
        if (!strpbrk(buf, ".en") && used + 3 <= sizeof buf)
            memcpy(buf + used, ".0", 3);
    }
    return string_from_utf8(buf, strlen(buf));
}

static value fixnum_to_string(intptr_t x, int radix)
{
    char buf[72];
    size_t k = sizeof buf;
    uintptr_t u = x < 0 ? (uintptr_t)0 - (uintptr_t)x : (uintptr_t)x;
    do {
        buf[--k] = "0123456789abcdefghijklmnopqrstuvwxyz"[u % (unsigned)radix];
        u /= (unsigned)radix;
    } while (u);
    if (x < 0)
        buf[--k] = '-';
    return string_from_utf8(buf + k, sizeof buf - k);
}

value number_to_string(value n, int radix)
{
    if (FIXNUM_P(n))
        return fixnum_to_string(FIX(n), radix);
    if (FLONUM_P(n))
        return flonum_to_string(flonum_value(n));
    if (BIGNUM_P(n))
        return int_to_string(n, radix);
    /* numerator/denominator */
    size_t s = vsp;
    vs_push(n);
    vs_push(int_to_string(RAT_NUM(n), radix));
    vs_push(int_to_string(RAT_DEN(vs[s]), radix));
    size_t a = STRING_LEN(vs[s + 1]), b = STRING_LEN(vs[s + 2]);
    value r = make_string_filled(a + 1 + b, '/');
    memcpy(STRING_CHARS(r), STRING_CHARS(vs[s + 1]), a * sizeof(uint32_t));
    memcpy(STRING_CHARS(r) + a + 1, STRING_CHARS(vs[s + 2]), b * sizeof(uint32_t));
    vsp = s;
    return r;
}
