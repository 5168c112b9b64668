/* Input and output: the current ports, string and file ports, read/write/display. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ports.h"

void write_char_to(value port, uint32_t c);

value port_argument(int root, int argc, value *argv, int argi, const char *who, unsigned need)
{
    value p = argc > argi ? argv[argi] : runtime_roots[root];
    if (!IS(p, T_PORT) || !(port_flags(p) & need))
        type_error(who, need == PORT_INPUT ? "an input port" : "an output port", p);
    if (port_flags(p) & PORT_CLOSED)
        scm_error1(need == PORT_INPUT ? "cannot read from a closed port"
                                      : "cannot write to a closed port",
                   p);
    return p;
}

#define OUT(i, who) port_argument(ROOT_CUR_OUT, argc, argv, i, who, PORT_OUTPUT)
#define IN(i, who) port_argument(ROOT_CUR_IN, argc, argv, i, who, PORT_INPUT)

static value p_write(int argc, value *argv)
{
    write_value(OUT(1, "write"), argv[0], 0);
    return UNSPEC;
}

static value p_display(int argc, value *argv)
{
    write_value(OUT(1, "display"), argv[0], 1);
    return UNSPEC;
}

static value p_newline(int argc, value *argv)
{
    port_write(OUT(0, "newline"), "\n", 1);
    return UNSPEC;
}

static value p_write_char(int argc, value *argv)
{
    if (!CHAR_P(argv[0]))
        type_error("write-char", "a character", argv[0]);
    write_char_to(OUT(1, "write-char"), CHAR_CODE(argv[0]));
    return UNSPEC;
}

static value p_write_string(int argc, value *argv)
{
    if (!STRING_P(argv[0]))
        type_error("write-string", "a string", argv[0]);
    value port = OUT(1, "write-string");
    size_t s = 0, e = STRING_LEN(argv[0]);
    if (argc > 2)
        s = arg_index("write-string", argv[2], e + 1);
    if (argc > 3) {
        e = arg_index("write-string", argv[3], e + 1);
        if (e < s)
            scm_error1("write-string: end before start", argv[3]);
    }
    port_write_string(port, argv[0], s, e);
    return UNSPEC;
}

static value p_write_u8(int argc, value *argv)
{
    if (!FIXNUM_P(argv[0]) || FIX(argv[0]) < 0 || FIX(argv[0]) > 255)
        type_error("write-u8", "a byte", argv[0]);
    char b = (char)FIX(argv[0]);
    port_write(OUT(1, "write-u8"), &b, 1);
    return UNSPEC;
}

static value p_flush_output_port(int argc, value *argv)
{
    port_flush(OUT(0, "flush-output-port"));
    return UNSPEC;
}

static value p_read_char(int argc, value *argv)
{
    int c = port_getc(IN(0, "read-char"));
    return c < 0 ? EOF_V : MAKE_CHAR(c);
}

static value p_peek_char(int argc, value *argv)
{
    int c = port_peekc(IN(0, "peek-char"));
    return c < 0 ? EOF_V : MAKE_CHAR(c);
}

static value p_char_ready_p(int argc, value *argv)
{
    IN(0, "char-ready?");
    return TRUE_V;
}

/* Appends chunk[0, n) to the characters read so far: the first *total characters of the
 * string at vs[slot] (#f when none), which is replaced by one twice as large when full. */
static void append_chars(size_t slot, size_t *total, const uint32_t *chunk, size_t n)
{
    size_t cap = vs[slot] == FALSE_V ? 0 : STRING_LEN(vs[slot]);
    if (*total + n > cap) {
        size_t ncap = cap * 2 > *total + n ? cap * 2 : *total + n;
        value bigger = make_string_filled(ncap, 0);
        if (*total)
            memcpy(STRING_CHARS(bigger), STRING_CHARS(vs[slot]), *total * sizeof(uint32_t));
        vs[slot] = bigger;
    }
    memcpy(STRING_CHARS(vs[slot]) + *total, chunk, n * sizeof(uint32_t));
    *total += n;
}

