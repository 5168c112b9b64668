/* The reader: text to data, recording where each list starts (in the pair's type word)
 * so that errors can name a file, line and column. It never trusts its input: every
 * malformed datum is a read error, and nesting is bounded by the evaluator's stack
 * check. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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
    } else {
        r->col++;
    }
    return c;
}

static bool delimiter(int c)
{
    return c == -1 || isspace(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"' ||
           c == ';' || c == '\'' || c == '`' || c == ',';
}

static int read_inner(struct reader *r, value *out);

/* Skips whitespace and comments; returns the next character without taking it. */
static int skip_atmosphere(struct reader *r)
{
    for (;;) {
        int c = peek(r);
        if (c == -1)
            return -1;
        if (isspace(c)) {
            next(r);
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

/* Reads the characters of an atom (up to a delimiter) into buf. */
static size_t read_token(struct reader *r, char *buf, size_t cap, uint64_t at)
{
    size_t n = 0;
    while (!delimiter(peek(r))) {
        int c = next(r);
        if (n + 1 >= cap)
            read_error(r, at, "token too long");
        buf[n++] = (char)c;
    }
    buf[n] = 0;
    return n;
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

static value read_string(struct reader *r, uint64_t at)
{
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        int c = next(r);
        if (c == -1) {
            free(buf);
            unexpected_end(r, at, "a string");
        }
        if (c == '"')
            break;
        if (c == '\\') {
            int e = next(r);
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
                unsigned code = 0;
                int d, digits = 0;
                while ((d = next(r)) != ';') {
                    if (d == -1 || !isxdigit(d) || ++digits > 6) {
                        free(buf);
                        read_error(r, at, "bad \\x escape in a string (\\xHH; expected)");
                    }
                    code = code * 16 + (unsigned)(isdigit(d) ? d - '0' : (tolower(d) - 'a' + 10));
                }
                if (code > 255) {
                    free(buf);
                    read_error(r, at, "string characters above \\xff; are not supported");
                }
                c = (int)code;
                break;
            }
            case -1: free(buf); unexpected_end(r, at, "a string");
            default:
                if (e == '\n' || e == ' ' || e == '\t') { /* line continuation */
                    while (e != '\n' && (e == ' ' || e == '\t'))
                        e = next(r);
                    if (e != '\n') {
                        free(buf);
                        read_error(r, at, "bad escape in a string");
                    }
                    while (peek(r) == ' ' || peek(r) == '\t')
                        next(r);
                    continue;
                }
                free(buf);
                read_error(r, at, "unknown escape in a string");
            }
        }
        if (n + 1 >= cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                read_error(r, at, "string too long for memory");
            }
            buf = nb;
        }
        buf[n++] = (char)c;
    }
    value s;
    /* make_string may raise out-of-memory: free first by copying to the stack buffer. */
    char small[256];
    if (n <= sizeof small) {
        memcpy(small, buf, n);
        free(buf);
        s = make_string(small, n);
    } else {
        s = alloc_bytes(T_STRING, n, n + 1);
        memcpy(STRING_BYTES(s), buf, n);
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

static value read_char(struct reader *r, uint64_t at)
{
    char buf[64];
    int first = next(r);
    if (first == -1)
        unexpected_end(r, at, "a character");
    buf[0] = (char)first;
    size_t n = 1;
    while (!delimiter(peek(r))) {
        if (n + 1 >= sizeof buf)
            read_error(r, at, "character name too long");
        buf[n++] = (char)next(r);
    }
    buf[n] = 0;
    if (n == 1)
        return MAKE_CHAR((unsigned char)buf[0]);
    if ((buf[0] == 'x' || buf[0] == 'X') && n > 1) {
        char *end;
        unsigned long code = strtoul(buf + 1, &end, 16);
        if (*end == 0 && code <= 0x10ffff)
            return MAKE_CHAR(code);
    }
    for (size_t i = 0; i < sizeof char_names / sizeof char_names[0]; i++)
        if (strcmp(buf, char_names[i].name) == 0)
            return MAKE_CHAR(char_names[i].code);
    /* One UTF-8 encoded character. */
    unsigned char b0 = (unsigned char)buf[0];
    size_t need = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc0 ? 2 : 0;
    if (need && n == need) {
        uint32_t code = b0 & (0x3fu >> (need - 1));
        for (size_t i = 1; i < n; i++)
            code = (code << 6) | ((unsigned char)buf[i] & 0x3fu);
        return MAKE_CHAR(code);
    }
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
    if (strcmp(tok, "#t") == 0 || strcmp(tok, "#true") == 0)
        return TRUE_V;
    if (strcmp(tok, "#f") == 0 || strcmp(tok, "#false") == 0)
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
            if (c == 'x') {
                unsigned code = 0;
                int d;
                while ((d = next(r)) != ';') {
                    if (d == -1 || !isxdigit(d))
                        read_error(r, at, "bad \\x escape in a |symbol|");
                    code = code * 16 + (unsigned)(isdigit(d) ? d - '0' : (tolower(d) - 'a' + 10));
                    if (code > 255)
                        read_error(r, at, "symbol characters above \\xff; are not supported");
                }
                c = (int)code;
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
        size_t n = read_token(r, tok, sizeof tok, at);
        value num = string_to_number(tok, n, 10);
        if (num != FALSE_V) {
            *out = num;
            return 1;
        }
        if (strcmp(tok, ".") == 0)
            read_error(r, at, "unexpected dot");
        reject_complex(r, at, tok, n);
        *out = r->heap_symbols ? intern_in_heap(tok, n) : intern(tok, n);
        return 1;
    }
    }
}

int read_datum(struct reader *r, value *out)
{
    r->incomplete = 0;
    return read_inner(r, out);
}
