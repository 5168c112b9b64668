/* Ports: files (over stdio) and strings. A port is a heap object
 * [hdr(flags) | FILE * | buffer | position | name]; the FILE pointer is outside the heap.
 * Text leaves and enters as UTF-8. A string output port's buffer is a bytevector of UTF-8
 * that is replaced by a larger one as it fills, so the port must be on the value stack
 * across a write. A string input port's buffer is the string (position: a character
 * index) or a bytevector (position: a byte index; open-input-bytevector's, and a file
 * port's text once `read` has read it to its end), read as UTF-8 by read-char. A file
 * input port's position word points to its pending bytes (struct pending, outside the
 * heap, as the FILE).
 *
 * Threads share ports. A file port's operations are stdio's, which lock the FILE; a read
 * runs in a blocking region (a read from a terminal or a pipe waits) and holds the FILE's
 * lock while it uses the pending bytes. A string port's
 * operations run under string_ports_lock, which a writer holds across the allocation of a
 * larger buffer, so a thread waits for it in a blocking region (scm_lock). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ports.h"

#define PORT_FILE(p) ((FILE *)OBJ(p)[1])
#define PORT_BUF(p) (OBJ(p)[2])
#define PORT_POS(p) (OBJ(p)[3])

/* A file input port's bytes taken from the FILE but not yet consumed: peek-char looks at a
 * whole character, and read-char stops before a byte that cannot continue the one it
 * reads. Read and changed only with the FILE locked, so threads sharing the port see each
 * byte once. They live as long as the FILE: on a list (every port over stdin shares one),
 * from which closing the port takes them. */
struct pending {
    unsigned char b[UTF8_MAX];
    size_t n;
    struct pending *prev, *next;
};
#define PORT_PENDING(p) ((struct pending *)OBJ(p)[3])

static struct pending stdin_pending;
static struct pending *pending_list;
static pthread_mutex_t pending_list_lock = PTHREAD_MUTEX_INITIALIZER;

static struct pending *new_pending(FILE *f)
{
    if (f == stdin)
        return &stdin_pending;
    struct pending *pd = calloc(1, sizeof *pd);
    if (!pd)
        return NULL;
    pthread_mutex_lock(&pending_list_lock);
    pd->next = pending_list;
    if (pending_list)
        pending_list->prev = pd;
    pending_list = pd;
    pthread_mutex_unlock(&pending_list_lock);
    return pd;
}

static void drop_pending(struct pending *pd)
{
    if (pd == &stdin_pending)
        return;
    pthread_mutex_lock(&pending_list_lock);
    if (pd->prev)
        pd->prev->next = pd->next;
    else
        pending_list = pd->next;
    if (pd->next)
        pd->next->prev = pd->prev;
    pthread_mutex_unlock(&pending_list_lock);
    free(pd);
}

static value make_port(unsigned flags, FILE *f, value buf, const char *name)
{
    vs_push(buf);
    vs_push(string_from_utf8(name, strlen(name)));
    value p = alloc_object(T_PORT, flags, 4);
    OBJ(p)[1] = (value)f;
    SET(p, PORT_BUF(p), vs[vsp - 2]);
    PORT_POS(p) = MAKE_FIX(0);
    SET(p, OBJ(p)[4], vs[vsp - 1]);
    vsp -= 2;
    return p;
}

value make_file_port(FILE *f, int input, const char *name)
{
    if (!input)
        return make_port(PORT_OUTPUT, f, FALSE_V, name);
    struct pending *pd = new_pending(f);
    if (!pd) {
        if (f != stdin)
            fclose(f);
        scm_error("out of memory outside the heap (opening a file)", NIL);
    }
    value p = make_port(PORT_INPUT, f, FALSE_V, name);
    OBJ(p)[3] = (value)pd; /* outside the heap, as the FILE: the collector ignores it */
    return p;
}

value make_string_input_port(value str)
{
    return make_port(PORT_INPUT | PORT_STRING, NULL, str, "string");
}

