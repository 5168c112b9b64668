/* The reader: text to data, recording where each list starts (in the pair's type word)
 * so that errors can name a file, line and column. It never trusts its input: every
 * malformed datum is a read error, and nesting is bounded by the evaluator's stack
 * check. The text is UTF-8: the syntax is ASCII, a symbol's name keeps the text's bytes
 * (made valid UTF-8), strings and characters are decoded (invalid bytes read as U+FFFD).
 * Columns count characters. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "numbers.h"
#include "scheme.h"

void stack_check(void);

/* Shared by the threads; the lock is never held across an allocation. */
static pthread_mutex_t file_names_lock = PTHREAD_MUTEX_INITIALIZER;
static char **file_names;
static int nfiles;

int source_file_index(const char *name)
{
    pthread_mutex_lock(&file_names_lock);
    int found = -1;
    for (int i = 0; i < nfiles && found < 0; i++)
        if (strcmp(file_names[i], name) == 0)
            found = i;
    if (found < 0 && nfiles >= 0xffff)
        found = 0;
    if (found < 0) {
        char **n = realloc(file_names, (size_t)(nfiles + 1) * sizeof *n);
        char *copy = strdup(name);
        if (!n || !copy) {
            fprintf(stderr, "gcvm-scheme: out of memory\n");
            exit(70);
        }
        file_names = n;
        file_names[nfiles] = copy;
        found = nfiles++;
    }
    pthread_mutex_unlock(&file_names_lock);
    return found;
}

const char *source_file_name(int index)
{
    pthread_mutex_lock(&file_names_lock);
    const char *name = index >= 0 && index < nfiles ? file_names[index] : "?";
    pthread_mutex_unlock(&file_names_lock);
    return name;
}

const char *format_location(uint64_t loc, char *buf, size_t len)
{
    unsigned line = (unsigned)((loc >> 16) & 0xffffffu), col = (unsigned)(loc & 0xffffu);
    if (line == 0)
        snprintf(buf, len, "%s", "");
    else
        snprintf(buf, len, "%s:%u:%u", source_file_name((int)(loc >> 40)), line, col);
    return buf;
}

void reader_init(struct reader *r, const char *text, size_t len, int file)
{
    memset(r, 0, sizeof *r);
    r->text = text;
    r->len = len;
    r->line = 1;
    r->col = 1;
    r->file = file;
}

static uint64_t here(const struct reader *r)
{
    unsigned line = r->line > 0xffffff ? 0xffffff : (unsigned)r->line;
    unsigned col = r->col > 0xffff ? 0xffff : (unsigned)r->col;
    return LOC_MAKE(r->file, line, col);
}

__attribute__((noreturn)) static void read_error(struct reader *r, uint64_t at, const char *msg)
{
    (void)r;
    current_location = at;
    char full[200];
    snprintf(full, sizeof full, "read error: %s", msg);
    scm_raise(make_error("read", full, NIL));
}

__attribute__((noreturn)) static void unexpected_end(struct reader *r, uint64_t at,
                                                     const char *what)
{
    r->incomplete = 1;
    char msg[120];
    snprintf(msg, sizeof msg, "the text ends inside %s", what);
    read_error(r, at, msg);
}

/* A token written like a complex number is an error rather than a symbol. */
static void reject_complex(struct reader *r, uint64_t at, const char *tok, size_t n)
{
    if (!complex_literal_p(tok, n))
        return;
    char msg[160];
    snprintf(msg, sizeof msg, "%.*s: complex numbers are not supported (only real numbers)",
             (int)(n > 60 ? 60 : n), tok);
    read_error(r, at, msg);
}

static int peek(const struct reader *r)
{
    return r->pos < r->len ? (unsigned char)r->text[r->pos] : -1;
}

static int next(struct reader *r)
{
    if (r->pos >= r->len)
        return -1;
    int c = (unsigned char)r->text[r->pos++];
    if (c == '\n') {
        r->line++;
        r->col = 1;
    } else if ((c & 0xc0) != 0x80) { /* not a UTF-8 continuation byte */
        r->col++;
    }
    return c;
}

/* Takes the next character, decoding UTF-8; -1 at the end. */
static int next_char(struct reader *r)
{
    if (r->pos >= r->len)
        return -1;
    if ((unsigned char)r->text[r->pos] < 0x80)
        return next(r);
    uint32_t c;
    size_t n = utf8_decode((const unsigned char *)r->text + r->pos, r->len - r->pos, &c);
    for (size_t i = 0; i < n; i++)
        next(r);
    return (int)c;
}

