/* Strings and UTF-8: a string holds 32-bit code points; outside the heap text is UTF-8.
 * Every conversion between the two goes through the functions here. */
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "ports.h"

size_t utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

static size_t encoded_length(uint32_t c)
{
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

size_t utf8_sequence_length(unsigned char b0)
{
    return b0 >= 0xc2 && b0 <= 0xdf   ? 2
           : b0 >= 0xe0 && b0 <= 0xef ? 3
           : b0 >= 0xf0 && b0 <= 0xf4 ? 4
                                      : 1;
}

size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *c)
{
    unsigned char b0 = p[0];
    if (b0 < 0x80) {
        *c = b0;
        return 1;
    }
    size_t len = utf8_sequence_length(b0);
    *c = REPLACEMENT_CHAR;
    if (len == 1 || len > n)
        return 1;
    uint32_t code = b0 & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 1;
        code = (code << 6) | (p[i] & 0x3fu);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are not characters. */
    if (code < (len == 2   ? 0x80u
                : len == 3 ? 0x800u
                           : 0x10000u) ||
        (code >= 0xd800 && code < 0xe000) || code > 0x10ffff)
        return 1;
    *c = code;
    return len;
}

value make_string_filled(size_t len, uint32_t c)
{
    if (len > ((size_t)1 << 40))
        scm_error1("a string of that length does not fit in memory", MAKE_FIX((intptr_t)len));
    value s = alloc_bytes(T_STRING, len, len * sizeof(uint32_t));
    uint32_t *chars = STRING_CHARS(s);
    if (c != 0)
        for (size_t i = 0; i < len; i++)
            chars[i] = c;
    return s;
}

value string_from_utf8(const char *bytes, size_t n)
{
    const unsigned char *p = (const unsigned char *)bytes;
    size_t count = 0;
    bool ascii = true;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i++;
        } else {
            uint32_t c;
            i += utf8_decode(p + i, n - i, &c);
            ascii = false;
        }
        count++;
    }
    value s = make_string_filled(count, 0);
    uint32_t *out = STRING_CHARS(s);
    if (ascii) {
        for (size_t i = 0; i < n; i++)
            out[i] = p[i];
        return s;
    }
    for (size_t i = 0, k = 0; i < n; k++)
        i += utf8_decode(p + i, n - i, &out[k]);
    return s;
}

size_t string_utf8_length(value s, size_t start, size_t end)
{
    const uint32_t *chars = STRING_CHARS(s);
    size_t n = 0;
    for (size_t i = start; i < end; i++)
        n += encoded_length(chars[i]);
    return n;
}

size_t string_encode_utf8(value s, size_t start, size_t end, char *out)
{
    const uint32_t *chars = STRING_CHARS(s);
    size_t n = 0;
    for (size_t i = start; i < end; i++) {
        uint32_t c = chars[i];
        if (c < 0x80)
            out[n++] = (char)c;
        else
            n += utf8_encode(c, out + n);
    }
    return n;
}

char *string_to_utf8(value s, size_t start, size_t end, size_t *n)
{
    size_t len = string_utf8_length(s, start, end);
    char *buf = malloc(len + 1);
    if (!buf)
        scm_error("out of memory outside the heap (converting a string to UTF-8)", NIL);
    string_encode_utf8(s, start, end, buf);
    buf[len] = 0;
    *n = len;
    return buf;
}

void string_to_c_string(const char *who, value s, char *buf, size_t cap)
{
    size_t len = string_utf8_length(s, 0, STRING_LEN(s));
    char msg[160];
    if (len + 1 > cap) {
        snprintf(msg, sizeof msg, "%s: the string is too long", who);
        scm_error1(msg, s);
    }
    for (size_t i = 0; i < STRING_LEN(s); i++)
        if (STRING_CHARS(s)[i] == 0) {
            snprintf(msg, sizeof msg, "%s: the string holds a NUL character", who);
            scm_error1(msg, s);
        }
    string_encode_utf8(s, 0, STRING_LEN(s), buf);
    buf[len] = 0;
}

void port_write_string(value port, value s, size_t start, size_t end)
{
    size_t base = vsp;
    vs_push(port);
    vs_push(s);
    char buf[1024];
    while (start < end) {
        /* Encode a chunk, then write it: the write may move both objects. */
        size_t n = 0;
        const uint32_t *chars = STRING_CHARS(vs[base + 1]);
        while (start < end && n + UTF8_MAX <= sizeof buf) {
            uint32_t c = chars[start++];
            if (c < 0x80)
                buf[n++] = (char)c;
            else
                n += utf8_encode(c, buf + n);
        }
        port_write(vs[base], buf, n);
    }
    vsp = base;
}