value make_string_output_port(void)
{
    value buf = alloc_bytes(T_BYTEVECTOR, 0, 64);
    HDR(buf) = MAKE_HDR(T_BYTEVECTOR, 64);
    return make_port(PORT_OUTPUT | PORT_STRING, NULL, buf, "string");
}

unsigned port_flags(value p)
{
    return (unsigned)HDR_LEN(p);
}

void port_close(value p)
{
    unsigned fl = port_flags(p);
    if (fl & PORT_CLOSED)
        return;
    /* A file port that read has read to its end is a string port that keeps its FILE. */
    if (PORT_FILE(p) && PORT_FILE(p) != stdin && PORT_FILE(p) != stdout && PORT_FILE(p) != stderr)
        fclose(PORT_FILE(p));
    else if (!(fl & PORT_STRING) && PORT_FILE(p))
        fflush(PORT_FILE(p));
    if ((fl & (PORT_INPUT | PORT_STRING)) == PORT_INPUT) {
        drop_pending(PORT_PENDING(p));
        PORT_POS(p) = MAKE_FIX(0);
    }
    HDR(p) = MAKE_HDR(T_PORT, fl | PORT_CLOSED);
}

static void check_open(value p, const char *who)
{
    if (port_flags(p) & PORT_CLOSED)
        scm_error1(who, p); /* the message names the operation on a closed port */
}

static pthread_mutex_t string_ports_lock = PTHREAD_MUTEX_INITIALIZER;

/* Takes string_ports_lock; returns p, which may have moved meanwhile. */
static value lock_string_port(value p)
{
    vs_push(p);
    scm_lock(&string_ports_lock);
    return vs[--vsp];
}

struct file_read {
    FILE *f;
    struct pending *pd;
    int peek, whole_char;
    int c; /* the result: a byte, a code point, or -1 at the end */
};

/* Takes (or looks at) the next byte or (whole_char) character, reading what the pending
 * bytes lack, with the FILE locked. */
static void file_read(void *arg)
{
    struct file_read *r = arg;
    struct pending *pd = r->pd;
    flockfile(r->f);
    if (pd->n == 0) {
        int c = getc_unlocked(r->f);
        if (c != EOF)
            pd->b[pd->n++] = (unsigned char)c;
    }
    if (pd->n > 0 && r->whole_char) {
        size_t len = utf8_sequence_length(pd->b[0]);
        while (pd->n < len) {
            int c = getc_unlocked(r->f);
            if (c == EOF)
                break;
            if ((c & 0xc0) != 0x80) { /* not a continuation: the next character's */
                ungetc(c, r->f);
                break;
            }
            pd->b[pd->n++] = (unsigned char)c;
        }
    }
    r->c = -1;
    if (pd->n > 0) {
        uint32_t c = pd->b[0];
        size_t took = r->whole_char ? utf8_decode(pd->b, pd->n, &c) : 1;
        if (!r->peek) {
            memmove(pd->b, pd->b + took, pd->n - took);
            pd->n -= took;
        }
        r->c = (int)c;
    }
    funlockfile(r->f);
}

/* Reads (or peeks at) a file port's next character (whole_char) or byte in a blocking
 * region: what it needs is read out of the port before. */
static int file_port_read(value p, int peek, int whole_char)
{
    struct file_read r = {PORT_FILE(p), PORT_PENDING(p), peek, whole_char, -1};
    scm_blocking(file_read, &r);
    return r.c;
}

static int string_port_read(value p, int peek, int whole_char, const char *who)
{
    p = lock_string_port(p);
    value s = PORT_BUF(p);
    intptr_t pos = FIX(PORT_POS(p));
    int c = -1;
    size_t took = 1;
    if (STRING_P(s)) {
        if ((size_t)pos < STRING_LEN(s)) {
            if (!whole_char) {
                pthread_mutex_unlock(&string_ports_lock);
                char msg[120];
                snprintf(msg, sizeof msg, "%s: a string port holds characters, not bytes", who);
                scm_error1(msg, p);
            }
            c = (int)STRING_CHARS(s)[pos];
        }
    } else if ((size_t)pos < HDR_LEN(s)) {
        uint32_t code = BV_BYTES(s)[pos];
        if (whole_char)
            took = utf8_decode(BV_BYTES(s) + pos, HDR_LEN(s) - (size_t)pos, &code);
        c = (int)code;
    }
    if (c >= 0 && !peek)
        PORT_POS(p) = MAKE_FIX(pos + (intptr_t)took);
    pthread_mutex_unlock(&string_ports_lock);
    return c;
}