/* The character at the reader's position without taking it; -1 at the end. */
static int peek_char(const struct reader *r)
{
    if (r->pos >= r->len)
        return -1;
    if ((unsigned char)r->text[r->pos] < 0x80)
        return (unsigned char)r->text[r->pos];
    uint32_t c;
    utf8_decode((const unsigned char *)r->text + r->pos, r->len - r->pos, &c);
    return (int)c;
}

static bool delimiter(int c)
{
    return c == -1 || (c < 128 && isspace(c)) || c == '(' || c == ')' || c == '[' || c == ']' ||
           c == '"' || c == ';' || c == '\'' || c == '`' || c == ',';
}

/* Whether the next character ends a token (Unicode whitespace included). */
static bool at_delimiter(const struct reader *r)
{
    int c = peek(r);
    return c < 128 ? delimiter(c) : char_whitespace_p((uint32_t)peek_char(r));
}

static int read_inner(struct reader *r, value *out);

/* Skips whitespace and comments; returns the next character without taking it. */
static int skip_atmosphere(struct reader *r)
{
    for (;;) {
        int c = peek(r);
        if (c == -1)
            return -1;
        if (c < 128 && isspace(c)) {
            next(r);
        } else if (c >= 128 && char_whitespace_p((uint32_t)peek_char(r))) {
            next_char(r);
        } else if (c == ';') {
            while ((c = next(r)) != -1 && c != '\n') {
            }
        } else if (c == '#' && r->pos + 1 < r->len && r->text[r->pos + 1] == '|') {
            uint64_t at = here(r);
            next(r);
            next(r);
            int depth = 1;
            while (depth > 0) {
                c = next(r);
                if (c == -1)
                    unexpected_end(r, at, "a #| comment");
                if (c == '|' && peek(r) == '#') {
                    next(r);
                    depth--;
                } else if (c == '#' && peek(r) == '|') {
                    next(r);
                    depth++;
                }
            }
        } else if (c == '#' && r->pos + 1 < r->len && r->text[r->pos + 1] == ';') {
            uint64_t at = here(r);
            next(r);
            next(r);
            value ignored;
            if (!read_inner(r, &ignored))
                unexpected_end(r, at, "a #; comment");
        } else {
            return c;
        }
    }
}

/* Replaces, in buf[0, n), every byte that is not part of a well-formed UTF-8 character
 * by U+FFFD's encoding, so that a symbol's name is UTF-8; returns the new length (at most
 * cap - 1, NUL-terminated), or 0 when it does not fit. */
static size_t make_utf8(char *buf, size_t n, size_t cap)
{
    size_t i = 0;
    while (i < n && (unsigned char)buf[i] < 0x80)
        i++;
    while (i < n) {
        uint32_t c;
        size_t k = utf8_decode((const unsigned char *)buf + i, n - i, &c);
        if (c == REPLACEMENT_CHAR && k == 1)
            break;
        i += k;
    }
    if (i == n)
        return n;
    char *fixed = malloc(3 * n + 1);
    if (!fixed)
        return 0;
    size_t m = 0;
    for (i = 0; i < n;) {
        uint32_t c;
        i += utf8_decode((const unsigned char *)buf + i, n - i, &c);
        m += utf8_encode(c, fixed + m);
    }
    if (m + 1 > cap) {
        free(fixed);
        return 0;
    }
    memcpy(buf, fixed, m);
    buf[m] = 0;
    free(fixed);
    return m;
}

/* The value of the hex digits of an inline hex escape (after \x), up to the ';': a
 * Unicode scalar value, or -1. */
static long read_hex_escape(struct reader *r)
{
    long code = 0;
    int d, digits = 0;
    while ((d = next(r)) != ';') {
        if (d == -1 || !isxdigit(d) || ++digits > 8)
            return -1;
        code = code * 16 + (isdigit(d) ? d - '0' : (tolower(d) - 'a' + 10));
    }
    if (digits == 0 || code > 0x10ffff || (code >= 0xd800 && code < 0xe000))
        return -1;
    return code;
}

/* Reads the characters of an atom (up to a delimiter) into buf. With escapes (a symbol),
 * \xHH; stands for its character, written as UTF-8. */
