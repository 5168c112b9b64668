/* Ports: files (over stdio) and strings. A port is a heap object
 * [hdr(flags) | FILE * | buffer | position | name]; the FILE pointer is outside the heap.
 * A string output port's buffer is a bytevector that is replaced by a larger one as it
 * fills, so the port must be on the value stack across a write. */
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

int port_getc(value p)
{
    check_open(p, "read from a closed port");
    if (port_flags(p) & PORT_STRING) {
        value s = PORT_BUF(p);
        intptr_t pos = FIX(PORT_POS(p));
        if ((size_t)pos >= STRING_LEN(s))
            return -1;
        PORT_POS(p) = MAKE_FIX(pos + 1);
        return (unsigned char)STRING_BYTES(s)[pos];
    }
    return getc(PORT_FILE(p));
}

int port_peekc(value p)
{
    check_open(p, "read from a closed port");
    if (port_flags(p) & PORT_STRING) {
        value s = PORT_BUF(p);
        intptr_t pos = FIX(PORT_POS(p));
        return (size_t)pos >= STRING_LEN(s) ? -1 : (unsigned char)STRING_BYTES(s)[pos];
    }
    int c = getc(PORT_FILE(p));
    if (c != EOF)
        ungetc(c, PORT_FILE(p));
    return c;
}

void port_write(value p, const char *bytes, size_t n)
{
    check_open(p, "write to a closed port");
    if (!(port_flags(p) & PORT_STRING)) {
        fwrite(bytes, 1, n, PORT_FILE(p));
        return;
    }
    size_t fill = (size_t)FIX(PORT_POS(p));
    size_t cap = HDR_LEN(PORT_BUF(p));
    if (fill + n > cap) {
        size_t ncap = cap * 2 > fill + n ? cap * 2 : fill + n;
        vs_push(p);
        /* bytes may point into a heap string: copy it out of the way first. */
        char *tmp = malloc(n ? n : 1);
        if (!tmp)
            scm_error("out of memory writing to a string port", NIL);
        memcpy(tmp, bytes, n);
        value nb = alloc_bytes(T_BYTEVECTOR, ncap, ncap);
        p = vs[--vsp];
        memcpy(BV_BYTES(nb), BV_BYTES(PORT_BUF(p)), fill);
        SET(p, PORT_BUF(p), nb);
        memcpy(BV_BYTES(nb) + fill, tmp, n);
        free(tmp);
    } else {
        memcpy(BV_BYTES(PORT_BUF(p)) + fill, bytes, n);
    }
    PORT_POS(p) = MAKE_FIX((intptr_t)(fill + n));
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
    size_t fill = (size_t)FIX(PORT_POS(p));
    vs_push(p);
    value s = alloc_bytes(T_STRING, fill, fill + 1);
    p = vs[--vsp];
    memcpy(STRING_BYTES(s), BV_BYTES(PORT_BUF(p)), fill);
    return s;
}

value port_name(value p)
{
    return OBJ(p)[4];
}