int port_getc(value p)
{
    check_open(p, "read from a closed port");
    return port_flags(p) & PORT_STRING ? string_port_read(p, 0, 1, "read-char")
                                       : file_port_read(p, 0, 1);
}

int port_peekc(value p)
{
    check_open(p, "read from a closed port");
    return port_flags(p) & PORT_STRING ? string_port_read(p, 1, 1, "peek-char")
                                       : file_port_read(p, 1, 1);
}

int port_getb(value p)
{
    check_open(p, "read from a closed port");
    return port_flags(p) & PORT_STRING ? string_port_read(p, 0, 0, "read-u8")
                                       : file_port_read(p, 0, 0);
}

int port_peekb(value p)
{
    check_open(p, "read from a closed port");
    return port_flags(p) & PORT_STRING ? string_port_read(p, 1, 0, "peek-u8")
                                       : file_port_read(p, 1, 0);
}

struct slurp {
    FILE *f;
    struct pending *pd;
    char *buf;
    size_t n, cap;
};

/* Takes the pending bytes and the rest of the file, in a blocking region (stdin waits):
 * touches no heap object. */
static void slurp_file(void *arg)
{
    struct slurp *sl = arg;
    flockfile(sl->f);
    memcpy(sl->buf, sl->pd->b, sl->pd->n);
    sl->n = sl->pd->n;
    sl->pd->n = 0;
    size_t got;
    while ((got = fread(sl->buf + sl->n, 1, sl->cap - sl->n, sl->f)) > 0) {
        sl->n += got;
        if (sl->n == sl->cap) {
            char *nb = realloc(sl->buf, sl->cap * 2);
            if (!nb) {
                free(sl->buf);
                sl->buf = NULL;
                break;
            }
            sl->buf = nb;
            sl->cap *= 2;
        }
    }
    funlockfile(sl->f);
}

char *port_unread_text(size_t slot, size_t *n)
{
    value p = vs[slot];
    if (!(port_flags(p) & PORT_STRING)) {
        /* A file port: read to its end, after its pending bytes, into a bytevector. */
        struct slurp sl = {PORT_FILE(p), PORT_PENDING(p), malloc(4096), 0, 4096};
        if (sl.buf)
            scm_blocking(slurp_file, &sl);
        if (!sl.buf)
            scm_error("read: out of memory reading the input", NIL);
        value b = alloc_bytes(T_BYTEVECTOR, sl.n, sl.n);
        memcpy(BV_BYTES(b), sl.buf, sl.n);
        free(sl.buf);
        p = vs[slot];
        drop_pending(PORT_PENDING(p));
        HDR(p) = MAKE_HDR(T_PORT, port_flags(p) | PORT_STRING);
        SET(p, PORT_BUF(p), b);
        PORT_POS(p) = MAKE_FIX(0);
    }
    value s = PORT_BUF(p);
    size_t pos = (size_t)FIX(PORT_POS(p));
    if (STRING_P(s))
        return string_to_utf8(s, pos, STRING_LEN(s), n);
    *n = HDR_LEN(s) - pos;
    char *text = malloc(*n + 1);
    if (!text)
        scm_error("read: out of memory", NIL);
    memcpy(text, BV_BYTES(s) + pos, *n);
    text[*n] = 0;
    return text;
}

void port_consume_text(value p, const char *text, size_t n)
{
    size_t advance = n;
    if (STRING_P(PORT_BUF(p))) { /* the characters of those n bytes */
        advance = 0;
        for (size_t i = 0; i < n; i++)
            advance += ((unsigned char)text[i] & 0xc0) != 0x80;
    }
    PORT_POS(p) = MAKE_FIX(FIX(PORT_POS(p)) + (intptr_t)advance);
}