/* ---- Case ---- */

/* The C library's tables for the characters this file has no rules for: C.UTF-8's
 * LC_CTYPE, opened once (without touching the process's locale); 0 when the C library has
 * no such locale. */
static locale_t libc_utf8;
static pthread_once_t libc_utf8_once = PTHREAD_ONCE_INIT;

static void open_libc_utf8(void)
{
    libc_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t libc_locale(void)
{
    pthread_once(&libc_utf8_once, open_libc_utf8);
    return libc_utf8;
}

/* When c is in a block this file has rules for (ASCII, Latin-1, Latin Extended-A, the
 * basic Greek and Cyrillic letters), sets its simple upper- and lower-case mappings and
 * returns true. */
static bool own_case(uint32_t c, uint32_t *upper, uint32_t *lower)
{
    *upper = *lower = c;
    if (c < 0x80) {
        if (c >= 'A' && c <= 'Z')
            *lower = c + 32;
        else if (c >= 'a' && c <= 'z')
            *upper = c - 32;
        return true;
    }
    if (c < 0x100) {
        if (c >= 0xc0 && c <= 0xde && c != 0xd7)
            *lower = c + 32;
        else if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
            *upper = c - 32;
        else if (c == 0xff)
            *upper = 0x178;
        else if (c == 0xb5)
            *upper = 0x39c;
        return true;
    }
    if (c < 0x180) {
        bool even_upper = (c < 0x130) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177);
        bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
        if (c == 0x130)
            *lower = 'i';
        else if (c == 0x131)
            *upper = 'I';
        else if (c == 0x178)
            *lower = 0xff;
        else if (c == 0x17f)
            *upper = 'S';
        else if (even_upper)
            *(c % 2 == 0 ? lower : upper) = c % 2 == 0 ? c + 1 : c - 1;
        else if (odd_upper)
            *(c % 2 == 1 ? lower : upper) = c % 2 == 1 ? c + 1 : c - 1;
        return true;
    }
    if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) {
        *lower = c + 32;
        return true;
    }
    if (c >= 0x3b1 && c <= 0x3cb) {
        *upper = c == 0x3c2 ? 0x3a3 : c - 32;
        return true;
    }
    if (c >= 0x400 && c <= 0x42f) {
        *lower = c < 0x410 ? c + 80 : c + 32;
        return true;
    }
    if (c >= 0x430 && c <= 0x45f) {
        *upper = c >= 0x450 ? c - 80 : c - 32;
        return true;
    }
    return false;
}

uint32_t char_upcase(uint32_t c)
{
    uint32_t up, low;
    if (own_case(c, &up, &low))
        return up;
    locale_t l = libc_locale();
    return l ? (uint32_t)towupper_l((wint_t)c, l) : c;
}

uint32_t char_downcase(uint32_t c)
{
    uint32_t up, low;
    if (own_case(c, &up, &low))
        return low;
    locale_t l = libc_locale();
    return l ? (uint32_t)towlower_l((wint_t)c, l) : c;
}

uint32_t char_foldcase(uint32_t c)
{
    switch (c) { /* letters whose folding is not their lower case */
    case 0xb5: return 0x3bc;
    case 0x17f: return 's';
    case 0x3c2: return 0x3c3;
    case 0x130: return 0x130;
    default: return char_downcase(c);
    }
}

bool char_alphabetic_p(uint32_t c)
{
    if (c < 0x80)
        return (c | 32) >= 'a' && (c | 32) <= 'z';
    locale_t l = libc_locale();
    if (l)
        return iswalpha_l((wint_t)c, l) != 0;
    return char_upcase(c) != c || char_downcase(c) != c;
}

bool char_upper_case_p(uint32_t c)
{
    uint32_t up, low;
    if (own_case(c, &up, &low))
        return low != c;
    locale_t l = libc_locale();
    return l && iswupper_l((wint_t)c, l);
}

bool char_lower_case_p(uint32_t c)
{
    uint32_t up, low;
    if (own_case(c, &up, &low))
        return up != c || c == 0xdf || c == 0x138 || c == 0x149;
    locale_t l = libc_locale();
    return l && iswlower_l((wint_t)c, l);
}

bool char_whitespace_p(uint32_t c)
{
    return c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}