static size_t read_token_escapes(struct reader *r, char *buf, size_t cap, uint64_t at, bool escapes)
{
    size_t n = 0;
    while (!at_delimiter(r)) {
        int c = next(r);
        if (n + UTF8_MAX + 1 >= cap)
            read_error(r, at, "token too long");
        if (escapes && c == '\\' && (peek(r) == 'x' || peek(r) == 'X')) {
            next(r);
            long code = read_hex_escape(r);
            if (code < 0)
                read_error(r, at, "bad \\x escape in a symbol (\\xHH; expected)");
            n += utf8_encode((uint32_t)code, buf + n);
            continue;
        }
        buf[n++] = (char)c;
    }
    buf[n] = 0;
    return n;
}

static size_t read_token(struct reader *r, char *buf, size_t cap, uint64_t at)
{
    return read_token_escapes(r, buf, cap, at, false);
}

static value read_list(struct reader *r, int close, uint64_t at)
{
    size_t base = vsp;
    value tail = NIL;
    for (;;) {
        int c = skip_atmosphere(r);
        if (c == -1)
            unexpected_end(r, at, "a list");
        if (c == ')' || c == ']') {
            next(r);
            if (c != close)
                read_error(r, here(r), "mismatched closing bracket");
            break;
        }
        if (c == '.' && r->pos + 1 <= r->len &&
            delimiter(r->pos + 1 < r->len ? (unsigned char)r->text[r->pos + 1] : -1)) {
            uint64_t dot = here(r);
            next(r);
            if (vsp == base)
                read_error(r, dot, "a dot with nothing before it");
            value v;
            if (!read_inner(r, &v))
                unexpected_end(r, at, "a list");
            vs_push(v);
            c = skip_atmosphere(r);
            if (c != close) {
                if (c == -1)
                    unexpected_end(r, at, "a list");
                read_error(r, here(r), "more than one datum after a dot");
            }
            next(r);
            tail = vs[--vsp];
            break;
        }
        value v;
        if (!read_inner(r, &v))
            unexpected_end(r, at, "a list");
        vs_push(v);
    }
    value l = list_from_stack(base, vsp - base, tail);
    vsp = base;
    if (PAIR_P(l))
        HDR(l) = MAKE_HDR(T_PAIR, at);
    return l;
}

/* A line ending inside a string (R6RS's: CR, CR LF, NEL, CR NEL, LS) that starts with c,
 * already taken: takes the rest of it and returns true, else false. */
static bool line_ending(struct reader *r, int c)
{
    if (c == '\r') {
        if (peek(r) == '\n' || peek_char(r) == 0x85)
            next_char(r);
        return true;
    }
    return c == '\n' || c == 0x85 || c == 0x2028;
}

/* Space, tab, or a Unicode space separator (intraline whitespace). */
static bool intraline_space(int c)
{
    return c == ' ' || c == '\t' ||
           (c >= 0xa0 && c != 0x2028 && c != 0x2029 && char_whitespace_p((uint32_t)c));
}

static value read_string(struct reader *r, uint64_t at)
{
    size_t cap = 64, n = 0;
    uint32_t *buf = malloc(cap * sizeof *buf);
    if (!buf)
        read_error(r, at, "string too long for memory");
    for (;;) {
        int c = next_char(r);
        if (c == -1) {
            free(buf);
            unexpected_end(r, at, "a string");
        }
        if (c == '"')
            break;
        if (line_ending(r, c)) {
            c = '\n';
        } else if (c == '\\') {
            int e = next_char(r);
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'a': c = 7; break;
            case 'b': c = 8; break;
            case '0': c = 0; break;
            case '\\': c = '\\'; break;
            case '"': c = '"'; break;
            case '|': c = '|'; break;
            case 'x':
            case 'X': {
                long code = read_hex_escape(r);
                if (code < 0) {
                    free(buf);
                    read_error(
                        r, at,
                        "bad \\x escape in a string (\\xHH; of a Unicode scalar value expected)");
                }
                c = (int)code;
                break;
            }
            case -1: free(buf); unexpected_end(r, at, "a string");
            default:
                if (intraline_space(e) || line_ending(r, e)) { /* a line continuation */
                    bool ended = !intraline_space(e);
                    while (!ended && intraline_space(e))
                        e = next_char(r);
                    if (!ended && !line_ending(r, e)) {
                        free(buf);
                        if (e == -1)
                            unexpected_end(r, at, "a string");
                        read_error(r, at, "bad escape in a string");
                    }
                    while (intraline_space(peek_char(r)))
                        next_char(r);
                    continue;
                }
                free(buf);
                read_error(r, at, "unknown escape in a string");
            }
        }
        if (n == cap) {
            cap *= 2;
            uint32_t *nb = realloc(buf, cap * sizeof *buf);
            if (!nb) {
                free(buf);
                read_error(r, at, "string too long for memory");
            }
            buf = nb;
        }
        buf[n++] = (uint32_t)c;
    }
    /* The allocation may raise out-of-memory: when the characters fit on the stack, the
     * buffer is freed first. */
    uint32_t small[128];
    value s;
    if (n <= sizeof small / sizeof small[0]) {
        memcpy(small, buf, n * sizeof *buf);
        free(buf);
        s = make_string_filled(n, 0);
        memcpy(STRING_CHARS(s), small, n * sizeof *buf);
    } else {
        s = make_string_filled(n, 0);
        memcpy(STRING_CHARS(s), buf, n * sizeof *buf);
        free(buf);
    }
    return s;
}