/* Appends to a string port. The bytes may be in a heap string, which a wait for the lock
 * or a larger buffer's allocation moves: they are copied first. The lock is not held
 * across the allocation (which may raise out of memory). */
static void string_port_write(value p, const char *bytes, size_t n)
{
    char small[256];
    char *copy = n <= sizeof small ? small : malloc(n);
    if (!copy)
        scm_error("out of memory writing to a string port", NIL);
    memcpy(copy, bytes, n);
    size_t slot = vsp;
    vs_push(p);
    for (;;) {
        scm_lock(&string_ports_lock);
        p = vs[slot];
        size_t fill = (size_t)FIX(PORT_POS(p));
        size_t cap = HDR_LEN(PORT_BUF(p));
        if (fill + n <= cap) {
            memcpy(BV_BYTES(PORT_BUF(p)) + fill, copy, n);
            PORT_POS(p) = MAKE_FIX((intptr_t)(fill + n));
            pthread_mutex_unlock(&string_ports_lock);
            break;
        }
        pthread_mutex_unlock(&string_ports_lock);
        size_t ncap = cap * 2 > fill + n ? cap * 2 : fill + n;
        value nb = alloc_bytes(T_BYTEVECTOR, ncap, ncap);
        vs_push(nb);
        scm_lock(&string_ports_lock);
        nb = vs[--vsp];
        p = vs[slot];
        fill = (size_t)FIX(PORT_POS(p));
        if (HDR_LEN(PORT_BUF(p)) < ncap && fill <= ncap) { /* else another writer grew it */
            memcpy(BV_BYTES(nb), BV_BYTES(PORT_BUF(p)), fill);
            SET(p, PORT_BUF(p), nb);
        }
        pthread_mutex_unlock(&string_ports_lock);
        vsp = slot + 1;
    }
    vsp = slot;
    if (copy != small)
        free(copy);
}

void port_write(value p, const char *bytes, size_t n)
{
    check_open(p, "write to a closed port");
    if (port_flags(p) & PORT_STRING)
        string_port_write(p, bytes, n);
    else
        fwrite(bytes, 1, n, PORT_FILE(p));
}

void port_puts(value p, const char *s)
{
    port_write(p, s, strlen(s));
}

void port_flush(value p)
{
    if (!(port_flags(p) & (PORT_STRING | PORT_CLOSED)) && PORT_FILE(p))
        fflush(PORT_FILE(p));
}

void flush_standard_ports(void)
{
    fflush(stdout);
    fflush(stderr);
}

/* The first fill bytes of a string output port as a string (decode) or a bytevector. */
static value port_output(value p, bool decode)
{
    p = lock_string_port(p);
    size_t fill = (size_t)FIX(PORT_POS(p)), len = fill;
    if (decode) { /* count the characters */
        const unsigned char *b = BV_BYTES(PORT_BUF(p));
        uint32_t c;
        len = 0;
        for (size_t i = 0; i < fill; len++)
            i += b[i] < 0x80 ? 1 : utf8_decode(b + i, fill - i, &c);
    }
    pthread_mutex_unlock(&string_ports_lock);
    vs_push(p);
    value out = decode ? make_string_filled(len, 0) : alloc_bytes(T_BYTEVECTOR, fill, fill);
    vs_push(out);
    p = lock_string_port(vs[vsp - 2]);
    out = vs[vsp - 1];
    vsp -= 2;
    const unsigned char *b = BV_BYTES(PORT_BUF(p)); /* a port only grows */
    if (decode) {
        uint32_t *chars = STRING_CHARS(out);
        for (size_t i = 0, k = 0; i < fill; k++) {
            if (b[i] < 0x80)
                chars[k] = b[i++];
            else
                i += utf8_decode(b + i, fill - i, &chars[k]);
        }
    } else {
        memcpy(BV_BYTES(out), b, fill);
    }
    pthread_mutex_unlock(&string_ports_lock);
    return out;
}

value port_output_string(value p)
{
    return port_output(p, true);
}

value port_output_bytes(value p)
{
    return port_output(p, false);
}

value port_name(value p)
{
    return OBJ(p)[4];
}