/* Reads up to limit characters from the input port at vs[port_slot], or (line) up to the
 * end of the line, whose newline is taken but not kept, into a new string. Returns EOF_V
 * when the port was at its end and limit > 0. */
static value read_chars(size_t port_slot, size_t limit, bool line)
{
    uint32_t chunk[512];
    size_t n = 0, total = 0;
    size_t slot = vsp;
    vs_push(FALSE_V); /* what does not fit in chunk (append_chars) */
    bool any = false;
    while (total + n < limit) {
        int c = port_getc(vs[port_slot]);
        if (c < 0)
            break;
        any = true;
        if (line && c == '\n')
            break;
        chunk[n++] = (uint32_t)c;
        if (n == sizeof chunk / sizeof chunk[0]) {
            append_chars(slot, &total, chunk, n);
            n = 0;
        }
    }
    value r = EOF_V;
    if (any || limit == 0) {
        r = make_string_filled(total + n, 0);
        if (total)
            memcpy(STRING_CHARS(r), STRING_CHARS(vs[slot]), total * sizeof(uint32_t));
        memcpy(STRING_CHARS(r) + total, chunk, n * sizeof(uint32_t));
    }
    vsp = slot;
    return r;
}

static value p_read_line(int argc, value *argv)
{
    vs_push(IN(0, "read-line"));
    value r = read_chars(vsp - 1, SIZE_MAX, true);
    vsp--;
    return r;
}

static value p_read_string(int argc, value *argv)
{
    intptr_t k = arg_fixnum("read-string", argv[0]);
    vs_push(IN(1, "read-string"));
    value r = read_chars(vsp - 1, k < 0 ? 0 : (size_t)k, false);
    vsp--;
    return r;
}

/* The text `read` works on: it must not move while the reader allocates, and it is
 * freed by the next read (a read error leaves through a longjmp). */
static SCM_THREAD_LOCAL char *read_text;

void read_thread_finish(void)
{
    free(read_text);
    read_text = NULL;
}

static value p_read(int argc, value *argv)
{
    value port = IN(0, "read");
    vs_push(port);
    size_t slot = vsp - 1;
    /* The reader needs text that does not move while it allocates. */
    free(read_text);
    read_text = NULL;
    size_t len;
    read_text = port_unread_text(slot, &len);
    struct reader r;
    reader_init(&r, read_text, len, source_file_index("input"));
    r.heap_symbols = 1; /* data: its symbols are reclaimed when nothing references them */
    value datum;
    int got = read_datum(&r, &datum);
    port_consume_text(vs[slot], read_text, r.pos);
    vsp--;
    return got ? datum : EOF_V;
}

static value p_eof_object(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return EOF_V;
}

static value p_eof_object_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(argv[0] == EOF_V);
}

static value p_open_input_string(int argc, value *argv)
{
    (void)argc;
    if (!STRING_P(argv[0]))
        type_error("open-input-string", "a string", argv[0]);
    return make_string_input_port(argv[0]);
}

static value p_open_output_string(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return make_string_output_port();
}

static value p_get_output_string(int argc, value *argv)
{
    (void)argc;
    if (!IS(argv[0], T_PORT) ||
        (port_flags(argv[0]) & (PORT_STRING | PORT_OUTPUT)) != (PORT_STRING | PORT_OUTPUT))
        type_error("get-output-string", "a string output port", argv[0]);
    return port_output_string(argv[0]);
}

void file_error(const char *who, value name)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s: cannot open the file: %s", who, strerror(errno));
    vs_push(name);
    value irritants = cons(vs[vsp - 1], NIL);
    vsp--;
    scm_raise(make_error("file", msg, irritants));
}

static value open_file(const char *who, value name, int input)
{
    if (!STRING_P(name))
        type_error(who, "a file name string", name);
    char path[4096];
    string_to_c_string(who, name, path, sizeof path);
    FILE *f = fopen(path, input ? "r" : "w");
    if (!f)
        file_error(who, name);
    return make_file_port(f, input, path);
}

