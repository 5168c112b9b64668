/* Ports: files (over stdio) and strings. A port is a heap object
 * [hdr(flags) | FILE * | buffer | position | name]; the FILE pointer is outside the heap.
 * A string output port's buffer is a bytevector that is replaced by a larger one as it
 * fills, so the port must be on the value stack across a write.
 *
 * Threads share ports. A file port's operations are stdio's, which lock the FILE; a read
 * runs in a blocking region (a read from a terminal or a pipe waits). A string port's
 * operations run under string_ports_lock, which a writer holds across the allocation of a
 * larger buffer, so a thread waits for it in a blocking region (scm_lock). */
#include <pthread.h>
#include <string.h>

#include "ports.h"

#define PORT_FILE(p) ((FILE *)OBJ(p)[1])
#define PORT_BUF(p) (OBJ(p)[2])
#define PORT_POS(p) (OBJ(p)[3])

static value make_port(unsigned flags, FILE *f, value buf, const char *name)
{
    vs_push(buf);
    vs_push(make_string(name, strlen(name)));
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
    return make_port(input ? PORT_INPUT : PORT_OUTPUT, f, FALSE_V, name);
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
    if (!(fl & PORT_STRING) && PORT_FILE(p) && PORT_FILE(p) != stdin && PORT_FILE(p) != stdout &&
        PORT_FILE(p) != stderr)
        fclose(PORT_FILE(p));
    else if (!(fl & PORT_STRING) && PORT_FILE(p))
        fflush(PORT_FILE(p));
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
    int peek;
    int c;
};

static void file_read_char(void *arg)
{
    struct file_read *r = arg;
    r->c = getc(r->f);
    if (r->peek && r->c != EOF)
        ungetc(r->c, r->f);
}

/* Reads (or peeks at) a file port's next byte in a blocking region: the FILE pointer is
 * read out of the port before. */
static int file_port_read(value p, int peek)
{
    struct file_read r = {PORT_FILE(p), peek, EOF};
    scm_blocking(file_read_char, &r);
    return r.c;
}

static int string_port_read(value p, int peek)
{
    p = lock_string_port(p);
    value s = PORT_BUF(p);
    intptr_t pos = FIX(PORT_POS(p));
    int c = -1;
    if ((size_t)pos < STRING_LEN(s)) {
        c = (unsigned char)STRING_BYTES(s)[pos];
        if (!peek)
            PORT_POS(p) = MAKE_FIX(pos + 1);
    }
    pthread_mutex_unlock(&string_ports_lock);
    return c;
}

int port_getc(value p)
{
    check_open(p, "read from a closed port");
    return port_flags(p) & PORT_STRING ? string_port_read(p, 0) : file_port_read(p, 0);
}

int port_peekc(value p)
{
    check_open(p, "read from a closed port");
    return port_flags(p) & PORT_STRING ? string_port_read(p, 1) : file_port_read(p, 1);
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

value port_output_string(value p)
{
    p = lock_string_port(p);
    size_t fill = (size_t)FIX(PORT_POS(p));
    pthread_mutex_unlock(&string_ports_lock);
    vs_push(p);
    value s = alloc_bytes(T_STRING, fill, fill + 1);
    vs_push(s);
    p = lock_string_port(vs[vsp - 2]);
    s = vs[vsp - 1];
    vsp -= 2;
    memcpy(STRING_BYTES(s), BV_BYTES(PORT_BUF(p)), fill); /* a port only grows */
    pthread_mutex_unlock(&string_ports_lock);
    return s;
}

value port_name(value p)
{
    return OBJ(p)[4];
}