static const struct {
    const char *name;
    int code;
} char_names[] = {{"space", ' '}, {"newline", '\n'}, {"tab", '\t'},      {"nul", 0},
                  {"null", 0},    {"alarm", 7},      {"backspace", 8},   {"delete", 127},
                  {"escape", 27}, {"return", '\r'},  {"linefeed", '\n'}, {"altmode", 27}};

/* After #\: one character (UTF-8), a character name, or x and hex digits. The name ends at
 * a delimiter or at a '#' (so #\a#\b is two characters). */
static value read_char(struct reader *r, uint64_t at)
{
    size_t start = r->pos;
    int first = next_char(r);
    if (first == -1)
        unexpected_end(r, at, "a character");
    size_t first_len = r->pos - start;
    char buf[64];
    memcpy(buf, r->text + start, first_len);
    size_t n = first_len;
    while (!at_delimiter(r) && peek(r) != '#') {
        if (n + 1 >= sizeof buf)
            read_error(r, at, "character name too long");
        buf[n++] = (char)next(r);
    }
    buf[n] = 0;
    if (n == first_len)
        return MAKE_CHAR((uint32_t)first);
    if ((buf[0] == 'x' || buf[0] == 'X') && n <= 7) {
        uint32_t code = 0;
        size_t i = 1;
        while (i < n && isxdigit((unsigned char)buf[i]))
            code = code * 16 + (uint32_t)(isdigit((unsigned char)buf[i])
                                              ? buf[i] - '0'
                                              : tolower((unsigned char)buf[i]) - 'a' + 10),
            i++;
        if (i == n) {
            if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000))
                read_error(r, at, "#\\x: not a Unicode scalar value");
            return MAKE_CHAR(code);
        }
    }
    for (size_t i = 0; i < sizeof char_names / sizeof char_names[0]; i++)
        if (strcmp(buf, char_names[i].name) == 0)
            return MAKE_CHAR(char_names[i].code);
    read_error(r, at, "unknown character name");
}

static value read_quoted(struct reader *r, const char *name, uint64_t at)
{
    value v;
    if (!read_inner(r, &v))
        unexpected_end(r, at, "a quoted datum");
    v = cons(v, NIL);
    v = cons(intern_c(name), v);
    HDR(v) = MAKE_HDR(T_PAIR, at);
    return v;
}

static value read_hash(struct reader *r, uint64_t at)
{
    int c = peek(r);
    if (c == '(') {
        next(r);
        value l = read_list(r, ')', at);
        long n = list_length(l);
        if (n < 0)
            read_error(r, at, "a vector cannot have a dot");
        vs_push(l);
        value v = make_vector((size_t)n, UNASSIGNED);
        l = vs[--vsp];
        for (long i = 0; i < n; i++, l = CDR(l))
            SET(v, VREF(v, i), CAR(l));
        return v;
    }
    if (c == 'u' || c == 'U') {
        char tok[8];
        size_t n = 0;
        while (n < 3 && peek(r) != -1 && peek(r) != '(')
            tok[n++] = (char)next(r);
        tok[n] = 0;
        if (strcmp(tok, "u8") != 0 && strcmp(tok, "U8") != 0)
            read_error(r, at, "unknown # syntax (expected #u8( for a bytevector)");
        if (next(r) != '(')
            read_error(r, at, "expected ( after #u8");
        value l = read_list(r, ')', at);
        long len = list_length(l);
        if (len < 0)
            read_error(r, at, "a bytevector cannot have a dot");
        vs_push(l);
        value bv = alloc_bytes(T_BYTEVECTOR, (size_t)len, (size_t)len);
        l = vs[--vsp];
        for (long i = 0; i < len; i++, l = CDR(l)) {
            if (!FIXNUM_P(CAR(l)) || FIX(CAR(l)) < 0 || FIX(CAR(l)) > 255)
                read_error(r, at, "a bytevector holds exact integers 0..255");
            BV_BYTES(bv)[i] = (uint8_t)FIX(CAR(l));
        }
        return bv;
    }
    if (c == '\\') {
        next(r);
        return read_char(r, at);
    }
    if (c == '!') { /* #!fold-case, #!no-fold-case, #!eof: directives, ignored but eof */
        char tok[64];
        read_token(r, tok, sizeof tok, at);
        if (strcmp(tok, "!eof") == 0)
            return EOF_V;
        return UNSPEC;
    }
    char tok[256];
    tok[0] = '#';
    size_t n = read_token(r, tok + 1, sizeof tok - 1, at) + 1;
    if (strcasecmp(tok, "#t") == 0 || strcasecmp(tok, "#true") == 0) /* #T as Guile, Chibi */
        return TRUE_V;
    if (strcasecmp(tok, "#f") == 0 || strcasecmp(tok, "#false") == 0)
        return FALSE_V;
    value num = string_to_number(tok, n, 10);
    if (num != FALSE_V)
        return num;
    reject_complex(r, at, tok, n);
    if (n > 1 && isdigit((unsigned char)tok[1]))
        read_error(r, at, "datum labels (#n= and #n#) are not supported");
    read_error(r, at, "unknown # syntax");
}