static value p_open_input_file(int argc, value *argv)
{
    (void)argc;
    return open_file("open-input-file", argv[0], 1);
}

static value p_open_output_file(int argc, value *argv)
{
    (void)argc;
    return open_file("open-output-file", argv[0], 0);
}

static value p_close_port(int argc, value *argv)
{
    (void)argc;
    if (!IS(argv[0], T_PORT))
        type_error("close-port", "a port", argv[0]);
    port_close(argv[0]);
    return UNSPEC;
}

static value call_with_port(value port, value proc)
{
    vs_push(port);
    value r = apply1(proc, port);
    vs_push(r);
    port_close(vs[vsp - 2]);
    r = vs[--vsp];
    vsp--;
    return r;
}

static value p_call_with_output_file(int argc, value *argv)
{
    (void)argc;
    value port = open_file("call-with-output-file", argv[0], 0); /* may move argv[1] */
    return call_with_port(port, argv[1]);
}

static value p_call_with_input_file(int argc, value *argv)
{
    (void)argc;
    value port = open_file("call-with-input-file", argv[0], 1); /* may move argv[1] */
    return call_with_port(port, argv[1]);
}

static value p_call_with_port(int argc, value *argv)
{
    (void)argc;
    if (!IS(argv[0], T_PORT))
        type_error("call-with-port", "a port", argv[0]);
    return call_with_port(argv[0], argv[1]);
}

/* with-output-to-file / with-input-from-file: the current port is the file's while the
 * thunk runs. */
static value with_file(const char *who, value name, value thunk, int input)
{
    size_t slot = (size_t)vsp;
    vs_push(thunk);
    value port = open_file(who, name, input);
    int root = input ? ROOT_CUR_IN : ROOT_CUR_OUT;
    vs_push(runtime_roots[root]);
    vs_push(port);
    runtime_roots[root] = port;
    value r = apply0(vs[slot]);
    runtime_roots[root] = vs[slot + 1];
    vs_push(r);
    port_close(vs[slot + 2]);
    r = vs[slot + 3];
    vsp = slot;
    return r;
}

static value p_with_output_to_file(int argc, value *argv)
{
    (void)argc;
    return with_file("with-output-to-file", argv[0], argv[1], 0);
}

static value p_with_input_from_file(int argc, value *argv)
{
    (void)argc;
    return with_file("with-input-from-file", argv[0], argv[1], 1);
}

static value p_file_exists_p(int argc, value *argv)
{
    (void)argc;
    if (!STRING_P(argv[0]))
        type_error("file-exists?", "a file name string", argv[0]);
    char path[4096];
    string_to_c_string("file-exists?", argv[0], path, sizeof path);
    return BOOL(access(path, F_OK) == 0);
}

static value p_delete_file(int argc, value *argv)
{
    (void)argc;
    if (!STRING_P(argv[0]))
        type_error("delete-file", "a file name string", argv[0]);
    char path[4096];
    string_to_c_string("delete-file", argv[0], path, sizeof path);
    if (unlink(path) != 0)
        file_error("delete-file", argv[0]);
    return UNSPEC;
}

static value p_current_input_port(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return runtime_roots[ROOT_CUR_IN];
}

static value p_current_output_port(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return runtime_roots[ROOT_CUR_OUT];
}

static value p_current_error_port(int argc, value *argv)
{
    (void)argc;
    (void)argv;
    return runtime_roots[ROOT_CUR_ERR];
}

static value port_pred(value v, unsigned need, unsigned want)
{
    return BOOL(IS(v, T_PORT) && (port_flags(v) & need) == want);
}

static value p_port_p(int argc, value *argv)
{
    (void)argc;
    return BOOL(IS(argv[0], T_PORT));
}

static value p_input_port_p(int argc, value *argv)
{
    (void)argc;
    return port_pred(argv[0], PORT_INPUT, PORT_INPUT);
}

static value p_output_port_p(int argc, value *argv)
{
    (void)argc;
    return port_pred(argv[0], PORT_OUTPUT, PORT_OUTPUT);
}

