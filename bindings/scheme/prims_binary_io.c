/* Binary input and output. A file port and a bytevector port are both textual and binary
 * (read-char decodes the UTF-8 that read-u8 reads byte by byte): a bytevector input port
 * is a string input port over a bytevector, a bytevector output port a string output port
 * (ports.c). A string input port over a string has no bytes. */
#include <string.h>

#include "ports.h"

#define OUT(i, who) port_argument(ROOT_CUR_OUT, argc, argv, i, who, PORT_OUTPUT)
#define IN(i, who) port_argument(ROOT_CUR_IN, argc, argv, i, who, PORT_INPUT)

static void check_bytevector(const char *who, value v)
{
    if (!BYTEVECTOR_P(v))
        type_error(who, "a bytevector", v);
}

static value p_binary_port_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_PORT));
}

static value p_open_input_bytevector(int argc, value *argv)
{
    (void)argc;
    check_bytevector("open-input-bytevector", argv[0]);
    size_t n = HDR_LEN(argv[0]);
    value b = alloc_bytes(T_BYTEVECTOR, n, n); /* a copy: the port reads it as it was */
    memcpy(BV_BYTES(b), BV_BYTES(argv[0]), n);
    return make_string_input_port(b);
}

static value p_open_output_bytevector(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return make_string_output_port();
}

static value p_get_output_bytevector(int argc, value *argv)
{
    (void)argc;
    if (!IS(argv[0], T_PORT) ||
        (port_flags(argv[0]) & (PORT_STRING | PORT_OUTPUT)) != (PORT_STRING | PORT_OUTPUT))
        type_error("get-output-bytevector", "a bytevector output port", argv[0]);
    return port_output_bytes(argv[0]);
}

static value p_read_u8(int argc, value *argv)
{
    int c = port_getb(IN(0, "read-u8"));
    return c < 0 ? EOF_V : MAKE_FIX(c);
}

static value p_peek_u8(int argc, value *argv)
{
    int c = port_peekb(IN(0, "peek-u8"));
    return c < 0 ? EOF_V : MAKE_FIX(c);
}

static value p_u8_ready_p(int argc, value *argv)
{
    IN(0, "u8-ready?");
    return TRUE_V;
}

/* Reads up to n bytes from the port at vs[port_slot] into the bytevector at vs[bv_slot]
 * from byte `at`; returns how many (0 at the end). Both are read back from the value
 * stack after each byte: a read from a file waits in a blocking region, where another
 * thread's collection may move them. */
static size_t read_bytes(size_t port_slot, size_t bv_slot, size_t at, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int c = port_getb(vs[port_slot]);
        if (c < 0)
            break;
        BV_BYTES(vs[bv_slot])[at + got++] = (uint8_t)c;
    }
    return got;
}

static value p_read_bytevector(int argc, value *argv)
{
    if (!FIXNUM_P(argv[0]) || FIX(argv[0]) < 0)
        type_error("read-bytevector", "a non-negative exact integer", argv[0]);
    size_t n = (size_t)FIX(argv[0]);
    value port = IN(1, "read-bytevector");
    vs_push(port);
    value b = alloc_bytes(T_BYTEVECTOR, n, n);
    vs_push(b);
    size_t got = read_bytes(vsp - 2, vsp - 1, 0, n);
    b = vs[vsp - 1];
    vsp -= 2;
    if (got == 0 && n > 0)
        return EOF_V;
    HDR(b) = MAKE_HDR(T_BYTEVECTOR, got);
    return b;
}

/* (read-bytevector! bv [port [start [end]]]) */
static value p_read_bytevector_into(int argc, value *argv)
{
    check_bytevector("read-bytevector!", argv[0]);
    value port = IN(1, "read-bytevector!");
    size_t s, e;
    range_args("read-bytevector!", argc, argv, 2, HDR_LEN(argv[0]), &s, &e);
    vs_push(port);
    size_t got = read_bytes(vsp - 1, (size_t)(argv - vs), s, e - s);
    vsp--;
    if (got == 0 && e > s)
        return EOF_V;
    return MAKE_FIX((intptr_t)got);
}

/* (write-bytevector bv [port [start [end]]]) */
static value p_write_bytevector(int argc, value *argv)
{
    check_bytevector("write-bytevector", argv[0]);
    value port = OUT(1, "write-bytevector");
    size_t s, e;
    range_args("write-bytevector", argc, argv, 2, HDR_LEN(argv[0]), &s, &e);
    vs_push(port);
    /* A string port's buffer grows by allocating: copy the bytes out of the heap first. */
    size_t n = e - s;
    char *copy = n ? malloc(n) : NULL;
    if (n && !copy)
        scm_error1("write-bytevector: out of memory outside the heap", argv[0]);
    if (n)
        memcpy(copy, BV_BYTES(argv[0]) + s, n);
    port_write(vs[vsp - 1], copy, n);
    free(copy);
    vsp--;
    return UNSPEC;
}

void prims_binary_io_init(void)
{
    define_primitive("binary-port?", p_binary_port_p, 1, 1);
    define_primitive("open-input-bytevector", p_open_input_bytevector, 1, 1);
    define_primitive("open-output-bytevector", p_open_output_bytevector, 0, 0);
    define_primitive("get-output-bytevector", p_get_output_bytevector, 1, 1);
    define_primitive("read-u8", p_read_u8, 0, 1);
    define_primitive("peek-u8", p_peek_u8, 0, 1);
    define_primitive("u8-ready?", p_u8_ready_p, 0, 1);
    define_primitive("read-bytevector", p_read_bytevector, 1, 2);
    define_primitive("read-bytevector!", p_read_bytevector_into, 1, 4);
    define_primitive("write-bytevector", p_write_bytevector, 1, 4);
}