static value read_symbol_bars(struct reader *r, uint64_t at)
{
    char buf[1024];
    size_t n = 0;
    for (;;) {
        int c = next(r);
        if (c == -1)
            unexpected_end(r, at, "a |symbol|");
        if (c == '|')
            break;
        if (c == '\\') {
            c = next(r);
            if (c == 'x' || c == 'X') {
                long code = read_hex_escape(r);
                if (code < 0)
                    read_error(r, at, "bad \\x escape in a |symbol| (\\xHH; expected)");
                if (n + UTF8_MAX + 1 >= sizeof buf)
                    read_error(r, at, "symbol too long");
                n += utf8_encode((uint32_t)code, buf + n);
                continue;
            } else if (c == 'n') {
                c = '\n';
            } else if (c == 't') {
                c = '\t';
            } else if (c == -1) {
                unexpected_end(r, at, "a |symbol|");
            }
        }
        if (n + 1 >= sizeof buf)
            read_error(r, at, "symbol too long");
        buf[n++] = (char)c;
    }
    buf[n] = 0;
    n = make_utf8(buf, n, sizeof buf);
    if (n == 0 && buf[0] != 0)
        read_error(r, at, "symbol too long");
    return r->heap_symbols ? intern_in_heap(buf, n) : intern(buf, n);
}

static int read_inner(struct reader *r, value *out)
{
    stack_check();
    int c = skip_atmosphere(r);
    if (c == -1)
        return 0;
    uint64_t at = here(r);
    switch (c) {
    case '(':
    case '[':
        next(r);
        *out = read_list(r, c == '(' ? ')' : ']', at);
        return 1;
    case ')':
    case ']': next(r); read_error(r, at, "unexpected closing parenthesis");
    case '\'':
        next(r);
        *out = read_quoted(r, "quote", at);
        return 1;
    case '`':
        next(r);
        *out = read_quoted(r, "quasiquote", at);
        return 1;
    case ',':
        next(r);
        if (peek(r) == '@') {
            next(r);
            *out = read_quoted(r, "unquote-splicing", at);
        } else {
            *out = read_quoted(r, "unquote", at);
        }
        return 1;
    case '"':
        next(r);
        *out = read_string(r, at);
        return 1;
    case '#':
        next(r);
        *out = read_hash(r, at);
        return 1;
    case '|':
        next(r);
        *out = read_symbol_bars(r, at);
        return 1;
    default: {
        char tok[1024];
        size_t n = read_token_escapes(r, tok, sizeof tok, at, true);
        value num = string_to_number(tok, n, 10);
        if (num != FALSE_V) {
            *out = num;
            return 1;
        }
        if (strcmp(tok, ".") == 0)
            read_error(r, at, "unexpected dot");
        reject_complex(r, at, tok, n);
        size_t len = make_utf8(tok, n, sizeof tok);
        if (len == 0 && n != 0)
            read_error(r, at, "token too long");
        *out = r->heap_symbols ? intern_in_heap(tok, len) : intern(tok, len);
        return 1;
    }
    }
}

int read_datum(struct reader *r, value *out)
{
    r->incomplete = 0;
    return read_inner(r, out);
}