static value p_input_port_open_p(int argc, value *argv)
{
    (void)argc;
    return port_pred(argv[0], PORT_INPUT | PORT_CLOSED, PORT_INPUT);
}

static value p_output_port_open_p(int argc, value *argv)
{
    (void)argc;
    return port_pred(argv[0], PORT_OUTPUT | PORT_CLOSED, PORT_OUTPUT);
}

void ports_init(void)
{
    runtime_roots[ROOT_STDIN] = make_file_port(stdin, 1, "stdin");
    runtime_roots[ROOT_STDOUT] = make_file_port(stdout, 0, "stdout");
    runtime_roots[ROOT_STDERR] = make_file_port(stderr, 0, "stderr");
    runtime_roots[ROOT_CUR_IN] = runtime_roots[ROOT_STDIN];
    runtime_roots[ROOT_CUR_OUT] = runtime_roots[ROOT_STDOUT];
    runtime_roots[ROOT_CUR_ERR] = runtime_roots[ROOT_STDERR];
}

void prims_io_init(void)
{
    define_primitive("write", p_write, 1, 2);
    define_primitive("write-shared", p_write, 1, 2);
    define_primitive("write-simple", p_write, 1, 2);
    define_primitive("display", p_display, 1, 2);
    define_primitive("newline", p_newline, 0, 1);
    define_primitive("write-char", p_write_char, 1, 2);
    define_primitive("write-string", p_write_string, 1, 4);
    define_primitive("write-u8", p_write_u8, 1, 2);
    define_primitive("flush-output-port", p_flush_output_port, 0, 1);
    define_primitive("read-char", p_read_char, 0, 1);
    define_primitive("peek-char", p_peek_char, 0, 1);
    define_primitive("char-ready?", p_char_ready_p, 0, 1);
    define_primitive("read-line", p_read_line, 0, 1);
    define_primitive("read-string", p_read_string, 1, 2);
    define_primitive("read", p_read, 0, 1);
    define_primitive("eof-object", p_eof_object, 0, 0);
    define_primitive("eof-object?", p_eof_object_p, 1, 1);
    define_primitive("open-input-string", p_open_input_string, 1, 1);
    define_primitive("open-output-string", p_open_output_string, 0, 0);
    define_primitive("get-output-string", p_get_output_string, 1, 1);
    define_primitive("open-input-file", p_open_input_file, 1, 1);
    define_primitive("open-output-file", p_open_output_file, 1, 1);
    define_primitive("open-binary-input-file", p_open_input_file, 1, 1); /* bytes either way */
    define_primitive("open-binary-output-file", p_open_output_file, 1, 1);
    define_primitive("close-port", p_close_port, 1, 1);
    define_primitive("close-input-port", p_close_port, 1, 1);
    define_primitive("close-output-port", p_close_port, 1, 1);
    define_primitive("call-with-output-file", p_call_with_output_file, 2, 2);
    define_primitive("call-with-input-file", p_call_with_input_file, 2, 2);
    define_primitive("call-with-port", p_call_with_port, 2, 2);
    define_primitive("with-output-to-file", p_with_output_to_file, 2, 2);
    define_primitive("with-input-from-file", p_with_input_from_file, 2, 2);
    define_primitive("file-exists?", p_file_exists_p, 1, 1);
    define_primitive("delete-file", p_delete_file, 1, 1);
    define_primitive("current-input-port", p_current_input_port, 0, 0);
    define_primitive("current-output-port", p_current_output_port, 0, 0);
    define_primitive("current-error-port", p_current_error_port, 0, 0);
    define_primitive("port?", p_port_p, 1, 1);
    define_primitive("textual-port?", p_port_p, 1, 1);
    define_primitive("input-port?", p_input_port_p, 1, 1);
    define_primitive("output-port?", p_output_port_p, 1, 1);
    define_primitive("input-port-open?", p_input_port_open_p, 1, 1);
    define_primitive("output-port-open?", p_output_port_open_p, 1, 1);
}
